// The model suite's sync layer for include/multishot.hpp: atomics and shared
// non-atomic cells mapped onto Relacy's instrumented types, so that Relacy
// checks every access, with the source location of the algorithm's call.
//
// model.hpp names this file in MULTISHOT_SYNC_LAYER before it includes
// multishot.hpp, which includes it after its own standard headers (relacy.hpp
// must come after every standard header: it #defines new, delete, assert,
// malloc, free and the memory_order_* names) and then leaves out its own sync
// layer. This file defines, in namespace multishot::detail, what that layer
// defines:
//   Atomic<V>             std::atomic's operations, each with an ordering
//                         and the call site (MULTISHOT_SITE_PARAMS)
//   AccessShadow          read()/write() of a non-atomic cell, at a site
//   Futex                 (futex wait) the kernel side of the semaphore
//   Mutex, CondVar        (portable wait) the semaphore's lock and condition
//   MULTISHOT_SITE_PARAMS the trailing call-site parameters of each operation
//   MULTISHOT_SITE_ARGS   those parameters passed on
// (model.hpp also defines MULTISHOT_SYNC_LAYER_WAIT, so that the header
// leaves out its own Futex, Mutex and CondVar and their system headers)
// and MULTISHOT_ASSERT, so that a failed check of the header is a failed
// model run. multishot.hpp #undefs the two site macros at its end; model.hpp
// undefines MULTISHOT_SITE and restores relacy's macros after the header.
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

#define MULTISHOT_ASSERT(cond, message) RL_ASSERT((cond) && (message))

namespace multishot::detail {

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
    V fetch_and(V value, std::memory_order order, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE).fetch_and(value, to_relacy(order));
    }
    bool compare_exchange_weak(V& expected, V desired, std::memory_order success,
                               std::memory_order failure, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE)
            .compare_exchange_weak(expected, desired, to_relacy(success), to_relacy(failure));
    }
    bool compare_exchange_strong(V& expected, V desired, std::memory_order success,
                                 std::memory_order failure, MULTISHOT_SITE_PARAMS) {
        lifetime_.read(site_file, site_line);
        return atomic_(MULTISHOT_SITE)
            .compare_exchange_strong(expected, desired, to_relacy(success), to_relacy(failure));
    }
    // Records a use of the atomic's memory that is no atomic operation (a
    // futex wake names the word by its address): no ordering, but a free that
    // it does not happen before is a data race.
    void touch(MULTISHOT_SITE_PARAMS) const { lifetime_.read(site_file, site_line); }

private:
    mutable rl::atomic<V> atomic_;
    // Every operation counts as a read of this shadow, and destroying the
    // atomic (freeing the block) as a write: atomic operations never race
    // with each other, but a free that an operation does not happen before
    // is a data race, as in C++.
    AccessShadow lifetime_;
};

// MULTISHOT_TIMEOUT_HOOK(timeout): called by the modelled futex and condition
// variable below when a timed wait times out, with its relative timeout (a
// std::chrono::nanoseconds). The model suite defines it to advance its model
// clock by `timeout` (tests/model/model_clock.hpp): a wait that timed out has
// lasted at least that long, so a deadline loop reading that clock sees its
// deadline passed exactly when the modelled wait timed out, and every run of
// a schedule reads the same times (real time inside Relacy would make its
// iterations non-deterministic). A wait that returns early (woken spuriously)
// leaves the clock alone. Nothing otherwise.
#if !defined(MULTISHOT_TIMEOUT_HOOK)
#define MULTISHOT_TIMEOUT_HOOK(timeout) ((void)(timeout))
#endif

// Relacy's condition variable, telling why a wait returned (its
// rl::condition_variable::wait_for only says whether it was notified). A wait
// may return spuriously (under the random scheduler) and a timed wait may time
// out at any scheduling point: Relacy explores both.
class ModelCondition {
public:
    ModelCondition() { condition_.init(/*allow_spurious_wakeups=*/true, RL_INFO); }
    ModelCondition(const ModelCondition&) = delete;
    ModelCondition& operator=(const ModelCondition&) = delete;
    ~ModelCondition() { condition_.deinit(RL_INFO); }

    // Unlocks `mutex`, sleeps until notified (or spuriously woken, or, with a
    // `timeout`, timed out), locks `mutex` again. Calls MULTISHOT_TIMEOUT_HOOK
    // if it timed out.
    void wait(rl::mutex& mutex, const std::chrono::nanoseconds* timeout, MULTISHOT_SITE_PARAMS) {
        const rl::sema_wakeup_reason reason =
            condition_.wait(mutex, timeout != nullptr, MULTISHOT_SITE);
        if (reason == rl::sema_wakeup_reason_timeout) MULTISHOT_TIMEOUT_HOOK(*timeout);
    }
    void notify_one(MULTISHOT_SITE_PARAMS) { condition_.notify_one(MULTISHOT_SITE); }

private:
    struct Tag;
    rl::condvar<Tag> condition_;
};

// The kernel side of the futex semaphore (see Semaphore): checking the word
// and going to sleep are atomic with respect to a wake, as under the kernel's
// futex bucket lock, which this mutex stands for. A timed wait may time out
// (or a wait wake spuriously) at any moment: Relacy explores both.
class Futex {
public:
    // Sleeps while `word` holds `expected`, until woken or, if `timeout` is
    // not null, until Relacy decides the timeout passed.
    void wait(Atomic<std::uint32_t>& word, std::uint32_t expected,
              const std::chrono::nanoseconds* timeout, MULTISHOT_SITE_PARAMS) {
        bucket_.lock(MULTISHOT_SITE);
        // Relaxed: the bucket lock orders this read after a waker's change of
        // the word (the waker takes the lock to wake after changing it).
        if (word.load(std::memory_order::relaxed, site_file, site_line) == expected)
            sleepers_.wait(bucket_, timeout, site_file, site_line);
        bucket_.unlock(MULTISHOT_SITE);
    }

    // Wakes one sleeper, if any. The kernel finds the sleepers by the word's
    // address: waking after the word was freed (with the block) is a bug,
    // which touch() lets Relacy report.
    void wake_one(Atomic<std::uint32_t>& word, MULTISHOT_SITE_PARAMS) {
        word.touch(site_file, site_line);
        bucket_.lock(MULTISHOT_SITE);
        sleepers_.notify_one(site_file, site_line);
        bucket_.unlock(MULTISHOT_SITE);
    }

private:
    rl::mutex bucket_;
    ModelCondition sleepers_;
};

// The portable semaphore's mutex and condition variable (see Semaphore).
class Mutex {
public:
    void lock(MULTISHOT_SITE_PARAMS) { mutex_.lock(MULTISHOT_SITE); }
    void unlock(MULTISHOT_SITE_PARAMS) { mutex_.unlock(MULTISHOT_SITE); }
    rl::mutex& native() noexcept { return mutex_; }

private:
    rl::mutex mutex_;
};

class CondVar {
public:
    void wait(Mutex& mutex, MULTISHOT_SITE_PARAMS) {
        condition_.wait(mutex.native(), nullptr, site_file, site_line);
    }
    void wait_for(Mutex& mutex, std::chrono::nanoseconds timeout, MULTISHOT_SITE_PARAMS) {
        condition_.wait(mutex.native(), &timeout, site_file, site_line);
    }
    void notify_one(MULTISHOT_SITE_PARAMS) { condition_.notify_one(site_file, site_line); }

private:
    ModelCondition condition_;
};

#define MULTISHOT_SITE_ARGS site_file, site_line

}  // namespace multishot::detail
