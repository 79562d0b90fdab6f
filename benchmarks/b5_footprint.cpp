// B5: allocations per reuse cycle (must be 0) and the size of the shared
// block, reported as benchmark counters. A non-zero allocation count is an
// error, so the CI smoke pass fails on it.
#include <cstddef>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include "support.hpp"

namespace {

// Reports the allocations made by the timed loop on this thread, per
// iteration, and fails the benchmark if there were any.
void report_allocations(benchmark::State& state, std::size_t before) {
    const std::size_t allocations = bench::allocations_on_this_thread() - before;
    state.counters["allocs_per_cycle"] =
        benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
    // The shared block for T = int, void and std::string, as the channel
    // allocates it with std::allocator.
    state.counters["block_bytes"] = static_cast<double>(sizeof(multishot::detail::Block<int>));
    state.counters["block_bytes_void"] =
        static_cast<double>(sizeof(multishot::detail::Block<void>));
    state.counters["block_bytes_string"] =
        static_cast<double>(sizeof(multishot::detail::Block<std::string>));
    // The extension (wait cell and closure waker), allocated once per block
    // only by a receive through the wait cell or a closure waker: neither
    // cycle below allocates it.
    state.counters["extension_bytes"] = static_cast<double>(sizeof(multishot::detail::Extension));
    if (allocations != 0) state.SkipWithError("the reuse cycle allocated");
}

// sender(), send, ready poll_recv.
void B5_allocations_poll_cycle(benchmark::State& state) {
    multishot::Receiver<int> receiver;
    const std::size_t before = bench::allocations_on_this_thread();
    int value = 0;
    for (auto _ : state) {
        receiver.sender()->send(value++);
        benchmark::DoNotOptimize(receiver.poll_recv(multishot::Waker{}));
    }
    report_allocations(state, before);
}
BENCHMARK(B5_allocations_poll_cycle);

// The one-thread coroutine ping-pong of B4: two receivers, senders handed
// over in the messages, a suspension and an inline resumption per round trip.
void B5_allocations_coroutine_ping_pong(benchmark::State& state) {
    multishot::Receiver<bench::Ping> pings;
    multishot::Receiver<bench::Pong> pongs;
    multishot::Sender<bench::Ping> to_pong = *pings.sender();
    const bench::Task answering = bench::answer_pings_inline(pings);
    std::size_t before = 0;
    const bench::Task driving = bench::drive_pings_inline(state, pongs, to_pong, before);
    report_allocations(state, before);
    // Closing the ping channel ends the answering coroutine.
    { const multishot::Sender<bench::Ping> closing = std::move(to_pong); }
    if (!answering.done()) state.SkipWithError("the answering coroutine did not finish");
}
BENCHMARK(B5_allocations_coroutine_ping_pong);

}  // namespace
