// Counting value types: every construction and destruction of a tracked
// object is recorded, so that a test can check that each object created
// through a channel was destroyed exactly once.
#pragma once

#include <atomic>

namespace multishot_test {

// Process-wide tallies of tracked objects.
//
// Every counter operation is relaxed: the counters are only compared after the
// threads that touched the objects were joined (or, for a single thread, in
// program order), and join() provides the happens-before edge.
class Census {
public:
    static void constructed() noexcept { constructions_.fetch_add(1, std::memory_order_relaxed); }
    static void destroyed() noexcept { destructions_.fetch_add(1, std::memory_order_relaxed); }

    static long constructions() noexcept {
        return constructions_.load(std::memory_order_relaxed);
    }
    static long destructions() noexcept { return destructions_.load(std::memory_order_relaxed); }

    // Objects constructed and not yet destroyed.
    static long live() noexcept { return constructions() - destructions(); }

private:
    static inline std::atomic<long> constructions_{0};
    static inline std::atomic<long> destructions_{0};
};

// A tracked int. Not default-constructible; copyable and nothrow-movable.
class Counted {
public:
    explicit Counted(int value) noexcept : value_(value) { Census::constructed(); }
    Counted(const Counted& other) noexcept : value_(other.value_) { Census::constructed(); }
    Counted(Counted&& other) noexcept : value_(other.value_) { Census::constructed(); }
    Counted& operator=(const Counted&) = default;
    Counted& operator=(Counted&&) = default;
    ~Counted() { Census::destroyed(); }

    int value() const noexcept { return value_; }

    friend bool operator==(const Counted&, const Counted&) = default;

private:
    int value_;
};

}  // namespace multishot_test
