// The transition rows that the model suite must reach, as marked in
// include/multishot.hpp by MULTISHOT_TRANSITION(operation, row).
//
// This is the one list to extend when the header gains an operation or a row:
// add a line here. The coverage check (model.coverage) fails naming every row
// listed here that no scenario reached, and every row the header reached that
// is missing here.
//
// Two lists, since a build has one of the two semaphores (see the header's
// "Semaphore" section): `channel_rows`, the algorithm's and the wait cell's,
// and `semaphore_rows`, those of the build's semaphore (the futex one, or the
// portable one under MULTISHOT_PORTABLE_WAIT). The main model executable
// must reach both. The portable one (multishot_model_portable, built with
// MULTISHOT_MODEL_WAIT_ONLY: the blocking and wait scenarios alone) must
// reach its semaphore's rows; it reaches only some channel rows, which the
// main executable checks, so there they are known but not required.
//
// Included by model.hpp after multishot.hpp, whose MULTISHOT_FUTEX_WAIT says
// which semaphore the build has.
#ifndef MULTISHOT_MODEL_EXPECTED_ROWS_HPP
#define MULTISHOT_MODEL_EXPECTED_ROWS_HPP

#if !defined(MULTISHOT_FUTEX_WAIT)
#error "include expected_rows.hpp after multishot.hpp (through model.hpp)"
#endif

namespace multishot_model {

struct TransitionRow {
    const char* operation;
    const char* row;
};

inline constexpr TransitionRow channel_rows[] = {
    {"sender()", "x 0 0"},       {"sender()", "x 0 1"},
    {"sender()", "x 1 0"},       {"sender()", "x 1 1"},

    {"poll fast path", "x 0 0"}, {"poll fast path", "x 0 1"},

    {"poll step 0", "x 1 0"},    {"poll step 0", "x 1 1"},

    {"poll step 1", "x 0 0"},    {"poll step 1", "x 0 1"},
    {"poll step 1", "x 1 0"},    {"poll step 1", "x 1 1"},

    {"poll step 2", "x 0 0"},    {"poll step 2", "x 0 1"},
    {"poll step 2", "x 1 1"},

    {"send", "x 0 0"},           {"send", "x 1 0"},
    {"send", "x 1 1"},
    {"send shortcut", "done"},   {"send shortcut", "changed"},

    {"~Sender", "x 0 0"},        {"~Sender", "x 1 0"},
    {"~Sender", "x 1 1"},
    {"~Sender shortcut", "done"}, {"~Sender shortcut", "changed"},

    {"~Receiver", "x 0 0"},      {"~Receiver", "x 0 1"},
    {"~Receiver", "x 1 0"},      {"~Receiver", "x 1 1"},
    {"~Receiver closure", "wake the closure waker"},
    {"~Receiver closure", "withdrawn before the CAS"},

    // The request lifecycle: abandon() and the sender's closure waker.
    {"abandon", "x 0 0"},        {"abandon", "x 0 1"},
    {"abandon", "x 1 *"},

    {"poll_closed", "receiver gone"}, {"poll_closed", "same waker"},
    {"poll_closed withdraw", "receiver gone"}, {"poll_closed withdraw", "withdrawn"},
    {"poll_closed register", "registered"}, {"poll_closed register", "receiver gone"},

    // The wait cell of blocking and cancellable receives.
    {"cell arm", "notified"},    {"cell arm", "armed"},

    {"cell park", "armed"},      {"cell park", "claimed"},

    {"cell cancel", "lost"},     {"cell cancel", "claimed"},
    {"cell cancel", "claimed parked"},

    {"cell notify", "stale"},    {"cell notify", "none armed"},
    {"cell notify", "claimed"},  {"cell notify", "claimed parked"},

    {"unpin", "not last"},       {"unpin", "last: free"},

    {"release owner", "free now"}, {"release owner", "pinned: defer"},

    // The block's extension (wait cell and closure waker), installed by the
    // half that needs it first; a canceller of a block without one.
    {"install extension", "installed"}, {"install extension", "lost: use the other's"},
    {"canceller", "no extension"},

    // Receiver::start_recv, when the sender completed during the
    // registration, or when the target was claimed before it was parked.
    {"start_recv", "completed during registration"},
    {"start_recv", "completed during registration, cancelled first"},
    {"start_recv", "completed before parking"},
    {"start_recv", "cancelled before parking"},
};

#if MULTISHOT_FUTEX_WAIT
// The futex semaphore (tests/model/wait_scenarios.cpp reaches them all, the
// blocking scenarios some).
inline constexpr TransitionRow semaphore_rows[] = {
    {"semaphore release", "not waiting"}, {"semaphore release", "waiting: wake"},
    {"semaphore announce", "sleep"},      {"semaphore announce", "posted: take"},
    {"semaphore withdraw", "withdrawn"},  {"semaphore withdraw", "posted: take"},
};
#else
// The portable semaphore (mutex and condition variable).
inline constexpr TransitionRow semaphore_rows[] = {
    {"semaphore release", "posted"},
    {"semaphore acquire", "posted"},    {"semaphore acquire", "sleep"},
    {"semaphore timed wait", "taken"},  {"semaphore timed wait", "not taken"},
};
#endif

}  // namespace multishot_model

#endif  // MULTISHOT_MODEL_EXPECTED_ROWS_HPP
