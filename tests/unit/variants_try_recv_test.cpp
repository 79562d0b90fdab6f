// Receiver::try_recv(): never waits. It reports empty while a sender is alive
// and has not sent, and otherwise completes the receive exactly like recv()
// (with the value or closed), after which sender() succeeds again.

#include "support/catch.hpp"
#include "support/counting.hpp"
#include "support/names.hpp"

#include <multishot.hpp>

#include <optional>
#include <string>
#include <utility>

namespace {

using namespace multishot_test;

// Checks that a receiver that never handed out a sender reports closed (not
// empty: nobody could ever send), and that sender() still succeeds after.
TEST_CASE("try_recv: closed on a fresh receiver", "[try_recv]") {
    Receiver<int> receiver;
    CHECK(receiver.try_recv() == RecvError::closed);
    CHECK(receiver.try_recv() == RecvError::closed);
    CHECK(receiver.sender().has_value());
}

// Checks that try_recv reports empty, as often as it is asked, while the
// sender is alive and has not sent; that an empty result does not complete
// the receive (no second sender); and that the value sent afterwards arrives.
TEST_CASE("try_recv: empty while the sender is alive and has not sent", "[try_recv]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    for (int attempt = 0; attempt < 3; ++attempt) CHECK(receiver.try_recv() == RecvError::empty);
    CHECK_FALSE(receiver.sender().has_value());
    sender.send(11);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 11));
}

// Checks that try_recv takes a sent value, exactly once (the Counted is
// destroyed once), and that the completed receive lets sender() hand out the
// next sender, which delivers a new value.
TEST_CASE("try_recv: takes the value and completes the receive", "[try_recv]") {
    const long live_before = Census::live();
    {
        Receiver<Counted> receiver;
        receiver.sender()->send(Counted(4));
        const RecvResult<Counted> first = receiver.try_recv();
        REQUIRE(first.has_value());
        CHECK(first->value() == 4);
        // The value was moved out: a second try_recv finds no sender alive.
        CHECK(receiver.try_recv() == RecvError::closed);

        std::optional<Sender<Counted>> next = receiver.sender();
        REQUIRE(next.has_value());
        next->send(Counted(5));
        const RecvResult<Counted> second = receiver.try_recv();
        REQUIRE(second.has_value());
        CHECK(second->value() == 5);
    }
    CHECK(Census::live() == live_before);
}

// Checks that try_recv reports closed once the sender was destroyed without
// sending, and that sender() then succeeds.
TEST_CASE("try_recv: closed after the sender is destroyed", "[try_recv]") {
    Receiver<int> receiver;
    receiver.sender().reset();
    CHECK(receiver.try_recv() == RecvError::closed);
    std::optional<Sender<int>> next = receiver.sender();
    REQUIRE(next.has_value());
    next->send(6);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 6));
}

// Checks that try_recv after a pending poll_recv reports empty, then the
// value once it was sent, completing the receive.
TEST_CASE("try_recv: after a pending poll", "[try_recv]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CHECK_FALSE(receiver.poll_recv({}).has_value());
    CHECK(receiver.try_recv() == RecvError::empty);
    sender.send(12);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 12));
    CHECK(receiver.sender().has_value());
}

// Checks that try_recv on a moved-from receiver throws usage_error naming
// try_recv and the moved-from receiver.
TEST_CASE("try_recv: on a moved-from receiver throws usage_error", "[try_recv][misuse]") {
    Receiver<int> receiver;
    const Receiver<int> moved_to = std::move(receiver);
    std::string message = "(no usage_error thrown)";
    try {
        (void)receiver.try_recv();
    } catch (const usage_error& error) {
        message = error.what();
    }
    INFO(message);
    CHECK(message.find("try_recv") != std::string::npos);
    CHECK(message.find("moved-from") != std::string::npos);
}

}  // namespace
