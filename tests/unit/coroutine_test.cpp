// co_await recv() in real coroutines (the minimal Task of tests/support):
// ready without suspending, suspended and resumed inline by the sender (on
// its thread), closed by sender destruction, recycled in a loop.

#include "support/catch.hpp"
#include "support/names.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <optional>
#include <thread>
#include <utility>

namespace {

using namespace multishot_test;

Task<RecvResult<int>> receive(Receiver<int>& receiver) { co_return co_await receiver.recv(); }

// Receives once and records the thread the coroutine runs on afterwards.
Task<RecvResult<int>> receive_noting_thread(Receiver<int>& receiver,
                                            std::thread::id& resumed_on) {
    RecvResult<int> result = co_await receiver.recv();
    resumed_on = std::this_thread::get_id();
    co_return result;
}

// Receives once and records whether `sender_returned` was already set when
// the coroutine resumed.
Task<RecvResult<int>> receive_noting_flag(Receiver<int>& receiver, const bool& sender_returned,
                                          bool& seen) {
    RecvResult<int> result = co_await receiver.recv();
    seen = sender_returned;
    co_return result;
}

// Checks that the awaitable is ready (await_ready) when the sender already
// sent or was destroyed, and on a receiver that never handed out a sender,
// and that the coroutine then completes in the call that started it.
TEST_CASE("co_await: ready without suspending once the sender is done", "[coroutine]") {
    Receiver<int> receiver;
    SECTION("no sender was ever created") {
        auto awaiter = receiver.recv();
        CHECK(awaiter.await_ready());
        CHECK(awaiter.await_resume() == RecvError::closed);
    }
    SECTION("the sender sent") {
        receiver.sender()->send(7);
        auto awaiter = receiver.recv();
        CHECK(awaiter.await_ready());
        CHECK(awaiter.await_resume() == RecvResult<int>(std::in_place, 7));
    }
    SECTION("the sender was destroyed") {
        receiver.sender().reset();
        auto awaiter = receiver.recv();
        CHECK(awaiter.await_ready());
        CHECK(awaiter.await_resume() == RecvError::closed);
    }
    SECTION("in a coroutine") {
        receiver.sender()->send(8);
        Task<RecvResult<int>> task = receive(receiver);
        REQUIRE(task.done());
        CHECK(task.result() == RecvResult<int>(std::in_place, 8));
    }
}

// Checks that a coroutine suspends while the sender is alive, and is resumed
// inline from within send() on the sending thread, before send() returns.
TEST_CASE("co_await: suspends and send() resumes it inline", "[coroutine]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    bool send_returned = false;
    bool resumed_after_send_returned = true;
    Task<RecvResult<int>> task =
        receive_noting_flag(receiver, send_returned, resumed_after_send_returned);
    REQUIRE_FALSE(task.done());
    sender.send(5);
    send_returned = true;
    REQUIRE(task.done());
    CHECK_FALSE(resumed_after_send_returned);
    CHECK(task.result() == RecvResult<int>(std::in_place, 5));
}

// Checks that a coroutine suspended in recv() is resumed on the thread that
// sends, or that destroys the sender.
TEST_CASE("co_await: resumed on the sender's thread", "[coroutine][thread]") {
    Receiver<int> receiver;
    SECTION("by send") {
        Sender<int> sender = *receiver.sender();
        std::thread::id resumed_on;
        Task<RecvResult<int>> task = receive_noting_thread(receiver, resumed_on);
        REQUIRE_FALSE(task.done());
        std::thread sending([&] { sender.send(9); });
        const std::thread::id sender_thread = sending.get_id();
        sending.join();
        REQUIRE(task.done());
        CHECK(resumed_on == sender_thread);
        CHECK(task.result() == RecvResult<int>(std::in_place, 9));
    }
    SECTION("by sender destruction") {
        std::optional<Sender<int>> sender = receiver.sender();
        std::thread::id resumed_on;
        Task<RecvResult<int>> task = receive_noting_thread(receiver, resumed_on);
        REQUIRE_FALSE(task.done());
        std::thread destroying([&] { sender.reset(); });
        const std::thread::id destroyer_thread = destroying.get_id();
        destroying.join();
        REQUIRE(task.done());
        CHECK(resumed_on == destroyer_thread);
        CHECK(task.result() == RecvError::closed);
    }
}

// Checks that destroying the sender without sending resumes the suspended
// coroutine with RecvError::closed, and that the channel is reusable after.
TEST_CASE("co_await: closed when the sender is destroyed", "[coroutine]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    Task<RecvResult<int>> task = receive(receiver);
    REQUIRE_FALSE(task.done());
    sender.reset();
    REQUIRE(task.done());
    CHECK(task.result() == RecvError::closed);

    receiver.sender()->send(3);
    Task<RecvResult<int>> next = receive(receiver);
    REQUIRE(next.done());
    CHECK(next.result() == RecvResult<int>(std::in_place, 3));
}

// Tallies of what the recycling coroutine received.
struct Tally {
    int sum = 0;
    int values = 0;
    int closed = 0;
    int wrong_results = 0;  // results other than the expected value or closed
};

constexpr int recycle_rounds = 3000;

// One receiver recycled `recycle_rounds` times in one coroutine. Round i
// alternates between a ready receive (the coroutine sends i itself before
// awaiting) and a suspended one (the sender goes to `outbox`, whose owner
// sends i, or destroys the sender every third round).
Task<Tally> recycle_in_a_loop(Receiver<int>& receiver, std::optional<Sender<int>>& outbox) {
    Tally tally;
    for (int i = 0; i < recycle_rounds; ++i) {
        std::optional<Sender<int>> sender = receiver.sender();
        if (!sender) {
            ++tally.wrong_results;
            continue;
        }
        if (i % 2 == 0) {
            sender->send(i);
        } else {
            outbox.emplace(std::move(*sender));
        }
        const RecvResult<int> result = co_await receiver.recv();
        if (result == RecvError::closed) {
            ++tally.closed;
        } else if (result.has_value() && *result == i) {
            tally.sum += *result;
            ++tally.values;
        } else {
            ++tally.wrong_results;
        }
    }
    co_return tally;
}

// Checks that one receiver, recycled thousands of times inside one coroutine,
// delivers every value (ready and suspended receives alternating) and every
// closure, in order, and that sender() never fails after a completed receive.
TEST_CASE("co_await: one receiver recycled many times in one coroutine", "[coroutine]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> outbox;
    Task<Tally> task = recycle_in_a_loop(receiver, outbox);
    int expected_sum = 0;
    int expected_closed = 0;
    for (int i = 1; !task.done(); i += 2) {
        REQUIRE(outbox.has_value());
        Sender<int> sender = std::move(*outbox);
        outbox.reset();
        // The coroutine resumes inside send() or ~Sender and refills outbox.
        if (i % 3 == 0) {
            ++expected_closed;  // `sender` is destroyed unused below
        } else {
            expected_sum += i;
            sender.send(i);
        }
    }
    for (int i = 0; i < recycle_rounds; i += 2) expected_sum += i;
    const Tally tally = task.result();
    CHECK(tally.wrong_results == 0);
    CHECK(tally.closed == expected_closed);
    CHECK(tally.values == recycle_rounds - expected_closed);
    CHECK(tally.sum == expected_sum);
}

}  // namespace
