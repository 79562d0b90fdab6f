// Runs two actions on two threads, released at the same moment.
#pragma once

#include <atomic>
#include <thread>
#include <utility>

namespace multishot_test {

/// Runs `first` on a new thread and `second` on the calling thread. Both wait
/// until the other has started, so that they overlap as much as the
/// scheduler allows, and this returns once both have finished (also when
/// `second` throws, for example a failed REQUIRE: only the calling thread
/// may use Catch's assertions).
template <class First, class Second>
void run_concurrently(First&& first, Second&& second) {
    std::atomic<int> arrived{0};
    // Relaxed: the rendezvous only aligns the start times. The actions'
    // data is handed over by the jthread constructor and its join.
    auto meet = [&arrived] {
        arrived.fetch_add(1, std::memory_order_relaxed);
        while (arrived.load(std::memory_order_relaxed) < 2) std::this_thread::yield();
    };
    const std::jthread thread([&] {
        meet();
        std::forward<First>(first)();
    });
    meet();
    std::forward<Second>(second)();
}

}  // namespace multishot_test
