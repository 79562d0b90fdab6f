// The transition rows that the model suite must reach, as marked in
// include/multishot.hpp by MULTISHOT_TRANSITION(operation, row).
//
// This is the one list to extend when the header gains an operation or a row:
// add a line here. The coverage check (model.coverage) fails naming every row
// listed here that no scenario reached, and every row the header reached that
// is missing here.
#ifndef MULTISHOT_MODEL_EXPECTED_ROWS_HPP
#define MULTISHOT_MODEL_EXPECTED_ROWS_HPP

namespace multishot_model {

struct TransitionRow {
    const char* operation;
    const char* row;
};

inline constexpr TransitionRow expected_rows[] = {
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

    {"~Sender", "x 0 0"},        {"~Sender", "x 1 0"},
    {"~Sender", "x 1 1"},

    {"~Receiver", "x 0 0"},      {"~Receiver", "x 0 1"},
    {"~Receiver", "x 1 0"},      {"~Receiver", "x 1 1"},

    // The wait cell of blocking and cancellable receives (no scenario yet).
    {"cell arm", "notified"},    {"cell arm", "armed"},

    {"cell park", "armed"},      {"cell park", "claimed"},

    {"cell cancel", "lost"},     {"cell cancel", "claimed"},
    {"cell cancel", "claimed parked"},

    {"cell notify", "stale"},    {"cell notify", "none armed"},
    {"cell notify", "claimed"},  {"cell notify", "claimed parked"},

    {"cell unpin", "not last"},  {"cell unpin", "last: free"},

    {"release owner", "free now"}, {"release owner", "pinned: defer"},

    // Receiver::start_recv: the sender completed during the registration and
    // claimed the target.
    {"start_recv", "completed, target claimed by the sender"},
};

}  // namespace multishot_model

#endif  // MULTISHOT_MODEL_EXPECTED_ROWS_HPP
