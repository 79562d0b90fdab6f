// multishot: an async, lock-free, reusable one-shot channel for C++20.
//
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// A `Receiver<T>` owns a heap block that is allocated once, when the receiver
// is created, and recycled for every message: `Receiver::sender()` hands out a
// single-use `Sender<T>`, the sender delivers one value (or is destroyed
// without sending), the receiver takes it with `co_await recv()` or with the
// poll layer, and the next `sender()` reuses the same block.
//
// Thread-safety contract:
//   * A `Sender` may be moved to, used on and destroyed on any thread.
//   * A `Receiver` (and the awaitable returned by `recv()`) is used by one
//     thread at a time. It may migrate between threads with the usual
//     happens-before hand-off (a coroutine resumed on another thread counts).
//   * Either half may be destroyed first, on any thread, at any moment.
//
// Resumption: a coroutine suspended in `co_await r.recv()` is resumed inline,
// on the thread that sends the value or destroys the sender, from within
// `Sender::send`, `Sender::emplace` or `~Sender`.
//
// The state machine is described in docs/algorithm.md.
// Each operation below carries its transition table and the reason for every
// memory ordering; read them together with that note.
//
// Layout of this header, top-down: configuration and the sync layer, public
// vocabulary types (errors, results, Waker), state bits, the wait cell (for
// receives that may stop waiting), shared block, Receiver, the awaitables,
// Sender, channel().

#ifndef MULTISHOT_HPP_INCLUDED
#define MULTISHOT_HPP_INCLUDED

// The version of this header, equal to the CMake project version (the test
// version.header_matches_cmake checks that they agree). MULTISHOT_VERSION is
// MAJOR * 10000 + MINOR * 100 + PATCH (0.2.0 is 200, 1.10.3 would be 11003),
// so that `#if MULTISHOT_VERSION >= 200` compares versions; MINOR and PATCH
// stay below 100. Defined before the C++20 check, so even a TU that stops
// at its #error has them.
#define MULTISHOT_VERSION_MAJOR 0
#define MULTISHOT_VERSION_MINOR 2
#define MULTISHOT_VERSION_PATCH 0
#define MULTISHOT_VERSION \
  (MULTISHOT_VERSION_MAJOR * 10000 + MULTISHOT_VERSION_MINOR * 100 + MULTISHOT_VERSION_PATCH)

// C++20 with coroutines, or one clear error (before any standard header, whose
// own errors would come first). MSVC reports the language level in _MSVC_LANG.
#if defined(_MSVC_LANG)
#define MULTISHOT_CPLUSPLUS _MSVC_LANG
#else
#define MULTISHOT_CPLUSPLUS __cplusplus
#endif
#if MULTISHOT_CPLUSPLUS < 202002L || !defined(__cpp_impl_coroutine)
#undef MULTISHOT_CPLUSPLUS
#error "multishot needs C++20 with coroutines (e.g. -std=c++20)"
#else  // the rest of the header, which only C++20 with coroutines compiles
#undef MULTISHOT_CPLUSPLUS

#include <version>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <coroutine>
#include <exception>
#include <iosfwd>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

// MULTISHOT_HAS_STOP_TOKEN: 1 if the standard library has std::stop_token
// (libstdc++ 10 and later; libc++ 16 has none outside its experimental mode),
// which co_await recv(std::stop_token) needs; 0 otherwise, and that receive
// is not declared.
#if defined(__cpp_lib_jthread)
#define MULTISHOT_HAS_STOP_TOKEN 1
#include <stop_token>
#else
#define MULTISHOT_HAS_STOP_TOKEN 0
#endif

// MULTISHOT_HAS_EXCEPTIONS: 0 under -fno-exceptions (or MSVC without /EHsc).
// Then every misuse that would throw prints "multishot: <what() of the
// exception>" and aborts, and a throwing T is the user's business.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define MULTISHOT_HAS_EXCEPTIONS 1
#else
#define MULTISHOT_HAS_EXCEPTIONS 0
#endif

// The blocking receives' wait: a futex on Linux, a mutex and a condition
// variable elsewhere, or on Linux too with -DMULTISHOT_PORTABLE_WAIT.
#if defined(__linux__) && !defined(MULTISHOT_PORTABLE_WAIT)
#define MULTISHOT_FUTEX_WAIT 1
#else
#define MULTISHOT_FUTEX_WAIT 0
#endif

#if MULTISHOT_FUTEX_WAIT && !defined(MULTISHOT_SYNC_LAYER_WAIT)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#elif !MULTISHOT_FUTEX_WAIT && !defined(MULTISHOT_SYNC_LAYER_WAIT)
#include <condition_variable>
#include <mutex>
#endif

// The model suite's sync layer, replacing this header's (see "Sync layer"):
// included after every standard header, before anything of multishot.
#if defined(MULTISHOT_SYNC_LAYER)
#include MULTISHOT_SYNC_LAYER
#endif

// MULTISHOT_NOINLINE: the compiler's spelling of "never inline this".
#if defined(_MSC_VER) && !defined(__clang__)
#define MULTISHOT_NOINLINE __declspec(noinline)
#else
#define MULTISHOT_NOINLINE [[gnu::noinline]]
#endif

// MULTISHOT_NO_UNIQUE_ADDRESS: the compiler's spelling of [[no_unique_address]]
// (MSVC ignores the standard one and has its own).
#if defined(_MSC_VER) && !defined(__clang__)
#define MULTISHOT_NO_UNIQUE_ADDRESS [[msvc::no_unique_address]]
#else
#define MULTISHOT_NO_UNIQUE_ADDRESS [[no_unique_address]]
#endif

// MULTISHOT_EMPTY_BASES: on MSVC, which otherwise gives only the first of
// several empty base classes no storage, the attribute that extends that to
// all of them (GCC and clang always do): RecvResult<T>'s special-member gates.
#if defined(_MSC_VER) && !defined(__clang__)
#define MULTISHOT_EMPTY_BASES __declspec(empty_bases)
#else
#define MULTISHOT_EMPTY_BASES
#endif

// MULTISHOT_ALWAYS_INLINE: "always inline this" where the compiler has the
// attribute (GCC and clang), on the hot paths that a compiler otherwise
// calls out of line: g++ 12 Receiver::sender(), Sender::send() (in a
// coroutine too, through the sender's memory) and Receiver::poll_recv();
// clang++ the steps of a send (Sender::announce() and publish_value()). Each
// call costs a prologue, an epilogue and a result passed through memory.
#if defined(__GNUC__)
#define MULTISHOT_ALWAYS_INLINE [[gnu::always_inline]]
#else
#define MULTISHOT_ALWAYS_INLINE
#endif

// ---------------------------------------------------------------------------
// Diagnostics and model hooks
// ---------------------------------------------------------------------------

// MULTISHOT_ASSERT(cond, message): a precondition check active unless NDEBUG
// is defined. On failure it prints "multishot: <message>" and aborts. The
// model suite's sync layer defines it first: a failed check is then a failed
// model run.
#if defined(MULTISHOT_ASSERT)
#elif defined(NDEBUG)
#define MULTISHOT_ASSERT(cond, message) ((void)0)
#else
#define MULTISHOT_ASSERT(cond, message) \
    ((cond) ? (void)0 : ::multishot::detail::assertion_failed(message, __FILE__, __LINE__))
#endif

// MULTISHOT_TRANSITION(operation, row): marks the place where `operation`
// takes the row `row` ("I O E" before the transition) of its transition
// table. It expands to nothing unless the model suite defines
// MULTISHOT_TRANSITION_HOOK to record which rows were reached.
#if defined(MULTISHOT_TRANSITION_HOOK)
#define MULTISHOT_TRANSITION(operation, row) MULTISHOT_TRANSITION_HOOK(operation, row)
#else
#define MULTISHOT_TRANSITION(operation, row) ((void)0)
#endif

namespace multishot {

namespace detail {

[[noreturn]] inline void assertion_failed(const char* message, const char* file,
                                          unsigned line) noexcept {
    std::fprintf(stderr, "multishot: %s (%s:%u)\n", message, file, line);
    std::abort();
}

// Throws E(args...) or, without exceptions, prints "multishot: <what()>" and
// aborts: a misuse is never silent either way. Out of line, with its
// arguments (a message, an error code) taken by value, so that a check on a
// hot path costs its test and a call in the cold branch: taken by reference,
// they made every caller store them in memory first.
template <class E, class... Args>
[[noreturn]] MULTISHOT_NOINLINE void raise(Args... args) {
#if MULTISHOT_HAS_EXCEPTIONS
    throw E(args...);
#else
    const E error(args...);
    std::fprintf(stderr, "multishot: %s\n", error.what());
    std::abort();
#endif
}

// ---------------------------------------------------------------------------
// Sync layer
// ---------------------------------------------------------------------------
//
// The algorithm names its orderings as std::memory_order values and touches
// shared non-atomic data only through `SharedCell` (waker slots) and
// `ValueSlot` (the value), whose accesses go through `AccessShadow`. Here
// these are std::atomic and plain storage. The model suite replaces this layer
// with its own (tests/model/sync_layer.hpp, named by MULTISHOT_SYNC_LAYER and
// included above), which maps them onto the model checker's instrumented
// types, so that every access is checked, at the algorithm's call site (the
// MULTISHOT_SITE_PARAMS that every operation takes last, unused here). With
// MULTISHOT_SYNC_LAYER_WAIT defined too, the layer brings its own wait
// primitives (Futex, or Mutex and CondVar); without, it replaces only the
// atomics and the shadows (tests/unit/counting_sync_layer.hpp), and its
// Atomic<V> must be a std::atomic<V>, which the Futex below takes.

#if !defined(MULTISHOT_SYNC_LAYER)

#define MULTISHOT_SITE_PARAMS int = 0
#define MULTISHOT_SITE_ARGS "", 0
template <class V>
using Atomic = std::atomic<V>;

class AccessShadow {
public:
    void read(const char*, unsigned) const noexcept {}
    void write(const char*, unsigned) noexcept {}
};

#endif  // MULTISHOT_SYNC_LAYER

#if !defined(MULTISHOT_SYNC_LAYER_WAIT)
#if MULTISHOT_FUTEX_WAIT

// The kernel side of the futex semaphore (see Semaphore).
class Futex {
public:
    // Sleeps while `word` holds `expected`, until woken, for at most
    // `timeout` (measured on CLOCK_MONOTONIC) unless it is null. May return
    // early (a signal, or a spurious wake-up).
    static void wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     const std::chrono::nanoseconds* timeout, int = 0) noexcept {
        if (timeout == nullptr) {
            call(word, FUTEX_WAIT_PRIVATE, expected, nullptr);
            return;
        }
        timespec relative{};
        relative.tv_sec = static_cast<decltype(relative.tv_sec)>(timeout->count() / 1'000'000'000);
        relative.tv_nsec =
            static_cast<decltype(relative.tv_nsec)>(timeout->count() % 1'000'000'000);
        call(word, FUTEX_WAIT_PRIVATE, expected, &relative);
    }

    // Wakes one sleeper, if any.
    static void wake_one(std::atomic<std::uint32_t>& word, int = 0) noexcept {
        call(word, FUTEX_WAKE_PRIVATE, 1, nullptr);
    }

private:
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

    static void call(std::atomic<std::uint32_t>& word, int operation, std::uint32_t value,
                     const timespec* timeout) noexcept {
        std::uint32_t* const address = reinterpret_cast<std::uint32_t*>(&word);
#if defined(SYS_futex_time64)
        // A 32-bit target whose time_t is 64 bits (-D_TIME_BITS=64): SYS_futex
        // would read the timespec as two 32-bit fields, and time out at once.
        if constexpr (sizeof(timespec{}.tv_sec) > sizeof(long)) {
            if (::syscall(SYS_futex_time64, address, operation, value, timeout) != -1 ||
                errno != ENOSYS)
                return;
            // A kernel before 5.1: the 32-bit call, with the timeout (at most
            // a day, see Semaphore) narrowed.
            struct {
                long tv_sec;
                long tv_nsec;
            } narrow{};
            if (timeout != nullptr) {
                narrow.tv_sec = static_cast<long>(timeout->tv_sec);
                narrow.tv_nsec = static_cast<long>(timeout->tv_nsec);
            }
            ::syscall(SYS_futex, address, operation, value,
                      timeout != nullptr ? &narrow : nullptr);
            return;
        }
#endif
        ::syscall(SYS_futex, address, operation, value, timeout);
    }
};

#else  // !MULTISHOT_FUTEX_WAIT

// The portable semaphore's mutex and condition variable (see Semaphore).
class Mutex {
public:
    void lock(int = 0) { mutex_.lock(); }
    void unlock(int = 0) { mutex_.unlock(); }
    std::mutex& native() noexcept { return mutex_; }

private:
    std::mutex mutex_;
};

class CondVar {
public:
    void wait(Mutex& mutex, int = 0) {
        std::unique_lock<std::mutex> lock(mutex.native(), std::adopt_lock);
        condition_.wait(lock);
        lock.release();
    }
    void wait_for(Mutex& mutex, std::chrono::nanoseconds timeout, int = 0) {
        std::unique_lock<std::mutex> lock(mutex.native(), std::adopt_lock);
        condition_.wait_for(lock, timeout);
        lock.release();
    }
    void notify_one(int = 0) noexcept { condition_.notify_one(); }

private:
    std::condition_variable condition_;
};

#endif  // MULTISHOT_FUTEX_WAIT
#endif  // MULTISHOT_SYNC_LAYER_WAIT

// A non-atomic cell shared between the two halves (a waker slot). The
// algorithm guarantees exclusive access; the model build checks it.
template <class V>
class SharedCell {
public:
    V load(MULTISHOT_SITE_PARAMS) const noexcept {
        shadow_.read(MULTISHOT_SITE_ARGS);
        return value_;
    }
    void store(const V& value, MULTISHOT_SITE_PARAMS) noexcept {
        shadow_.write(MULTISHOT_SITE_ARGS);
        value_ = value;
    }

private:
    V value_{};
    // Empty outside the model build: takes no space.
    MULTISHOT_NO_UNIQUE_ADDRESS AccessShadow shadow_;
};

// Raw, properly aligned storage for one T, constructed by the sender and
// destroyed by whoever consumes or discards it. Whether it holds a value is
// not recorded here: the state word says so.
template <class T>
class ValueSlot {
public:
    ValueSlot() noexcept {}
    ValueSlot(const ValueSlot&) = delete;
    ValueSlot& operator=(const ValueSlot&) = delete;
    ~ValueSlot() {}

    // (No call-site parameters: they cannot follow a deduced pack. The one
    // caller is Sender::emplace.)
    template <class... Args>
    void construct(Args&&... args) {
        shadow_.write(__FILE__, __LINE__);
        std::construct_at(std::addressof(value_), std::forward<Args>(args)...);
    }
    // Access for moving the value out: counts as a write, since moving
    // modifies the source.
    T& get(MULTISHOT_SITE_PARAMS) noexcept {
        shadow_.write(MULTISHOT_SITE_ARGS);
        return value_;
    }
    void destroy(MULTISHOT_SITE_PARAMS) noexcept {
        shadow_.write(MULTISHOT_SITE_ARGS);
        std::destroy_at(std::addressof(value_));
    }

private:
    union {
        T value_;
    };
    // Empty outside the model build: takes no space.
    MULTISHOT_NO_UNIQUE_ADDRESS AccessShadow shadow_;
};

// A void channel carries no value: only the state word says "sent".
template <>
class ValueSlot<void> {
public:
    void construct() noexcept {}
    void destroy() noexcept {}
};

// ---------------------------------------------------------------------------
// Semaphore: how a blocked receiver sleeps
// ---------------------------------------------------------------------------
//
// The wait cell's binary semaphore: one waiter (the blocked receiver), at most
// one release per wait, and the releaser (a sender, under its pin of the
// block) is done with it when release() returns. Timed waits take a relative
// timeout of at most a day; Receiver's deadline loop reads its clock again
// after every wait, so a wait that returns early costs nothing but a retry.
//
// Both implementations are written over the sync layer, so the model suite
// checks them with the rest (the kernel's futex and the mutex are modelled).

#if MULTISHOT_FUTEX_WAIT

// The futex semaphore: a word that is `empty`, `posted` (a permit waits) or
// `waiting` (the waiter announced it sleeps, so the releaser must wake it).
// std::binary_semaphore is not used: libstdc++'s timed wait polls with sleeps
// of up to 64 ms instead of sleeping until released.
//
// | operation            | word                  | to                | then         |
// |----------------------|-----------------------|-------------------|--------------|
// | release              | empty or posted       | posted            | done         |
// | release              | waiting               | posted            | wake waiter  |
// | take (try_acquire)   | posted                | empty             | acquired     |
// | announce             | empty                 | waiting           | sleep        |
// | announce             | posted                | unchanged         | take         |
// | withdraw (woken or timed out, permit not taken) | waiting | empty | not acquired |
// | withdraw             | posted (released meanwhile) | unchanged   | take         |
class Semaphore {
public:
    /// Posts the permit, waking the waiter if it sleeps.
    void release() noexcept {
        // Release: the waiter that takes the permit sees what the releaser
        // did before releasing (the sender's completion).
        if (word_.exchange(posted, std::memory_order::release) == waiting) {
            MULTISHOT_TRANSITION("semaphore release", "waiting: wake");
            futex_.wake_one(word_);
        } else {
            MULTISHOT_TRANSITION("semaphore release", "not waiting");
        }
    }

    /// Sleeps until the permit is posted, and takes it.
    void acquire() noexcept {
        while (!wait(nullptr)) {
        }
    }

    /// Takes the permit if it is posted; never waits.
    bool try_acquire() noexcept {
        std::uint32_t expected = posted;
        // Acquire: pairs with release().
        return word_.compare_exchange_strong(expected, empty, std::memory_order::acquire,
                                             std::memory_order::relaxed);
    }

    /// Sleeps for at most `timeout` until the permit is posted; true if it
    /// took it. May return false early.
    bool try_acquire_for(std::chrono::nanoseconds timeout) noexcept { return wait(&timeout); }

private:
    static constexpr std::uint32_t empty = 0;
    static constexpr std::uint32_t posted = 1;
    static constexpr std::uint32_t waiting = 2;

    bool wait(const std::chrono::nanoseconds* timeout) noexcept {
        if (try_acquire()) return true;
        std::uint32_t expected = empty;
        // Relaxed: the announcement publishes nothing; the kernel checks the
        // word again before sleeping, and the permit is taken by an acquire.
        if (!word_.compare_exchange_strong(expected, waiting, std::memory_order::relaxed,
                                           std::memory_order::relaxed)) {
            MULTISHOT_TRANSITION("semaphore announce", "posted: take");
            return try_acquire();
        }
        MULTISHOT_TRANSITION("semaphore announce", "sleep");
        futex_.wait(word_, waiting, timeout);
        if (try_acquire()) return true;
        expected = waiting;
        // Relaxed: withdrawing publishes nothing either. If a release came
        // meanwhile, the CAS fails and the permit is taken instead.
        const bool withdrawn = word_.compare_exchange_strong(
            expected, empty, std::memory_order::relaxed, std::memory_order::relaxed);
        MULTISHOT_TRANSITION("semaphore withdraw", withdrawn ? "withdrawn" : "posted: take");
        return !withdrawn && try_acquire();
    }

    Atomic<std::uint32_t> word_{empty};
    [[no_unique_address]] Futex futex_;
};

#else  // !MULTISHOT_FUTEX_WAIT

// The portable semaphore: a flag under a mutex, and a condition variable the
// waiter sleeps on. The releaser notifies while holding the mutex, so the
// waiter cannot see the flag, return, and let the block be freed while the
// notification is still being made.
class Semaphore {
public:
    /// Posts the permit, waking the waiter if it sleeps.
    void release() noexcept {
        mutex_.lock();
        posted_.store(true);
        wakeup_.notify_one();
        mutex_.unlock();
        MULTISHOT_TRANSITION("semaphore release", "posted");
    }

    /// Sleeps until the permit is posted, and takes it.
    void acquire() noexcept {
        mutex_.lock();
        MULTISHOT_TRANSITION("semaphore acquire", posted_.load() ? "posted" : "sleep");
        while (!posted_.load()) wakeup_.wait(mutex_);
        posted_.store(false);
        mutex_.unlock();
    }

    /// Takes the permit if it is posted; never waits.
    bool try_acquire() noexcept {
        mutex_.lock();
        const bool taken = take();
        mutex_.unlock();
        return taken;
    }

    /// Sleeps for at most `timeout` until the permit is posted; true if it
    /// took it. May return false early.
    bool try_acquire_for(std::chrono::nanoseconds timeout) noexcept {
        mutex_.lock();
        if (!posted_.load()) wakeup_.wait_for(mutex_, timeout);
        const bool taken = take();
        mutex_.unlock();
        MULTISHOT_TRANSITION("semaphore timed wait", taken ? "taken" : "not taken");
        return taken;
    }

private:
    // Under the mutex.
    bool take() noexcept {
        const bool taken = posted_.load();
        if (taken) posted_.store(false);
        return taken;
    }

    Mutex mutex_;
    CondVar wakeup_;
    SharedCell<bool> posted_;
};

#endif  // MULTISHOT_FUTEX_WAIT

}  // namespace detail

// ---------------------------------------------------------------------------
// Public vocabulary
// ---------------------------------------------------------------------------

/// Why a receive produced no value. One byte: a RecvResult<T> is a T and one
/// byte, and a PollResult<T> is no bigger.
enum class RecvError : unsigned char {
    closed,     ///< The sender was destroyed without sending.
    empty,      ///< Reserved for try_recv(): a sender is alive and has not sent.
    timed_out,  ///< Reserved for timed receives: the deadline passed first.
    cancelled,  ///< Reserved for cancellable receives: stop was requested first.
};

/// A short English description of `error`, e.g. "channel closed".
constexpr std::string_view to_string(RecvError error) noexcept {
    switch (error) {
        case RecvError::closed: return "channel closed";
        case RecvError::empty: return "channel empty";
        case RecvError::timed_out: return "receive timed out";
        case RecvError::cancelled: return "receive cancelled";
    }
    return "unknown receive error";
}

/// Writes `to_string(error)`, widened for a wide stream (std::wostream).
/// The stream's header (<ostream> or <iostream>) is the caller's to include.
template <class CharT, class Traits>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& out,
                                              RecvError error) {
    // to_string's views are string literals: null-terminated.
    return out << to_string(error).data();
}

// The exception classes' vtables are emitted in every translation unit that
// uses them, as for any header-only class with virtual functions.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wweak-vtables"
#endif

/// Thrown by `RecvResult::value()` when the result holds an error.
class bad_result_access : public std::exception {
public:
    explicit bad_result_access(RecvError error) noexcept : error_(error) {}

    /// The error the result held.
    RecvError error() const noexcept { return error_; }

    const char* what() const noexcept override {
        switch (error_) {
            case RecvError::closed:
                return "multishot::RecvResult::value: no value (channel closed)";
            case RecvError::empty:
                return "multishot::RecvResult::value: no value (channel empty)";
            case RecvError::timed_out:
                return "multishot::RecvResult::value: no value (receive timed out)";
            case RecvError::cancelled:
                return "multishot::RecvResult::value: no value (receive cancelled)";
        }
        return "multishot::RecvResult::value: no value";
    }

private:
    RecvError error_;
};

/// Thrown when a sender or receiver is used in a way its contract forbids
/// (for example, sending through a moved-from or already used sender). The
/// message names the mistake.
class usage_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

namespace detail {
// Thrown by PollResult::value() on a pending poll: a std::bad_optional_access,
// as std::optional's value() throws, whose what() names the mistake (and is
// the message of the abort without exceptions).
class PendingPollAccess : public std::bad_optional_access {
public:
    const char* what() const noexcept override {
        return "multishot::PollResult::value: the poll is pending";
    }
};
}  // namespace detail

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

template <class T>
class PollResult;

namespace detail {
// The tag of RecvResult's constructor that takes the value out of a channel.
struct TakeValue {
    explicit TakeValue() = default;
};

// A result's code byte: one of the four RecvErrors, or one of two codes that
// no RecvError has, so that one byte tells all six outcomes apart.
// pending_code: a pending PollResult (so that a RecvResult holds the whole
// poll outcome, and PollResult<T> is no bigger than it).
inline constexpr auto pending_code = static_cast<RecvError>(4);
// value_code: the result holds its value.
inline constexpr auto value_code = static_cast<RecvError>(5);
// The tag of RecvResult's constructor of a pending PollResult.
struct Pending {
    explicit Pending() = default;
};

// An empty placeholder: the alternative of ResultStorage's union while it
// holds no T (making it active stores nothing), and the parameter of a void
// channel's send (SendParameter).
struct NoValue {};

// RecvResult<T>'s storage: a union whose T is alive exactly while `code` is
// value_code, and the code, which otherwise is the RecvError (or
// pending_code): one byte of state to write where an optional's flag and an
// error byte were two. This version, for a trivially copyable T, keeps the
// implicit special members, trivial like T's: a RecvResult<int> is trivially
// copyable and 8 bytes.
template <class T, bool = std::is_trivially_copyable_v<T>>
struct ResultStorage {
    explicit ResultStorage(RecvError error) noexcept : none(), code(error) {}
    template <class... Args>
    explicit ResultStorage(std::in_place_t, Args&&... args)
        : value(std::forward<Args>(args)...), code(value_code) {}

    bool has_value() const noexcept { return code == value_code; }
    // Ends the value's lifetime, if any (trivially), and holds `error`.
    void hold_error(RecvError error) noexcept { code = error; }

    union {
        NoValue none;
        T value;
    };
    RecvError code;
};

// The storage of any other T: special members that construct, assign and
// destroy the T when there is one. They exist whatever T supports; the
// gates below delete those that T lacks.
template <class T>
struct ResultStorage<T, false> {
    explicit ResultStorage(RecvError error) noexcept : none(), code(error) {}
    template <class... Args>
    explicit ResultStorage(std::in_place_t, Args&&... args)
        : value(std::forward<Args>(args)...), code(value_code) {}

    ResultStorage(const ResultStorage& other) : none(), code(other.code) {
        if (other.has_value()) std::construct_at(std::addressof(value), other.value);
    }
    ResultStorage(ResultStorage&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : none(), code(other.code) {
        if (other.has_value()) std::construct_at(std::addressof(value), std::move(other.value));
    }
    ResultStorage& operator=(const ResultStorage& other) {
        assign(other);
        return *this;
    }
    ResultStorage& operator=(ResultStorage&& other) noexcept(
        std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>) {
        assign(std::move(other));
        return *this;
    }
    ~ResultStorage() {
        if (has_value()) value.~T();
    }

    bool has_value() const noexcept { return code == value_code; }
    // Destroys the value, if any, and holds `error`.
    void hold_error(RecvError error) noexcept {
        if (has_value()) value.~T();
        code = error;
    }

    union {
        NoValue none;
        T value;
    };
    RecvError code;

private:
    // Assigns the T onto ours, or constructs it where we hold none; if that
    // throws, this storage still holds what it held (an assigned-from T as
    // T's assignment leaves it).
    template <class Other>
    void assign(Other&& other) {
        if (!other.has_value()) return hold_error(other.code);
        if (has_value()) {
            value = std::forward<Other>(other).value;
        } else {
            std::construct_at(std::addressof(value), std::forward<Other>(other).value);
            code = value_code;
        }
    }
};

// Empty bases of RecvResult<T> that delete its copy and move operations that
// T lacks, as std::optional<T> has them: ResultStorage<T, false> declares
// all four whatever T supports.
template <bool enabled>
struct CopyConstructGate {};
template <>
struct CopyConstructGate<false> {
    CopyConstructGate() = default;
    CopyConstructGate(const CopyConstructGate&) = delete;
    CopyConstructGate(CopyConstructGate&&) = default;
    CopyConstructGate& operator=(const CopyConstructGate&) = default;
    CopyConstructGate& operator=(CopyConstructGate&&) = default;
};
template <bool enabled>
struct MoveConstructGate {};
template <>
struct MoveConstructGate<false> {
    MoveConstructGate() = default;
    MoveConstructGate(const MoveConstructGate&) = default;
    MoveConstructGate(MoveConstructGate&&) = delete;
    MoveConstructGate& operator=(const MoveConstructGate&) = default;
    MoveConstructGate& operator=(MoveConstructGate&&) = default;
};
template <bool enabled>
struct CopyAssignGate {};
template <>
struct CopyAssignGate<false> {
    CopyAssignGate() = default;
    CopyAssignGate(const CopyAssignGate&) = default;
    CopyAssignGate(CopyAssignGate&&) = default;
    CopyAssignGate& operator=(const CopyAssignGate&) = delete;
    CopyAssignGate& operator=(CopyAssignGate&&) = default;
};
template <bool enabled>
struct MoveAssignGate {};
template <>
struct MoveAssignGate<false> {
    MoveAssignGate() = default;
    MoveAssignGate(const MoveAssignGate&) = default;
    MoveAssignGate(MoveAssignGate&&) = default;
    MoveAssignGate& operator=(const MoveAssignGate&) = default;
    MoveAssignGate& operator=(MoveAssignGate&&) = delete;
};
template <class T>
struct MULTISHOT_EMPTY_BASES ResultGates
    : CopyConstructGate<std::is_copy_constructible_v<T>>,
      MoveConstructGate<std::is_move_constructible_v<T>>,
      CopyAssignGate<std::is_copy_constructible_v<T> && std::is_copy_assignable_v<T>>,
      MoveAssignGate<std::is_move_constructible_v<T> && std::is_move_assignable_v<T>> {};
}  // namespace detail

/// The outcome of a receive: a `T`, or the `RecvError` that explains its
/// absence. Shaped like std::expected<T, RecvError>, and the same type in every
/// translation unit whatever the -std level. A T and one byte: the byte says
/// value or which error. Copyable, movable and assignable as T is, trivially
/// copyable when T is.
template <class T>
class MULTISHOT_EMPTY_BASES RecvResult : detail::ResultGates<T> {
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && std::is_destructible_v<T>,
                  "multishot::RecvResult<T>: T must be a complete, destructible object type");

public:
    using value_type = T;
    using error_type = RecvError;

    /// A result holding `error`.
    RecvResult(RecvError error) noexcept : storage_(error) {}  // NOLINT: implicit by design

    /// A result holding a T constructed from `args`.
    template <class... Args>
    explicit RecvResult(std::in_place_t, Args&&... args)
        : storage_(std::in_place, std::forward<Args>(args)...) {}

    /// Not for users: the receive's one move of the value out of the channel.
    /// `source.value()` is moved from once; `source.taken()` runs only if that
    /// move did not throw.
    template <class Source>
    RecvResult(detail::TakeValue, Source& source) : storage_(std::in_place, source.value()) {
        source.taken();
    }

    /// True if the result holds a value.
    bool has_value() const noexcept { return storage_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value; throws bad_result_access if the result holds an error.
    T& value() & { return checked_value(), storage_.value; }
    const T& value() const& { return checked_value(), storage_.value; }
    T&& value() && { return checked_value(), std::move(storage_.value); }
    const T&& value() const&& { return checked_value(), std::move(storage_.value); }

    /// The value, unchecked in release builds (precondition: has_value()).
    T& operator*() & noexcept { return assert_value(), storage_.value; }
    const T& operator*() const& noexcept { return assert_value(), storage_.value; }
    T&& operator*() && noexcept { return assert_value(), std::move(storage_.value); }
    T* operator->() noexcept { return assert_value(), std::addressof(storage_.value); }
    const T* operator->() const noexcept {
        return assert_value(), std::addressof(storage_.value);
    }

    /// The error (precondition: !has_value(), checked in debug builds).
    RecvError error() const noexcept {
        MULTISHOT_ASSERT(!has_value(), "RecvResult::error() called on a result holding a value");
        return storage_.code;
    }

    /// The value if there is one, else `fallback` converted to T.
    template <class U>
    T value_or(U&& fallback) const& {
        return has_value() ? storage_.value : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U>
    T value_or(U&& fallback) && {
        return has_value() ? std::move(storage_.value) : static_cast<T>(std::forward<U>(fallback));
    }

    /// True if the result holds `error`.
    friend bool operator==(const RecvResult& result, RecvError error) noexcept {
        return result.storage_.code == error;
    }

    /// Equal if both hold equal values or both hold the same error.
    friend bool operator==(const RecvResult& a, const RecvResult& b)
        requires std::equality_comparable<T>
    {
        if (a.storage_.code != b.storage_.code) return false;
        return !a.has_value() || a.storage_.value == b.storage_.value;
    }

private:
    friend class PollResult<T>;
    explicit RecvResult(detail::Pending) noexcept : storage_(detail::pending_code) {}
    bool pending() const noexcept { return storage_.code == detail::pending_code; }
    void make_pending() noexcept { storage_.hold_error(detail::pending_code); }

    void checked_value() const {
        if (!has_value()) detail::raise<bad_result_access>(storage_.code);
    }
    void assert_value() const noexcept {
        MULTISHOT_ASSERT(has_value(), "RecvResult dereferenced while holding an error");
    }

    detail::ResultStorage<T> storage_;
};

/// The outcome of a receive on a void channel: "sent", or the RecvError that
/// explains why not. One byte.
template <>
class RecvResult<void> {
public:
    using value_type = void;
    using error_type = RecvError;

    /// A result holding `error`.
    RecvResult(RecvError error) noexcept : code_(error) {}  // NOLINT: implicit by design

    /// A result holding "sent".
    explicit RecvResult(std::in_place_t) noexcept : code_(detail::value_code) {}

    /// Not for users: the receive of a void channel's "sent".
    template <class Source>
    RecvResult(detail::TakeValue, Source& source) noexcept : code_(detail::value_code) {
        source.taken();
    }

    /// True if the sender sent.
    bool has_value() const noexcept { return code_ == detail::value_code; }
    explicit operator bool() const noexcept { return has_value(); }

    /// Nothing if the sender sent; throws bad_result_access otherwise.
    void value() const {
        if (!has_value()) detail::raise<bad_result_access>(code_);
    }

    /// The error (precondition: !has_value(), checked in debug builds).
    RecvError error() const noexcept {
        MULTISHOT_ASSERT(!has_value(), "RecvResult::error() called on a result holding a value");
        return code_;
    }

    /// True if the result holds `error`.
    friend bool operator==(const RecvResult& result, RecvError error) noexcept {
        return result.code_ == error;
    }
    friend bool operator==(const RecvResult& a, const RecvResult& b) noexcept {
        return a.code_ == b.code_;
    }

private:
    friend class PollResult<void>;
    explicit RecvResult(detail::Pending) noexcept : code_(detail::pending_code) {}
    bool pending() const noexcept { return code_ == detail::pending_code; }
    void make_pending() noexcept { code_ = detail::pending_code; }

    RecvError code_;
};

/// The result of a poll: pending, or the RecvResult<T> of the completed
/// receive. Used as the std::optional<RecvResult<T>> it replaces: built from
/// std::nullopt (pending) or a RecvResult<T>, it offers has_value(),
/// `explicit operator bool` (`if (auto r = receiver.poll_recv(w))`), `*`,
/// `->`, value(), reset(), and comparison with std::nullopt, a RecvResult<T>
/// and another PollResult<T>; but it is the size of a RecvResult<T>,
/// "pending" being one more code of the result's code byte.
template <class T>
class PollResult {
public:
    /// A pending poll.
    PollResult() noexcept : result_(detail::Pending{}) {}
    PollResult(std::nullopt_t) noexcept : PollResult() {}  // NOLINT: implicit, as optional's

    /// A completed receive's result.
    PollResult(RecvResult<T> result)  // NOLINT: implicit, as optional's
        noexcept(std::is_nothrow_move_constructible_v<RecvResult<T>>)
        : result_(std::move(result)) {}

    /// A completed receive's result, built in place from `args`.
    template <class... Args>
    explicit PollResult(std::in_place_t, Args&&... args) : result_(std::forward<Args>(args)...) {}

    /// True if the receive completed (with a value or an error).
    bool has_value() const noexcept { return !result_.pending(); }
    explicit operator bool() const noexcept { return has_value(); }

    /// The completed receive's result (precondition: has_value(), checked in
    /// debug builds).
    RecvResult<T>& operator*() & noexcept { return assert_completed(), result_; }
    const RecvResult<T>& operator*() const& noexcept { return assert_completed(), result_; }
    RecvResult<T>&& operator*() && noexcept { return assert_completed(), std::move(result_); }
    RecvResult<T>* operator->() noexcept { return assert_completed(), &result_; }
    const RecvResult<T>* operator->() const noexcept { return assert_completed(), &result_; }

    /// The completed receive's result; throws std::bad_optional_access while
    /// pending (without exceptions: prints "multishot: ...: the poll is
    /// pending" and aborts).
    RecvResult<T>& value() & { return checked_completed(), result_; }
    const RecvResult<T>& value() const& { return checked_completed(), result_; }
    RecvResult<T>&& value() && { return checked_completed(), std::move(result_); }

    /// Makes the poll pending again (destroying a value it holds).
    void reset() noexcept { result_.make_pending(); }

    /// The std::optional<RecvResult<T>> that a poll returned before 0.2
    /// (empty while pending), for code that stores it as one.
    operator std::optional<RecvResult<T>>() && {  // NOLINT: implicit, for old code
        if (!has_value()) return std::nullopt;
        return std::optional<RecvResult<T>>(std::move(result_));
    }
    operator std::optional<RecvResult<T>>() const& {  // NOLINT: implicit, for old code
        if (!has_value()) return std::nullopt;
        return std::optional<RecvResult<T>>(result_);
    }

    /// True if the poll is pending.
    friend bool operator==(const PollResult& polled, std::nullopt_t) noexcept {
        return !polled.has_value();
    }
    /// True if the poll completed with `result`.
    friend bool operator==(const PollResult& polled, const RecvResult<T>& result) {
        return polled.has_value() && polled.result_ == result;
    }
    /// True if both are pending, or both completed with equal results.
    friend bool operator==(const PollResult& a, const PollResult& b) {
        return a.has_value() == b.has_value() && (!a.has_value() || a.result_ == b.result_);
    }

private:
    void assert_completed() const noexcept {
        MULTISHOT_ASSERT(has_value(), "PollResult dereferenced while pending");
    }
    void checked_completed() const {
        if (!has_value()) detail::raise<detail::PendingPollAccess>();
    }

    RecvResult<T> result_;
};

namespace detail {
class ExtensionLink;
class WakerSlot;
}

/// A type-erased, trivially copyable callback that tells a receiver the
/// channel changed. Built from a coroutine handle (waking resumes it) or from
/// a noexcept function pointer and a context pointer. A default-constructed
/// Waker is empty: waking it does nothing.
///
/// A waker must not throw: wake() is noexcept, so an exception escaping it
/// (also from a coroutine resumed by it whose promise's unhandled_exception()
/// rethrows) calls std::terminate, on the thread that sends, destroys the
/// sender or requests stop.
///
/// Runtime wakers must tolerate a late call: when a receiver polls again with
/// a new waker while the sender is completing, the sender may call the waker
/// of an earlier poll (not always the previous one) after the new poll has
/// already returned ready. It calls at most one waker per sender, and if the
/// last poll returned pending, it calls that poll's waker. A
/// waker that re-queues a task (and a task that re-polls) handles this; see
/// docs/algorithm.md, "Withdrawing a waker". For the same reason the context of a
/// waker must stay valid until every sender that may call it has returned
/// from send(), emplace() or ~Sender(); the receiver cannot observe that, so
/// a runtime keeps its task records alive for its own lifetime (or counts
/// references to them).
class Waker {
public:
    /// The callback's type: it must be noexcept.
    using function_type = void (*)(void* context) noexcept;

    /// An empty waker.
    constexpr Waker() noexcept = default;

    /// A waker that calls `function(context)` (empty if `function` is null).
    constexpr Waker(function_type function, void* context) noexcept
        : function_(function), context_(context) {}

    /// Rejected: a function that may throw (declare it noexcept).
    template <class Function>
        requires(!std::is_convertible_v<Function, function_type> &&
                 std::is_convertible_v<Function, void (*)(void*)>)
    Waker(Function, void*) {
        static_assert(!std::is_convertible_v<Function, void (*)(void*)>,
                      "multishot::Waker: the wake function must be noexcept (a waker must "
                      "not throw)");
    }

    /// A waker that resumes `handle`.
    Waker(std::coroutine_handle<> handle) noexcept  // NOLINT: implicit by design
        : function_(&resume_handle), context_(handle.address()) {}

    /// Calls the callback, if any.
    void wake() const noexcept {
        if (function_ != nullptr) function_(context_);
    }

    /// True unless the waker is empty.
    explicit operator bool() const noexcept { return function_ != nullptr; }

    friend bool operator==(const Waker&, const Waker&) = default;

private:
    // The block tells its wait cell's waker by the context (see
    // detail::ExtensionLink::is_cell_waker); a waker slot stores the two
    // pointers apart (see detail::WakerSlot).
    friend class detail::ExtensionLink;
    friend class detail::WakerSlot;

    static void resume_handle(void* address) noexcept {
        std::coroutine_handle<>::from_address(address).resume();
    }

    function_type function_ = nullptr;
    void* context_ = nullptr;
};

static_assert(std::is_trivially_copyable_v<Waker>);

template <class T>
class Sender;
template <class T>
class Receiver;
template <class T>
class RecvAwaiter;
template <class T>
class ClosedAwaiter;
#if MULTISHOT_HAS_STOP_TOKEN
template <class T>
class CancellableRecvAwaiter;
#endif

namespace detail {

// Defined by the model suite to drive the receive
// protocols step by step; a friend of Receiver.
struct ModelAccess;

// One of the block's two waker slots: a Waker kept as two relaxed atomics,
// not a SharedCell, because the sender's shortcut (Sender::take_newer_waker)
// reads a slot that the receiver may be rewriting at that moment. That read
// is used only if the sender's CAS then shows that the receiver made no RMW
// since the sender's acquire load, hence wrote nothing (a rewrite follows
// poll step 1's RMW); otherwise it is dropped, torn or not. Every other
// access is exclusive, as the state word decides (algorithm.md, "Why two
// waker slots"), and is ordered by the state's RMWs: relaxed suffices.
class WakerSlot {
public:
    Waker load() const noexcept {
        // Relaxed, both: the state's acquire load or RMW that let the caller
        // read this slot ordered the write it reads (see above).
        const std::uintptr_t function = function_.load(std::memory_order::relaxed);
        return Waker(reinterpret_cast<Waker::function_type>(function),
                     context_.load(std::memory_order::relaxed));
    }
    void store(const Waker& waker) noexcept {
        // Relaxed, both: the release RMW that follows (poll step 2) or the
        // sender's creation publishes them.
        function_.store(reinterpret_cast<std::uintptr_t>(waker.function_),
                        std::memory_order::relaxed);
        context_.store(waker.context_, std::memory_order::relaxed);
    }

private:
    // The function pointer as an integer: the model checker's atomics take
    // object pointers and integers only (POSIX makes the round trip exact).
    Atomic<std::uintptr_t> function_{0};
    Atomic<void*> context_{nullptr};
};

// ---------------------------------------------------------------------------
// State bits (see algorithm.md, "State bits")
// ---------------------------------------------------------------------------
//
// EMPTY [E]  if O==0: the value slot is empty.
//            if O==1: the redundant waker slot (1-I) holds no newer waker.
// OPEN  [O]  both halves alive and the sender not yet consumed.
// INDEX [I]  the waker slot that is current for the sender.
// CLOSE_WAITER [C]  (meaningful while O==1) the sender registered a closure
//            waker (Sender::poll_closed) that the receiver calls when it
//            leaves (its destruction, or abandon()).
//
// The order of the bits is not arbitrary: Sender::send implements its whole
// transition table with one wrapping addition (see announcement_delta). Bits
// above C may be set by that addition in the closed state it leaves; every
// test masks the bits it reads.
//
// | I O E | seen by  | meaning                                     |
// |-------|----------|---------------------------------------------|
// | x 0 0 | sender   | receiver destroyed: the channel is closed   |
// | x 0 0 | receiver | sender consumed, a value waits to be read   |
// | x 0 1 | receiver | sender consumed (destroyed) with no value   |
// | x 1 0 | both     | the receiver stored a newer waker in slot !x|
// | x 1 1 | both     | the waker (if any) is in slot x             |
//
// C is orthogonal to the table: set and cleared by the sender alone, kept by
// every RMW of either half while O==1, and meaningless once O==0.
//
// REGISTRATIONS [R]  the bits above C: while O==1, how many wakers the
//            receiver has published (poll step 2) since sender(), modulo
//            2^(bits - 4). Only the sender's shortcut reads them: its CAS
//            fails if the receiver published a waker after the sender's
//            load, even when E and I read the same again.

inline constexpr std::size_t EMPTY = 0b0001;
inline constexpr std::size_t OPEN = 0b0010;
inline constexpr std::size_t INDEX = 0b0100;
inline constexpr std::size_t CLOSE_WAITER = 0b1000;
inline constexpr std::size_t ONE_REGISTRATION = 0b1'0000;

// The sender's shortcut relies on R not wrapping between its load and its
// CAS, which 60 bits guarantee (2^60 registrations, two RMWs each, take
// centuries); 28 bits might wrap under a preempted sender. Where size_t has
// 32 bits the sender takes the two-RMW path only.
inline constexpr bool registrations_cannot_wrap = sizeof(std::size_t) >= 8;

constexpr bool is_open(std::size_t state) noexcept { return (state & OPEN) != 0; }
constexpr bool is_empty(std::size_t state) noexcept { return (state & EMPTY) != 0; }
constexpr std::size_t index_of(std::size_t state) noexcept { return (state & INDEX) >> 2; }
// True if the sender is alive and has a closure waker registered.
constexpr bool awaits_closure(std::size_t state) noexcept {
    return (state & (OPEN | CLOSE_WAITER)) == (OPEN | CLOSE_WAITER);
}

// What Sender::send adds to the state to announce its value, given the index
// of the waker slot it took the waker from (I, which it knows):
//   I==1: subtract O|E:  111 -> 100 (done), 110 -> 011 (retry with slot 0);
//   I==0: add I|E:       011 -> 000 (done, carrying into C: meaningless once
//                        closed), 010 -> 111 (retry with slot 1).
// Neither borrows from nor carries into C while the channel stays open, so
// a closure waker's registration survives a retry.
constexpr std::size_t announcement_delta(std::size_t index) noexcept {
    return index == 0 ? (INDEX | EMPTY) : std::size_t{0} - (OPEN | EMPTY);
}

// What poll step 2 adds to publish a waker: clears E ("x 1 1" -> "x 1 0")
// and counts the registration in R.
inline constexpr std::size_t registration_delta = ONE_REGISTRATION - EMPTY;

// The "x O E" name of a state's row, for MULTISHOT_TRANSITION.
constexpr const char* row_of(std::size_t state) noexcept {
    switch (state & (OPEN | EMPTY)) {
        case 0: return "x 0 0";
        case EMPTY: return "x 0 1";
        case OPEN: return "x 1 0";
        default: return "x 1 1";
    }
}

// ---------------------------------------------------------------------------
// Wait cell: receives that may stop waiting
// ---------------------------------------------------------------------------
//
// A plain co_await recv() registers its coroutine handle as the waker, and
// the sender always resumes it. A receive that may give up (stop_token
// cancellation, a timeout) cannot do that: a sender that already took a waker
// out of its slot calls it even if the receiver registered another one since
// (docs/algorithm.md, "Withdrawing a waker"), so a withdrawn coroutine handle could be
// resumed late, twice, or after its frame is gone.
//
// Such receives register the cell's waker instead: one value, the same for
// every wait, and they arm their real target (a coroutine handle, or the
// cell's semaphore for a blocked thread) in the cell. The sender recognizes
// the cell's waker and, after its final RMW, notifies the cell with its epoch
// (which sender of the block it is). The cell word decides, with one CAS each,
// whether the sender or the receiver's side (a stop callback, a timeout) gets
// to wake the target: exactly one of them does, exactly once.
//
// word = epoch << 4 | NOTIFIED | CANCELLED | PARKED | ARMED
//   ARMED      a target is armed for `epoch` and nobody claimed it yet
//   PARKED     the target really waits: whoever claims it must wake it. Until
//              then the arming receiver is still running and, if it finds the
//              target claimed, carries on by itself.
//   CANCELLED  the receiver's side claimed the target
//   NOTIFIED   the sender of `epoch` completed and notified the cell
//
// The notification comes after the sender's final RMW on the state, when the
// receiver may have seen the completion already and be freeing the block.
// Pins, kept in the block's link word (see ExtensionLink), keep the block
// alive meanwhile: a sender pins it before any RMW made with the cell's
// waker in hand and unpins it when done; a half that would free the block
// sets OWNERS_GONE instead while pins are held, and the last unpin frees it.
// The receiver uses the same pins for the sender's closure waker, which it
// calls after the RMW by which it leaves (see Receiver::release_block).

inline constexpr std::uint64_t ARMED = 0b0001;
inline constexpr std::uint64_t PARKED = 0b0010;
inline constexpr std::uint64_t CANCELLED = 0b0100;
inline constexpr std::uint64_t NOTIFIED = 0b1000;
inline constexpr unsigned EPOCH_SHIFT = 4;

constexpr std::uint64_t epoch_of(std::uint64_t word) noexcept { return word >> EPOCH_SHIFT; }

// How a claim by the receiver's side ended.
enum class Claim {
    lost,            // claimed already: by the sender, or by another cancel
    claimed,         // claimed before the target parked: nobody wakes it
    claimed_parked,  // claimed a parked target: the claimer must wake it
};

class WaitCell {
public:
    // (The waker that a receive through this cell registers in the channel is
    // the block's, see ExtensionLink::cell_waker(): the sender tells it
    // without loading the extension's address.)

    // The target that wakes a thread blocked in a receive.
    Waker semaphore_waker() noexcept { return Waker(&release_semaphore, &semaphore_); }
    Semaphore& semaphore() noexcept { return semaphore_; }

    // Receiver: arms `target` for `epoch` (parked at once if the receiver
    // waits on the semaphore). False if the sender of `epoch` notified the
    // cell already: it completed, do not wait.
    //
    // | word              | to                  | result        |
    // |-------------------|---------------------|---------------|
    // | epoch, NOTIFIED   | unchanged           | not armed     |
    // | anything else     | epoch, ARMED[|PARKED]| armed        |
    bool arm(std::uint64_t epoch, const Waker& target, bool parked) noexcept {
        target_.store(target);
        const std::uint64_t armed = epoch << EPOCH_SHIFT | ARMED | (parked ? PARKED : 0);
        // Acquire (load and CAS failure): if this finds NOTIFIED, the sender's
        // completion, published by its release CAS in notify(), is visible.
        std::uint64_t word = word_.load(std::memory_order::acquire);
        do {
            if (epoch_of(word) == epoch && (word & NOTIFIED) != 0) {
                MULTISHOT_TRANSITION("cell arm", "notified");
                return false;
            }
            // Release: publishes target_ to the claimer's acquire CAS. The
            // acquire half is not needed on success; it is there because a
            // failure order (acquire, see above) may not be stronger than the
            // success order in C++11 and in the model checker.
        } while (!word_.compare_exchange_weak(word, armed, std::memory_order::acq_rel,
                                              std::memory_order::acquire));
        MULTISHOT_TRANSITION("cell arm", "armed");
        return true;
    }

    // Receiver (coroutine), its last touch of anything before suspending:
    // true if the target is still armed, so that the coroutine must wait.
    //
    // | word        | to          | result                  |
    // |-------------|-------------|-------------------------|
    // | ARMED       | +PARKED     | parked: suspend         |
    // | not ARMED   | +PARKED     | claimed: carry on       |
    bool park() noexcept {
        // Release: the claimer that resumes the coroutine on its own thread
        // reads this in its acquire CAS, so everything the coroutine did
        // before suspending happens before it runs again. Acquire: if claimed
        // already, what the claimer published (the sender's completion) is
        // visible when the coroutine carries on.
        const bool armed =
            (word_.fetch_or(PARKED, std::memory_order::acq_rel) & ARMED) != 0;
        MULTISHOT_TRANSITION("cell park", armed ? "armed" : "claimed");
        return armed;
    }

    // The receiver's side (a stop callback, a timeout, or the receiver
    // withdrawing after finding the sender done): claims the target armed
    // for `epoch`.
    //
    // | word                   | to                         | result         |
    // |------------------------|----------------------------|----------------|
    // | epoch, ARMED|PARKED    | epoch, PARKED|CANCELLED    | claimed_parked |
    // | epoch, ARMED           | epoch, CANCELLED           | claimed        |
    // | anything else          | unchanged                  | lost           |
    Claim cancel(std::uint64_t epoch) noexcept {
        std::uint64_t word = word_.load(std::memory_order::relaxed);
        do {
            if (epoch_of(word) != epoch || (word & ARMED) == 0) {
                MULTISHOT_TRANSITION("cell cancel", "lost");
                return Claim::lost;
            }
            // Acquire: a claimer of a parked coroutine resumes it, so what the
            // coroutine did before parking (release in park()) must be visible.
            // No release: the claim publishes nothing but itself.
        } while (!word_.compare_exchange_weak(word, (word & ~ARMED) | CANCELLED,
                                              std::memory_order::acquire,
                                              std::memory_order::relaxed));
        const bool parked = (word & PARKED) != 0;
        MULTISHOT_TRANSITION("cell cancel", parked ? "claimed parked" : "claimed");
        return parked ? Claim::claimed_parked : Claim::claimed;
    }

    // True if the receiver's side claimed the target armed for `epoch`. Read
    // by the receiver after it was woken or carried on.
    bool cancelled(std::uint64_t epoch) const noexcept {
        // Relaxed: the receiver runs again only after the claim (the claimer
        // woke it, or park() read the claim), so coherence yields it.
        const std::uint64_t word = word_.load(std::memory_order::relaxed);
        return epoch_of(word) == epoch && (word & CANCELLED) != 0;
    }

    // Debug aid: true if a parked target of `epoch` waits, unclaimed (a
    // blocking receive or a start_recv() is pending).
    bool parked(std::uint64_t epoch) const noexcept {
        // Relaxed: a check of the receiver's own misuse, read by the receiver.
        const std::uint64_t word = word_.load(std::memory_order::relaxed);
        return epoch_of(word) == epoch && (word & (ARMED | PARKED)) == (ARMED | PARKED);
    }

    // The target armed last (the claimer of a parked target wakes it).
    Waker target() const noexcept { return target_.load(); }

    // Sender of `epoch`, after its final RMW and while pinned: records the
    // completion and claims the target armed for `epoch`, waking it if parked.
    //
    // | word                   | to                          | result        |
    // |------------------------|-----------------------------|---------------|
    // | epoch' > epoch         | unchanged                   | stale: none   |
    // | epoch' < epoch         | epoch, NOTIFIED             | none armed    |
    // | epoch, ARMED|PARKED    | epoch, PARKED|NOTIFIED      | wake target   |
    // | epoch, ARMED           | epoch, NOTIFIED             | receiver goes on |
    // | epoch, not ARMED       | epoch, ...|NOTIFIED         | none armed    |
    void notify(std::uint64_t epoch) noexcept {
        std::uint64_t word = word_.load(std::memory_order::relaxed);
        std::uint64_t next;
        do {
            if (epoch_of(word) > epoch) {
                MULTISHOT_TRANSITION("cell notify", "stale");
                return;
            }
            next = epoch_of(word) < epoch ? (epoch << EPOCH_SHIFT | NOTIFIED)
                                          : ((word & ~ARMED) | NOTIFIED);
            // Release: publishes the sender's completion to an arm() or park()
            // that reads NOTIFIED or the claim. Acquire: the target armed with
            // release in arm(), and the coroutine's state before park().
        } while (!word_.compare_exchange_weak(word, next, std::memory_order::acq_rel,
                                              std::memory_order::relaxed));
        const bool claimed = epoch_of(word) == epoch && (word & ARMED) != 0;
        const bool parked = claimed && (word & PARKED) != 0;
        MULTISHOT_TRANSITION("cell notify",
                             parked ? "claimed parked" : claimed ? "claimed" : "none armed");
        if (parked) target_.load().wake();
    }

private:
    static void release_semaphore(void* semaphore) noexcept {
        static_cast<Semaphore*>(semaphore)->release();
    }

    Atomic<std::uint64_t> word_{0};
    SharedCell<Waker> target_;
    Semaphore semaphore_;
};

// ---------------------------------------------------------------------------
// Block extension: the parts only some receives and closure wakers use
// ---------------------------------------------------------------------------
//
// The wait cell and the closure waker are 56 bytes that a channel used only
// with co_await recv(), poll_recv() and try_recv() never touches. They live
// in an extension allocated through the block's allocator on first use: the
// first receive through the wait cell (start_recv(), a blocking or timed
// receive, co_await recv(stop_token)) or the first registration of a closure
// waker (poll_closed(), co_await closed()). It is freed with the block, so a
// block allocates it at most once in its lifetime, and the block of a small
// T is the size of a cache line (64 bytes for int).
//
// Either half may need it first, also both at once: each then allocates one
// and installs it with one CAS on the block's link word, and the loser frees
// its own and uses the winner's. A half uses the extension only after
// installing it or after reading (with acquire, through the state) an RMW of
// the other half that follows its installation: the registration of the
// cell's waker, or of a closure waker. A half frees the block only after the
// other half's final RMW, so it frees the extension either half installed.
struct alignas(16) Extension {
    explicit Extension(const void* block_operations) noexcept : operations(block_operations) {}
    Extension(const Extension&) = delete;
    Extension& operator=(const Extension&) = delete;

    // The sender's closure waker (Sender::poll_closed): written by the sender
    // while C is clear, read by the receiver leaving while C is set.
    SharedCell<Waker> closure_waker;
    WaitCell cell;
    // The block's BlockOperations<T>, which the link word held before.
    const void* operations;
};

// What a block's link word says: its extension (null if none is installed)
// and its operations table (a BlockOperations<T>).
struct LinkView {
    Extension* extension;
    const void* operations;
};

// A block's link word: its operations table until an extension is installed,
// then the extension's address, both 16-byte aligned, with four low bits:
//
// word = address | OWNERS_GONE | PINS (2 bits) | EXTENDED
//   EXTENDED     the address is the extension's (which holds the table)
//   PINS         how many halves are pinned (at most one each): a sender
//                notifying the wait cell, a receiver calling the closure
//                waker; only while EXTENDED, since both pins are taken in
//                the extension's name
//   OWNERS_GONE  a half found the channel closed while pins were held: the
//                last unpin frees the block
//
// Not a template, so that a RecvCanceller can reach the wait cell.
class ExtensionLink {
public:
    explicit ExtensionLink(const void* block_operations) noexcept
        : word_(reinterpret_cast<std::uintptr_t>(block_operations)) {}

    // The waker that a receive through the wait cell registers in the
    // channel. Its context is this link's address, which no other waker has,
    // so that a sender tells it from the block alone: the function's address
    // is no identity, since a shared library or a plugin may have its own
    // copy of never_called.
    Waker cell_waker() noexcept { return Waker(&never_called, this); }
    bool is_cell_waker(const Waker& waker) const noexcept { return waker.context_ == this; }

    // The extension, or null if none is installed yet. Any thread.
    Extension* extension() const noexcept { return view().extension; }

    // The link word, read once.
    LinkView view() const noexcept {
        // Acquire: pairs with the release CAS in install(), so that the
        // extension's construction is visible to whoever uses it.
        return view_of(word_.load(std::memory_order::acquire));
    }

    // Installs `fresh` unless the other half installed one first: the
    // extension installed, `fresh` or the other half's (then the caller frees
    // `fresh`, which nobody else saw). Only live halves install, before their
    // final RMW, so no pin and no OWNERS_GONE can be set yet.
    //
    // | word          | to                 | result          |
    // |---------------|--------------------|-----------------|
    // | operations    | fresh | EXTENDED   | installed       |
    // | other | EXT.  | unchanged          | the other's     |
    Extension* install(Extension* fresh) noexcept {
        std::uintptr_t word = reinterpret_cast<std::uintptr_t>(fresh->operations);
        // Success, release: publishes the construction of `fresh` to the
        // acquire loads of view(); acq_rel, because the failure order may not
        // be stronger than the success order in C++11 and in the model
        // checker. Failure, acquire: the other half's construction is
        // visible. Strong: a spurious failure would leave no extension.
        if (word_.compare_exchange_strong(word, reinterpret_cast<std::uintptr_t>(fresh) | EXTENDED,
                                          std::memory_order::acq_rel,
                                          std::memory_order::acquire)) {
            MULTISHOT_TRANSITION("install extension", "installed");
            return fresh;
        }
        MULTISHOT_TRANSITION("install extension", "lost: use the other's");
        return view_of(word).extension;
    }

    // Sender, before an RMW on the state made with the cell's waker in hand;
    // receiver, before the RMW by which it leaves when it will call the
    // closure waker after it. Both know the extension is installed. Returns
    // it, read by this RMW.
    Extension& pin() noexcept {
        // Relaxed. The pin is sequenced before the pinning half's release RMW
        // on the state, which happens before any release_owner() by the other
        // half that follows (it reads that RMW with acquire), so
        // release_owner() sees the pin. The extension's address: the caller
        // happens after its installation (see Extension), so coherence makes
        // this RMW read a word that holds it.
        const std::uintptr_t word = word_.fetch_add(PIN, std::memory_order::relaxed);
        MULTISHOT_ASSERT((word & EXTENDED) != 0, "internal error: pinned without an extension");
        return *view_of(word).extension;
    }

    // The pinning half, when done: true if the caller must free the block,
    // as `last` (set then) says.
    bool unpin(LinkView& last) noexcept {
        // Release: this party's accesses happen before the free by the last
        // party. Acquire: if this frees, the other parties' accesses happen
        // before the free.
        const std::uintptr_t word = word_.fetch_sub(PIN, std::memory_order::acq_rel);
        const bool is_last = (word & (PINS | OWNERS_GONE)) == (OWNERS_GONE | PIN);
        MULTISHOT_TRANSITION("unpin", is_last ? "last: free" : "not last");
        if (is_last) last = view_of(word);
        return is_last;
    }

    // The half that found the channel closed and would free the block: true
    // if it may free it now, as `now` (set then) says; false if the last
    // unpin will. Without an extension nobody can hold a pin.
    bool release_owner(LinkView& now) noexcept {
        // Acq_rel: as unpin(), from the owner's side.
        const std::uintptr_t word = word_.fetch_or(OWNERS_GONE, std::memory_order::acq_rel);
        const bool unpinned = (word & PINS) == 0;
        MULTISHOT_TRANSITION("release owner", unpinned ? "free now" : "pinned: defer");
        if (unpinned) now = view_of(word);
        return unpinned;
    }

    // The alignment of what the link word points to, which frees its low
    // bits.
    static constexpr std::size_t alignment = 16;

private:
    static constexpr std::uintptr_t EXTENDED = 0b0001;
    static constexpr std::uintptr_t PIN = 0b0010;
    static constexpr std::uintptr_t PINS = 0b0110;
    static constexpr std::uintptr_t OWNERS_GONE = 0b1000;
    static constexpr std::uintptr_t LOW_BITS = 0b1111;
    static_assert(alignof(Extension) == alignment);

    static LinkView view_of(std::uintptr_t word) noexcept {
        const std::uintptr_t address = word & ~LOW_BITS;
        if ((word & EXTENDED) == 0) return {nullptr, reinterpret_cast<const void*>(address)};
        Extension* extension = reinterpret_cast<Extension*>(address);
        return {extension, extension->operations};
    }

    // The sender recognizes the cell's waker and notifies the cell with its
    // epoch instead of calling it.
    [[noreturn]] static void never_called(void*) noexcept {
        assertion_failed("internal error: a wait cell's waker was called directly", __FILE__,
                         __LINE__);
    }

    Atomic<std::uintptr_t> word_;
};

// ---------------------------------------------------------------------------
// Shared block
// ---------------------------------------------------------------------------
//
// Allocated once by the Receiver and freed by whichever half is destroyed
// last (or by a sender still notifying the wait cell, see WaitCell). The
// state word alone decides who may touch `value`, `wakers` and `epoch`.
template <class T>
struct Block;

// How a block is freed, how another one like it is allocated (for
// Receiver::abandon()), and how its extension is allocated: one table per
// allocator type, so that the block holds one pointer for all.
template <class T>
struct BlockOperations {
    // Frees `block`, and `extension` if not null (the block's), through the
    // allocator that allocated it.
    void (*deallocate)(Block<T>* block, Extension* extension) noexcept;
    // A new block allocated through (a copy of) `block`'s allocator; throws
    // what the allocator throws.
    Block<T>* (*allocate_like)(const Block<T>& block);
    // A new extension for `block`, allocated the same way; throws what the
    // allocator throws.
    Extension* (*allocate_extension)(const Block<T>& block);
    // Frees an extension of `block` that was never installed.
    void (*deallocate_extension)(const Block<T>& block, Extension* extension) noexcept;
};

template <class T>
struct Block {
    explicit Block(const BlockOperations<T>& block_operations) noexcept
        : link(&block_operations) {}
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;

    static const BlockOperations<T>& operations_in(const LinkView& view) noexcept {
        return *static_cast<const BlockOperations<T>*>(view.operations);
    }
    const BlockOperations<T>& operations() const noexcept { return operations_in(link.view()); }

    // Frees the block and its extension, as `view` (the link word, read by
    // the caller's last RMW on it) says.
    void deallocate(const LinkView& view) noexcept {
        operations_in(view).deallocate(this, view.extension);
    }

    // The extension, installed first if none is: throws what the allocator
    // throws (and then nothing changed).
    Extension& extension_for_use() {
        const LinkView view = link.view();
        if (view.extension != nullptr) return *view.extension;
        const BlockOperations<T>& table = operations_in(view);
        Extension* fresh = table.allocate_extension(*this);
        Extension* installed = link.install(fresh);
        if (installed != fresh) table.deallocate_extension(*this, fresh);
        return *installed;
    }

    // A new block is closed with no value ("0 0 1"): recv completes at once
    // with closed, and sender() succeeds.
    Atomic<std::size_t> state{EMPTY};
    ValueSlot<T> value;
    // Debug aids (see Receiver::set_awaiting, Sender::set_awaiting_closed):
    // a co_await recv(), a co_await closed() is suspended. Present whatever
    // NDEBUG says, used only without it; here they fill the padding after a
    // small value.
    bool receive_suspended = false;
    bool closed_suspended = false;
    std::array<WakerSlot, 2> wakers;
    // How many senders the receiver has created: written by sender() while
    // no sender is alive, read by the sender it creates (for the wait cell).
    SharedCell<std::uint64_t> epoch;
    ExtensionLink link;
};

// A Block that carries the allocator it was allocated with.
template <class T, class Allocator>
struct AllocatedBlock final : Block<T> {
    using BlockAllocator =
        typename std::allocator_traits<Allocator>::template rebind_alloc<AllocatedBlock>;
    using Traits = std::allocator_traits<BlockAllocator>;
    using ExtensionAllocator =
        typename std::allocator_traits<Allocator>::template rebind_alloc<Extension>;
    using ExtensionTraits = std::allocator_traits<ExtensionAllocator>;

    explicit AllocatedBlock(const BlockAllocator& block_allocator) noexcept
        : Block<T>(operations_table), allocator(block_allocator) {}

    static Block<T>* allocate(const Allocator& user_allocator) {
        return allocate_with(BlockAllocator(user_allocator));
    }

    static Block<T>* allocate_with(BlockAllocator block_allocator) {
        AllocatedBlock* block = Traits::allocate(block_allocator, 1);
        return std::construct_at(block, block_allocator);
    }

    static Block<T>* allocate_like(const Block<T>& base) {
        return allocate_with(static_cast<const AllocatedBlock&>(base).allocator);
    }

    static Extension* allocate_extension(const Block<T>& base) {
        ExtensionAllocator extension_allocator(static_cast<const AllocatedBlock&>(base).allocator);
        Extension* extension = ExtensionTraits::allocate(extension_allocator, 1);
        return std::construct_at(extension, &operations_table);
    }

    static void deallocate_extension(const Block<T>& base, Extension* extension) noexcept {
        ExtensionAllocator extension_allocator(static_cast<const AllocatedBlock&>(base).allocator);
        std::destroy_at(extension);
        ExtensionTraits::deallocate(extension_allocator, extension, 1);
    }

    static void deallocate_block(Block<T>* base, Extension* extension) noexcept {
        AllocatedBlock* block = static_cast<AllocatedBlock*>(base);
        if (extension != nullptr) deallocate_extension(*block, extension);
        BlockAllocator block_allocator(block->allocator);
        std::destroy_at(block);
        Traits::deallocate(block_allocator, block, 1);
    }

    // Aligned so that the link word's low bits are free (see ExtensionLink).
    alignas(ExtensionLink::alignment) static constexpr BlockOperations<T> operations_table{
        &deallocate_block, &allocate_like, &allocate_extension, &deallocate_extension};

    [[no_unique_address]] BlockAllocator allocator;
};

// The half that found the channel closed frees the block, unless a half is
// still pinned (notifying the wait cell, or calling the closure waker): then
// the last unpin frees it.
template <class T>
void release_owner(Block<T>* block) noexcept {
    LinkView now{};
    if (block->link.release_owner(now)) block->deallocate(now);
}

// A pinned half, when done, frees the block if it is the last party.
template <class T>
void unpin(Block<T>* block) noexcept {
    LinkView last{};
    if (block->link.unpin(last)) block->deallocate(last);
}

// The parameter type of Sender<T>::send: T, or a placeholder for void.
template <class T>
using SendParameter = std::conditional_t<std::is_void_v<T>, NoValue, T>;

// A receive's result built in place from `args`: a RecvResult<T>, or a
// PollResult<T> holding one.
template <class Result>
inline constexpr bool is_poll_result = false;
template <class T>
inline constexpr bool is_poll_result<PollResult<T>> = true;

template <class Result, class... Args>
Result make_result(Args&&... args) {
    if constexpr (is_poll_result<Result>) {
        return Result(std::in_place, std::forward<Args>(args)...);
    } else {
        return Result(std::forward<Args>(args)...);
    }
}

// ---------------------------------------------------------------------------
// Deadlines of the timed receives
// ---------------------------------------------------------------------------
//
// User durations and time points may have any representation and period, so
// converting them to nanoseconds may overflow (undefined behaviour for
// integers, and for a float that does not fit). They are compared in long
// double nanoseconds instead, which never overflows, and converted only once
// known to fit.

template <class Rep, class Period>
long double nanoseconds_in(const std::chrono::duration<Rep, Period>& duration) noexcept {
    return std::chrono::duration<long double, std::nano>(duration).count();
}

// How far steady_clock can count past `now`, less a millisecond for the
// rounding of long double where it is only a double.
inline long double nanoseconds_until_max(std::chrono::steady_clock::time_point now) noexcept {
    using Clock = std::chrono::steady_clock;
    return nanoseconds_in(Clock::time_point::max().time_since_epoch()) -
           nanoseconds_in(now.time_since_epoch()) - 1e6L;
}

// Takes the permit of `semaphore` by `deadline` (read on Clock after every
// wait, in steps of at most a day); false if the deadline passed first.
template <class Clock, class Duration>
bool acquire_until(Semaphore& semaphore,
                   const std::chrono::time_point<Clock, Duration>& deadline) noexcept {
    constexpr long double day = 86'400e9L;
    const long double at = nanoseconds_in(deadline.time_since_epoch());
    for (;;) {
        const long double left = at - nanoseconds_in(Clock::now().time_since_epoch());
        if (!(left > 0)) return semaphore.try_acquire();
        const std::chrono::nanoseconds step(
            static_cast<std::int64_t>(std::ceil(left < day ? left : day)));
        if (semaphore.try_acquire_for(step)) return true;
    }
}

}  // namespace detail

/// Cancels a receive that Receiver::start_recv() left pending; see
/// Receiver::canceller(). Trivially copyable.
class RecvCanceller {
public:
    /// True if this withdrew the pending receive: its target will not be
    /// called, and the receive stays open. False if the sender got there
    /// first (the target has been or is being called) or nothing is pending
    /// for this canceller's sender. Any thread, while the receiver lives.
    bool cancel() const noexcept {
        // No extension, no wait cell: nothing was ever armed in this block.
        detail::Extension* extension = link_->extension();
        if (extension == nullptr) {
            MULTISHOT_TRANSITION("canceller", "no extension");
            return false;
        }
        return extension->cell.cancel(epoch_) != detail::Claim::lost;
    }

private:
    template <class T>
    friend class Receiver;
    RecvCanceller(const detail::ExtensionLink& link, std::uint64_t epoch) noexcept
        : link_(&link), epoch_(epoch) {}

    const detail::ExtensionLink* link_;
    std::uint64_t epoch_;
};

// ---------------------------------------------------------------------------
// Receiver
// ---------------------------------------------------------------------------

/// The reusable receiving half of a channel. Move-only.
///
/// Creating a Receiver allocates the shared block, the channel's only
/// allocation. `sender()` recycles the sending half through that block for
/// as long as the receiver lives. Use one Receiver from one thread at a time,
/// and one receive at a time (recv, recv(stop_token), poll_recv, try_recv or
/// a blocking receive).
///
/// Which receive to use:
///   co_await recv()             a coroutine that waits until the sender acts
///   co_await recv(stop_token)   the same, but a stop request ends the wait
///   poll_recv(waker)            a task runtime's own poll loop
///   try_recv()                  a check that never waits
///   recv_blocking(), recv_for(), recv_until()   a plain thread
template <class T>
class Receiver {
public:
    using value_type = T;

    /// Allocates the shared block with std::allocator. The first sender()
    /// succeeds.
    Receiver() : Receiver(std::allocator_arg, std::allocator<std::byte>()) {}

    /// Allocates the shared block with (a rebound copy of) `allocator`, e.g.
    /// a std::pmr::polymorphic_allocator; the block is freed through it.
    template <class Allocator>
    Receiver(std::allocator_arg_t, const Allocator& allocator)
        : block_(detail::AllocatedBlock<T, Allocator>::allocate(allocator)) {}

    /// Takes over `other`'s channel; `other` is left empty (valid() false).
    /// Precondition: no co_await recv() on `other` is suspended (checked in
    /// debug builds: a message naming the mistake, then abort).
    Receiver(Receiver&& other) noexcept : block_(other.block_) {
        other.assert_not_suspended("Receiver moved while a co_await recv() on it is suspended");
        other.block_ = nullptr;
    }

    /// Closes this receiver's channel (as the destructor does) and takes over
    /// `other`'s. Precondition: no co_await recv() on either is suspended
    /// (checked in debug builds).
    Receiver& operator=(Receiver&& other) noexcept {
        if (this != &other) {
            assert_not_suspended(
                "Receiver move-assigned while a co_await recv() on it is suspended");
            other.assert_not_suspended(
                "Receiver move-assigned while a co_await recv() on it is suspended");
            release();
            block_ = std::exchange(other.block_, nullptr);
        }
        return *this;
    }

    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    /// Closes the channel. A live sender finds it closed and frees the block;
    /// otherwise the block (and an unread value) is freed here.
    /// Precondition: no co_await recv() on this receiver is suspended
    /// (checked in debug builds).
    ~Receiver() {
        assert_not_suspended("Receiver destroyed while a co_await recv() on it is suspended");
        release();
    }

    /// True unless this receiver was moved from.
    bool valid() const noexcept { return block_ != nullptr; }

    /// A new sender if no sender is alive, else nothing. Wait-free.
    ///
    /// Engaged on the first call and whenever the previous receive completed
    /// (or the previous sender was consumed). A value that the previous sender
    /// sent and nobody read is destroyed here. Empty on a moved-from receiver.
    /// Precondition: no co_await recv() on this receiver is suspended
    /// (checked in debug builds).
    ///
    /// (This wrapper alone is always inlined, so that the optional is built in
    /// the caller from a pointer returned in a register: returned through a
    /// hidden pointer, g++ 11 takes it to escape, and warns falsely
    /// (-Wmaybe-uninitialized) that ~Sender reads block_ of an empty one.)
    MULTISHOT_ALWAYS_INLINE std::optional<Sender<T>> sender() noexcept {
        detail::Block<T>* block = open_sender();
        if (block == nullptr) return std::nullopt;
        return Sender<T>(block);
    }

    /// Gives up the current message, so that sender() succeeds at once
    /// afterwards: for a client whose request timed out while the sender is
    /// still at work.
    ///
    /// An unread value is destroyed. A live sender is detached from this
    /// receiver: its is_closed() becomes true, its closed() completes (its
    /// closure waker is called, inline on this thread), send() discards its
    /// value and try_send() returns it, and it frees the old block when it
    /// goes. With no live sender this allocates nothing; with one, it
    /// allocates a new block through (a copy of) the receiver's allocator: if
    /// that throws, nothing changed. Cancellers obtained before are void
    /// afterwards (their receive is over).
    ///
    /// Not while a receive is in progress: a co_await recv() suspended or a
    /// start_recv() pending (debug builds abort naming the mistake). Throws
    /// usage_error on a moved-from receiver.
    void abandon() {
        require_valid("multishot::Receiver::abandon: receiver is empty (moved-from)");
        assert_not_suspended(
            "Receiver::abandon() called while a co_await recv() on it is suspended");
        MULTISHOT_ASSERT(!start_recv_pending(),
                         "Receiver::abandon() called while a start_recv() is pending");
        // | from  | to     | action                                        |
        // |-------|--------|-----------------------------------------------|
        // | x 0 0 | 0 0 1  | no sender: destroy the unread value           |
        // | x 0 1 | 0 0 1  | no sender: nothing to give up                 |
        // | x 1 * | (new)  | leave this block as ~Receiver does, take a new one |
        //
        // Acquire: as in sender(), synchronizes with the release RMW by which
        // the previous sender completed, so that its value can be destroyed.
        const std::size_t state = block_->state.load(std::memory_order::acquire);
        if (!detail::is_open(state)) {
            MULTISHOT_TRANSITION("abandon", detail::row_of(state));
            if (!detail::is_empty(state)) block_->value.destroy();
            // Relaxed: no sender is alive, nobody else reads the state.
            block_->state.store(detail::EMPTY, std::memory_order::relaxed);
            return;
        }
        MULTISHOT_TRANSITION("abandon", "x 1 *");
        detail::Block<T>* fresh = block_->operations().allocate_like(*block_);
        // Take the new block first: a closure waker called by release_block()
        // may run code that uses this receiver.
        release_block(std::exchange(block_, fresh));
    }

    /// An awaitable receive: `co_await r.recv()` yields RecvResult<T>, the
    /// value or RecvError::closed.
    ///
    /// Completes without suspending (and without any read-modify-write) when
    /// the sender already sent or was destroyed, and at once with closed when
    /// there is no live sender and no value. Otherwise the coroutine suspends
    /// and is resumed inline on the thread that sends or destroys the sender.
    /// Preconditions while it is suspended (undefined behaviour in release
    /// builds): the coroutine stays suspended until resumed (destroying it
    /// while the sender is alive lets the sender resume a freed frame), and
    /// the receiver is neither moved, nor destroyed, nor asked for sender()
    /// (debug builds abort naming the mistake). Throws usage_error on a
    /// moved-from receiver.
    RecvAwaiter<T> recv() {
        require_valid("multishot::Receiver::recv: receiver is empty (moved-from)");
        return RecvAwaiter<T>(*this);
    }

#if MULTISHOT_HAS_STOP_TOKEN
    /// A cancellable awaitable receive: `co_await r.recv(token)` yields the
    /// value, RecvError::closed, or RecvError::cancelled if stop is requested
    /// on `token` before the sender acts.
    ///
    /// The coroutine is resumed exactly once: inline by the sender (as for
    /// recv()), or inline by the thread that requests stop. If stop was
    /// requested before the await, it completes at once with cancelled,
    /// unless the value (or closure) is already there: a completed sender
    /// wins over a stop request. After cancelled the sender may still send;
    /// receive again to get the value. Throws usage_error on a moved-from
    /// receiver. The first such wait of a block's lifetime that does not
    /// complete at once allocates the block's extension (see the guide,
    /// "void channels and allocators"): the co_await then throws what the
    /// allocator throws, before suspending.
    ///
    /// The preconditions of recv() hold while it is suspended. To give up on
    /// the coroutine, request stop first and destroy its frame only after it
    /// resumed (with cancelled, or with the value if the sender won).
    ///
    /// Declared only if MULTISHOT_HAS_STOP_TOKEN is 1.
    CancellableRecvAwaiter<T> recv(std::stop_token token) {
        require_valid("multishot::Receiver::recv: receiver is empty (moved-from)");
        return CancellableRecvAwaiter<T>(*this, std::move(token));
    }
#endif

    /// Never waits: the value, RecvError::empty while a sender is alive and
    /// has not sent, or RecvError::closed. A value or closed completes the
    /// receive like recv() (sender() then succeeds). One load, no RMW. Throws
    /// usage_error on a moved-from receiver.
    RecvResult<T> try_recv() {
        require_valid("multishot::Receiver::try_recv: receiver is empty (moved-from)");
        assert_no_suspended_recv();
        const std::size_t state = load_state();
        if (detail::is_open(state)) return RecvError::empty;
        return complete(state);
    }

    /// Blocks the calling thread, without spinning, until the sender sends
    /// (the value) or is destroyed (RecvError::closed). Throws usage_error on
    /// a moved-from receiver. The first wait of a block's lifetime through
    /// the wait cell (this, recv_for, recv_until, start_recv, a cancellable
    /// co_await) allocates the block's extension, once: it throws what the
    /// allocator throws, and then nothing changed.
    RecvResult<T> recv_blocking() {
        require_valid("multishot::Receiver::recv_blocking: receiver is empty (moved-from)");
        return receive_blocking(untimed_wait);
    }

    /// As recv_blocking(), but gives up with RecvError::timed_out after
    /// `timeout` (measured on steady_clock). The receive stays open: a later
    /// receive gets the value.
    ///
    /// A zero, negative or NaN timeout does not wait: the value if it is
    /// there, else timed_out. A timeout that reaches past what steady_clock
    /// can represent (to within a millisecond), or +infinity, waits without a
    /// deadline. No input is undefined behaviour.
    template <class Rep, class Period>
    RecvResult<T> recv_for(const std::chrono::duration<Rep, Period>& timeout) {
        require_valid("multishot::Receiver::recv_for: receiver is empty (moved-from)");
        using Clock = std::chrono::steady_clock;
        const long double wait = detail::nanoseconds_in(timeout);
        if (!(wait > 0)) return receive_now();  // also NaN
        const Clock::time_point now = Clock::now();
        if (wait >= detail::nanoseconds_until_max(now)) return receive_blocking(untimed_wait);
        const std::chrono::nanoseconds step(static_cast<std::int64_t>(std::ceil(wait)));
        return receive_blocking(deadline_wait(now + step));
    }

    /// As recv_blocking(), but gives up with RecvError::timed_out at
    /// `deadline`, read on `Clock` (again after every wake-up, so a clock
    /// that is set or adjusted is followed). The receive stays open: a later
    /// receive gets the value.
    ///
    /// A deadline that has passed (or is NaN) does not wait: the value if it
    /// is there, else timed_out. A deadline at or past the largest time_point
    /// of `Clock` waits without a deadline. No input is undefined behaviour.
    template <class Clock, class Duration>
    RecvResult<T> recv_until(const std::chrono::time_point<Clock, Duration>& deadline) {
        require_valid("multishot::Receiver::recv_until: receiver is empty (moved-from)");
        const long double at = detail::nanoseconds_in(deadline.time_since_epoch());
        if (at >= detail::nanoseconds_in(Clock::time_point::max().time_since_epoch()))
            return receive_blocking(untimed_wait);
        if (!(at > detail::nanoseconds_in(Clock::now().time_since_epoch())))
            return receive_now();  // also NaN
        return receive_blocking(deadline_wait(deadline));
    }

    /// The poll layer for task runtimes: attempts to complete the receive,
    /// registering `waker` to be called when the sender acts if it cannot.
    ///
    /// Returns the result, or a pending PollResult. Like every
    /// receive, it completes at once with closed when no sender is alive and
    /// no value waits (a new receiver before its first sender()). Poll again
    /// after the waker is called. A later poll may pass a different waker; if
    /// the last poll is pending the sender calls its waker, though when a
    /// poll races the sender's completion a waker of an earlier poll may be
    /// called instead, late (see Waker): so a poll after a wake-up may still
    /// be pending, and the last pending poll's waker is then called later.
    /// Costs one load when ready, one RMW to register the first waker of a
    /// sender's lifetime, two to replace it. The value is moved once, into
    /// the returned result. Throws usage_error on a moved-from receiver.
    MULTISHOT_ALWAYS_INLINE PollResult<T> poll_recv(const Waker& waker) {
        require_valid("multishot::Receiver::poll_recv: receiver is empty (moved-from)");
        assert_no_suspended_recv();
        std::size_t state = load_state();
        if (detail::is_open(state)) {
            state = register_waker(waker, state);
            if (detail::is_open(state)) return std::nullopt;
        }
        return complete<PollResult<T>>(state);
    }

    /// The cancellable poll layer, for runtimes that withdraw a pending
    /// receive (asio's per-operation cancellation, a timeout, a select over
    /// channels): starts a receive that completes by calling `target` exactly
    /// once, unless it is cancelled first.
    ///
    /// Returns the result if the receive completes at once; `target` is then
    /// never called. Otherwise returns a pending PollResult, and exactly one of
    /// two things follows:
    ///   * the sender sends or is destroyed and calls `target` once, inline on
    ///     its thread (possibly before start_recv() returns); then complete the
    ///     receive with try_recv(), which returns the value or closed. That
    ///     try_recv() may run on any thread, also while start_recv() is still
    ///     returning: once the target can be called, start_recv() touches
    ///     nothing of the receiver;
    ///   * `canceller().cancel()`, on any thread, claims the receive first and
    ///     returns true; `target` is never called and the channel is
    ///     unchanged: the receive stays open and a value sent later goes to
    ///     the next receive.
    /// `target`'s context must stay valid until one of them happened. The
    /// next receive starts after that, and after start_recv() returned.
    /// Throws usage_error on a moved-from receiver, and what the allocator
    /// throws if this is the block's first wait through the wait cell (see
    /// recv_blocking()).
    PollResult<T> start_recv(const Waker& target) {
        require_valid("multishot::Receiver::start_recv: receiver is empty (moved-from)");
        assert_no_suspended_recv();
        std::size_t state = load_state();
        if (!detail::is_open(state)) return complete<PollResult<T>>(state);

        // Armed without PARKED, as a cancellable co_await: a sender that
        // claims the target before park() below does not call it, so the
        // target (and a try_recv() on the thread it wakes) never runs while
        // this function still touches the block.
        detail::WaitCell& cell = block_->extension_for_use().cell;
        const std::uint64_t epoch = block_->epoch.load();
        if (!cell.arm(epoch, target, /*parked=*/false))
            return complete<PollResult<T>>(load_state());

        state = register_waker(block_->link.cell_waker(), state);
        if (!detail::is_open(state)) return withdraw_target(cell, epoch, state);
        if (cell.park()) return std::nullopt;  // the last touch: the target may run from here on
        // Claimed before it was parked. By a canceller: its cancel() returned
        // true, so the receive stays open and pending, the target is never
        // called. By the sender, which completed: complete now.
        if (cell.cancelled(epoch)) {
            MULTISHOT_TRANSITION("start_recv", "cancelled before parking");
            return std::nullopt;
        }
        MULTISHOT_TRANSITION("start_recv", "completed before parking");
        return complete<PollResult<T>>(load_state());
    }

    /// What cancels the receive that start_recv() leaves pending: it names
    /// the current sender's receive, so get it after start_recv() (or before,
    /// with no sender() in between). cancel() may be called from any thread
    /// while the receiver is alive; after the receive completed, or for an
    /// older sender's receive, it does nothing and returns false.
    RecvCanceller canceller() const noexcept {
        MULTISHOT_ASSERT(block_ != nullptr, "Receiver::canceller() on a moved-from receiver");
        return RecvCanceller(block_->link, block_->epoch.load());
    }

private:
    friend class RecvAwaiter<T>;
#if MULTISHOT_HAS_STOP_TOKEN
    friend class CancellableRecvAwaiter<T>;
#endif
    friend struct detail::ModelAccess;

    // sender()'s transition: the block, left "0 1 1" for the new sender, or
    // null when no sender can be made.
    detail::Block<T>* open_sender() noexcept {
        // | from  | to    | result                                 |
        // |-------|-------|----------------------------------------|
        // | x 0 0 | 0 1 1 | sender (the unread value destroyed)    |
        // | x 0 1 | 0 1 1 | sender                                 |
        // | x 1 1 | x 1 1 | none: a sender is alive                |
        // | x 1 0 | x 1 0 | none: a sender is alive                |
        if (block_ == nullptr) return nullptr;
        assert_not_suspended(
            "Receiver::sender() called while a co_await recv() on it is suspended");
        detail::Block<T>& block = *block_;

        // Acquire: synchronizes with the release RMW by which the previous
        // sender completed, so that its value can be destroyed below and the
        // waker slots it read can be rewritten without a race.
        const std::size_t state = block.state.load(std::memory_order::acquire);
        MULTISHOT_TRANSITION("sender()", detail::row_of(state));
        if (detail::is_open(state)) return nullptr;

        if (!detail::is_empty(state)) block.value.destroy();
        block.wakers[0].store(Waker{});
        block.epoch.store(block.epoch.load() + 1);
        // Relaxed: the new sender does not exist yet; whoever receives it gets
        // it through a hand-off that carries this store with it.
        block.state.store(detail::OPEN | detail::EMPTY, std::memory_order::relaxed);
        return block_;
    }

    void require_valid(const char* message) const {
        if (block_ == nullptr) detail::raise<usage_error>(message);
    }

    // Debug aid: true if a start_recv() of the current sender is pending.
    bool start_recv_pending() const noexcept {
        const detail::Extension* extension = block_->link.extension();
        return extension != nullptr && extension->cell.parked(block_->epoch.load());
    }

    void assert_no_suspended_recv() const noexcept {
        assert_not_suspended(
            "a receive started while a co_await recv() on the same receiver is suspended: two "
            "receives outstanding at once");
    }

    // Debug aid: whether a co_await recv() is suspended on this receiver. The
    // flag lives in the block, so that a receiver is one pointer and no
    // layout depends on NDEBUG (a library and a program built with and
    // without it share channels); only builds without NDEBUG write and read it.
    void set_awaiting([[maybe_unused]] bool awaiting) noexcept {
#if !defined(NDEBUG)
        block_->receive_suspended = awaiting;
#endif
    }
    void assert_not_suspended([[maybe_unused]] const char* message) const noexcept {
#if !defined(NDEBUG)
        MULTISHOT_ASSERT(block_ == nullptr || !block_->receive_suspended, message);
#endif
    }

    // A receive whose deadline passed before it started: the value if it is
    // there, else timed_out. Never waits, never registers a waker.
    RecvResult<T> receive_now() {
        assert_no_suspended_recv();
        const std::size_t state = load_state();
        if (detail::is_open(state)) return RecvError::timed_out;
        return complete(state);
    }

    // start_recv(), when the sender completed during the registration
    // (`state`, what the registration's RMW found): disarms the unparked
    // target and completes now, unless a canceller claimed the target first.
    // Then its cancel() returned true and the receive stays open: pending,
    // with the sender's final state, which the registration's RMW may have
    // changed, put back for the next receive.
    PollResult<T> withdraw_target(detail::WaitCell& cell, std::uint64_t epoch,
                                  std::size_t state) {
        if (cell.cancel(epoch) != detail::Claim::lost || !cell.cancelled(epoch)) {
            MULTISHOT_TRANSITION("start_recv", "completed during registration");
            return complete<PollResult<T>>(state);
        }
        MULTISHOT_TRANSITION("start_recv", "completed during registration, cancelled first");
        // Relaxed: the sender is gone, and the canceller touches no state:
        // only this thread, or one it hands the receiver to after this call
        // returns, reads it back.
        block_->state.store(state, std::memory_order::relaxed);
        return std::nullopt;
    }

    // How blocking receives wait on the cell's semaphore: true once acquired,
    // false when giving up (timed out).
    static bool untimed_wait(detail::Semaphore& semaphore) {
        semaphore.acquire();
        return true;
    }
    template <class Clock, class Duration>
    static auto deadline_wait(const std::chrono::time_point<Clock, Duration>& deadline) {
        return [deadline](detail::Semaphore& semaphore) {
            return detail::acquire_until(semaphore, deadline);
        };
    }

    // A blocking receive through the wait cell, its target the cell's
    // semaphore, waiting with `wait`.
    template <class Wait>
    RecvResult<T> receive_blocking(Wait wait) {
        assert_no_suspended_recv();
        std::size_t state = load_state();
        if (!detail::is_open(state)) return complete(state);

        detail::WaitCell& cell = block_->extension_for_use().cell;
        const std::uint64_t epoch = block_->epoch.load();
        if (!cell.arm(epoch, cell.semaphore_waker(), /*parked=*/true)) return complete(load_state());

        state = register_waker(block_->link.cell_waker(), state);
        if (!detail::is_open(state)) {
            // The sender completed meanwhile. If it claimed the target, its
            // release of the semaphore is on the way: take it, so that no
            // permit outlives this receive.
            if (cell.cancel(epoch) == detail::Claim::lost) cell.semaphore().acquire();
            return complete(state);
        }
        if (!wait(cell.semaphore())) {
            if (cell.cancel(epoch) != detail::Claim::lost) return RecvError::timed_out;
            cell.semaphore().acquire();  // lost to the sender: its release is on the way
        }
        return complete(load_state());
    }

    // Poll, fast path: the state, to be passed to register_waker() if it is
    // open and to complete() if it is not.
    std::size_t load_state() const noexcept {
        // | from  | to    | result       |
        // |-------|-------|--------------|
        // | x 0 0 | 0 0 1 | ready: value |
        // | x 0 1 | 0 0 1 | ready: closed|
        // | x 1 * | x 1 * | go to step 1 |
        //
        // Acquire: if the sender completed, synchronizes with its release RMW
        // so that the value it wrote is visible to complete().
        const std::size_t state = block_->state.load(std::memory_order::acquire);
        if (!detail::is_open(state)) MULTISHOT_TRANSITION("poll fast path", detail::row_of(state));
        return state;
    }

    // Poll, steps 1 and 2: registers `waker` given an open `state` loaded by
    // the fast path. Returns the state that decides the outcome: still open
    // means pending (the waker is published and will be called once by the
    // sender); closed means ready, to be passed to complete().
    //
    // When this returns pending, the caller may already have been woken, on
    // another thread: it must touch nothing that the wake-up may destroy (for
    // a coroutine: its awaiter) after this call.
    std::size_t register_waker(const Waker& waker, std::size_t state) noexcept {
        // Step 1 (only when E==0; then the sender may be about to read slot
        // 1-I, which we are going to write):
        // | from  | to    | result       |
        // |-------|-------|--------------|
        // | x 0 0 | 0 0 1 | ready: value |
        // | x 0 1 | 0 0 1 | ready: closed|
        // | x 1 0 | x 1 1 | go to step 2 |
        // | x 1 1 | x 1 1 | go to step 2 (no RMW) |
        //
        // Step 2:
        // | from  | to    | result       |
        // |-------|-------|--------------|
        // | x 0 0 | 0 0 1 | ready: value |
        // | x 0 1 | 0 0 1 | ready: closed|
        // | x 1 1 | x 1 0 | pending      |
        detail::Block<T>& block = *block_;
        if (already_registered(waker, state)) return state;
        if (detail::is_empty(state)) {
            MULTISHOT_TRANSITION("poll step 1", "x 1 1");
        } else {
            // Acquire: if this shows the sender completed, the value it wrote
            // is read by complete(). Nothing is published here, so no release.
            state = block.state.fetch_or(detail::EMPTY, std::memory_order::acquire);
            MULTISHOT_TRANSITION("poll step 1", detail::row_of(state));
            if (!detail::is_open(state)) return state;
        }

        // With E set, the sender never reads slot 1-I: it is ours to write.
        const std::size_t current = detail::index_of(state);
        block.wakers[1 - current].store(waker);

        // Clears E, publishing the waker in slot 1-I, and counts it in R. An
        // addition rather than a fetch_and(~E), which x86 can only do with a
        // CAS loop, and rather than a store of "x 1 0", which would drop the
        // sender's C: its result is wrong only if the sender completed in
        // between, and complete() then overwrites the state anyway.
        // Release: publishes the waker written above to the sender's acquire
        // load or RMW. Acquire: if the sender completed meanwhile (it may have
        // woken an older waker, or none), its value is read by complete().
        state = block.state.fetch_add(detail::registration_delta, std::memory_order::acq_rel);
        MULTISHOT_TRANSITION("poll step 2", detail::row_of(state));
        return state;
    }

    // Poll, step 0: true if the sender is bound to call `waker` already, so
    // that a re-poll with the same waker is pending at the cost of the fast
    // path's load (no RMW).
    //
    // | from  | to    | result                                          |
    // |-------|-------|-------------------------------------------------|
    // | x 1 0 | x 1 0 | pending if slot !x (the newer waker) == waker   |
    // | x 1 1 | x 1 1 | pending if slot x (the current waker) == waker  |
    //
    // Only the receiver writes waker slots, so reading either slot here never
    // races (the sender only reads them). With E==0 the sender will retry
    // with slot !x; with E==1 it calls slot x, or has taken it already and its
    // RMW will find E still set. Either way `waker` is called.
    bool already_registered(const Waker& waker, std::size_t state) const noexcept {
        const std::size_t current = detail::index_of(state);
        const std::size_t newest = detail::is_empty(state) ? current : 1 - current;
        if (block_->wakers[newest].load() != waker) return false;
        MULTISHOT_TRANSITION("poll step 0", detail::row_of(state));
        return true;
    }

    // Completes a receive given a closed `state`, as a `Result` (RecvResult<T>
    // or PollResult<T>) built in place, so that the value is moved exactly
    // once: out of the slot into the caller's result. Moves the value out
    // (E==0) or reports closed (E==1), and leaves "0 0 1" so that sender()
    // succeeds. If the move throws, the value stays in the slot, owned by the
    // block ("x 0 0"), for the next receive, and the exception propagates.
    template <class Result = RecvResult<T>>
    Result complete(std::size_t state) {
        MULTISHOT_ASSERT(!detail::is_open(state), "internal error: completing an open receive");
        detail::Block<T>& block = *block_;
        if (detail::is_empty(state)) {
            // Relaxed: the sender is gone, nobody else reads the state.
            block.state.store(detail::EMPTY, std::memory_order::relaxed);
            return detail::make_result<Result>(RecvError::closed);
        }
        if constexpr (!std::is_void_v<T> && !std::is_nothrow_move_constructible_v<T>) {
            // Steps 1 and 2 may have written E or O over "x 0 0": restore
            // "value waits" before a move that may throw. Relaxed: the sender
            // is gone, nobody else reads the state.
            block.state.store(0, std::memory_order::relaxed);
        }
        ValueTaker taker{block};
        return detail::make_result<Result>(detail::TakeValue{}, taker);
    }

    // The source of RecvResult's TakeValue constructor.
    struct ValueTaker {
        detail::Block<T>& block;

        // The value to move from, or to copy from if T cannot be moved (a
        // copy-only T whose move constructor is deleted).
        template <class U = T>
        decltype(auto) value() noexcept {
            if constexpr (std::is_move_constructible_v<U>) {
                return std::move(block.value.get());
            } else {
                return std::as_const(block.value.get());
            }
        }
        // After the value was moved out: destroys what is left in the slot.
        void taken() noexcept {
            block.value.destroy();
            // Relaxed: the sender is gone, nobody else reads the state.
            block.state.store(detail::EMPTY, std::memory_order::relaxed);
        }
    };

    // Receiver destruction.
    void release() noexcept {
        if (block_ != nullptr) release_block(std::exchange(block_, nullptr));
    }

    // The receiver leaves `block`: its destruction, or abandon() with a live
    // sender.
    // | from    | to    | action                                          |
    // |---------|-------|-------------------------------------------------|
    // | x 1 * C | 0 0 0 | wake the closure waker, leave cleanup to sender |
    // | x 1 1   | 0 0 0 | leave cleanup to the sender                     |
    // | x 1 0   | 0 0 0 | leave cleanup to the sender                     |
    // | x 0 1   | free  | free the block                                  |
    // | x 0 0   | free  | destroy the unread value, free                  |
    //
    // A CAS loop rather than a swap, so that the block is pinned before the
    // RMW that lets the sender free it if, and only if, the closure waker
    // must be read and called after it.
    static void release_block(detail::Block<T>* block) noexcept {
        // Acquire: a C seen here was set by the sender's release fetch_or
        // after it installed the extension, so the installation happens
        // before the pin below, whose RMW on the link word then finds it.
        // Relaxed would let the pin come first in the link word's
        // modification order (message passing without synchronization); the
        // model checker cannot show that, since its RMWs read the latest
        // store executed (tests/model/MUTATIONS.md). Otherwise the value only
        // seeds the CAS below, which corrects it.
        std::size_t state = block->state.load(std::memory_order::acquire);
        detail::Extension* pinned = nullptr;
        for (;;) {
            if (detail::awaits_closure(state) && pinned == nullptr) {
                pinned = &block->link.pin();
            }
            // Success, acq_rel. Acquire: if the sender is gone, synchronizes
            // with its release RMW so that its value can be destroyed and the
            // block freed; if it registered a closure waker, with its release
            // fetch_or, so that the waker is read below. Release: if the
            // sender is alive it frees the block, after the receiver's last
            // writes to shared cells (the wait cell's target may have been
            // written after the last release RMW of a poll). Failure,
            // acquire: as the load above, for a C that a retry finds. Strong:
            // a retry then means the sender changed the state, which it does
            // a bounded number of times.
            if (block->state.compare_exchange_strong(state, 0, std::memory_order::acq_rel,
                                                     std::memory_order::acquire))
                break;
        }
        MULTISHOT_TRANSITION("~Receiver", detail::row_of(state));
        if (detail::awaits_closure(state)) {
            MULTISHOT_TRANSITION("~Receiver closure", "wake the closure waker");
            pinned->closure_waker.load().wake();
            detail::unpin(block);  // last if the sender finished meanwhile
            return;
        }
        if (pinned != nullptr) {
            // The sender withdrew its waker or finished between the load and
            // the CAS.
            MULTISHOT_TRANSITION("~Receiver closure", "withdrawn before the CAS");
            detail::unpin(block);  // last if the sender finished meanwhile
        }
        if (detail::is_open(state)) return;
        if (!detail::is_empty(state)) block->value.destroy();
        detail::release_owner(block);
    }

    detail::Block<T>* block_;
};

// ---------------------------------------------------------------------------
// The recv() awaitable
// ---------------------------------------------------------------------------

/// Returned by Receiver::recv(); `co_await` it once. Not copyable or movable:
/// use it as the operand of co_await.
template <class T>
class RecvAwaiter {
public:
    RecvAwaiter(const RecvAwaiter&) = delete;
    RecvAwaiter& operator=(const RecvAwaiter&) = delete;

    /// Ready (one load, no RMW) when the sender already sent or is gone.
    bool await_ready() noexcept {
        receiver_.assert_not_suspended(
            "co_await recv() while another co_await recv() on the same receiver is suspended: "
            "two receives outstanding at once");
        state_ = receiver_.load_state();
        return !detail::is_open(state_);
    }

    /// Registers the coroutine as the waker; suspends unless the sender
    /// completed meanwhile.
    ///
    /// Not inlined: clang may otherwise keep this function's locals in the
    /// coroutine frame and write them after the handle was published, racing
    /// with the thread that resumes the coroutine (llvm/llvm-project#56301).
    MULTISHOT_NOINLINE bool await_suspend(std::coroutine_handle<> handle) noexcept {
        receiver_.set_awaiting(true);
        const std::size_t state = receiver_.register_waker(Waker(handle), state_);
        // Pending: the coroutine may already be running on the sender's
        // thread, and this awaiter may be gone. Touch nothing of it.
        if (detail::is_open(state)) return true;
        state_ = state;
        return false;
    }

    /// The value, or RecvError::closed.
    RecvResult<T> await_resume() {
        receiver_.set_awaiting(false);
        if (detail::is_open(state_)) {
            // Resumed by the sender. Relaxed: the resumption happens after the
            // sender's final RMW (inline on its thread, or through whatever
            // hand-off resumed us), so read-read coherence yields that RMW's
            // closed state, and the value it published is visible.
            state_ = receiver_.block_->state.load(std::memory_order::relaxed);
            MULTISHOT_ASSERT(!detail::is_open(state_),
                             "co_await recv() resumed while the sender is alive: the coroutine "
                             "was resumed by someone other than the sender");
        }
        return receiver_.complete(state_);
    }

private:
    friend class Receiver<T>;
    explicit RecvAwaiter(Receiver<T>& receiver) noexcept : receiver_(receiver) {}

    Receiver<T>& receiver_;
    // Written by await_ready() before anything reads it; no initializer, as
    // g++ keeps the awaiter in the coroutine frame and would store it twice.
    std::size_t state_;
};

#if MULTISHOT_HAS_STOP_TOKEN
/// Returned by Receiver::recv(std::stop_token); `co_await` it once. Not
/// copyable or movable: use it as the operand of co_await.
///
/// It waits through the block's wait cell (see detail::WaitCell): the sender
/// and the stop callback each try to claim the armed coroutine with one CAS,
/// and only the winner resumes it.
template <class T>
class CancellableRecvAwaiter {
public:
    CancellableRecvAwaiter(const CancellableRecvAwaiter&) = delete;
    CancellableRecvAwaiter& operator=(const CancellableRecvAwaiter&) = delete;

    /// Ready when the sender already acted (it wins over a stop request), or
    /// when stop was requested already. Otherwise installs the block's
    /// extension if this is its first use: throws what the allocator throws.
    bool await_ready() {
        receiver_.assert_no_suspended_recv();
        state_ = receiver_.load_state();
        if (!detail::is_open(state_)) return true;
        cancelled_early_ = token_.stop_requested();
        if (!cancelled_early_) cell_ = &receiver_.block_->extension_for_use().cell;
        return cancelled_early_;
    }

    /// Arms the coroutine in the wait cell, registers the cell's waker and
    /// parks; suspends unless the sender or a stop request claimed it first.
    /// Not inlined, for the reason given at RecvAwaiter::await_suspend.
    MULTISHOT_NOINLINE bool await_suspend(std::coroutine_handle<> handle) noexcept {
        receiver_.set_awaiting(true);
        detail::Block<T>& block = *receiver_.block_;
        detail::WaitCell& cell = *cell_;
        epoch_ = block.epoch.load();
        if (!cell.arm(epoch_, Waker(handle), /*parked=*/false)) {
            state_ = receiver_.load_state();  // the sender completed
            return false;
        }
        // A stop request from now on claims the target; until park() nobody
        // resumes the coroutine, so this awaiter is still ours to use.
        stop_callback_.emplace(token_, Canceller{this});
        const std::size_t state = receiver_.register_waker(block.link.cell_waker(), state_);
        if (!detail::is_open(state)) {
            // The sender completed meanwhile: complete the receive. The target
            // stays armed but not parked, so a late claim wakes nobody.
            state_ = state;
            return false;
        }
        return cell.park();  // the last touch: true means suspended
    }

    /// The value, RecvError::closed, or RecvError::cancelled.
    RecvResult<T> await_resume() {
        receiver_.set_awaiting(false);
        stop_callback_.reset();  // waits for a stop callback running elsewhere
        if (cancelled_early_) return RecvError::cancelled;
        if (detail::is_open(state_)) {
            if (cell_->cancelled(epoch_)) return RecvError::cancelled;
            // Claimed by the sender. Relaxed: as in RecvAwaiter::await_resume,
            // the claim came after the sender's final RMW and the coroutine
            // runs after the claim.
            state_ = receiver_.block_->state.load(std::memory_order::relaxed);
        }
        return receiver_.complete(state_);
    }

private:
    friend class Receiver<T>;
    CancellableRecvAwaiter(Receiver<T>& receiver, std::stop_token token) noexcept
        : receiver_(receiver), token_(std::move(token)) {}

    // The stop callback. std::stop_callback's destructor waits for a callback
    // running on another thread, so this awaiter outlives every call.
    struct Canceller {
        CancellableRecvAwaiter* awaiter;
        void operator()() const noexcept { awaiter->cancel(); }
    };

    // Claims the coroutine for the stop request; if it was parked, resumes it
    // here, inline. Touches nothing after the resumption.
    void cancel() noexcept {
        detail::WaitCell& cell = *cell_;
        if (cell.cancel(epoch_) == detail::Claim::claimed_parked) cell.target().wake();
    }

    Receiver<T>& receiver_;
    std::stop_token token_;
    // The block's wait cell, once await_ready() found the receive pending.
    detail::WaitCell* cell_ = nullptr;
    std::size_t state_ = detail::OPEN;
    std::uint64_t epoch_ = 0;
    bool cancelled_early_ = false;
    // Declared last, destroyed first.
    std::optional<std::stop_callback<Canceller>> stop_callback_;
};
#endif  // MULTISHOT_HAS_STOP_TOKEN

// ---------------------------------------------------------------------------
// Sender
// ---------------------------------------------------------------------------

/// The single-use sending half of a channel. Move-only; may be used on and
/// destroyed on any thread.
///
/// send() or emplace() delivers one value and leaves the sender empty.
/// Destroying a sender that did not send closes the channel: the receiver
/// gets RecvError::closed. Either way the waiting receiver, if any, is woken
/// inline, on this thread. Waking never throws (Waker::wake is noexcept): an
/// exception escaping a woken coroutine calls std::terminate, from send(),
/// emplace(), the destructor and move assignment alike.
template <class T>
class Sender {
public:
    using value_type = T;

    /// Takes over `other`'s channel; `other` is left empty. Precondition: no
    /// co_await other.closed() is suspended (checked in debug builds).
    Sender(Sender&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {
        assert_not_awaiting_closed("Sender moved while a co_await closed() on it is suspended");
    }

    /// Closes this sender's channel unless it was used (as the destructor
    /// does) and takes over `other`'s. Precondition: no co_await closed() on
    /// either is suspended (checked in debug builds).
    Sender& operator=(Sender&& other) noexcept {
        if (this != &other) {
            other.assert_not_awaiting_closed(
                "Sender moved while a co_await closed() on it is suspended");
            if (block_ != nullptr) close(std::exchange(block_, nullptr));
            block_ = std::exchange(other.block_, nullptr);
        }
        return *this;
    }

    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    /// Closes the channel unless the sender was used: the receiver is woken
    /// and gets RecvError::closed.
    ~Sender() {
        // The check stays inline: moved-from senders are destroyed on hot paths.
        // close() gets the block, not `this`: passed the sender's address, a
        // call makes g++ 11 and 12 assume it may re-engage an enclosing
        // std::optional, and warn falsely (-Wmaybe-uninitialized) that the
        // optional's destructor then reads block_ again.
        if (block_ != nullptr) close(std::exchange(block_, nullptr));
    }

    /// True unless the sender was moved from or used.
    bool valid() const noexcept { return block_ != nullptr; }

    /// True if the receiver is gone (destroyed, or it abandoned this
    /// message), so that a value sent now would be discarded. Also true for
    /// an empty sender.
    bool is_closed() const noexcept {
        if (block_ == nullptr) return true;
        // Relaxed: a hint only; no data is read on the strength of it.
        return !detail::is_open(block_->state.load(std::memory_order::relaxed));
    }

    /// For a producer that should stop work nobody waits for: true once the
    /// receiver is gone (destroyed, or it abandoned this message, see
    /// Receiver::abandon()); otherwise registers `waker` and returns false.
    ///
    /// The receiver calls the waker of the last pending poll_closed() once,
    /// inline on its thread, when it leaves. It is never called if the
    /// sender sent, or was destroyed, or a later poll_closed() returned
    /// pending with another waker, before the receiver left: sending or
    /// destroying the sender is all the clean-up a registration needs. When
    /// one of those races the receiver's departure, the receiver may call the
    /// earlier waker while or after it returns, so the waker's context must
    /// stay valid as for poll_recv()'s wakers (see Waker). Costs at most two
    /// RMWs (a change of waker: withdraw, then register), none for a re-poll
    /// with the registered waker. The first registration in a channel's
    /// lifetime allocates the block's extension (docs/algorithm.md, "The
    /// extension") through the receiver's allocator: it throws what the
    /// allocator throws, and then nothing changed. True for an empty sender.
    /// Not while a co_await closed() on this sender is suspended (checked in
    /// debug builds).
    bool poll_closed(const Waker& waker) {
        if (block_ == nullptr) return true;
        assert_not_awaiting_closed("Sender::poll_closed() called while a co_await closed() on it "
                                   "is suspended");
        return !register_closure_waker(waker);
    }

    /// An awaitable for the same: `co_await s.closed()` completes once the
    /// receiver is gone, at once if it is gone already (or the sender is
    /// empty); otherwise the coroutine suspends and is resumed exactly once,
    /// inline on the thread that destroys the receiver or calls abandon().
    /// While it is suspended the sender must stay where it is: neither sent,
    /// moved, destroyed nor polled (debug builds abort naming the mistake).
    ClosedAwaiter<T> closed() noexcept { return ClosedAwaiter<T>(*this); }

    /// As send(), but if the receiver is already gone (destroyed, or it
    /// abandoned this message) the value comes back instead of being
    /// destroyed. Empty if the value was delivered: a receiver destroyed
    /// after the send was announced counts as having received it (the value
    /// is then destroyed with the channel). Throws usage_error on an empty
    /// sender; if moving `value` into the channel throws, the sender is left
    /// as it was. If moving it back out throws, the value is destroyed and
    /// the exception propagates (the sender is consumed either way).
    [[nodiscard]] std::optional<detail::SendParameter<T>> try_send(
        detail::SendParameter<T> value)
        requires(!std::is_void_v<T>)
    {
        require_valid(
            "multishot::Sender::try_send: sender is empty (moved-from or already used)");
        assert_not_awaiting_closed(
            "Sender::try_send() called while a co_await closed() on it is suspended");
        if (detail::Block<T>* unreceived = announce(std::move(value))) return take_back(unreceived);
        return std::nullopt;
    }

    /// As send() on a void channel, but false if the receiver is already
    /// gone (destroyed, or it abandoned this message). True if delivered,
    /// also when the receiver is destroyed after the send was announced.
    /// Throws usage_error on an empty sender.
    [[nodiscard]] bool try_send()
        requires std::is_void_v<T>
    {
        require_valid(
            "multishot::Sender::try_send: sender is empty (moved-from or already used)");
        assert_not_awaiting_closed(
            "Sender::try_send() called while a co_await closed() on it is suspended");
        detail::Block<T>* unreceived = announce();
        if (unreceived == nullptr) return true;
        dispose(unreceived);
        return false;
    }

    /// Sends `value` and consumes the sender. Throws usage_error on an empty
    /// sender. If moving `value` into the channel throws, the sender is left
    /// as it was (strong guarantee).
    MULTISHOT_ALWAYS_INLINE void send(detail::SendParameter<T> value)
        requires(!std::is_void_v<T>)
    {
        require_valid("multishot::Sender::send: sender is empty (moved-from or already used)");
        deliver(std::move(value));
    }

    /// Sends on a void channel and consumes the sender. Throws usage_error on
    /// an empty sender.
    MULTISHOT_ALWAYS_INLINE void send()
        requires std::is_void_v<T>
    {
        require_valid("multishot::Sender::send: sender is empty (moved-from or already used)");
        deliver();
    }

    /// Constructs the value in the channel from `args` and consumes the
    /// sender. Throws usage_error on an empty sender. If the construction
    /// throws, the sender is left as it was (strong guarantee).
    template <class... Args>
    MULTISHOT_ALWAYS_INLINE void emplace(Args&&... args) {
        require_valid("multishot::Sender::emplace: sender is empty (moved-from or already used)");
        deliver(std::forward<Args>(args)...);
    }

private:
    friend class Receiver<T>;
    friend class ClosedAwaiter<T>;
    explicit Sender(detail::Block<T>* block) noexcept : block_(block) {}

    void require_valid(const char* message) const {
        if (block_ == nullptr) detail::raise<usage_error>(message);
    }

    // Debug aid, as Receiver::set_awaiting: a co_await closed() is suspended.
    void set_awaiting_closed([[maybe_unused]] bool awaiting) noexcept {
#if !defined(NDEBUG)
        if (block_ != nullptr) block_->closed_suspended = awaiting;
#endif
    }
    void assert_not_awaiting_closed(const char* message) const noexcept {
        assert_not_awaiting_closed(block_, message);
    }
    static void assert_not_awaiting_closed([[maybe_unused]] const detail::Block<T>* block,
                                           [[maybe_unused]] const char* message) noexcept {
#if !defined(NDEBUG)
        MULTISHOT_ASSERT(block == nullptr || !block->closed_suspended, message);
#endif
    }

    // Registers `waker` as the closure waker: true if registered (pending),
    // false if the receiver is gone. When this returns true the caller may
    // already have been woken, on another thread: a coroutine's awaiter must
    // touch nothing after it.
    //
    // | from         | to         | result                                  |
    // |--------------|------------|-----------------------------------------|
    // | x 0 *        | unchanged  | receiver gone: false                    |
    // | x 1 * C      | unchanged  | the same waker: true (no RMW)           |
    // | x 1 * C      | x 1 * !C   | another waker: withdrawn, register it   |
    // | x 0 * (C)    | unchanged  | withdrawing found the receiver gone     |
    // | x 1 * !C     | x 1 * C    | registered: true                        |
    // | x 0 *        | x 0 * C    | registering found the receiver gone     |
    //
    // Only the sender writes the closure waker's slot (in the block's
    // extension), and only while C is clear; the receiver reads it only if
    // its leaving CAS found C set. Throws only if it installs the extension
    // (what the allocator throws), which ClosedAwaiter::await_ready() did
    // already.
    bool register_closure_waker(const Waker& waker) {
        detail::Block<T>& block = *block_;
        // Relaxed: a "receiver gone" result reads nothing on the strength of
        // it, and a C seen here is the sender's own.
        std::size_t state = block.state.load(std::memory_order::relaxed);
        if (!detail::is_open(state)) {
            MULTISHOT_TRANSITION("poll_closed", "receiver gone");
            return false;
        }
        detail::Extension& extension = block.extension_for_use();
        if ((state & detail::CLOSE_WAITER) != 0) {
            if (extension.closure_waker.load() == waker) {
                MULTISHOT_TRANSITION("poll_closed", "same waker");
                return true;
            }
            // Withdraws the registered waker so that its slot may be
            // rewritten: a receiver leaving after this finds no C and never
            // reads the slot; one that left before this has read it (and
            // calls it), and this finds the channel closed. Relaxed: no data
            // is published or read on the strength of it; the rewrite below
            // is published by the release fetch_or.
            state = block.state.fetch_and(~detail::CLOSE_WAITER, std::memory_order::relaxed);
            if (!detail::is_open(state)) {
                MULTISHOT_TRANSITION("poll_closed withdraw", "receiver gone");
                return false;
            }
            MULTISHOT_TRANSITION("poll_closed withdraw", "withdrawn");
        }
        extension.closure_waker.store(waker);
        // Release: publishes the waker written above, and the extension
        // installed before, to the receiver's acquire load or CAS in
        // Receiver::release_block(). No acquire: a "receiver gone" result
        // reads nothing.
        state = block.state.fetch_or(detail::CLOSE_WAITER, std::memory_order::release);
        MULTISHOT_TRANSITION("poll_closed register",
                             detail::is_open(state) ? "registered" : "receiver gone");
        return detail::is_open(state);
    }

    // Constructs the value and announces it, or destroys it if the receiver
    // is gone; the sender is empty afterwards.
    template <class... Args>
    MULTISHOT_ALWAYS_INLINE void deliver(Args&&... args) {
        assert_not_awaiting_closed(
            "Sender::send() or emplace() called while a co_await closed() on it is suspended");
        if (detail::Block<T>* unreceived = announce(std::forward<Args>(args)...))
            dispose(unreceived);
    }

    // Constructs the value in the slot and announces it; the sender is empty
    // afterwards. Null if the receiver is there to get it; else the block,
    // the value still in its slot, for the caller to dispose of or take back.
    template <class... Args>
    MULTISHOT_ALWAYS_INLINE detail::Block<T>* announce(Args&&... args) {
        block_->value.construct(std::forward<Args>(args)...);
        detail::Block<T>* block = std::exchange(block_, nullptr);
        return publish_value(block) ? nullptr : block;
    }

    // Announces the value constructed in the slot. True if the receiver is
    // there to get it; false if it is gone (or abandoned the message): then
    // the value is still in the slot and the caller disposes of it and of
    // the block (see dispose()).
    //
    // | from    | to     | action                                   |
    // |---------|--------|------------------------------------------|
    // | 0 1 0 R | 1 0 0  | shortcut (one CAS): wake slot 1's waker  |
    // | x 0 0   | x 0 0  | receiver gone: false                     |
    // | x 1 1   | x 0 0  | wake the taken waker, done: true         |
    // | x 1 0   | !x 1 1 | retry with the other slot                |
    //
    // One wrapping addition implements the last three rows
    // (announcement_delta): it keeps C while the channel stays open, and once
    // closed C means nothing. The shortcut's CAS leaves what the two
    // additions of a retry would: 010 -> 111 -> 100.
    [[nodiscard]] MULTISHOT_ALWAYS_INLINE
    static bool publish_value(detail::Block<T>* block) noexcept {
        // Acquire: synchronizes with the receiver's release RMW that published
        // a newer waker (poll step 2), which the shortcut reads.
        std::size_t seen = block->state.load(std::memory_order::acquire);
        const std::size_t closed_by_shortcut =
            seen + detail::announcement_delta(0) + detail::announcement_delta(1);
        const std::size_t state = final_rmw(block, "send", "send shortcut", seen,
                                            closed_by_shortcut, [block](std::size_t index) {
            // Release: publishes the value (and, on a retry, the read of the
            // previous slot) to the receiver's acquire load or RMW.
            // Acquire: synchronizes with the receiver's release RMW that
            // published a newer waker (read on the retry), and with its
            // release CAS on leaving when the block must be freed here.
            return block->state.fetch_add(detail::announcement_delta(index),
                                          std::memory_order::acq_rel);
        });
        return detail::is_open(state);
    }

    // The sender's final RMW, shared by send (publish_value) and destruction
    // (close), whose tables say what `rmw(index)` does: it makes the RMW with
    // the waker slot `index` taken, and returns the state it replaced.
    // `seen` is the state the caller loaded with acquire, `closed` the state
    // its shortcut leaves. Returns the state that the final RMW replaced:
    // closed (the receiver is gone, nobody was woken), open "x 1 1" (the
    // waker taken was woken) or, after the shortcut, "0 1 0" (slot 1's waker
    // was woken). On "x 1 0" the general path retries with the other slot.
    template <class Rmw>
    MULTISHOT_ALWAYS_INLINE static std::size_t final_rmw(detail::Block<T>* block,
                                                         const char* operation,
                                                         [[maybe_unused]] const char* shortcut,
                                                         std::size_t& seen,
                                                         [[maybe_unused]] std::size_t closed,
                                                         Rmw rmw) noexcept {
        if constexpr (detail::registrations_cannot_wrap) {
            if (detail::is_open(seen) && !detail::is_empty(seen) &&
                take_newer_waker(block, shortcut, seen, closed))
                return seen;
        }
        // I is 0 at first: sender() stored I=0 and only the sender's own
        // retry changes I (the receiver's RMWs keep it, and a failed shortcut
        // changes nothing). The first attempt is spelled out with I=0, so
        // that the compiler folds its slot and its RMW's operand.
        std::size_t state = 0;
        if (attempt_final_rmw(block, operation, rmw, 0, state)) return state;
        for (std::size_t index = 1;; index = 1 - index) {
            if (attempt_final_rmw(block, operation, rmw, index, state)) return state;
        }
    }

    // The shortcut of final_rmw(), given `seen` = "0 1 0": the receiver has
    // published a newer waker in slot 1 (I is still 0) and, unless it makes
    // an RMW meanwhile, writes no slot. The general path would take slot 0,
    // find E clear, flip I and retry with slot 1: two RMWs. Here one CAS
    // from `seen` to `closed` takes slot 1's waker. True if it did (and woke
    // it); false if the state changed since `seen` (which now holds the
    // current state), and then nothing changed.
    //
    // | from    | to        | result                                  |
    // |---------|-----------|-----------------------------------------|
    // | 0 1 0 R | closed    | done: wake slot 1's waker               |
    // | other   | unchanged | changed: take the general path          |
    //
    // The CAS compares R too: a receiver that published another waker since
    // `seen` (poll steps 1 and 2, which rewrite slot 1) leaves "0 1 0" again,
    // but with R + 1. So when the CAS succeeds the slot read before it is the
    // waker the receiver published last, and no rewrite overlapped the read.
    static bool take_newer_waker(detail::Block<T>* block, [[maybe_unused]] const char* shortcut,
                                 std::size_t& seen, std::size_t closed) noexcept {
        const Waker waker = block->wakers[1].load();
        detail::Extension* const cell_owner = pin_if_cell(block, waker);
        const std::uint64_t epoch = cell_owner != nullptr ? block->epoch.load() : 0;
        // Success, release: publishes the value (for send) and the read of
        // slot 1 to the receiver's acquire load or RMW. No acquire: `seen`,
        // loaded with acquire, is the value this CAS replaces, R included.
        // Failure, relaxed: the general path's RMWs synchronize as they need.
        if (block->state.compare_exchange_strong(seen, closed, std::memory_order::release,
                                                 std::memory_order::relaxed)) {
            MULTISHOT_TRANSITION(shortcut, "done");
            wake(block, waker, cell_owner, epoch);
            return true;
        }
        MULTISHOT_TRANSITION(shortcut, "changed");
        // Never the last unpin: the sender still owns the block.
        if (cell_owner != nullptr) detail::unpin(block);
        return false;
    }

    // One attempt of final_rmw() with the waker slot `index`: true if its RMW
    // was the final one (the state it replaced is in `state`), false if the
    // receiver registered a newer waker meanwhile ("x 1 0").
    template <class Rmw>
    MULTISHOT_ALWAYS_INLINE static bool attempt_final_rmw(detail::Block<T>* block,
                                                          [[maybe_unused]] const char* operation,
                                                          Rmw& rmw, std::size_t index,
                                                          std::size_t& state) noexcept {
        // Take the waker before the RMW: once it is done, the receiver may
        // recycle the block at once.
        const Waker waker = block->wakers[index].load();
        detail::Extension* const cell_owner = pin_if_cell(block, waker);
        // The wait cell's epoch (a plain waker needs none), read before the
        // RMW: once the final RMW is done, sender() may rewrite it.
        const std::uint64_t epoch = cell_owner != nullptr ? block->epoch.load() : 0;
        state = rmw(index);
        MULTISHOT_TRANSITION(operation, detail::row_of(state));
        if (!detail::is_open(state)) {
            // Never the last unpin: nobody set OWNERS_GONE.
            if (cell_owner != nullptr) detail::unpin(block);
            return true;
        }
        if (detail::is_empty(state)) {
            wake(block, waker, cell_owner, epoch);
            return true;
        }
        // Never the last unpin: the receiver is alive.
        if (cell_owner != nullptr) detail::unpin(block);
        return false;
    }

    // After publish_value() found the receiver gone: destroys the value left
    // in the slot and frees the block. Out of line, as notify_cell().
    MULTISHOT_NOINLINE static void dispose(detail::Block<T>* block) noexcept {
        block->value.destroy();
        detail::release_owner(block);
    }

    // After publish_value() found the receiver gone: moves the value out of
    // the slot, then destroys what is left and frees the block (also when
    // the move throws: then the value is lost and the exception propagates).
    static std::optional<T> take_back(detail::Block<T>* block)
        requires(!std::is_void_v<T>)
    {
        struct Dispose {
            detail::Block<T>* block;
            ~Dispose() { dispose(block); }
        } dispose_on_exit{block};
        if constexpr (std::is_move_constructible_v<T>) {
            return std::optional<T>(std::move(block->value.get()));
        } else {
            return std::optional<T>(std::as_const(block->value.get()));
        }
    }

    // If `waker` is the wait cell's, the extension holding the cell, after
    // pinning it: the sender will touch the cell after its final RMW. Else
    // null. The receiver installed the extension before it registered the
    // cell's waker, which the sender read after an acquire RMW or load.
    static detail::Extension* pin_if_cell(detail::Block<T>* block, const Waker& waker) noexcept {
        if (!block->link.is_cell_waker(waker)) return nullptr;
        return &block->link.pin();
    }

    // After the final RMW: wakes the receiver. The block may be recycled or
    // freed by now unless pinned: a plain waker is used from its local copy,
    // and the wait cell (in `cell_owner`, if not null) is notified under the
    // pin.
    static void wake(detail::Block<T>* block, const Waker& waker, detail::Extension* cell_owner,
                     std::uint64_t epoch) noexcept {
        if (cell_owner != nullptr) {
            notify_cell(block, *cell_owner, epoch);
        } else {
            waker.wake();
        }
    }

    // The wait cell's side of wake(), out of line: the send inlined into its
    // caller stays small (only blocking and cancellable receives get here).
    MULTISHOT_NOINLINE static void notify_cell(detail::Block<T>* block,
                                               detail::Extension& cell_owner,
                                               std::uint64_t epoch) noexcept {
        struct Unpin {
            detail::Block<T>* block;
            ~Unpin() { detail::unpin(block); }
        } unpin_on_exit{block};
        cell_owner.cell.notify(epoch);
    }

    // Sender destroyed without sending.
    //
    // | from  | to     | action                                  |
    // |-------|--------|-----------------------------------------|
    // | x 0 0 | (free) | receiver gone: free block               |
    // | x 1 1 | 0 0 1  | wake the taken waker, done              |
    // | x 1 0 | !x 1 1 | retry with the other slot               |
    static void close(detail::Block<T>* block) noexcept {
        assert_not_awaiting_closed(
            block, "Sender destroyed or assigned to while a co_await closed() on it is suspended");
        // Acquire: as in publish_value, for the shortcut's read of slot 1.
        // The value also seeds the CAS below, which corrects it.
        std::size_t seen = block->state.load(std::memory_order::acquire);
        const std::size_t state = final_rmw(block, "~Sender", "~Sender shortcut", seen,
                                            detail::EMPTY, [block, &seen](std::size_t) {
            std::size_t next;
            do {
                next = detail::is_empty(seen) ? detail::EMPTY
                                              : seen ^ (detail::EMPTY | detail::INDEX);
                // Success, acq_rel: as the announcing RMW in publish_value
                // (release: the read of the slot; acquire: a newer waker, or
                // the receiver's destruction when the block is freed here).
                // Failure, relaxed: the loop only recomputes `next`.
            } while (!block->state.compare_exchange_weak(seen, next, std::memory_order::acq_rel,
                                                         std::memory_order::relaxed));
            return seen;
        });
        if (!detail::is_open(state)) detail::release_owner(block);
    }

    detail::Block<T>* block_;
};

// ---------------------------------------------------------------------------
// The closed() awaitable
// ---------------------------------------------------------------------------

/// Returned by Sender::closed(); `co_await` it once. Not copyable or movable:
/// use it as the operand of co_await.
template <class T>
class ClosedAwaiter {
public:
    ClosedAwaiter(const ClosedAwaiter&) = delete;
    ClosedAwaiter& operator=(const ClosedAwaiter&) = delete;

    /// Ready (one load, no RMW) when the receiver is gone or the sender is
    /// empty. Otherwise installs the block's extension if this is its first
    /// use: throws what the allocator throws.
    bool await_ready() {
        sender_.assert_not_awaiting_closed(
            "co_await closed() while another co_await closed() on the same sender is suspended");
        if (sender_.is_closed()) return true;
        sender_.block_->extension_for_use();
        return false;
    }

    /// Registers the coroutine as the closure waker; suspends unless the
    /// receiver left meanwhile. Not inlined, for the reason given at
    /// RecvAwaiter::await_suspend.
    MULTISHOT_NOINLINE bool await_suspend(std::coroutine_handle<> handle) noexcept {
        Sender<T>& sender = sender_;
        sender.set_awaiting_closed(true);
        // Registered: the coroutine may already be running on the
        // receiver's thread, and this awaiter may be gone. Touch nothing.
        if (sender.register_closure_waker(Waker(handle))) return true;
        sender.set_awaiting_closed(false);
        return false;
    }

    /// Nothing: the receiver is gone.
    void await_resume() noexcept { sender_.set_awaiting_closed(false); }

private:
    friend class Sender<T>;
    explicit ClosedAwaiter(Sender<T>& sender) noexcept : sender_(sender) {}

    Sender<T>& sender_;
};

// ---------------------------------------------------------------------------
// channel()
// ---------------------------------------------------------------------------

/// A new channel whose shared block is allocated with `allocator`: its first
/// sender and its receiver.
template <class T, class Allocator>
std::pair<Sender<T>, Receiver<T>> channel(std::allocator_arg_t, const Allocator& allocator) {
    Receiver<T> receiver(std::allocator_arg, allocator);
    Sender<T> sender = *receiver.sender();
    return {std::move(sender), std::move(receiver)};
}

/// A new channel: its first sender and its receiver.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel() {
    return channel<T>(std::allocator_arg, std::allocator<std::byte>());
}

}  // namespace multishot

#undef MULTISHOT_SITE_PARAMS
#undef MULTISHOT_SITE_ARGS

#endif  // C++20 with coroutines
#endif  // MULTISHOT_HPP_INCLUDED
