// single_thread_executor: a minimal run-queue executor whose tasks await
// multishot receives through the public poll layer.
//
// The executor runs tasks one at a time on the thread that calls run(). A task
// that awaits a receive polls it with a Waker naming the task; when the sender
// calls that waker (on any thread), the waker puts the task back on the run
// queue instead of resuming it inline, and the executor polls it again.
//
// The program checks four things:
//   1. replies sent from foreign threads reach tasks parked in the executor;
//   2. a sender on the executor thread re-queues the receiving task: it does
//      not run it inline, inside send();
//   3. a task woken for another reason is polled again, pending, and
//      re-registers its waker, then completes on the real wake-up;
//   4. a receiver handed from one task to another while its reply is pending
//      is re-polled with a different waker, the new task's, which the sender
//      then calls; and, under a race with a foreign sender, a waker called late
//      for a task that has already finished is harmless.
#include <multishot.hpp>

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstdlib>
#include <deque>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace {

class Executor;

// What an awaiter leaves behind when it parks its task: a function that polls
// it again and says whether the task may now be resumed.
struct PendingPoll {
    bool (*poll)(void* awaiter) = nullptr;
    void* awaiter = nullptr;
};

// The executor's record of one task. Records live as long as the executor, so
// that a waker called late, after its task finished, still names valid memory
// (see multishot::Waker: a runtime waker must tolerate a late call).
struct TaskRecord {
    enum class State { queued, running, notified, parked, done };

    Executor* executor = nullptr;
    std::coroutine_handle<> coroutine;
    PendingPoll pending;
    State state = State::queued;
    int polls = 0;  // polls of the receive the task awaits (or last awaited)
    int wakes = 0;  // calls of this task's waker, counted under the executor lock

    multishot::Waker waker() noexcept { return multishot::Waker(&wake, this); }
    static void wake(void* record) noexcept;
};

// A coroutine run by the executor. It starts when the executor first runs it.
class Task {
public:
    struct promise_type {
        TaskRecord* record = nullptr;

        Task get_return_object() noexcept {
            return Task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
    };
    using Handle = std::coroutine_handle<promise_type>;

    Task(Task&& other) noexcept : coroutine_(std::exchange(other.coroutine_, {})) {}
    Task& operator=(Task&&) = delete;
    ~Task() {
        if (coroutine_) coroutine_.destroy();
    }

    Handle release() noexcept { return std::exchange(coroutine_, {}); }

private:
    explicit Task(Handle coroutine) noexcept : coroutine_(coroutine) {}
    Handle coroutine_;
};

class Executor {
public:
    Executor() = default;
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;
    ~Executor() {
        for (const std::unique_ptr<TaskRecord>& task : tasks_)
            if (task->coroutine) task->coroutine.destroy();
    }

    // Queues a new task. Callable from tasks and before run().
    TaskRecord& spawn(Task task) {
        Task::Handle coroutine = task.release();
        std::lock_guard lock(mutex_);
        TaskRecord& record = *tasks_.emplace_back(std::make_unique<TaskRecord>());
        record.executor = this;
        record.coroutine = coroutine;
        coroutine.promise().record = &record;
        queue_.push_back(&record);
        ++unfinished_;
        return record;
    }

    // Runs tasks until all have finished.
    void run() {
        std::unique_lock lock(mutex_);
        while (unfinished_ > 0) {
            queue_changed_.wait(lock, [this] { return !queue_.empty(); });
            TaskRecord& task = *queue_.front();
            queue_.pop_front();
            task.state = TaskRecord::State::running;
            lock.unlock();
            const bool finished = step(task);
            lock.lock();
            settle(task, finished);
        }
    }

    // Re-queues `task` if it is parked. Callable from any thread, at any time
    // while the executor lives, even after the task has finished.
    void wake(TaskRecord& task) {
        std::lock_guard lock(mutex_);
        ++task.wakes;
        switch (task.state) {
            case TaskRecord::State::parked:
                task.state = TaskRecord::State::queued;
                queue_.push_back(&task);
                queue_changed_.notify_one();
                break;
            case TaskRecord::State::running:  // woken while it polls: run it again
                task.state = TaskRecord::State::notified;
                break;
            default:  // already queued or notified, or finished (a late call)
                break;
        }
    }

private:
    // Polls what the task awaits, resuming it if that is ready. True if the
    // task has finished.
    static bool step(TaskRecord& task) {
        if (task.pending.poll != nullptr && !task.pending.poll(task.pending.awaiter)) return false;
        task.pending = {};
        task.coroutine.resume();
        return task.coroutine.done();
    }

    // After a step: finish the task, or park it, or re-queue it if it was
    // woken while it ran.
    void settle(TaskRecord& task, bool finished) {
        if (finished) {
            task.state = TaskRecord::State::done;
            task.coroutine.destroy();
            task.coroutine = {};
            --unfinished_;
        } else if (task.state == TaskRecord::State::notified) {
            task.state = TaskRecord::State::queued;
            queue_.push_back(&task);
        } else {
            task.state = TaskRecord::State::parked;
        }
    }

    std::mutex mutex_;
    std::condition_variable queue_changed_;
    std::deque<TaskRecord*> queue_;
    std::vector<std::unique_ptr<TaskRecord>> tasks_;
    std::size_t unfinished_ = 0;
};

void TaskRecord::wake(void* record) noexcept {
    TaskRecord& task = *static_cast<TaskRecord*>(record);
    task.executor->wake(task);
}

// `co_await receive(r)`: polls `r` with the running task's waker and, while
// the receive is pending, parks the task; the executor polls it again after
// each wake-up and resumes the task once the result is there.
template <class T>
class Receive {
public:
    explicit Receive(multishot::Receiver<T>& receiver) noexcept : receiver_(receiver) {}
    Receive(const Receive&) = delete;
    Receive& operator=(const Receive&) = delete;

    bool await_ready() const noexcept { return false; }  // the poll needs the task
    bool await_suspend(Task::Handle coroutine) {
        task_ = coroutine.promise().record;
        task_->polls = 0;
        if (poll()) return false;
        task_->pending = {&poll_again, this};
        return true;
    }
    multishot::RecvResult<T> await_resume() { return std::move(*result_); }

private:
    static bool poll_again(void* self) { return static_cast<Receive*>(self)->poll(); }

    bool poll() {
        ++task_->polls;
        result_ = receiver_.poll_recv(task_->waker());
        return result_.has_value();
    }

    multishot::Receiver<T>& receiver_;
    TaskRecord* task_ = nullptr;
    multishot::PollResult<T> result_;
};

template <class T>
Receive<T> receive(multishot::Receiver<T>& receiver) {
    return Receive<T>(receiver);
}

// `co_await this_task()`: the running task's record, without suspending.
struct ThisTask {
    TaskRecord* task = nullptr;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(Task::Handle coroutine) noexcept {
        task = coroutine.promise().record;
        return false;
    }
    TaskRecord& await_resume() const noexcept { return *task; }
};
ThisTask this_task() noexcept { return {}; }

bool ok = true;

void check(bool condition, const char* what) {
    if (!condition) std::cout << "FAIL: " << what << '\n';
    ok = ok && condition;
}

// 1. Replies from foreign threads reach parked tasks.
Task await_foreign_reply(multishot::Receiver<int> receiver, int expected, int& received) {
    multishot::RecvResult<int> reply = co_await receive(receiver);
    check(reply.has_value() && *reply == expected, "task received its foreign thread's reply");
    received += 1;
}

void replies_from_foreign_threads() {
    constexpr int task_count = 8;
    int received = 0;
    std::vector<std::thread> senders;
    {
        Executor executor;
        for (int i = 0; i < task_count; ++i) {
            auto [sender, receiver] = multishot::channel<int>();
            executor.spawn(await_foreign_reply(std::move(receiver), i * 10, received));
            senders.emplace_back([s = std::move(sender), i]() mutable { s.send(i * 10); });
        }
        executor.run();
        // A sender may still be inside the waker (after the task has already
        // run): join before the executor goes away.
        for (std::thread& thread : senders) thread.join();
    }
    check(received == task_count, "every task received its reply");
    std::cout << "1. " << received << " tasks received replies from foreign threads\n";
}

// 2. A sender on the executor thread re-queues the receiver: no inline resume.
Task consume(multishot::Receiver<int>& receiver, bool& consumed) {
    multishot::RecvResult<int> value = co_await receive(receiver);
    check(value.has_value() && *value == 7, "consumer received 7");
    consumed = true;
}

Task produce(multishot::Sender<int> sender, const bool& consumed) {
    sender.send(7);
    check(!consumed, "send() re-queued the consumer instead of running it inline");
    co_return;
}

void sender_on_the_executor_thread() {
    Executor executor;
    bool consumed = false;
    auto [sender, receiver] = multishot::channel<int>();
    TaskRecord& consumer = executor.spawn(consume(receiver, consumed));
    executor.spawn(produce(std::move(sender), consumed));
    executor.run();
    check(consumed, "consumer finished");
    check(consumer.polls == 2, "consumer polled twice: pending, then ready");
    std::cout << "2. same-thread sender re-queued the consumer; polls: " << consumer.polls << '\n';
}

// 3. A task woken for another reason is polled again, still pending, and
// re-registers its waker (the same one: that costs no read-modify-write).
Task nudge_then_produce(Executor& executor, TaskRecord& consumer, multishot::Sender<int> sender,
                        const bool& consumed) {
    executor.wake(consumer);  // any other reason to wake a task
    executor.spawn(produce(std::move(sender), consumed));
    co_return;
}

void spurious_wake_re_registers() {
    Executor executor;
    bool consumed = false;
    auto [sender, receiver] = multishot::channel<int>();
    TaskRecord& consumer = executor.spawn(consume(receiver, consumed));
    executor.spawn(nudge_then_produce(executor, consumer, std::move(sender), consumed));
    executor.run();
    check(consumed, "nudged consumer finished");
    check(consumer.polls == 3, "nudged consumer polled three times: pending, pending, ready");
    std::cout << "3. nudged consumer re-registered its waker; polls: " << consumer.polls << '\n';
}

Task produce_value(multishot::Sender<int> sender, int value) {
    sender.send(value);
    co_return;
}

// 4. A receiver handed over while pending is re-polled with another task's
// waker; the sender calls the newest waker.
Task finish_receive(multishot::Receiver<int> receiver, int expected, int& received) {
    multishot::RecvResult<int> value = co_await receive(receiver);
    check(value.has_value() && *value == expected, "second task received the handed-over reply");
    received += 1;
}

// What poll_then_hand_over works on.
struct HandOver {
    Executor& executor;
    multishot::Receiver<int> receiver;
    int expected = 0;
    std::optional<multishot::Sender<int>> sender;  // if set, sent to by a task
    int received = 0;
    TaskRecord* successor = nullptr;
    // Raised after the first poll, to start a racing foreign sender. Relaxed
    // both ways: a start signal only; the channel orders the data.
    std::atomic<bool> polled{false};
};

// Polls once with its own waker and, unless that was ready, hands the
// receiver to a new task, then finishes.
Task poll_then_hand_over(HandOver& hand_over) {
    TaskRecord& self = co_await this_task();
    multishot::PollResult<int> first = hand_over.receiver.poll_recv(self.waker());
    hand_over.polled.store(true, std::memory_order_relaxed);
    if (first.has_value()) {
        check(first->has_value() && **first == hand_over.expected, "early reply");
        hand_over.received += 1;
        co_return;
    }
    hand_over.successor = &hand_over.executor.spawn(finish_receive(
        std::move(hand_over.receiver), hand_over.expected, hand_over.received));
    if (hand_over.sender)
        hand_over.executor.spawn(produce_value(std::move(*hand_over.sender), hand_over.expected));
}

void hand_over_changes_the_waker() {
    Executor executor;
    auto [sender, receiver] = multishot::channel<int>();
    HandOver hand_over{executor, std::move(receiver), 7, std::move(sender)};
    TaskRecord& first = executor.spawn(poll_then_hand_over(hand_over));
    executor.run();
    TaskRecord* second = hand_over.successor;
    check(hand_over.received == 1 && second != nullptr, "handed-over receive completed");
    check(first.wakes == 0, "the replaced waker (first task's) was not called");
    check(second != nullptr && second->wakes == 1, "the newest waker (second task's) was called");
    std::cout << "4. hand-over: first task's waker called " << first.wakes
              << " times, second task's " << (second ? second->wakes : -1) << '\n';
}

// 4b. The same hand-over racing a sender on a foreign thread, which may call
// the first task's waker while or after that task finishes: harmless.
void hand_over_races_a_foreign_sender() {
    constexpr int rounds = 2000;
    int received = 0;
    int first_task_wakes = 0;
    for (int round = 0; round < rounds; ++round) {
        Executor executor;
        auto [sender, receiver] = multishot::channel<int>();
        HandOver hand_over{executor, std::move(receiver), round, std::nullopt};
        TaskRecord& first = executor.spawn(poll_then_hand_over(hand_over));
        // Relaxed both ways: a start signal only, like `polled`.
        std::atomic<bool> spinning{false};
        std::thread foreign([&hand_over, &spinning, s = std::move(sender), round]() mutable {
            spinning.store(true, std::memory_order_relaxed);
            while (!hand_over.polled.load(std::memory_order_relaxed)) std::this_thread::yield();
            s.send(round);
        });
        while (!spinning.load(std::memory_order_relaxed)) std::this_thread::yield();
        executor.run();
        foreign.join();  // the executor must outlive every waker call
        received += hand_over.received;
        first_task_wakes += first.wakes;
    }
    check(received == rounds, "every raced hand-over received its reply");
    std::cout << "4b. " << rounds << " raced hand-overs; calls of the first task's waker, which "
              << "had finished or was finishing (ignored): " << first_task_wakes << '\n';
}

}  // namespace

int main() {
    replies_from_foreign_threads();
    sender_on_the_executor_thread();
    spurious_wake_re_registers();
    hand_over_changes_the_waker();
    hand_over_races_a_foreign_sender();
    std::cout << (ok ? "single_thread_executor: all good\n" : "single_thread_executor: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
