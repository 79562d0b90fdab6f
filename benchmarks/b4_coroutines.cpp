// B4: two coroutines ping-pong through two reused channels, on one thread
// (the sender resumes the receiver inline, or a run-queue executor resumes
// each task woken through the poll layer) and on two threads (each
// coroutine on its own thread, woken through the poll layer); against two
// coroutines that resume each other directly. The asio baselines are in
// b4_asio.cpp.
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <thread>
#include <utility>

#include <benchmark/benchmark.h>

#include "support.hpp"

namespace {

// ---- one thread, co_await recv(), inline resumption ----

void B4_multishot_one_thread(benchmark::State& state) {
    multishot::Receiver<bench::Ping> pings;
    multishot::Receiver<bench::Pong> pongs;
    multishot::Sender<bench::Ping> to_pong = *pings.sender();
    const bench::Task answering = bench::answer_pings_inline(pings);
    std::size_t allocations_at_start = 0;
    const bench::Task driving =
        bench::drive_pings_inline(state, pongs, to_pong, allocations_at_start);
    // Closing the ping channel ends the answering coroutine.
    { const multishot::Sender<bench::Ping> closing = std::move(to_pong); }
    if (!answering.done() || !driving.done()) state.SkipWithError("a coroutine did not finish");
}
BENCHMARK(B4_multishot_one_thread);

// ---- the floor: two coroutines resuming each other directly ----

struct Baton {
    std::coroutine_handle<> driver;
    std::coroutine_handle<> echo;
    std::uint64_t value = 0;
};

// Suspends the current coroutine, remembering its handle in `self`, and
// resumes `target` by symmetric transfer.
struct TransferTo {
    std::coroutine_handle<>& self;
    std::coroutine_handle<> target;

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> current) noexcept {
        self = current;
        return target;
    }
    void await_resume() const noexcept {}
};

bench::LazyTask echo_directly(Baton& baton) {
    for (;;) {
        ++baton.value;
        co_await TransferTo{baton.echo, baton.driver};
    }
}

bench::Task drive_directly(benchmark::State& state, Baton& baton) {
    for (auto _ : state) {
        const std::uint64_t sent = ++baton.value;
        co_await TransferTo{baton.driver, baton.echo};
        if (baton.value != sent + 1) state.SkipWithError("the echo did not run");
    }
}

void B4_direct_resume_floor(benchmark::State& state) {
    Baton baton;
    const bench::LazyTask echo = echo_directly(baton);
    baton.echo = echo.handle();
    const bench::Task driving = drive_directly(state, baton);
    if (!driving.done()) state.SkipWithError("the driver did not finish");
}
BENCHMARK(B4_direct_resume_floor);

// ---- one thread, a run-queue executor, the poll layer ----
//
// What a single-threaded task runtime does: no coroutine is resumed inside a
// send. Each task's waker sets the task's queued flag and, if it was clear,
// pushes the task onto the run queue; the executor resumes the tasks it pops,
// and each task polls its channel again (ready after a wake-up). The Rust
// peers (benchmarks/peers) run the same executor, one future per task.

class RunQueue;

struct QueuedTask {
    RunQueue* queue = nullptr;
    std::coroutine_handle<> handle;  // set when the task first suspends
    std::atomic<bool> queued{false};

    multishot::Waker waker() noexcept { return multishot::Waker(&QueuedTask::wake, this); }

private:
    static void wake(void* self) noexcept;
};

class RunQueue {
public:
    void push(QueuedTask& task) noexcept { slots_[tail_++ % capacity] = &task; }

    // Resumes the queued tasks until the queue is empty.
    void run() noexcept {
        while (head_ != tail_) {
            QueuedTask& task = *slots_[head_++ % capacity];
            // relaxed: the queue is this thread's alone.
            task.queued.store(false, std::memory_order_relaxed);
            task.handle.resume();
        }
    }

private:
    static constexpr std::size_t capacity = 4;  // two tasks, each queued at most once
    QueuedTask* slots_[capacity] = {};
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
};

void QueuedTask::wake(void* self) noexcept {
    QueuedTask& task = *static_cast<QueuedTask*>(self);
    // relaxed: one thread (a multi-threaded runtime would need more here).
    if (task.queued.load(std::memory_order_relaxed)) return;
    task.queued.store(true, std::memory_order_relaxed);
    task.queue->push(task);
}

// co_await on the poll layer with the task's waker: if pending, suspends
// until the executor resumes the task, then polls again.
template <class T>
class QueuedRecv {
public:
    QueuedRecv(multishot::Receiver<T>& receiver, QueuedTask& task) noexcept
        : receiver_(receiver), task_(task) {}

    bool await_ready() {
        result_ = receiver_.poll_recv(task_.waker());
        return result_.has_value();
    }
    void await_suspend(std::coroutine_handle<> current) noexcept { task_.handle = current; }
    // A ready result is returned from where the poll left it: through the
    // awaiter, only the result of await_ready().
    multishot::RecvResult<T> await_resume() {
        if (result_.has_value()) return std::move(*result_);
        multishot::PollResult<T> polled = receiver_.poll_recv(task_.waker());
        // One thread: a task is resumed only after its sender has sent.
        if (!polled.has_value()) std::terminate();
        return std::move(*polled);
    }

private:
    multishot::Receiver<T>& receiver_;
    QueuedTask& task_;
    multishot::PollResult<T> result_;
};

bench::Task answer_pings_queued(multishot::Receiver<bench::Ping>& pings, QueuedTask& task) {
    for (;;) {
        multishot::RecvResult<bench::Ping> ping = co_await QueuedRecv(pings, task);
        if (!ping) co_return;
        ping->reply.send(bench::Pong{*pings.sender()});
    }
}

bench::Task drive_pings_queued(benchmark::State& state, multishot::Receiver<bench::Pong>& pongs,
                               QueuedTask& task, multishot::Sender<bench::Ping> to_pong) {
    for (auto _ : state) {
        to_pong.send(bench::Ping{*pongs.sender()});
        multishot::RecvResult<bench::Pong> pong = co_await QueuedRecv(pongs, task);
        to_pong = std::move(pong->next);
    }
    { const multishot::Sender<bench::Ping> closing = std::move(to_pong); }
}

void B4_multishot_executor(benchmark::State& state) {
    RunQueue queue;
    QueuedTask answering_task;
    QueuedTask driving_task;
    answering_task.queue = &queue;
    driving_task.queue = &queue;
    multishot::Receiver<bench::Ping> pings;
    multishot::Receiver<bench::Pong> pongs;
    multishot::Sender<bench::Ping> to_pong = *pings.sender();
    // Both tasks start eagerly and run to their first pending poll: the
    // answering one registers its waker, the driving one sends the first
    // ping (which queues the answering task) and waits for the pong.
    const bench::Task answering = answer_pings_queued(pings, answering_task);
    const bench::Task driving = drive_pings_queued(state, pongs, driving_task, std::move(to_pong));
    queue.run();
    if (!answering.done() || !driving.done()) state.SkipWithError("a task did not finish");
}
BENCHMARK(B4_multishot_executor);

// ---- two threads: a one-task executor per thread, the poll layer ----

// Runs one coroutine on the thread that calls run(): resumes it whenever its
// waker was called, sleeps (std::atomic wait) otherwise.
class Runner {
public:
    multishot::Waker waker() noexcept { return multishot::Waker(&Runner::post, this); }

    // Called by the awaiter before it suspends, on the runner's thread.
    void set_task(std::coroutine_handle<> task) noexcept { task_ = task; }

    // Resumes the task after each wake-up until it finishes. (A task that
    // never suspended has finished already: its handle was never set.)
    void run() {
        while (task_ && !task_.done()) {
            // acquire: pairs with post()'s release, so that what the waking
            // thread wrote (the value it sent) is visible to the task.
            while (woken_.exchange(0, std::memory_order_acquire) == 0)
                woken_.wait(0, std::memory_order_relaxed);  // relaxed: the exchange re-checks
            task_.resume();
        }
    }

private:
    static void post(void* self) noexcept {
        Runner& runner = *static_cast<Runner*>(self);
        // release: see run().
        runner.woken_.store(1, std::memory_order_release);
        runner.woken_.notify_one();
    }

    std::coroutine_handle<> task_;
    std::atomic<std::uint32_t> woken_{0};
};

// co_await on the poll layer: polls with the runner's waker; if pending,
// suspends, and polls again when the runner resumes it (a poll after a
// wake-up is ready).
template <class T>
class PolledRecv {
public:
    PolledRecv(multishot::Receiver<T>& receiver, Runner& runner) noexcept
        : receiver_(receiver), runner_(runner) {}

    bool await_ready() {
        result_ = receiver_.poll_recv(runner_.waker());
        return result_.has_value();
    }
    void await_suspend(std::coroutine_handle<> current) noexcept { runner_.set_task(current); }
    // As QueuedRecv::await_resume.
    multishot::RecvResult<T> await_resume() {
        if (result_) return std::move(*result_);
        return std::move(receiver_.poll_recv(runner_.waker()).value());
    }

private:
    multishot::Receiver<T>& receiver_;
    Runner& runner_;
    multishot::PollResult<T> result_;
};

bench::Task answer_pings_polled(multishot::Receiver<bench::Ping>& pings, Runner& runner) {
    for (;;) {
        multishot::RecvResult<bench::Ping> ping = co_await PolledRecv(pings, runner);
        if (!ping) co_return;
        ping->reply.send(bench::Pong{*pings.sender()});
    }
}

bench::Task drive_pings_polled(benchmark::State& state, multishot::Receiver<bench::Pong>& pongs,
                               Runner& runner, multishot::Sender<bench::Ping> to_pong) {
    for (auto _ : state) {
        to_pong.send(bench::Ping{*pongs.sender()});
        multishot::RecvResult<bench::Pong> pong = co_await PolledRecv(pongs, runner);
        to_pong = std::move(pong->next);
    }
    { const multishot::Sender<bench::Ping> closing = std::move(to_pong); }
}

void run_answering_thread(multishot::Receiver<bench::Ping>& pings, Runner& runner) {
    const bench::Task answering = answer_pings_polled(pings, runner);
    runner.run();
}

void B4_multishot_two_threads(benchmark::State& state) {
    multishot::Receiver<bench::Ping> pings;
    multishot::Sender<bench::Ping> to_pong = *pings.sender();
    Runner answering_runner;
    std::thread answering(run_answering_thread, std::ref(pings), std::ref(answering_runner));

    multishot::Receiver<bench::Pong> pongs;
    Runner driving_runner;
    const bench::Task driving = drive_pings_polled(state, pongs, driving_runner, std::move(to_pong));
    driving_runner.run();
    answering.join();
}
BENCHMARK(B4_multishot_two_threads)->UseRealTime();

}  // namespace
