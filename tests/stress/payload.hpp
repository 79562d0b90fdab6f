// The value type of the stress test: a sequence number that counts its
// objects, so that the test can tell delivered values from discarded ones
// and find leaks and double destruction.
#ifndef MULTISHOT_STRESS_PAYLOAD_HPP
#define MULTISHOT_STRESS_PAYLOAD_HPP

#include <atomic>
#include <cstdint>
#include <utility>

namespace stress {

/// A sequence number that the receiver takes out exactly once. A Payload
/// destroyed while still holding its number was discarded: sent but never
/// taken. Moving transfers the number and leaves the source empty.
class Payload {
public:
    explicit Payload(std::uint64_t sequence) noexcept : sequence_(sequence) {
        count_construction();
    }

    Payload(Payload&& other) noexcept : sequence_(std::exchange(other.sequence_, 0)) {
        count_construction();
    }

    Payload(const Payload&) = delete;
    Payload& operator=(const Payload&) = delete;
    Payload& operator=(Payload&&) = delete;

    ~Payload() {
        // Relaxed: tallies, read by a thread that has synchronized with this
        // one (a join, or the acquire load of the sender thread's completion
        // signal, which it stores with release after destroying its values).
        if (sequence_ != 0) discarded_.fetch_add(1, std::memory_order_relaxed);
        live_.fetch_sub(1, std::memory_order_relaxed);
    }

    /// Takes the sequence number out (0 if it was taken already).
    std::uint64_t take() noexcept { return std::exchange(sequence_, 0); }

    /// Payload objects alive now.
    static std::int64_t live() noexcept { return live_.load(std::memory_order_relaxed); }

    /// Payload objects destroyed while still holding a sequence number.
    static std::uint64_t discarded() noexcept { return discarded_.load(std::memory_order_relaxed); }

private:
    static void count_construction() noexcept {
        live_.fetch_add(1, std::memory_order_relaxed);  // Relaxed: see ~Payload.
    }

    std::uint64_t sequence_;

    static inline std::atomic<std::int64_t> live_{0};
    static inline std::atomic<std::uint64_t> discarded_{0};
};

}  // namespace stress

#endif
