// The library side of the dso tests (see dso_api.hpp): it sends on, closes,
// and receives on channels created by the main program, with its own copy of
// every multishot function it uses.
#include "dso_api.hpp"

#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "support/task.hpp"

struct dso_thread {
    std::thread thread;
};

struct dso_task {
    explicit dso_task(multishot_test::Task<dso_outcome> coroutine) : task(std::move(coroutine)) {}
    multishot_test::Task<dso_outcome> task;
};

namespace {

multishot_test::Task<dso_outcome> receive(multishot::Receiver<int>& receiver) {
    co_return dso_outcome_of(co_await receiver.recv());
}

#if MULTISHOT_DSO_HAS_STOP_TOKEN
multishot_test::Task<dso_outcome> receive(multishot::Receiver<int>& receiver,
                                          std::stop_token token) {
    co_return dso_outcome_of(co_await receiver.recv(std::move(token)));
}
#endif

}  // namespace

extern "C" {

void dso_send(multishot::Sender<int>* sender, int value) { sender->send(value); }

void dso_drop(multishot::Sender<int>* sender) {
    [[maybe_unused]] const multishot::Sender<int> gone = std::move(*sender);
}

dso_thread* dso_send_later(multishot::Sender<int>* sender, int value, int delay_us) {
    return new dso_thread{std::thread([s = std::move(*sender), value, delay_us]() mutable {
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        s.send(value);
    })};
}

dso_thread* dso_drop_later(multishot::Sender<int>* sender, int delay_us) {
    return new dso_thread{std::thread([s = std::move(*sender), delay_us]() mutable {
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        [[maybe_unused]] const multishot::Sender<int> gone = std::move(s);
    })};
}

void dso_join(dso_thread* thread) {
    thread->thread.join();
    delete thread;
}

dso_outcome dso_recv_blocking(multishot::Receiver<int>* receiver) {
    return dso_outcome_of(receiver->recv_blocking());
}

dso_outcome dso_recv_for(multishot::Receiver<int>* receiver, int timeout_ms) {
    return dso_outcome_of(receiver->recv_for(std::chrono::milliseconds(timeout_ms)));
}

dso_outcome dso_recv_until(multishot::Receiver<int>* receiver, int timeout_ms) {
    return dso_outcome_of(receiver->recv_until(std::chrono::steady_clock::now() +
                                               std::chrono::milliseconds(timeout_ms)));
}

dso_task* dso_recv_start(multishot::Receiver<int>* receiver) {
    return new dso_task(receive(*receiver));
}

#if MULTISHOT_DSO_HAS_STOP_TOKEN
dso_task* dso_recv_token_start(multishot::Receiver<int>* receiver, const std::stop_token* token) {
    return new dso_task(receive(*receiver, *token));
}
#endif

dso_outcome dso_task_outcome(dso_task* task) {
    if (!task->task.done()) return {dso_pending, 0};
    return task->task.result();
}

void dso_task_destroy(dso_task* task) { delete task; }

dso_outcome dso_start_recv(multishot::Receiver<int>* receiver, const multishot::Waker* target) {
    const multishot::PollResult<int> started = receiver->start_recv(*target);
    if (!started) return {dso_pending, 0};
    return dso_outcome_of(*started);
}

dso_outcome dso_try_recv(multishot::Receiver<int>* receiver) {
    return dso_outcome_of(receiver->try_recv());
}

bool dso_cancel(multishot::Receiver<int>* receiver) { return receiver->canceller().cancel(); }

}  // extern "C"
