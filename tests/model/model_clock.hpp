// The model suite's clock: deterministic time for the timed receives.
//
// Why not steady_clock: detail::acquire_until reads its clock after every
// wait and waits again until the deadline passed, and Relacy must see the
// same choices in the same order every time it replays a schedule. Real time
// read inside a simulation makes the number of waits (and so the tree of
// choices) differ between the runs of one schedule: the search then crashes
// or explores nonsense. So the scenarios wait with recv_until (and
// detail::acquire_until) on ModelClock, whose time moves only when the model
// says so:
//
// - it starts at zero in every iteration (a scenario that reads it holds a
//   ModelClockReset, constructed with the test at the start of each
//   iteration);
// - it stands still otherwise, so the first reads of a receive (recv_until's,
//   then acquire_until's) are before a deadline set in the future;
// - it advances by the timeout of a modelled timed wait that times out: the
//   header's model sync layer calls MULTISHOT_TIMEOUT_HOOK when Relacy decides
//   that a futex or condition-variable wait timed out (at any scheduling
//   point, which Relacy explores), and such a wait has lasted at least its
//   timeout. So acquire_until finds its deadline passed exactly after a timed
//   wait that timed out, and a wait that returned early without the permit (a
//   spurious wake-up, which Relacy's random scheduler makes) is followed by
//   another wait, as with a real clock.
//
// Relacy chooses the timeouts (and the spurious wake-ups) itself, so the
// clock needs no rl::rand of its own: each choice of it would double the
// schedules of every scenario that waits. One global time serves all model
// threads (they are fibers of one OS thread): it is monotonic, and a timed
// wait that timed out has lasted at least its timeout whichever thread's
// timeout moved the clock meanwhile.
//
// recv_for measures its timeout on steady_clock, so the scenarios call it
// only where it does not read that clock for a decision: a zero or negative
// timeout (it does not wait: receive_now) and one past what steady_clock can
// represent (it waits without a deadline). Its finite positive timeout is
// recv_until(steady_clock::now() + timeout), the path checked here with
// ModelClock; its arithmetic is covered by the unit tests (timed_limits_test).
#ifndef MULTISHOT_MODEL_CLOCK_HPP
#define MULTISHOT_MODEL_CLOCK_HPP

#include <chrono>
#include <cstdint>

namespace multishot_model {

class ModelClock {
public:
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<ModelClock>;
    static constexpr bool is_steady = true;

    static time_point now() noexcept { return time_point(duration(now_)); }

    // A deadline `timeout` from now.
    static time_point in(duration timeout) noexcept { return now() + timeout; }

    // Called through MULTISHOT_TIMEOUT_HOOK by a modelled timed wait that
    // timed out.
    static void timed_out(duration timeout) noexcept { now_ += timeout.count(); }

    static void reset() noexcept { now_ = 0; }

private:
    // A plain variable: the model threads are fibers of one OS thread, and
    // Relacy need not see the clock (it is no shared data of the channel).
    static inline rep now_ = 0;
};

// The first member of a scenario that reads ModelClock: constructing the
// test, at the start of every iteration, sets the clock to zero, so that
// every replay of a schedule reads the same times.
struct ModelClockReset {
    ModelClockReset() noexcept { ModelClock::reset(); }
};

}  // namespace multishot_model

#define MULTISHOT_TIMEOUT_HOOK(timeout) ::multishot_model::ModelClock::timed_out(timeout)

#endif  // MULTISHOT_MODEL_CLOCK_HPP
