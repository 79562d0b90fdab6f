// Wake-up latency of a blocked receive: the time from send() on one thread to
// recv_blocking() / recv_for() returning on another, where the receiver was
// already asleep. The median over the rounds must stay under 5 ms, a loose
// bound for a loaded CI machine: a futex wake-up or a condition variable
// takes tens of microseconds, while a wait that polls (libstdc++ 12's
// std::binary_semaphore sleeps up to 64 ms between checks, libc++'s 8 ms)
// wakes milliseconds late (measured with the header's former
// std::binary_semaphore wait: recv_for's median 12-16 ms late, p90 32 ms).
// Built in every matrix entry, so it measures the futex
// path (the default on Linux) and the portable one (-DMULTISHOT_PORTABLE_WAIT)
// alike, and prints the figures.
//
//   multishot_wake_latency [rounds]

#include <multishot.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto median_bound = 5ms;

// How long the sender of round `round` waits before sending, so that the
// receiver is asleep: 10 to 28 ms, varied because a polling wait's lateness
// depends on where the send falls in its schedule of sleeps (with one fixed
// delay it can happen to wake on time).
std::chrono::milliseconds head_start(int round) { return 10ms + (round % 10) * 2ms; }

double as_us(Clock::duration duration) {
    return std::chrono::duration<double, std::micro>(duration).count();
}

// One round: the receiver blocks (recv_blocking if `timed` is false, else
// recv_for with a timeout it never reaches), a new thread sends after the
// head start; the value sent is the send time, so the channel itself hands
// it over. Returns the latency, or a negative duration on a wrong result.
Clock::duration one_round(multishot::Receiver<std::int64_t>& receiver, bool timed, int round) {
    std::thread sending([sender = *receiver.sender(), delay = head_start(round)]() mutable {
        std::this_thread::sleep_for(delay);
        sender.send(Clock::now().time_since_epoch().count());
    });
    const multishot::RecvResult<std::int64_t> result =
        timed ? receiver.recv_for(10s) : receiver.recv_blocking();
    const Clock::time_point received_at = Clock::now();
    sending.join();
    if (!result) return Clock::duration(-1);
    return received_at - Clock::time_point(Clock::duration(*result));
}

struct Summary {
    Clock::duration median, p90, max;
};

Summary summarize(std::vector<Clock::duration> latencies) {
    std::sort(latencies.begin(), latencies.end());
    return {latencies[latencies.size() / 2], latencies[latencies.size() * 9 / 10],
            latencies.back()};
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 50;
    if (rounds < 1) return 2;
    const char* wait =
#if defined(MULTISHOT_FUTEX_WAIT) && MULTISHOT_FUTEX_WAIT
        "futex";
#elif defined(MULTISHOT_PORTABLE_WAIT)
        "portable (MULTISHOT_PORTABLE_WAIT)";
#else
        "non-futex";
#endif
    bool ok = true;
    multishot::Receiver<std::int64_t> receiver;
    for (const bool timed : {false, true}) {
        std::vector<Clock::duration> latencies;
        for (int round = 0; round < rounds; ++round) {
            const Clock::duration latency = one_round(receiver, timed, round);
            if (latency < Clock::duration::zero()) {
                std::puts("FAIL: the receive did not get the value");
                return 1;
            }
            latencies.push_back(latency);
        }
        const Summary summary = summarize(std::move(latencies));
        const bool within = summary.median < median_bound;
        std::printf("%s wait, %-13s send-to-wake latency over %d rounds: median %.1f us, "
                    "p90 %.1f us, max %.1f us (bound: median < %.0f us)%s\n",
                    wait, timed ? "recv_for:" : "recv_blocking:", rounds, as_us(summary.median),
                    as_us(summary.p90), as_us(summary.max), as_us(median_bound),
                    within ? "" : "  FAIL");
        ok = ok && within;
    }
    return ok ? 0 : 1;
}
