// Issue 9, item 3: misusing a Receiver while a co_await recv() or
// recv(stop_token) on it is suspended is caught in debug builds (NDEBUG not
// defined): moving it (construction, assignment either way, or a
// std::vector that reallocates), destroying it, or calling sender() on it
// aborts with a message "multishot: ..." that names the mistake, instead of
// corrupting the channel. After the receive completed, all of these are fine,
// and a moved-to receiver never inherits a "suspended" mark.
//
// Each misuse runs in a forked child (support/death_test.hpp); the test
// checks that the child died of SIGABRT and what it printed. A child that
// survives the misuse exits with status 0 at once, skipping every
// destructor, so that it reports "not caught" rather than crashing later.

#include "support/catch.hpp"
#include "support/death_test.hpp"
#include "support/names.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#if MULTISHOT_HAS_STOP_TOKEN
#include <stop_token>
#endif

namespace {

using namespace multishot_test;

#if defined(NDEBUG)
constexpr bool assertions_on = false;
#else
constexpr bool assertions_on = true;
#endif

// The message of each misuse, after "multishot: ".
constexpr const char* moved_message = "Receiver moved while a co_await recv() on it is suspended";
constexpr const char* move_assigned_message =
    "Receiver move-assigned while a co_await recv() on it is suspended";
constexpr const char* destroyed_message =
    "Receiver destroyed while a co_await recv() on it is suspended";
constexpr const char* sender_message =
    "Receiver::sender() called while a co_await recv() on it is suspended";

// Which suspended receive the misuse happens under.
enum class Await { plain, with_token };

const char* name_of(Await await) {
    return await == Await::plain ? "co_await recv()" : "co_await recv(stop_token)";
}

std::vector<Await> awaits() {
    std::vector<Await> result{Await::plain};
    if (MULTISHOT_HAS_STOP_TOKEN) result.push_back(Await::with_token);
    return result;
}

// What a coroutine's receive produced (written by the coroutine, read by the
// same thread after it was resumed).
struct Received {
    bool done = false;
    std::optional<RecvResult<int>> result;
};

Task<> await_recv(Receiver<int>& receiver, Received& received) {
    received.result.emplace(co_await receiver.recv());
    received.done = true;
}

#if MULTISHOT_HAS_STOP_TOKEN
Task<> await_recv_token(Receiver<int>& receiver, std::stop_token token, Received& received) {
    received.result.emplace(co_await receiver.recv(std::move(token)));
    received.done = true;
}
#endif

// A coroutine receive of the given kind, left suspended if no value is there
// (the caller keeps the sender alive). Keeps the stop source of recv(token).
class Waiting {
public:
    Waiting(Receiver<int>& receiver, Await await) : task_(start(receiver, await)) {}

    bool suspended() const noexcept { return !task_.done(); }
    const Received& received() const noexcept { return received_; }
    void request_stop() noexcept {
#if MULTISHOT_HAS_STOP_TOKEN
        stop_.request_stop();
#endif
    }

private:
    Task<> start(Receiver<int>& receiver, Await await) {
#if MULTISHOT_HAS_STOP_TOKEN
        if (await == Await::with_token)
            return await_recv_token(receiver, stop_.get_token(), received_);
#endif
        (void)await;
        return await_recv(receiver, received_);
    }

#if MULTISHOT_HAS_STOP_TOKEN
    std::stop_source stop_;
#endif
    Received received_;
    Task<> task_;
};

// In the child: a setup step went wrong (not the misuse under test).
[[noreturn]] void child_setup_failed(const char* what) {
    std::fprintf(stderr, "death test setup failed: %s\n", what);
    std::fflush(stderr);
    std::_Exit(4);
}

// In the child: the misuse was not caught. Exits at once, without running
// any destructor of the now inconsistent channel.
[[noreturn]] void child_survived() {
    std::fflush(stderr);
    std::_Exit(multishot_test::returned_status);
}

// True if some line of `text` starts with "multishot: " and contains
// `message`.
bool has_multishot_line(const std::string& text, const std::string& message) {
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        if (line.rfind("multishot: ", 0) == 0 && line.find(message) != std::string::npos)
            return true;
        start = end + 1;
    }
    return false;
}

// Runs `misuse(receiver)` in a child while a receive of kind `await` on
// `receiver` is suspended, and checks that the child aborted and printed
// "multishot: " and `message`.
template <class Misuse>
void check_aborts(Await await, const char* message, Misuse misuse) {
    INFO(name_of(await) << " suspended");
    const DeathResult death = run_in_child([&] {
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        const Waiting waiting(receiver, await);
        if (!waiting.suspended()) child_setup_failed("the receive did not suspend");
        misuse(receiver);
        child_survived();
    });
    INFO("child: " << death.describe());
    CHECK(death.aborted());
    CHECK(has_multishot_line(death.stderr_text, message));
}

// Skips the death tests where they cannot work.
#define MULTISHOT_DEATH_TEST_PRECONDITIONS()                                                  \
    do {                                                                                      \
        if (!assertions_on) {                                                                 \
            WARN("skipped: NDEBUG is defined, the misuse is a precondition, not an assertion"); \
            return;                                                                           \
        }                                                                                     \
    } while (false)

// Checks that move-constructing another receiver from a receiver with a
// suspended co_await aborts with a message saying so.
TEST_CASE("misuse while suspended: move-constructing the receiver aborts", "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    for (const Await await : awaits()) {
        check_aborts(await, moved_message, [](Receiver<int>& receiver) {
            Receiver<int> moved_to(std::move(receiver));
            (void)moved_to;
        });
    }
}

// Checks that a std::vector holding the receiver, reallocating while the
// co_await is suspended (it moves the receiver), aborts with the same
// message.
TEST_CASE("misuse while suspended: a vector of receivers that reallocates aborts",
          "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    for (const Await await : awaits()) {
        INFO(name_of(await) << " suspended");
        const DeathResult death = run_in_child([await] {
            std::vector<Receiver<int>> receivers;
            receivers.reserve(1);
            receivers.emplace_back();
            std::optional<Sender<int>> sender = receivers[0].sender();
            const Waiting waiting(receivers[0], await);
            if (!waiting.suspended()) child_setup_failed("the receive did not suspend");
            if (receivers.capacity() != 1) child_setup_failed("unexpected capacity");
            receivers.emplace_back();  // reallocates: moves receivers[0]
            child_survived();
        });
        INFO("child: " << death.describe());
        CHECK(death.aborted());
        CHECK(has_multishot_line(death.stderr_text, moved_message));
    }
}

// Checks that move-assigning from a receiver with a suspended co_await
// aborts with a message saying so.
TEST_CASE("misuse while suspended: move-assigning from the receiver aborts", "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    for (const Await await : awaits()) {
        check_aborts(await, move_assigned_message, [](Receiver<int>& receiver) {
            Receiver<int> other;
            other = std::move(receiver);
        });
    }
}

// Checks that move-assigning another receiver onto a receiver with a
// suspended co_await aborts with the same message.
TEST_CASE("misuse while suspended: move-assigning onto the receiver aborts", "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    for (const Await await : awaits()) {
        check_aborts(await, move_assigned_message,
                     [](Receiver<int>& receiver) { receiver = Receiver<int>(); });
    }
}

// Checks that destroying a receiver with a suspended co_await aborts with a
// message saying so.
TEST_CASE("misuse while suspended: destroying the receiver aborts", "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    for (const Await await : awaits()) {
        INFO(name_of(await) << " suspended");
        const DeathResult death = run_in_child([await] {
            std::optional<Receiver<int>> receiver;
            receiver.emplace();
            std::optional<Sender<int>> sender = receiver->sender();
            const Waiting waiting(*receiver, await);
            if (!waiting.suspended()) child_setup_failed("the receive did not suspend");
            receiver.reset();
            child_survived();
        });
        INFO("child: " << death.describe());
        CHECK(death.aborted());
        CHECK(has_multishot_line(death.stderr_text, destroyed_message));
    }
}

// Checks that sender() on a receiver with a suspended co_await aborts with a
// message saying so.
TEST_CASE("misuse while suspended: sender() on the receiver aborts", "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    for (const Await await : awaits()) {
        check_aborts(await, sender_message,
                     [](Receiver<int>& receiver) { (void)receiver.sender(); });
    }
}

// In the child: fails unless `received` holds the value `expected`.
void require_value(const Received& received, int expected, const char* what) {
    if (!received.done || !received.result ||
        *received.result != RecvResult<int>(std::in_place, expected))
        child_setup_failed(what);
}

// Receives `value` on `receiver` with a co_await of kind `await` that
// suspends and is resumed by the sender; in the child, fails if it goes
// wrong.
void receive_suspended(Receiver<int>& receiver, Await await, int value) {
    std::optional<Sender<int>> sender = receiver.sender();
    if (!sender) child_setup_failed("no sender: the previous receive did not complete");
    const Waiting waiting(receiver, await);
    if (!waiting.suspended()) child_setup_failed("the receive did not suspend");
    sender->send(value);
    require_value(waiting.received(), value, "the suspended receive did not get the value");
}

// Checks that once a suspended co_await completed, the receiver may be
// moved (constructed, assigned either way, reallocated in a vector), asked
// for a sender and destroyed, and that each moved-to receiver receives
// again, suspending, without any assertion: no "suspended" mark is left or
// carried over. Runs in a child so that a false assertion fails this test
// only.
TEST_CASE("misuse while suspended: moving and destroying after the receive completed is fine",
          "[misuse][death]") {
    for (const Await await : awaits()) {
        INFO(name_of(await));
        const DeathResult life = run_in_child([await] {
            Receiver<int> first;
            receive_suspended(first, await, 1);
            Receiver<int> second(std::move(first));
            receive_suspended(second, await, 2);
            Receiver<int> third;
            third = std::move(second);
            receive_suspended(third, await, 3);
            third = Receiver<int>();  // onto a receiver whose receive completed
            receive_suspended(third, await, 4);
            std::vector<Receiver<int>> receivers;
            receivers.reserve(1);
            receivers.push_back(std::move(third));
            receive_suspended(receivers[0], await, 5);
            receivers.emplace_back();  // reallocates
            receive_suspended(receivers[0], await, 6);
            receive_suspended(receivers[1], await, 7);
            std::optional<Sender<int>> spare = receivers[0].sender();
            if (!spare) child_setup_failed("no sender after a completed receive");
            spare.reset();
            receivers.clear();  // destroys both
        });
        INFO("child: " << life.describe());
        CHECK(life.exited_cleanly());
        CHECK_FALSE(life.stderr_contains("multishot: "));
    }
}

#if MULTISHOT_HAS_STOP_TOKEN
// Checks that a co_await recv(token) ended by a stop request leaves no
// "suspended" mark: the receiver may then be moved while its sender is
// still alive, and the moved-to receiver receives the value sent later.
TEST_CASE("misuse while suspended: moving after a cancelled co_await is fine",
          "[misuse][death]") {
    const DeathResult life = run_in_child([] {
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        Waiting waiting(receiver, Await::with_token);
        if (!waiting.suspended()) child_setup_failed("the receive did not suspend");
        waiting.request_stop();  // resumes the coroutine inline, cancelled
        if (!waiting.received().done || *waiting.received().result != RecvError::cancelled)
            child_setup_failed("the stop request did not cancel the receive");
        Receiver<int> moved_to(std::move(receiver));
        const Waiting again(moved_to, Await::plain);
        if (!again.suspended()) child_setup_failed("the second receive did not suspend");
        sender->send(8);
        require_value(again.received(), 8, "the moved-to receiver did not get the value");
        Receiver<int> assigned;
        assigned = std::move(moved_to);
        receive_suspended(assigned, Await::with_token, 9);
    });
    INFO("child: " << life.describe());
    CHECK(life.exited_cleanly());
    CHECK_FALSE(life.stderr_contains("multishot: "));
}
#endif

// Issue 12: abandon() is not allowed while a receive is in progress: a
// suspended co_await recv() of either kind, or a pending start_recv().
TEST_CASE("misuse while suspended: abandon() aborts", "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    for (const Await await : awaits()) {
        check_aborts(await, "Receiver::abandon() called while a co_await recv() on it is suspended",
                     [](Receiver<int>& receiver) { receiver.abandon(); });
    }
}

TEST_CASE("misuse while pending: abandon() during a start_recv() aborts", "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    const DeathResult death = run_in_child([] {
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        if (receiver.start_recv(multishot::Waker{}).has_value())
            child_setup_failed("start_recv did not stay pending");
        receiver.abandon();
        child_survived();
    });
    INFO("child: " << death.describe());
    CHECK(death.aborted());
    CHECK(has_multishot_line(death.stderr_text,
                             "Receiver::abandon() called while a start_recv() is pending"));
}

Task<> await_closed(Sender<int>& sender) { co_await sender.closed(); }

// Runs `misuse(sender)` in a child while a co_await closed() on `sender` is
// suspended, and checks that the child aborted and printed `message`.
template <class Misuse>
void check_closed_misuse_aborts(const char* message, Misuse misuse) {
    const DeathResult death = run_in_child([&] {
        Receiver<int> receiver;
        Sender<int> sender = *receiver.sender();
        const Task<> waiting = await_closed(sender);
        if (waiting.done()) child_setup_failed("co_await closed() did not suspend");
        misuse(sender);
        child_survived();
    });
    INFO("child: " << death.describe());
    CHECK(death.aborted());
    CHECK(has_multishot_line(death.stderr_text, message));
}

TEST_CASE("misuse while suspended: using a sender whose co_await closed() waits aborts",
          "[misuse][death]") {
    MULTISHOT_DEATH_TEST_PRECONDITIONS();
    check_closed_misuse_aborts(
        "Sender::send() or emplace() called while a co_await closed() on it is suspended",
        [](Sender<int>& sender) { sender.send(1); });
    check_closed_misuse_aborts(
        "Sender::try_send() called while a co_await closed() on it is suspended",
        [](Sender<int>& sender) { (void)sender.try_send(1); });
    check_closed_misuse_aborts("Sender moved while a co_await closed() on it is suspended",
                               [](Sender<int>& sender) { Sender<int> moved(std::move(sender)); });
    check_closed_misuse_aborts(
        "Sender destroyed or assigned to while a co_await closed() on it is suspended",
        [](Sender<int>& sender) { std::destroy_at(&sender); });
    check_closed_misuse_aborts(
        "Sender::poll_closed() called while a co_await closed() on it is suspended",
        [](Sender<int>& sender) { (void)sender.poll_closed(multishot::Waker{}); });
}

// After co_await closed() completed the sender is free to go.
TEST_CASE("misuse while suspended: a sender after its co_await closed() completed is fine",
          "[misuse][death]") {
    const DeathResult life = run_in_child([] {
        // (A plain receiver moved into a scope, not a std::optional reset:
        // g++ 11 -O1 warns falsely that the optional's ~Receiver reads an
        // uninitialized pointer.)
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        const Task<> waiting = await_closed(*sender);
        if (waiting.done()) child_setup_failed("co_await closed() did not suspend");
        { const Receiver<int> leaving = std::move(receiver); }
        if (!waiting.done()) child_setup_failed("co_await closed() was not resumed");
        Sender<int> moved(std::move(*sender));
        if (moved.try_send(3) != std::optional<int>(3)) child_setup_failed("try_send kept 3");
    });
    INFO("child: " << life.describe());
    CHECK(life.exited_cleanly());
    CHECK_FALSE(life.stderr_contains("multishot: "));
}

}  // namespace
