// Scenarios of the semaphore a blocked receiver sleeps on (the header's
// "Semaphore" section), driven directly: the futex semaphore in the main
// model build, the portable one (mutex and condition variable) in
// multishot_model_portable. Only the kernel's futex and the mutex and
// condition variable under them are modelled (the header's sync layer); the
// semaphore's own code, its state word and its orderings are the header's.
//
// Checked in every scenario:
//   * the releaser writes a non-atomic payload (an rl::var) before release()
//     and the waiter reads it after taking the permit: a release or an
//     acquire too weak to order them is a data race (where the modelled
//     futex's bucket lock does not order them by itself: a waiter that slept
//     and was woken locks the bucket after the waker did; the paths without
//     a sleep are the ones that catch a weakened ordering);
//   * every permit is taken once: a lost wake-up or a permit taken twice
//     leaves an untimed acquire waiting for good, which Relacy reports as a
//     deadlock (or a livelock);
//   * each scenario reaches the semaphore rows it is written for (it fails,
//     naming them, if it no longer does).
//
// The timed waits read ModelClock (model_clock.hpp): its deadline passes when
// a modelled timed wait times out, which Relacy may decide at any scheduling
// point.
#include <chrono>

#include "model.hpp"

namespace multishot_model {
namespace {

using multishot::detail::Semaphore;

constexpr int published = 1;
constexpr int published_again = 2;

// Thread 0 takes the permit with an untimed acquire; thread 1 publishes the
// payload and releases. The release lands before the waiter's first look,
// between it and the announcement (futex: "announce: posted: take"), between
// the announcement and the sleep (the modelled futex finds the word changed
// and does not sleep), or while it sleeps ("release: waiting: wake").
struct ReleaseRacesAcquire : rl::test_suite<ReleaseRacesAcquire, 2> {
    Semaphore semaphore;
    rl::var<int> payload{0};

    void thread(unsigned index) {
        if (index == 0) {
            semaphore.acquire();
            MODEL_CHECK(payload(RL_INFO) == published, "the payload was not published");
        } else {
            payload(RL_INFO) = published;
            semaphore.release();
        }
    }
};

// Thread 0 waits with a deadline (detail::acquire_until on ModelClock, as
// recv_until does) and, if it timed out, takes the permit with an untimed
// acquire, as a receive that lost its cancel to the sender does; thread 1
// publishes and releases. The release may come before the wait, while it
// sleeps, after it timed out and before the waiter withdrew its announcement
// (futex: "withdraw: posted: take", the permit taken by the timed wait after
// all), or after the withdrawal ("withdraw: withdrawn", then the untimed
// acquire takes it).
struct ReleaseRacesTimedWait : rl::test_suite<ReleaseRacesTimedWait, 2> {
    ModelClockReset clock;
    Semaphore semaphore;
    rl::var<int> payload{0};

    void thread(unsigned index) {
        if (index == 0) {
            if (!multishot::detail::acquire_until(semaphore,
                                                  ModelClock::in(std::chrono::milliseconds(1))))
                semaphore.acquire();
            MODEL_CHECK(payload(RL_INFO) == published, "the payload was not published");
        } else {
            payload(RL_INFO) = published;
            semaphore.release();
        }
    }
};

// The semaphore reused, as the wait cell's is by one receive after another:
// thread 1 publishes and releases, waits (on a second semaphore) until thread
// 0 took the permit, publishes again and releases again; thread 0 takes the
// first permit, lets thread 1 go on, and waits for the second with a deadline
// (then untimed, if it timed out). The first release's wake may come late,
// after thread 0 took that permit by itself and went to sleep for the second:
// a stale wake, which must only make the second wait look again (and, timed,
// read the clock again and wait on), never take a permit not yet released.
struct SemaphoreReused : rl::test_suite<SemaphoreReused, 2> {
    ModelClockReset clock;
    Semaphore semaphore;
    Semaphore taken;
    rl::var<int> payload{0};

    void thread(unsigned index) {
        if (index == 0) {
            semaphore.acquire();
            MODEL_CHECK(payload(RL_INFO) == published, "the first payload was not published");
            taken.release();
            if (!multishot::detail::acquire_until(semaphore,
                                                  ModelClock::in(std::chrono::milliseconds(1))))
                semaphore.acquire();
            MODEL_CHECK(payload(RL_INFO) == published_again,
                        "the second payload was not published");
        } else {
            payload(RL_INFO) = published;
            semaphore.release();
            taken.acquire();
            payload(RL_INFO) = published_again;
            semaphore.release();
        }
    }
};

// The rows each scenario is written to reach, in this build's semaphore.
#if MULTISHOT_FUTEX_WAIT
const std::initializer_list<TransitionRow> release_races_acquire_rows = {
    {"semaphore release", "not waiting"},
    {"semaphore release", "waiting: wake"},
    {"semaphore announce", "sleep"},
    {"semaphore announce", "posted: take"},
};
const std::initializer_list<TransitionRow> release_races_timed_wait_rows = {
    {"semaphore withdraw", "withdrawn"},
    {"semaphore withdraw", "posted: take"},
};
const std::initializer_list<TransitionRow> semaphore_reused_rows = {
    {"semaphore release", "waiting: wake"},
    {"semaphore withdraw", "withdrawn"},
};
#else
const std::initializer_list<TransitionRow> release_races_acquire_rows = {
    {"semaphore release", "posted"},
    {"semaphore acquire", "posted"},
    {"semaphore acquire", "sleep"},
};
const std::initializer_list<TransitionRow> release_races_timed_wait_rows = {
    {"semaphore timed wait", "taken"},
    {"semaphore timed wait", "not taken"},
};
const std::initializer_list<TransitionRow> semaphore_reused_rows = {
    {"semaphore timed wait", "taken"},
    {"semaphore timed wait", "not taken"},
};
#endif

template <class Test, const SearchPlan& plan, const std::initializer_list<TransitionRow>& rows>
bool run() {
    const bool passed = explore<Test>(plan);
    return reached_all(rows) && passed;
}

constexpr SearchPlan small = full_search(
    100000, "two threads and one release: the full search ends within a second");

constexpr SearchPlan reused = bounded_search(
    3, 200000,
    "two releases, three waits and a second semaphore: bound 3 preempts each thread in each "
    "wait; the random iterations add the spurious wake-ups, which the exhaustive "
    "schedulers never make");

[[maybe_unused]] const bool registered[] = {
    register_scenario("semaphore_release_races_acquire",
                      &run<ReleaseRacesAcquire, small, release_races_acquire_rows>),
    register_scenario("semaphore_release_races_timed_wait",
                      &run<ReleaseRacesTimedWait, small, release_races_timed_wait_rows>),
    register_scenario("semaphore_reused",
                      &run<SemaphoreReused, reused, semaphore_reused_rows>),
};

}  // namespace
}  // namespace multishot_model
