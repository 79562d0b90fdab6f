// Replaces the global operator new and delete with counting wrappers around
// malloc and free. The sanitizers and valgrind still see every block, since
// they intercept malloc and free. The array, nothrow and sized forms of the
// standard library forward to these two.
#include "allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

// Relaxed: a tally, read only after the threads that change it are joined
// (the join orders their increments before the read).
std::atomic<std::int64_t> live{0};

thread_local std::uint64_t thread_allocations = 0;

}  // namespace

namespace stress {

std::int64_t live_allocations() noexcept { return live.load(std::memory_order_relaxed); }

std::uint64_t allocations_on_this_thread() noexcept { return thread_allocations; }

}  // namespace stress

#if MULTISHOT_STRESS_REPLACES_OPERATOR_NEW

void* operator new(std::size_t size) {
    void* block = std::malloc(size == 0 ? 1 : size);
    if (block == nullptr) throw std::bad_alloc();
    live.fetch_add(1, std::memory_order_relaxed);  // Relaxed: a tally (see above).
    ++thread_allocations;
    return block;
}

void operator delete(void* block) noexcept {
    if (block == nullptr) return;
    live.fetch_sub(1, std::memory_order_relaxed);  // Relaxed: a tally (see above).
    std::free(block);
}

void operator delete(void* block, std::size_t) noexcept { ::operator delete(block); }

#endif  // MULTISHOT_STRESS_REPLACES_OPERATOR_NEW
