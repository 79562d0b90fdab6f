// Runs two actions on two threads, released at the same moment.
#pragma once

#include <atomic>
#include <thread>
#include <type_traits>
#include <utility>

namespace multishot_test {

/// A std::thread that joins when destroyed: std::jthread without the stop
/// token, for standard libraries that lack std::jthread (libc++ 16).
class JoiningThread {
public:
    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, JoiningThread>)
    explicit JoiningThread(F&& f) : thread_(std::forward<F>(f)) {}
    JoiningThread(JoiningThread&&) noexcept = default;
    JoiningThread& operator=(JoiningThread&&) = delete;
    JoiningThread(const JoiningThread&) = delete;
    JoiningThread& operator=(const JoiningThread&) = delete;
    ~JoiningThread() {
        if (thread_.joinable()) thread_.join();
    }

    void join() { thread_.join(); }

private:
    std::thread thread_;
};

/// Busy-waits for `turns` turns of a loop (about a nanosecond each).
inline void spin_for(int turns) {
    // The fence (a compiler barrier, no instruction) keeps the loop from
    // being optimized away.
    for (int turn = 0; turn < turns; ++turn) std::atomic_signal_fence(std::memory_order_seq_cst);
}

/// Runs `first` on a new thread and `second` on the calling thread, started
/// together once the new thread is up and spinning; `stagger` delays the
/// start of `second` (if positive) or of `first` (if negative) by that many
/// spin_for turns, so that a test varying it across rounds makes the two
/// actions overlap in many ways. Returns once both have finished (also when
/// `second` throws, for example a failed REQUIRE: only the calling thread
/// may use Catch's assertions).
template <class First, class Second>
void run_concurrently(First&& first, Second&& second, int stagger = 0) {
    // 0: starting; 1: the new thread is waiting, spinning; 2: go.
    // Relaxed: the rendezvous only aligns the start times. The actions'
    // data is handed over by the thread's constructor and its join.
    std::atomic<int> phase{0};
    const JoiningThread thread([&] {
        phase.store(1, std::memory_order_relaxed);
        // Spins (so as to see "go" within nanoseconds), yielding only if the
        // calling thread is slow to come: the machine may be busy.
        for (int spins = 0; phase.load(std::memory_order_relaxed) != 2; ++spins) {
            if (spins > 100000) std::this_thread::yield();
        }
        spin_for(-stagger);
        std::forward<First>(first)();
    });
    while (phase.load(std::memory_order_relaxed) != 1) std::this_thread::yield();
    phase.store(2, std::memory_order_relaxed);
    spin_for(stagger);
    std::forward<Second>(second)();
}

/// A stagger for round `round` of a concurrent test, cycling through 64
/// values from -512 to 3520. On the development machine (2 vCPUs), the
/// calling thread starts a few hundred turns ahead, and this range spreads a
/// short action on each thread across all of their relative orders.
inline int stagger_for(int round) { return (round % 64) * 64 - 512; }

}  // namespace multishot_test
