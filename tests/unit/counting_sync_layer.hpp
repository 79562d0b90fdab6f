// A sync layer (see the header's "Sync layer") that counts the
// read-modify-write operations the channel makes on the calling thread, for
// rmw_count_test.cpp: std::atomic with its RMW members counted, and plain
// storage. It brings no wait primitives (no MULTISHOT_SYNC_LAYER_WAIT): the
// header's own futex or mutex wait serves. Each compare-exchange attempt
// counts once, as the processor's locked instruction does.
#pragma once

#include <atomic>

#define MULTISHOT_SITE_PARAMS int = 0
#define MULTISHOT_SITE_ARGS "", 0

namespace multishot_test {
// The RMWs this thread has made through the channel's atomics.
inline thread_local long rmw_count = 0;
}  // namespace multishot_test

namespace multishot::detail {

template <class V>
class Atomic : public std::atomic<V> {
public:
    using std::atomic<V>::atomic;

    V exchange(V value, std::memory_order order) noexcept {
        return counted(), std::atomic<V>::exchange(value, order);
    }
    V fetch_add(V value, std::memory_order order) noexcept {
        return counted(), std::atomic<V>::fetch_add(value, order);
    }
    V fetch_sub(V value, std::memory_order order) noexcept {
        return counted(), std::atomic<V>::fetch_sub(value, order);
    }
    V fetch_or(V value, std::memory_order order) noexcept {
        return counted(), std::atomic<V>::fetch_or(value, order);
    }
    V fetch_and(V value, std::memory_order order) noexcept {
        return counted(), std::atomic<V>::fetch_and(value, order);
    }
    bool compare_exchange_weak(V& expected, V desired, std::memory_order success,
                               std::memory_order failure) noexcept {
        return counted(),
               std::atomic<V>::compare_exchange_weak(expected, desired, success, failure);
    }
    bool compare_exchange_strong(V& expected, V desired, std::memory_order success,
                                 std::memory_order failure) noexcept {
        return counted(),
               std::atomic<V>::compare_exchange_strong(expected, desired, success, failure);
    }

private:
    static void counted() noexcept { ++multishot_test::rmw_count; }
};

class AccessShadow {
public:
    void read(const char*, unsigned) const noexcept {}
    void write(const char*, unsigned) noexcept {}
};

}  // namespace multishot::detail
