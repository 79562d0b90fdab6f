// B2: two threads ping-pong through two reused channels, each side
// re-polling until its value is ready; against two atomic flags on separate
// cache lines, the floor of any spinning hand-off.
#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>

#include <benchmark/benchmark.h>

#include "support.hpp"

namespace {

// Spins on poll_recv until the receive completes. With a non-empty waker
// the first pending poll registers it and every re-poll finds it already
// registered (no read-modify-write); the empty waker matches the empty slot
// that sender() leaves, so it never registers at all.
template <class T>
multishot::RecvResult<T> spin_receive(multishot::Receiver<T>& receiver,
                                      const multishot::Waker& waker) {
    for (;;) {
        if (multishot::PollResult<T> result = receiver.poll_recv(waker)) return std::move(*result);
    }
}

void wake_nobody(void*) noexcept {}

// The pong side: answers every ping until the ping sender is dropped.
void answer_pings(multishot::Receiver<bench::Ping> pings, multishot::Waker waker) {
    for (;;) {
        multishot::RecvResult<bench::Ping> ping = spin_receive(pings, waker);
        if (!ping) return;
        ping->reply.send(bench::Pong{*pings.sender()});
    }
}

void run_multishot_spin(benchmark::State& state, multishot::Waker waker) {
    multishot::Receiver<bench::Ping> pings;
    multishot::Sender<bench::Ping> to_pong = *pings.sender();
    std::thread pong(answer_pings, std::move(pings), waker);

    multishot::Receiver<bench::Pong> pongs;
    for (auto _ : state) {
        to_pong.send(bench::Ping{*pongs.sender()});
        multishot::RecvResult<bench::Pong> pong_message = spin_receive(pongs, waker);
        to_pong = std::move(pong_message->next);
    }
    // Dropping the unused sender closes the pong side's channel: it returns.
    { const multishot::Sender<bench::Ping> closing = std::move(to_pong); }
    pong.join();
}

// Polls with an empty waker: what a pure spinner needs.
void B2_multishot_spin_empty_waker(benchmark::State& state) {
    run_multishot_spin(state, multishot::Waker{});
}
BENCHMARK(B2_multishot_spin_empty_waker)->UseRealTime();

// Polls with a real (no-op) waker, as a task runtime would: registered once
// per message, re-polls find it registered.
void B2_multishot_spin_waker(benchmark::State& state) {
    run_multishot_spin(state, multishot::Waker(&wake_nobody, nullptr));
}
BENCHMARK(B2_multishot_spin_waker)->UseRealTime();

// The floor: two flags on separate cache lines carrying a sequence number.
struct alignas(64) Flag {
    std::atomic<std::uint64_t> sequence{0};
};

constexpr std::uint64_t stop_sequence = ~std::uint64_t{0};

std::uint64_t spin_until_changed(const Flag& flag, std::uint64_t seen) {
    for (;;) {
        // acquire: pairs with the release store that published the new number.
        const std::uint64_t now = flag.sequence.load(std::memory_order_acquire);
        if (now != seen) return now;
    }
}

void echo_flags(const Flag& ping, Flag& pong) {
    std::uint64_t seen = 0;
    for (;;) {
        seen = spin_until_changed(ping, seen);
        if (seen == stop_sequence) return;
        // release: a real payload written before this would be published.
        pong.sequence.store(seen, std::memory_order_release);
    }
}

void B2_two_flags(benchmark::State& state) {
    Flag ping;
    Flag pong;
    std::thread echo(echo_flags, std::cref(ping), std::ref(pong));
    std::uint64_t sequence = 0;
    for (auto _ : state) {
        ++sequence;
        // release: as in echo_flags.
        ping.sequence.store(sequence, std::memory_order_release);
        spin_until_changed(pong, sequence - 1);
    }
    // relaxed: on seeing the stop number the echo thread reads nothing else.
    ping.sequence.store(stop_sequence, std::memory_order_relaxed);
    echo.join();
}
BENCHMARK(B2_two_flags)->UseRealTime();

}  // namespace
