// The README's two traps of inline resumption, and the recipes it gives for
// them (its Semantics, "Resumption is inline"):
//
// 1. A coroutine suspended in co_await recv() runs inside send(), on the
//    sender's thread, so a sender holding a lock the coroutine takes would
//    deadlock. Released before send(), the lock is taken inline; or the
//    receiver resumes elsewhere: a poll_recv waker that only re-queues lets
//    send() run under the lock, and the task takes it later on its executor.
// 2. A coroutine in co_await recv(stop_token) is resumed inline by the thread
//    that requests stop. A std::jthread timer owned by the coroutine would be
//    destroyed, joining itself, on its own thread; owned outside the
//    coroutine's frame, or destroyed after the coroutine hopped to another
//    thread, it joins cleanly.
//
// The timers here fire when the test releases a semaphore, after the
// coroutine has suspended, so the canceller always finds it waiting. The
// second trap itself runs in a forked child (support/death_test.hpp), which
// must die of it as the README says.

#include "support/catch.hpp"
#include "support/names.hpp"
#include "support/task.hpp"

#if defined(__cpp_exceptions)
#include "support/death_test.hpp"
#endif

#include <multishot.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <semaphore>
#include <thread>
#include <utility>

#if MULTISHOT_HAS_STOP_TOKEN
#include <stop_token>
#endif

namespace {

using namespace multishot_test;

// What a sender publishes under `lock` and the receiving coroutine reads
// under it.
struct Shared {
    std::mutex lock;
    int published = 0;
};

// Receives, then takes the lock (inline, on the sender's thread) and reads
// what the sender published under it.
Task<> receive_then_lock(Receiver<int>& receiver, Shared& shared, RecvResult<int>& result,
                         std::optional<int>& seen, std::thread::id& resumed_on) {
    result = co_await receiver.recv();
    resumed_on = std::this_thread::get_id();
    std::lock_guard<std::mutex> guard(shared.lock);
    seen = shared.published;
}

TEST_CASE("inline resumption: a lock released before send() is taken inside send()",
          "[inline][thread]") {
    Shared shared;
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    REQUIRE(sender.has_value());

    RecvResult<int> result = RecvError::empty;
    std::optional<int> seen;
    std::thread::id resumed_on;
    Task<> task = receive_then_lock(receiver, shared, result, seen, resumed_on);
    REQUIRE_FALSE(task.done());  // suspended in recv()

    std::thread::id sender_thread;
    bool done_when_send_returned = false;
    std::thread producer([&, s = std::move(*sender)]() mutable {
        sender_thread = std::this_thread::get_id();
        {
            std::lock_guard<std::mutex> guard(shared.lock);
            shared.published = 7;
        }  // released before send(): the coroutine takes it inside send()
        s.send(42);
        done_when_send_returned = task.done();
    });
    producer.join();

    CHECK(done_when_send_returned);  // it ran to its end inside send()
    CHECK(resumed_on == sender_thread);
    REQUIRE(result.has_value());
    CHECK(*result == 42);
    CHECK(seen == 7);
    task.result();
}

// One thread's run queue. Wakers push onto it from any thread; it has its own
// lock, never the one a sender may hold.
class RunQueue {
public:
    void push(std::coroutine_handle<> handle) {
        std::lock_guard<std::mutex> guard(lock_);
        ready_.push_back(handle);
    }
    std::coroutine_handle<> pop() {
        std::lock_guard<std::mutex> guard(lock_);
        if (ready_.empty()) return {};
        std::coroutine_handle<> handle = ready_.front();
        ready_.pop_front();
        return handle;
    }
    std::size_t size() {
        std::lock_guard<std::mutex> guard(lock_);
        return ready_.size();
    }

private:
    std::mutex lock_;
    std::deque<std::coroutine_handle<>> ready_;
};

// A task's record on its executor, and the context of its one waker, which
// re-queues the task instead of resuming it. It outlives every sender.
struct TaskRecord {
    RunQueue& queue;
    std::coroutine_handle<> handle;

    static void requeue(void* context) noexcept {
        auto* record = static_cast<TaskRecord*>(context);
        record->queue.push(record->handle);  // bad_alloc would terminate: noexcept
    }
    multishot::Waker waker() noexcept { return multishot::Waker(&TaskRecord::requeue, this); }
};

// One poll; suspends if it is pending (the waker re-queues the task).
struct PollOnce {
    Receiver<int>& receiver;
    TaskRecord& record;
    multishot::PollResult<int> result;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> handle) {
        record.handle = handle;
        result = receiver.poll_recv(record.waker());
        return !result.has_value();
    }
    multishot::PollResult<int> await_resume() { return std::move(result); }
};

// Polls until ready (every wake-up is a hint: poll again), then takes the lock.
Task<> poll_then_lock(Receiver<int>& receiver, TaskRecord& record, Shared& shared,
                      RecvResult<int>& result, std::optional<int>& seen,
                      std::thread::id& ran_on) {
    multishot::PollResult<int> polled;
    while (!polled) polled = co_await PollOnce{receiver, record, std::nullopt};
    result = std::move(*polled);
    ran_on = std::this_thread::get_id();
    std::lock_guard<std::mutex> guard(shared.lock);
    seen = shared.published;
}

TEST_CASE("inline resumption: a waker that re-queues lets send() run under the lock",
          "[inline][thread]") {
    Shared shared;
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    REQUIRE(sender.has_value());

    RunQueue queue;
    TaskRecord record{queue, {}};
    RecvResult<int> result = RecvError::empty;
    std::optional<int> seen;
    std::thread::id ran_on;
    Task<> task = poll_then_lock(receiver, record, shared, result, seen, ran_on);
    REQUIRE_FALSE(task.done());  // pending: parked until the queue runs it
    REQUIRE(queue.size() == 0);

    std::size_t queued_under_lock = 0;
    bool done_under_lock = true;
    std::thread producer([&, s = std::move(*sender)]() mutable {
        std::lock_guard<std::mutex> guard(shared.lock);
        shared.published = 7;
        s.send(42);  // under the lock: the waker only re-queues the task
        queued_under_lock = queue.size();
        done_under_lock = task.done();
    });
    producer.join();

    CHECK(queued_under_lock == 1);
    CHECK_FALSE(done_under_lock);
    CHECK_FALSE(task.done());
    // This thread is the executor: it runs what is queued.
    while (std::coroutine_handle<> handle = queue.pop()) handle.resume();
    CHECK(task.done());
    CHECK(ran_on == std::this_thread::get_id());
    REQUIRE(result.has_value());
    CHECK(*result == 42);
    CHECK(seen == 7);
    task.result();
}

#if MULTISHOT_HAS_STOP_TOKEN

// Receives with `token` and records the result and the thread it resumed on.
Task<> receive_cancellable(Receiver<int>& receiver, std::stop_token token,
                           RecvResult<int>& result, std::thread::id& resumed_on) {
    result = co_await receiver.recv(std::move(token));
    resumed_on = std::this_thread::get_id();
}

TEST_CASE("inline resumption: a timer thread owned outside the coroutine cancels it cleanly",
          "[inline][thread][cancel]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();  // alive: nothing is sent
    REQUIRE(sender.has_value());

    std::stop_source stop;
    RecvResult<int> result = RecvError::empty;
    std::thread::id resumed_on;
    std::binary_semaphore fire{0};
    std::thread::id timer_thread;
    {
        // Owned here, by the test, which outlives the coroutine's wait.
        std::jthread timer([&] {
            timer_thread = std::this_thread::get_id();
            fire.acquire();
            stop.request_stop();  // resumes the coroutine inline, here
        });
        Task<> task = receive_cancellable(receiver, stop.get_token(), result, resumed_on);
        CHECK_FALSE(task.done());  // suspended: the timer's stop request resumes it
        fire.release();
        timer.join();
        CHECK(task.done());
        task.result();  // nothing escaped the coroutine
    }
    CHECK(result == RecvError::cancelled);
    CHECK(resumed_on == timer_thread);
    // The receive stays open: the sender may still send.
    sender->send(5);
    RecvResult<int> late = receiver.try_recv();
    REQUIRE(late.has_value());
    CHECK(*late == 5);
}

// A one-thread executor owned by the test: it resumes the handles it is given.
class Executor {
public:
    Executor() : thread_([this] { run(); }) {}
    ~Executor() {
        post({});
        thread_.join();
    }
    void post(std::coroutine_handle<> handle) {
        {
            std::lock_guard<std::mutex> guard(lock_);
            ready_.push_back(handle);
        }
        posted_.release();
    }
    // True on the executor's thread while it resumes a handle. (The coroutine
    // asks this instead of comparing std::this_thread::get_id() before and
    // after its hop: clang may reuse the first pthread_self() across the
    // suspension, as it is declared const.)
    bool resuming() const noexcept { return resuming_; }

private:
    void run() {
        for (;;) {
            posted_.acquire();
            std::coroutine_handle<> handle;
            {
                std::lock_guard<std::mutex> guard(lock_);
                handle = ready_.front();
                ready_.pop_front();
            }
            if (!handle) return;
            resuming_ = true;
            handle.resume();
            resuming_ = false;
        }
    }

    std::mutex lock_;
    std::deque<std::coroutine_handle<>> ready_;
    std::counting_semaphore<> posted_{0};
    bool resuming_ = false;  // the executor thread's own
    std::thread thread_;
};

struct HopTo {
    Executor& executor;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> handle) { executor.post(handle); }
    void await_resume() const noexcept {}
};

// Owns its timer thread (a std::jthread), which requests stop; after the
// cancelled receive it hops to `executor`, so the jthread is destroyed (and
// joins the timer thread) there, not on the timer thread itself.
Task<> receive_with_own_timer(Receiver<int>& receiver, std::binary_semaphore& fire,
                              Executor& executor, RecvResult<int>& result,
                              std::thread::id& resumed_on, std::thread::id& timer_thread,
                              bool& finished_on_executor, std::binary_semaphore& finished) {
    std::stop_source stop;
    std::jthread timer([stop, &fire]() mutable {
        fire.acquire();
        stop.request_stop();  // resumes the coroutine inline, on this thread
    });
    timer_thread = timer.get_id();
    result = co_await receiver.recv(stop.get_token());
    resumed_on = std::this_thread::get_id();
    co_await HopTo{executor};
    finished_on_executor = executor.resuming();
    finished.release();
}  // ~jthread here, on the executor's thread: joins the timer thread

TEST_CASE("inline resumption: a coroutine that owns its timer thread hops off it first",
          "[inline][thread][cancel]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    REQUIRE(sender.has_value());

    RecvResult<int> result = RecvError::empty;
    std::thread::id resumed_on;
    std::thread::id timer_thread;
    bool finished_on_executor = false;
    std::binary_semaphore fire{0};
    std::binary_semaphore finished{0};
    std::optional<Executor> executor;
    executor.emplace();
    {
        Task<> task = receive_with_own_timer(receiver, fire, *executor, result, resumed_on,
                                             timer_thread, finished_on_executor, finished);
        CHECK_FALSE(task.done());  // suspended: the timer's stop request resumes it
        fire.release();
        finished.acquire();
        executor.reset();  // joins the executor thread: the coroutine has finished
        CHECK(task.done());
        task.result();  // nothing escaped the coroutine
    }
    CHECK(result == RecvError::cancelled);
    CHECK(resumed_on == timer_thread);
    CHECK(finished_on_executor);
}

#if defined(__cpp_exceptions)

// The trap: the coroutine owns its timer thread and does not hop off it.
Task<> receive_with_own_timer_unhopped(Receiver<int>& receiver, std::binary_semaphore& fire) {
    std::stop_source stop;
    std::jthread timer([stop, &fire]() mutable {
        fire.acquire();
        stop.request_stop();  // resumes the coroutine inline, on this thread
    });
    co_await receiver.recv(stop.get_token());
}  // ~jthread here, on the timer thread: it joins itself

TEST_CASE("inline resumption: a coroutine that destroys its own timer thread on it terminates",
          "[inline][thread][cancel][death]") {
    const multishot_test::DeathResult death = multishot_test::run_in_child([] {
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        std::binary_semaphore fire{0};
        Task<> task = receive_with_own_timer_unhopped(receiver, fire);
        fire.release();
        std::this_thread::sleep_for(std::chrono::seconds(5));  // the timer thread aborts first
    });
    INFO(death.describe());
    CHECK(death.aborted());  // std::terminate
    // Why, as g++'s build says it: join() threw EDEADLK out of ~jthread.
    // (clang++'s build terminates "without an active exception", and
    // ThreadSanitizer's pthread_join fails its own check on a self-join.)
#if defined(__GNUC__) && !defined(__clang__)
    if (!multishot_test::under_thread_sanitizer) {
        CHECK(death.stderr_contains("std::system_error"));
        CHECK(death.stderr_contains("Resource deadlock avoided"));
    }
#endif
}

#endif  // __cpp_exceptions

#endif  // MULTISHOT_HAS_STOP_TOKEN

}  // namespace
