// A multishot::Waker that counts how often it was called.
#pragma once

#include <multishot.hpp>

#include <atomic>
#include <cstddef>

namespace multishot_test {

class CountingWaker {
public:
    CountingWaker() = default;
    CountingWaker(const CountingWaker&) = delete;
    CountingWaker& operator=(const CountingWaker&) = delete;

    /// A Waker that increments this counter. It points to *this: keep the
    /// CountingWaker alive while the Waker may be called.
    multishot::Waker waker() noexcept { return multishot::Waker(&on_wake, this); }

    /// The number of calls since the previous take_count(); resets it.
    ///
    /// Acquire, pairing with the release in on_wake(): a caller that sees a
    /// call also sees everything the waking thread did before it, in
    /// particular the sender's completing RMW, so its next poll is ready.
    std::size_t take_count() noexcept { return count_.exchange(0, std::memory_order_acquire); }

private:
    // Release: publishes the waking thread's earlier writes (see take_count).
    static void on_wake(void* self) noexcept {
        static_cast<CountingWaker*>(self)->count_.fetch_add(1, std::memory_order_release);
    }

    std::atomic<std::size_t> count_{0};
};

}  // namespace multishot_test
