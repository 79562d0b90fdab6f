// B1: the reuse cycle on one thread: sender(), send, and a receive that is
// ready, against the floor of what the algorithm must pay and against what a
// C++ user would otherwise write.
#include <atomic>
#include <cstddef>
#include <future>

#include <benchmark/benchmark.h>

#include "support.hpp"

namespace {

// The floor: one acq_rel read-modify-write (the send's fetch_sub) and one
// relaxed store (the receiver's reset), the least the state machine pays per
// message.
void B1_floor_fetch_sub_and_store(benchmark::State& state) {
    std::atomic<std::size_t> word{3};
    for (auto _ : state) {
        // acq_rel, as the send it stands for: publishes the value and
        // synchronizes with the receiver's registration.
        benchmark::DoNotOptimize(word.fetch_sub(3, std::memory_order_acq_rel));
        // relaxed, as the receiver's reset: no one else reads the word then.
        word.store(3, std::memory_order_relaxed);
    }
}
BENCHMARK(B1_floor_fetch_sub_and_store);

// sender(), send, poll_recv with an empty waker (ready: no registration).
void B1_multishot_poll(benchmark::State& state) {
    multishot::Receiver<int> receiver;
    int value = 0;
    for (auto _ : state) {
        receiver.sender()->send(value++);
        // Checked, as the Rust peers' match: value() throws if pending or closed.
        bench::consume(receiver.poll_recv(multishot::Waker{}).value().value());
    }
}
BENCHMARK(B1_multishot_poll);

// The benchmark loop runs inside a coroutine; co_await recv() finds the value
// ready, so it completes in await_ready without suspending.
bench::Task run_co_await_cycle(benchmark::State& state, multishot::Receiver<int>& receiver) {
    int value = 0;
    for (auto _ : state) {
        receiver.sender()->send(value++);
        // Checked, as the Rust peers' unwrap(): value() throws if closed.
        bench::consume((co_await receiver.recv()).value());
    }
}

void B1_multishot_co_await(benchmark::State& state) {
    multishot::Receiver<int> receiver;
    const bench::Task task = run_co_await_cycle(state, receiver);
    if (!task.done()) state.SkipWithError("the coroutine suspended on a ready value");
}
BENCHMARK(B1_multishot_co_await);

// The waker of B1_multishot_waker: sets the flag its context points to.
void set_flag(void* flag) noexcept {
    // relaxed: the flag is read on this thread, after the send that wakes.
    static_cast<std::atomic<bool>*>(flag)->store(true, std::memory_order_relaxed);
}

// The reuse cycle with a waker registered, as a task runtime meets it when
// the receive comes first: sender(), a pending poll_recv (registers the
// waker), send (calls it), and a ready poll_recv with the same waker. The
// Rust peers (benchmarks/peers) run the same cycle.
void B1_multishot_waker(benchmark::State& state) {
    multishot::Receiver<int> receiver;
    std::atomic<bool> woken{false};
    const multishot::Waker waker(&set_flag, &woken);
    int value = 0;
    std::size_t wrong = 0;
    for (auto _ : state) {
        multishot::Sender<int> sender = *receiver.sender();
        if (receiver.poll_recv(waker).has_value()) ++wrong;  // must be pending
        sender.send(value++);
        // relaxed: written by the waker on this thread.
        if (!woken.load(std::memory_order_relaxed)) ++wrong;
        woken.store(false, std::memory_order_relaxed);
        bench::consume(receiver.poll_recv(waker).value().value());
    }
    if (wrong != 0) state.SkipWithError("a poll was not pending first, or the send did not wake");
}
BENCHMARK(B1_multishot_waker);

// A new channel per message: what reuse saves (one allocation and free).
void B1_fresh_channel_per_message(benchmark::State& state) {
    int value = 0;
    for (auto _ : state) {
        auto [sender, receiver] = multishot::channel<int>();
        sender.send(value++);
        bench::consume(receiver.poll_recv(multishot::Waker{}).value().value());
    }
}
BENCHMARK(B1_fresh_channel_per_message);

// std::promise / std::future: create, set_value, get.
void B1_promise_future(benchmark::State& state) {
    int value = 0;
    for (auto _ : state) {
        std::promise<int> promise;
        std::future<int> future = promise.get_future();
        promise.set_value(value++);
        bench::consume(future.get());
    }
}
BENCHMARK(B1_promise_future);

}  // namespace
