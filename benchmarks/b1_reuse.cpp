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
        multishot::PollResult<int> result = receiver.poll_recv(multishot::Waker{});
        benchmark::DoNotOptimize(**result);
    }
}
BENCHMARK(B1_multishot_poll);

// The benchmark loop runs inside a coroutine; co_await recv() finds the value
// ready, so it completes in await_ready without suspending.
bench::Task run_co_await_cycle(benchmark::State& state, multishot::Receiver<int>& receiver) {
    int value = 0;
    for (auto _ : state) {
        receiver.sender()->send(value++);
        multishot::RecvResult<int> result = co_await receiver.recv();
        benchmark::DoNotOptimize(*result);
    }
}

void B1_multishot_co_await(benchmark::State& state) {
    multishot::Receiver<int> receiver;
    const bench::Task task = run_co_await_cycle(state, receiver);
    if (!task.done()) state.SkipWithError("the coroutine suspended on a ready value");
}
BENCHMARK(B1_multishot_co_await);

// A new channel per message: what reuse saves (one allocation and free).
void B1_fresh_channel_per_message(benchmark::State& state) {
    int value = 0;
    for (auto _ : state) {
        auto [sender, receiver] = multishot::channel<int>();
        sender.send(value++);
        multishot::PollResult<int> result = receiver.poll_recv(multishot::Waker{});
        benchmark::DoNotOptimize(**result);
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
        benchmark::DoNotOptimize(future.get());
    }
}
BENCHMARK(B1_promise_future);

}  // namespace
