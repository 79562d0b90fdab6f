// Counts heap allocations made through the global operator new, which
// allocation_counter.cpp replaces for the stress executable. The stress test
// uses it to check that nothing leaks and that the channel allocates only
// when a Receiver is created.
#ifndef MULTISHOT_STRESS_ALLOCATION_COUNTER_HPP
#define MULTISHOT_STRESS_ALLOCATION_COUNTER_HPP

#include <cstdint>
#include <new>

// Clang links its sanitizer runtimes whole into the program, and they define
// operator new themselves: there a replacement is a duplicate definition, so
// the program does without. (GCC links them as shared libraries, which a
// replacement in the program overrides.)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MULTISHOT_STRESS_REPLACES_OPERATOR_NEW 0
#endif
#endif
#if !defined(MULTISHOT_STRESS_REPLACES_OPERATOR_NEW)
#define MULTISHOT_STRESS_REPLACES_OPERATOR_NEW 1
#endif

namespace stress {

/// Allocations made through the global operator new and not yet freed, on
/// all threads. Exact once the threads that allocate have been joined.
std::int64_t live_allocations() noexcept;

/// Allocations made through the global operator new by the calling thread
/// since it started.
std::uint64_t allocations_on_this_thread() noexcept;

/// True if the counting operator new is the one in use: not so under
/// clang's sanitizers (see above), nor under valgrind, which substitutes its
/// own. Where false, the functions above return 0.
inline bool allocations_are_counted() {
    const std::uint64_t before = allocations_on_this_thread();
    // A direct call, unlike a new-expression, may not be optimized away.
    ::operator delete(::operator new(1));
    return allocations_on_this_thread() != before;
}

}  // namespace stress

#endif
