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

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <coroutine>
#include <iosfwd>
#include <memory>
#include <new>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <stop_token>
#include <string_view>
#include <type_traits>
#include <utility>

#if defined(__linux__) && !defined(MULTISHOT_RELACY)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

#if defined(MULTISHOT_RELACY)
// Model-checking build: atomics and shared non-atomic cells are mapped onto
// Relacy's instrumented types. relacy.hpp defines keywords and standard names
// as macros (new, delete, assert, memory_order_*); they are suspended for the
// body of this header and restored at its end.
#include <relacy/relacy.hpp>
#pragma push_macro("new")
#pragma push_macro("delete")
#pragma push_macro("assert")
#pragma push_macro("malloc")
#pragma push_macro("free")
#undef new
#undef delete
#undef assert
#undef malloc
#undef free
#endif

// ---------------------------------------------------------------------------
// Diagnostics and model hooks
// ---------------------------------------------------------------------------

// MULTISHOT_ASSERT(cond, message): a precondition check active unless NDEBUG
// is defined. On failure it prints "multishot: <message>" and aborts (in the
// model build, it fails the Relacy run).
#if defined(MULTISHOT_RELACY)
// In the model, a failed check is a failed model run, with its history.
#define MULTISHOT_ASSERT(cond, message) RL_ASSERT((cond) && (message))
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

// ---------------------------------------------------------------------------
// Sync layer
// ---------------------------------------------------------------------------
//
// The algorithm names its orderings as std::memory_order values and touches
// shared non-atomic data only through `SharedCell` (waker slots) and
// `ValueSlot` (the value). In the normal build these are std::atomic and plain
// storage; with MULTISHOT_RELACY they become rl::atomic and cells shadowed by
// an rl::var, so that Relacy checks every access, and the source location of
// each access is that of the algorithm's call, not of this layer.

#if defined(MULTISHOT_RELACY)

#define MULTISHOT_SITE_PARAMS \
    const char *site_file = __builtin_FILE(), unsigned site_line = __builtin_LINE()
#define MULTISHOT_SITE ::rl::debug_info("multishot", site_file, site_line)

constexpr rl::memory_order to_relacy(std::memory_order order) noexcept {
    switch (order) {
        case std::memory_order::relaxed: return rl::mo_relaxed;
        case std::memory_order::consume: return rl::mo_consume;
        case std::memory_order::acquire: return rl::mo_acquire;
        case std::memory_order::release: return rl::mo_release;
        case std::memory_order::acq_rel: return rl::mo_acq_rel;
        case std::memory_order::seq_cst: return rl::mo_seq_cst;
    }
    return rl::mo_seq_cst;
}

// Records a read or a write of a non-atomic cell with Relacy's race detector.
class AccessShadow {
public:
    void read(const char* site_file, unsigned site_line) const {
        [[maybe_unused]] const int ignored = shadow_(MULTISHOT_SITE);
    }
    void write(const char* site_file, unsigned site_line) { shadow_(MULTISHOT_SITE) = 0; }

    // Destroying the cell (freeing the block) counts as a write: an access by
    // another thread that does not happen before the free is a data race.
    // (Relacy does not otherwise treat a free as an access.)
    AccessShadow() = default;
    AccessShadow(const AccessShadow&) = delete;
    AccessShadow& operator=(const AccessShadow&) = delete;
    ~AccessShadow() { write(__FILE__, __LINE__); }

private:
    rl::var<int> shadow_{0};
};

template <class V>
class Atomic {
public:
    explicit Atomic(V initial) : atomic_(initial) {}

    V load(std::memory_order order, MULTISHOT_SITE_PARAMS) const {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE).load(to_relacy(order));
    }
    void store(V value, std::memory_order order, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        atomic_(MULTISHOT_SITE).store(value, to_relacy(order));
    }
    V exchange(V value, std::memory_order order, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE).exchange(value, to_relacy(order));
    }
    V fetch_add(V value, std::memory_order order, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE).fetch_add(value, to_relacy(order));
    }
    V fetch_sub(V value, std::memory_order order, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE).fetch_sub(value, to_relacy(order));
    }
    V fetch_or(V value, std::memory_order order, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE).fetch_or(value, to_relacy(order));
    }
    bool compare_exchange_weak(V& expected, V desired, std::memory_order success,
                               std::memory_order failure, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE)
            .compare_exchange_weak(expected, desired, to_relacy(success), to_relacy(failure));
    }

private:
    mutable rl::atomic<V> atomic_;
    // Every operation counts as a read of this shadow, and destroying the
    // atomic (freeing the block) as a write: atomic operations never race
    // with each other, but a free that an operation does not happen before
    // is a data race, as in C++.
    AccessShadow lifetime_;
};

// A binary semaphore for blocking receives. Relacy explores both outcomes of
// a timed wait: the permit arrives, or the deadline passes first.
class Semaphore {
public:
    explicit Semaphore(int initial) : count_(initial) {}

    void release(MULTISHOT_SITE_PARAMS) {
        count_(MULTISHOT_SITE).fetch_add(1, rl::mo_release);
    }
    void acquire(MULTISHOT_SITE_PARAMS) {
        while (!try_acquire(site_file, site_line)) rl::yield(1, MULTISHOT_SITE);
    }
    template <class Clock, class Duration>
    bool try_acquire_until(const std::chrono::time_point<Clock, Duration>&,
                           MULTISHOT_SITE_PARAMS) {
        if (try_acquire(site_file, site_line)) return true;
        if (rl::rand(2) == 0) return false;
        acquire(site_file, site_line);
        return true;
    }

private:
    bool try_acquire(const char* site_file, unsigned site_line) {
        int count = count_(MULTISHOT_SITE).load(rl::mo_acquire);
        while (count > 0) {
            if (count_(MULTISHOT_SITE).compare_exchange_weak(count, count - 1, rl::mo_acquire,
                                                             rl::mo_acquire))
                return true;
        }
        return false;
    }

    rl::atomic<int> count_;
};

#else  // !MULTISHOT_RELACY

#define MULTISHOT_SITE_PARAMS int = 0
template <class V>
using Atomic = std::atomic<V>;

#if defined(__linux__)

// The wait cell's binary semaphore: one waiter (the blocked receiver) and at
// most one release per wait. libstdc++ 12's std::binary_semaphore is not used
// because its timed wait polls with growing sleeps (up to 64 ms) instead of
// sleeping in the kernel until released; this one sleeps on a futex with the
// deadline, and its untimed wait is the same futex wait.
class Semaphore {
public:
    explicit Semaphore(int initial) noexcept : state_(initial > 0 ? posted : empty) {}

    void release() noexcept {
        // Release: the waiter that takes the permit sees what the releaser
        // did before releasing.
        if (state_.exchange(posted, std::memory_order::release) == waiting) wake_waiter();
    }

    void acquire() noexcept {
        while (!wait_until(nullptr)) {
        }
    }

    template <class Clock, class Duration>
    bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& deadline) noexcept {
        for (;;) {
            const auto now = Clock::now();
            if (now >= deadline) return try_take();
            // Sleep on CLOCK_MONOTONIC for what remains, at most a day at a
            // time: no overflow for a far deadline, and `Clock` is read again
            // after every wake-up, whatever clock it is.
            const auto remaining = deadline - now;
            const std::chrono::nanoseconds step =
                remaining > std::chrono::hours(24)
                    ? std::chrono::nanoseconds(std::chrono::hours(24))
                    : std::chrono::ceil<std::chrono::nanoseconds>(remaining);
            const timespec monotonic_deadline = monotonic_after(step);
            if (wait_until(&monotonic_deadline)) return true;
        }
    }

private:
    static constexpr std::uint32_t empty = 0;
    static constexpr std::uint32_t posted = 1;
    static constexpr std::uint32_t waiting = 2;

    bool try_take() noexcept {
        std::uint32_t expected = posted;
        // Acquire: pairs with release().
        return state_.compare_exchange_strong(expected, empty, std::memory_order::acquire,
                                              std::memory_order::relaxed);
    }

    // Sleeps until released or `deadline` (CLOCK_MONOTONIC, null for none);
    // true if it took the permit. May return false early (a signal).
    bool wait_until(const timespec* deadline) noexcept {
        if (try_take()) return true;
        std::uint32_t expected = empty;
        // Relaxed: announcing the waiter orders nothing; the futex checks the
        // word again in the kernel.
        if (!state_.compare_exchange_strong(expected, waiting, std::memory_order::relaxed) &&
            expected == posted)
            return try_take();
        ::syscall(SYS_futex, futex_word(), FUTEX_WAIT_BITSET_PRIVATE, waiting, deadline, nullptr,
                  FUTEX_BITSET_MATCH_ANY);
        if (try_take()) return true;
        expected = waiting;
        // Relaxed: withdrawing the announcement orders nothing either. If a
        // release came meanwhile, take its permit instead.
        return !state_.compare_exchange_strong(expected, empty, std::memory_order::relaxed) &&
               try_take();
    }

    void wake_waiter() noexcept {
        ::syscall(SYS_futex, futex_word(), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }

    std::uint32_t* futex_word() noexcept { return reinterpret_cast<std::uint32_t*>(&state_); }

    static timespec monotonic_after(std::chrono::nanoseconds delay) noexcept {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        const long long total = now.tv_nsec + delay.count() % 1'000'000'000;
        timespec deadline{};
        deadline.tv_sec = now.tv_sec + static_cast<time_t>(delay.count() / 1'000'000'000 +
                                                           total / 1'000'000'000);
        deadline.tv_nsec = static_cast<long>(total % 1'000'000'000);
        return deadline;
    }

    std::atomic<std::uint32_t> state_;
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
};

#else
using Semaphore = std::binary_semaphore;
#endif

class AccessShadow {
public:
    void read(const char*, unsigned) const noexcept {}
    void write(const char*, unsigned) noexcept {}
};

#endif  // MULTISHOT_RELACY

#if defined(MULTISHOT_RELACY)
#define MULTISHOT_SITE_ARGS site_file, site_line
#else
#define MULTISHOT_SITE_ARGS "", 0
#endif

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
    AccessShadow shadow_;
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
    AccessShadow shadow_;
};

// A void channel carries no value: only the state word says "sent".
template <>
class ValueSlot<void> {
public:
    void construct() noexcept {}
    void destroy() noexcept {}
};

}  // namespace detail

// ---------------------------------------------------------------------------
// Public vocabulary
// ---------------------------------------------------------------------------

/// Why a receive produced no value.
enum class RecvError {
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

/// Writes `to_string(error)`.
template <class CharT, class Traits>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& out,
                                              RecvError error) {
    const std::string_view text = to_string(error);
    return out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

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

/// The outcome of a receive: a `T`, or the `RecvError` that explains its
/// absence. Shaped like std::expected<T, RecvError>, and the same type in every
/// translation unit whatever the -std level.
template <class T>
class RecvResult {
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && std::is_destructible_v<T>,
                  "multishot::RecvResult<T>: T must be a complete, destructible object type");

public:
    using value_type = T;
    using error_type = RecvError;

    /// A result holding `error`.
    RecvResult(RecvError error) noexcept : error_(error) {}  // NOLINT: implicit by design

    /// A result holding a T constructed from `args`.
    template <class... Args>
    explicit RecvResult(std::in_place_t, Args&&... args)
        : value_(std::in_place, std::forward<Args>(args)...) {}

    /// True if the result holds a value.
    bool has_value() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value; throws bad_result_access if the result holds an error.
    T& value() & { return checked_value(), *value_; }
    const T& value() const& { return checked_value(), *value_; }
    T&& value() && { return checked_value(), std::move(*value_); }
    const T&& value() const&& { return checked_value(), std::move(*value_); }

    /// The value, unchecked in release builds (precondition: has_value()).
    T& operator*() & noexcept { return assert_value(), *value_; }
    const T& operator*() const& noexcept { return assert_value(), *value_; }
    T&& operator*() && noexcept { return assert_value(), std::move(*value_); }
    T* operator->() noexcept { return assert_value(), std::addressof(*value_); }
    const T* operator->() const noexcept { return assert_value(), std::addressof(*value_); }

    /// The error (precondition: !has_value(), checked in debug builds).
    RecvError error() const noexcept {
        MULTISHOT_ASSERT(!has_value(), "RecvResult::error() called on a result holding a value");
        return error_;
    }

    /// The value if there is one, else `fallback` converted to T.
    template <class U>
    T value_or(U&& fallback) const& {
        return has_value() ? *value_ : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U>
    T value_or(U&& fallback) && {
        return has_value() ? std::move(*value_) : static_cast<T>(std::forward<U>(fallback));
    }

    /// True if the result holds `error`.
    friend bool operator==(const RecvResult& result, RecvError error) noexcept {
        return !result.has_value() && result.error_ == error;
    }

    /// Equal if both hold equal values or both hold the same error.
    friend bool operator==(const RecvResult& a, const RecvResult& b)
        requires std::equality_comparable<T>
    {
        if (a.has_value() != b.has_value()) return false;
        return a.has_value() ? *a.value_ == *b.value_ : a.error_ == b.error_;
    }

private:
    void checked_value() const {
        if (!has_value()) throw bad_result_access(error_);
    }
    void assert_value() const noexcept {
        MULTISHOT_ASSERT(has_value(), "RecvResult dereferenced while holding an error");
    }

    std::optional<T> value_;
    RecvError error_ = RecvError::closed;
};

/// The outcome of a receive on a void channel: "sent", or the RecvError that
/// explains why not.
template <>
class RecvResult<void> {
public:
    using value_type = void;
    using error_type = RecvError;

    /// A result holding `error`.
    RecvResult(RecvError error) noexcept : error_(error) {}  // NOLINT: implicit by design

    /// A result holding "sent".
    explicit RecvResult(std::in_place_t) noexcept : has_value_(true) {}

    /// True if the sender sent.
    bool has_value() const noexcept { return has_value_; }
    explicit operator bool() const noexcept { return has_value(); }

    /// Nothing if the sender sent; throws bad_result_access otherwise.
    void value() const {
        if (!has_value_) throw bad_result_access(error_);
    }

    /// The error (precondition: !has_value(), checked in debug builds).
    RecvError error() const noexcept {
        MULTISHOT_ASSERT(!has_value_, "RecvResult::error() called on a result holding a value");
        return error_;
    }

    /// True if the result holds `error`.
    friend bool operator==(const RecvResult& result, RecvError error) noexcept {
        return !result.has_value_ && result.error_ == error;
    }
    friend bool operator==(const RecvResult& a, const RecvResult& b) noexcept {
        return a.has_value_ == b.has_value_ && (a.has_value_ || a.error_ == b.error_);
    }

private:
    bool has_value_ = false;
    RecvError error_ = RecvError::closed;
};

/// A type-erased, trivially copyable callback that tells a receiver the
/// channel changed. Built from a coroutine handle (waking resumes it) or from
/// a function pointer and a context pointer. A default-constructed Waker is
/// empty: waking it does nothing.
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
    using function_type = void (*)(void* context);

    /// An empty waker.
    constexpr Waker() noexcept = default;

    /// A waker that calls `function(context)` (empty if `function` is null).
    constexpr Waker(function_type function, void* context) noexcept
        : function_(function), context_(context) {}

    /// A waker that resumes `handle`.
    Waker(std::coroutine_handle<> handle) noexcept  // NOLINT: implicit by design
        : function_(&resume_handle), context_(handle.address()) {}

    /// Calls the callback, if any.
    void wake() const {
        if (function_ != nullptr) function_(context_);
    }

    /// True unless the waker is empty.
    explicit operator bool() const noexcept { return function_ != nullptr; }

    friend bool operator==(const Waker&, const Waker&) = default;

private:
    static void resume_handle(void* address) {
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
class CancellableRecvAwaiter;

/// The result of a poll: empty while the receive is pending.
template <class T>
using PollResult = std::optional<RecvResult<T>>;

namespace detail {

// Defined by the model suite (MULTISHOT_RELACY builds) to drive the receive
// protocols step by step; a friend of Receiver.
struct ModelAccess;

// ---------------------------------------------------------------------------
// State bits (see algorithm.md, "State bits")
// ---------------------------------------------------------------------------
//
// EMPTY [E]  if O==0: the value slot is empty.
//            if O==1: the redundant waker slot (1-I) holds no newer waker.
// OPEN  [O]  both halves alive and the sender not yet consumed.
// INDEX [I]  the waker slot that is current for the sender.
//
// The order of the bits is not arbitrary: Sender::send implements its whole
// transition table with one wrapping subtraction of O|E. Bits above INDEX may
// be set by that subtraction; every test masks the bits it reads.
//
// | I O E | seen by  | meaning                                     |
// |-------|----------|---------------------------------------------|
// | x 0 0 | sender   | receiver destroyed: the channel is closed   |
// | x 0 0 | receiver | sender consumed, a value waits to be read   |
// | x 0 1 | receiver | sender consumed (destroyed) with no value   |
// | x 1 0 | both     | the receiver stored a newer waker in slot !x|
// | x 1 1 | both     | the waker (if any) is in slot x             |

inline constexpr std::size_t EMPTY = 0b001;
inline constexpr std::size_t OPEN = 0b010;
inline constexpr std::size_t INDEX = 0b100;

constexpr bool is_open(std::size_t state) noexcept { return (state & OPEN) != 0; }
constexpr bool is_empty(std::size_t state) noexcept { return (state & EMPTY) != 0; }
constexpr std::size_t index_of(std::size_t state) noexcept { return (state & INDEX) >> 2; }
constexpr std::size_t index_bit(std::size_t index) noexcept { return index << 2; }

// The "x O E" name of a state's row, for MULTISHOT_TRANSITION.
constexpr const char* row_of(std::size_t state) noexcept {
    constexpr const char* rows[] = {"x 0 0", "x 0 1", "x 1 0", "x 1 1"};
    return rows[state & (OPEN | EMPTY)];
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
// `pins` keeps the block alive meanwhile: a sender pins it before any RMW
// made with the cell's waker in hand and unpins it when done; a half that
// would free the block sets OWNERS_GONE instead while pins are held, and the
// last unpin frees it.

inline constexpr std::uint64_t ARMED = 0b0001;
inline constexpr std::uint64_t PARKED = 0b0010;
inline constexpr std::uint64_t CANCELLED = 0b0100;
inline constexpr std::uint64_t NOTIFIED = 0b1000;
inline constexpr unsigned EPOCH_SHIFT = 4;
inline constexpr std::uint64_t OWNERS_GONE = std::uint64_t{1} << 63;

constexpr std::uint64_t epoch_of(std::uint64_t word) noexcept { return word >> EPOCH_SHIFT; }

// How a claim by the receiver's side ended.
enum class Claim {
    lost,            // the sender claimed the target first
    claimed,         // claimed before the target parked: nobody wakes it
    claimed_parked,  // claimed a parked target: the claimer must wake it
};

class WaitCell {
public:
    // The waker that a receive through this cell registers in the channel.
    Waker waker() noexcept { return Waker(&notified_by_sender_only, this); }
    bool is_waker(const Waker& waker) noexcept { return waker == this->waker(); }

    // The target that wakes a thread blocked in a receive.
    Waker semaphore_waker() noexcept { return Waker(&release_semaphore, this); }
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
            // success order in C++11 and in Relacy's model.
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
    void notify(std::uint64_t epoch) {
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

    // Sender, before an RMW on the state made with the cell's waker in hand.
    void pin() noexcept {
        // Relaxed: the pin is sequenced before the sender's release RMW on the
        // state, which happens before any release_owner() that follows the
        // completion, so release_owner() sees the pin.
        pins_.fetch_add(1, std::memory_order::relaxed);
    }

    // Sender, when done with the cell: true if the caller must free the block.
    bool unpin() noexcept {
        // Release: this notifier's accesses happen before the free by the last
        // party. Acquire: if this frees, the other parties' accesses happen
        // before the free.
        const bool last = pins_.fetch_sub(1, std::memory_order::acq_rel) == (OWNERS_GONE | 1);
        MULTISHOT_TRANSITION("cell unpin", last ? "last: free" : "not last");
        return last;
    }

    // The half that found the channel closed and would free the block: true
    // if it may free it now, false if the last unpin will.
    bool release_owner() noexcept {
        // Acq_rel: as unpin(), from the owner's side.
        const bool unpinned =
            (pins_.fetch_or(OWNERS_GONE, std::memory_order::acq_rel) & ~OWNERS_GONE) == 0;
        MULTISHOT_TRANSITION("release owner", unpinned ? "free now" : "pinned: defer");
        return unpinned;
    }

private:
    // The cell's waker is an identity that the sender recognizes; it calls
    // notify() with its epoch instead of calling the waker.
    static void notified_by_sender_only(void*) {
        MULTISHOT_ASSERT(false, "internal error: a wait cell's waker was called directly");
    }
    static void release_semaphore(void* cell) {
        static_cast<WaitCell*>(cell)->semaphore_.release();
    }

    Atomic<std::uint64_t> word_{0};
    Atomic<std::uint64_t> pins_{0};
    SharedCell<Waker> target_;
    Semaphore semaphore_{0};
};

// ---------------------------------------------------------------------------
// Shared block
// ---------------------------------------------------------------------------
//
// Allocated once by the Receiver and freed by whichever half is destroyed
// last (or by a sender still notifying the wait cell, see WaitCell). The
// state word alone decides who may touch `value`, `wakers` and `epoch`.
template <class T>
struct Block {
    explicit Block(void (*deallocate)(Block*) noexcept) noexcept : deallocate(deallocate) {}
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;

    // A new block is closed with no value ("0 0 1"): recv completes at once
    // with closed, and sender() succeeds.
    Atomic<std::size_t> state{EMPTY};
    ValueSlot<T> value;
    SharedCell<Waker> wakers[2];
    // How many senders the receiver has created: written by sender() while
    // no sender is alive, read by the sender it creates.
    SharedCell<std::uint64_t> epoch;
    WaitCell cell;
    // Frees the block through the allocator that allocated it.
    void (*const deallocate)(Block*) noexcept;
};

// A Block that carries the allocator it was allocated with.
template <class T, class Allocator>
struct AllocatedBlock final : Block<T> {
    using BlockAllocator =
        typename std::allocator_traits<Allocator>::template rebind_alloc<AllocatedBlock>;
    using Traits = std::allocator_traits<BlockAllocator>;

    explicit AllocatedBlock(const BlockAllocator& allocator) noexcept
        : Block<T>(&deallocate_block), allocator(allocator) {}

    static Block<T>* allocate(const Allocator& allocator) {
        BlockAllocator block_allocator(allocator);
        AllocatedBlock* block = Traits::allocate(block_allocator, 1);
        return std::construct_at(block, block_allocator);
    }

    static void deallocate_block(Block<T>* base) noexcept {
        AllocatedBlock* block = static_cast<AllocatedBlock*>(base);
        BlockAllocator block_allocator(block->allocator);
        std::destroy_at(block);
        Traits::deallocate(block_allocator, block, 1);
    }

    [[no_unique_address]] BlockAllocator allocator;
};

// The half that found the channel closed frees the block, unless a sender is
// still notifying the wait cell: then the last unpin frees it.
template <class T>
void release_owner(Block<T>* block) noexcept {
    if (block->cell.release_owner()) block->deallocate(block);
}

// A sender done with the wait cell frees the block if it is the last party.
template <class T>
void unpin(Block<T>* block) noexcept {
    if (block->cell.unpin()) block->deallocate(block);
}

// The parameter type of Sender<T>::send: T, or a placeholder for void.
struct NoValue {};
template <class T>
using SendParameter = std::conditional_t<std::is_void_v<T>, NoValue, T>;

}  // namespace detail

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

    Receiver(Receiver&& other) noexcept
        : block_(std::exchange(other.block_, nullptr)),
          awaiting_(std::exchange(other.awaiting_, false)) {}

    Receiver& operator=(Receiver&& other) noexcept {
        if (this != &other) {
            release();
            block_ = std::exchange(other.block_, nullptr);
            awaiting_ = std::exchange(other.awaiting_, false);
        }
        return *this;
    }

    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    /// Closes the channel. A live sender finds it closed and frees the block;
    /// otherwise the block (and an unread value) is freed here.
    ~Receiver() { release(); }

    /// True unless this receiver was moved from.
    bool valid() const noexcept { return block_ != nullptr; }

    /// A new sender if no sender is alive, else nothing. Wait-free.
    ///
    /// Engaged on the first call and whenever the previous receive completed
    /// (or the previous sender was consumed). A value that the previous sender
    /// sent and nobody read is destroyed here. Empty on a moved-from receiver.
    std::optional<Sender<T>> sender() noexcept {
        // | from  | to    | result                                 |
        // |-------|-------|----------------------------------------|
        // | x 0 0 | 0 1 1 | sender (the unread value destroyed)    |
        // | x 0 1 | 0 1 1 | sender                                 |
        // | x 1 1 | x 1 1 | none: a sender is alive                |
        // | x 1 0 | x 1 0 | none: a sender is alive                |
        if (block_ == nullptr) return std::nullopt;
        detail::Block<T>& block = *block_;

        // Acquire: synchronizes with the release RMW by which the previous
        // sender completed, so that its value can be destroyed below and the
        // waker slots it read can be rewritten without a race.
        const std::size_t state = block.state.load(std::memory_order::acquire);
        MULTISHOT_TRANSITION("sender()", detail::row_of(state));
        if (detail::is_open(state)) return std::nullopt;

        if (!detail::is_empty(state)) block.value.destroy();
        block.wakers[0].store(Waker{});
        block.epoch.store(block.epoch.load() + 1);
        // Relaxed: the new sender does not exist yet; whoever receives it gets
        // it through a hand-off that carries this store with it.
        block.state.store(detail::OPEN | detail::EMPTY, std::memory_order::relaxed);
        return Sender<T>(block_);
    }

    /// An awaitable receive: `co_await r.recv()` yields RecvResult<T>, the
    /// value or RecvError::closed.
    ///
    /// Completes without suspending (and without any read-modify-write) when
    /// the sender already sent or was destroyed, and at once with closed when
    /// there is no live sender and no value. Otherwise the coroutine suspends
    /// and is resumed inline on the thread that sends or destroys the sender.
    /// The coroutine must stay suspended there until resumed: destroying it
    /// while the sender is alive is undefined behaviour. Throws usage_error
    /// on a moved-from receiver.
    RecvAwaiter<T> recv() {
        require_valid("multishot::Receiver::recv: receiver is empty (moved-from)");
        return RecvAwaiter<T>(*this);
    }

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
    /// receiver.
    CancellableRecvAwaiter<T> recv(std::stop_token token) {
        require_valid("multishot::Receiver::recv: receiver is empty (moved-from)");
        return CancellableRecvAwaiter<T>(*this, std::move(token));
    }

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
    /// a moved-from receiver.
    RecvResult<T> recv_blocking() {
        require_valid("multishot::Receiver::recv_blocking: receiver is empty (moved-from)");
        return receive_blocking(untimed_wait);
    }

    /// As recv_blocking(), but gives up with RecvError::timed_out after
    /// `timeout` (measured on steady_clock). The receive stays open: a later
    /// receive gets the value.
    template <class Rep, class Period>
    RecvResult<T> recv_for(const std::chrono::duration<Rep, Period>& timeout) {
        require_valid("multishot::Receiver::recv_for: receiver is empty (moved-from)");
        using Clock = std::chrono::steady_clock;
        const Clock::time_point now = Clock::now();
        // A timeout past what steady_clock can represent means no deadline
        // (compared in double: converting it could overflow).
        if (std::chrono::duration<double>(timeout) >=
            std::chrono::duration<double>(Clock::time_point::max() - now))
            return receive_blocking(untimed_wait);
        return receive_blocking(
            deadline_wait(now + std::chrono::ceil<Clock::duration>(timeout)));
    }

    /// As recv_blocking(), but gives up with RecvError::timed_out at
    /// `deadline`. The receive stays open: a later receive gets the value.
    template <class Clock, class Duration>
    RecvResult<T> recv_until(const std::chrono::time_point<Clock, Duration>& deadline) {
        require_valid("multishot::Receiver::recv_until: receiver is empty (moved-from)");
        return receive_blocking(deadline_wait(deadline));
    }

    /// The poll layer for task runtimes: attempts to complete the receive,
    /// registering `waker` to be called when the sender acts if it cannot.
    ///
    /// Returns the result, or an empty PollResult while pending. Like every
    /// receive, it completes at once with closed when no sender is alive and
    /// no value waits (a new receiver before its first sender()). Poll again
    /// after the waker is called (a poll after a wake-up is always ready). A
    /// later poll may pass a different waker; if the last poll is pending the
    /// sender calls its waker, though when a poll races the sender's completion
    /// a waker of an earlier poll may be called instead, late (see Waker). Costs one load when ready, one RMW to register the first
    /// waker of a sender's lifetime, two to replace it. Throws usage_error on a
    /// moved-from receiver.
    PollResult<T> poll_recv(const Waker& waker) {
        require_valid("multishot::Receiver::poll_recv: receiver is empty (moved-from)");
        assert_no_suspended_recv();
        std::size_t state = load_state();
        if (detail::is_open(state)) {
            state = register_waker(waker, state);
            if (detail::is_open(state)) return std::nullopt;
        }
        return complete(state);
    }

private:
    friend class RecvAwaiter<T>;
    friend class CancellableRecvAwaiter<T>;
    friend struct detail::ModelAccess;

    void require_valid(const char* message) const {
        if (block_ == nullptr) throw usage_error(message);
    }

    void assert_no_suspended_recv() const noexcept {
        MULTISHOT_ASSERT(!awaiting_,
                         "a receive started while a co_await recv() on the same receiver is "
                         "suspended: two receives outstanding at once");
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
            return semaphore.try_acquire_until(deadline);
        };
    }

    // A blocking receive through the wait cell, its target the cell's
    // semaphore, waiting with `wait`.
    template <class Wait>
    RecvResult<T> receive_blocking(Wait wait) {
        assert_no_suspended_recv();
        std::size_t state = load_state();
        if (!detail::is_open(state)) return complete(state);

        detail::WaitCell& cell = block_->cell;
        const std::uint64_t epoch = block_->epoch.load();
        if (!cell.arm(epoch, cell.semaphore_waker(), /*parked=*/true)) return complete(load_state());

        state = register_waker(cell.waker(), state);
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

        // Clears E, publishing the waker in slot 1-I. A swap rather than a
        // fetch_and(~E): its result is wrong only if the sender completed in
        // between, and complete() then overwrites the state anyway.
        // Release: publishes the waker written above to the sender's acquire
        // RMW. Acquire: if the sender completed meanwhile (it may have woken an
        // older waker, or none), its value is read by complete().
        state = block.state.exchange(detail::index_bit(current) | detail::OPEN,
                                     std::memory_order::acq_rel);
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

    // Completes a receive given a closed `state`: moves the value out (E==0)
    // or reports closed (E==1), and leaves "0 0 1" so that sender() succeeds.
    // If moving the value out throws, the value stays in the slot, owned by
    // the block, and the exception propagates.
    RecvResult<T> complete(std::size_t state) {
        MULTISHOT_ASSERT(!detail::is_open(state), "internal error: completing an open receive");
        detail::Block<T>& block = *block_;
        if (detail::is_empty(state)) {
            // Relaxed: the sender is gone, nobody else reads the state.
            block.state.store(detail::EMPTY, std::memory_order::relaxed);
            return RecvError::closed;
        }
        RecvResult<T> result = take_value(block);
        // Relaxed: the sender is gone, nobody else reads the state.
        block.state.store(detail::EMPTY, std::memory_order::relaxed);
        return result;
    }

    static RecvResult<T> take_value(detail::Block<T>& block) {
        if constexpr (std::is_void_v<T>) {
            block.value.destroy();
            return RecvResult<T>(std::in_place);
        } else if constexpr (std::is_nothrow_move_constructible_v<T>) {
            RecvResult<T> result(std::in_place, std::move(block.value.get()));
            block.value.destroy();
            return result;
        } else {
            try {
                RecvResult<T> result(std::in_place, std::move(block.value.get()));
                block.value.destroy();
                return result;
            } catch (...) {
                // Steps 1 and 2 may have written E or O over "x 0 0"; restore
                // "value waits" so that the block still owns the value.
                // Relaxed: the sender is gone, nobody else reads the state.
                block.state.store(0, std::memory_order::relaxed);
                throw;
            }
        }
    }

    // Receiver destruction.
    // | from  | to    | action                               |
    // |-------|-------|--------------------------------------|
    // | x 1 1 | 0 0 0 | leave cleanup to the sender          |
    // | x 1 0 | 0 0 0 | leave cleanup to the sender          |
    // | x 0 1 | free  | free the block                       |
    // | x 0 0 | free  | destroy the unread value, free       |
    void release() noexcept {
        if (block_ == nullptr) return;
        detail::Block<T>* block = std::exchange(block_, nullptr);

        // Acquire: if the sender is gone, synchronizes with its release RMW so
        // that its value can be destroyed and the block freed.
        // Release: if the sender is alive it frees the block, after the
        // receiver's last writes to shared cells (the wait cell's target may
        // have been written after the last release swap of a poll).
        const std::size_t state = block->state.exchange(0, std::memory_order::acq_rel);
        MULTISHOT_TRANSITION("~Receiver", detail::row_of(state));
        if (detail::is_open(state)) return;
        if (!detail::is_empty(state)) block->value.destroy();
        detail::release_owner(block);
    }

    detail::Block<T>* block_;
    // Debug aid: a co_await recv() is suspended on this receiver.
    bool awaiting_ = false;
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
        MULTISHOT_ASSERT(!receiver_.awaiting_,
                         "co_await recv() while another co_await recv() on the same receiver is "
                         "suspended: two receives outstanding at once");
        state_ = receiver_.load_state();
        return !detail::is_open(state_);
    }

    /// Registers the coroutine as the waker; suspends unless the sender
    /// completed meanwhile.
    ///
    /// Not inlined: clang may otherwise keep this function's locals in the
    /// coroutine frame and write them after the handle was published, racing
    /// with the thread that resumes the coroutine (llvm/llvm-project#56301).
    [[gnu::noinline]] bool await_suspend(std::coroutine_handle<> handle) noexcept {
        receiver_.awaiting_ = true;
        const std::size_t state = receiver_.register_waker(Waker(handle), state_);
        // Pending: the coroutine may already be running on the sender's
        // thread, and this awaiter may be gone. Touch nothing of it.
        if (detail::is_open(state)) return true;
        state_ = state;
        return false;
    }

    /// The value, or RecvError::closed.
    RecvResult<T> await_resume() {
        receiver_.awaiting_ = false;
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
    std::size_t state_ = detail::OPEN;
};

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
    /// when stop was requested already.
    bool await_ready() noexcept {
        receiver_.assert_no_suspended_recv();
        state_ = receiver_.load_state();
        if (!detail::is_open(state_)) return true;
        cancelled_early_ = token_.stop_requested();
        return cancelled_early_;
    }

    /// Arms the coroutine in the wait cell, registers the cell's waker and
    /// parks; suspends unless the sender or a stop request claimed it first.
    /// Not inlined, for the reason given at RecvAwaiter::await_suspend.
    [[gnu::noinline]] bool await_suspend(std::coroutine_handle<> handle) noexcept {
        receiver_.awaiting_ = true;
        detail::Block<T>& block = *receiver_.block_;
        epoch_ = block.epoch.load();
        if (!block.cell.arm(epoch_, Waker(handle), /*parked=*/false)) {
            state_ = receiver_.load_state();  // the sender completed
            return false;
        }
        // A stop request from now on claims the target; until park() nobody
        // resumes the coroutine, so this awaiter is still ours to use.
        stop_callback_.emplace(token_, Canceller{this});
        const std::size_t state = receiver_.register_waker(block.cell.waker(), state_);
        if (!detail::is_open(state)) {
            // The sender completed meanwhile: complete the receive. The target
            // stays armed but not parked, so a late claim wakes nobody.
            state_ = state;
            return false;
        }
        return block.cell.park();  // the last touch: true means suspended
    }

    /// The value, RecvError::closed, or RecvError::cancelled.
    RecvResult<T> await_resume() {
        receiver_.awaiting_ = false;
        stop_callback_.reset();  // waits for a stop callback running elsewhere
        if (cancelled_early_) return RecvError::cancelled;
        if (detail::is_open(state_)) {
            if (receiver_.block_->cell.cancelled(epoch_)) return RecvError::cancelled;
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
        detail::WaitCell& cell = receiver_.block_->cell;
        if (cell.cancel(epoch_) == detail::Claim::claimed_parked) cell.target().wake();
    }

    Receiver<T>& receiver_;
    std::stop_token token_;
    std::size_t state_ = detail::OPEN;
    std::uint64_t epoch_ = 0;
    bool cancelled_early_ = false;
    // Declared last, destroyed first.
    std::optional<std::stop_callback<Canceller>> stop_callback_;
};

// ---------------------------------------------------------------------------
// Sender
// ---------------------------------------------------------------------------

/// The single-use sending half of a channel. Move-only; may be used on and
/// destroyed on any thread.
///
/// send() or emplace() delivers one value and leaves the sender empty.
/// Destroying a sender that did not send closes the channel: the receiver
/// gets RecvError::closed. Either way the waiting receiver, if any, is woken
/// inline, on this thread.
template <class T>
class Sender {
public:
    using value_type = T;

    Sender(Sender&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}

    Sender& operator=(Sender&& other) noexcept {
        if (this != &other) {
            if (block_ != nullptr) close();
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
        if (block_ != nullptr) close();
    }

    /// True unless the sender was moved from or used.
    bool valid() const noexcept { return block_ != nullptr; }

    /// True if the receiver is gone, so that a value sent now would be
    /// discarded. Also true for an empty sender.
    bool is_closed() const noexcept {
        if (block_ == nullptr) return true;
        // Relaxed: a hint only; no data is read on the strength of it.
        return !detail::is_open(block_->state.load(std::memory_order::relaxed));
    }

    /// Sends `value` and consumes the sender. Throws usage_error on an empty
    /// sender. If moving `value` into the channel throws, the sender is left
    /// as it was (strong guarantee).
    void send(detail::SendParameter<T> value)
        requires(!std::is_void_v<T>)
    {
        require_valid("multishot::Sender::send: sender is empty (moved-from or already used)");
        deliver(std::move(value));
    }

    /// Sends on a void channel and consumes the sender. Throws usage_error on
    /// an empty sender.
    void send()
        requires std::is_void_v<T>
    {
        require_valid("multishot::Sender::send: sender is empty (moved-from or already used)");
        deliver();
    }

    /// Constructs the value in the channel from `args` and consumes the
    /// sender. Throws usage_error on an empty sender. If the construction
    /// throws, the sender is left as it was (strong guarantee).
    template <class... Args>
    void emplace(Args&&... args) {
        require_valid("multishot::Sender::emplace: sender is empty (moved-from or already used)");
        deliver(std::forward<Args>(args)...);
    }

private:
    friend class Receiver<T>;
    explicit Sender(detail::Block<T>* block) noexcept : block_(block) {}

    void require_valid(const char* message) const {
        if (block_ == nullptr) throw usage_error(message);
    }

    // Constructs the value and announces it; the sender is empty afterwards.
    template <class... Args>
    void deliver(Args&&... args) {
        block_->value.construct(std::forward<Args>(args)...);
        publish_value(std::exchange(block_, nullptr));
    }

    // Announces the value constructed in the slot.
    //
    // | from  | to     | action                                  |
    // |-------|--------|-----------------------------------------|
    // | x 0 0 | (free) | receiver gone: destroy value, free block|
    // | x 1 1 | x 0 0  | wake the taken waker, done              |
    // | x 1 0 | !x 1 1 | retry with the other slot               |
    //
    // One wrapping subtraction of O|E implements the table: x11 - 011 = x00,
    // and x10 - 011 borrows into I, giving !x11 (plus high bits when x==0).
    static void publish_value(detail::Block<T>* block) {
        // Read now: once the value is announced, sender() may rewrite it.
        const std::uint64_t epoch = block->epoch.load();
        // I is 0 at first, without loading the state: sender() stored I=0
        // and only the sender's own borrow changes I. (The receiver's step-2
        // swap writes back the I it read, which is current: from x11 the
        // sender can only complete, and step 1 reads x10 with an RMW.)
        std::size_t index = 0;
        for (;;) {
            // Take the waker before announcing the value: once the value is
            // announced, the receiver may recycle the block at once.
            const Waker waker = block->wakers[index].load();
            const bool to_cell = pin_if_cell(block, waker);
            // Release: publishes the value (and, on a retry, the read of the
            // previous slot) to the receiver's acquire load or RMW.
            // Acquire: synchronizes with the receiver's release swap that
            // published a newer waker (read on the retry), and with its
            // destruction swap when the block must be freed here.
            const std::size_t state =
                block->state.fetch_sub(detail::OPEN | detail::EMPTY, std::memory_order::acq_rel);
            MULTISHOT_TRANSITION("send", detail::row_of(state));
            if (!detail::is_open(state)) {
                if (to_cell) detail::unpin(block);  // never the last: nobody set OWNERS_GONE
                block->value.destroy();
                detail::release_owner(block);
                return;
            }
            if (detail::is_empty(state)) {
                wake(block, waker, to_cell, epoch);
                return;
            }
            if (to_cell) detail::unpin(block);  // never the last: the receiver is alive
            index = 1 - index;
        }
    }

    // True, after pinning the block, if `waker` is the wait cell's: the sender
    // will touch the cell after its final RMW.
    static bool pin_if_cell(detail::Block<T>* block, const Waker& waker) noexcept {
        if (!block->cell.is_waker(waker)) return false;
        block->cell.pin();
        return true;
    }

    // After the final RMW: wakes the receiver. The block may be recycled or
    // freed by now unless pinned: a plain waker is used from its local copy,
    // and the wait cell is notified under the pin.
    static void wake(detail::Block<T>* block, const Waker& waker, bool to_cell,
                     std::uint64_t epoch) {
        if (!to_cell) {
            waker.wake();
            return;
        }
        struct Unpin {
            detail::Block<T>* block;
            ~Unpin() { detail::unpin(block); }
        } unpin_on_exit{block};
        block->cell.notify(epoch);
    }

    // Sender destroyed without sending.
    //
    // | from  | to     | action                                  |
    // |-------|--------|-----------------------------------------|
    // | x 0 0 | (free) | receiver gone: free block               |
    // | x 1 1 | 0 0 1  | wake the taken waker, done              |
    // | x 1 0 | !x 1 1 | retry with the other slot               |
    void close() noexcept {
        detail::Block<T>* block = std::exchange(block_, nullptr);
        const std::uint64_t epoch = block->epoch.load();
        // Relaxed: the value only seeds the CAS below, which corrects it.
        std::size_t state = block->state.load(std::memory_order::relaxed);
        std::size_t index = 0;  // as in publish_value
        for (;;) {
            const Waker waker = block->wakers[index].load();
            const bool to_cell = pin_if_cell(block, waker);
            std::size_t next;
            do {
                next = detail::is_empty(state)
                           ? detail::EMPTY
                           : state ^ (detail::EMPTY | detail::INDEX);
                // Success, acq_rel: as the subtraction in publish_value
                // (release: the read of the slot; acquire: a newer waker, or
                // the receiver's destruction when the block is freed here).
                // Failure, relaxed: the loop only recomputes `next`.
            } while (!block->state.compare_exchange_weak(state, next, std::memory_order::acq_rel,
                                                         std::memory_order::relaxed));
            MULTISHOT_TRANSITION("~Sender", detail::row_of(state));
            if (!detail::is_open(state)) {
                if (to_cell) detail::unpin(block);  // never the last: nobody set OWNERS_GONE
                detail::release_owner(block);
                return;
            }
            if (detail::is_empty(state)) {
                wake(block, waker, to_cell, epoch);
                return;
            }
            if (to_cell) detail::unpin(block);  // never the last: the receiver is alive
            index = 1 - index;
        }
    }

    detail::Block<T>* block_;
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
#if defined(MULTISHOT_RELACY)
#undef MULTISHOT_SITE
#pragma pop_macro("free")
#pragma pop_macro("malloc")
#pragma pop_macro("assert")
#pragma pop_macro("delete")
#pragma pop_macro("new")
#endif

#endif  // MULTISHOT_HPP_INCLUDED
