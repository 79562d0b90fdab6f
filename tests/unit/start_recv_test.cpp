// Receiver::start_recv(target) and RecvCanceller: the cancellable poll layer.
// A pending receive ends in exactly one of two ways: the sender calls the
// target once, or cancel() claims it and the target is never called; either
// way the value is received exactly once, by try_recv().

#include "support/catch.hpp"
#include "support/counting.hpp"
#include "support/names.hpp"
#include "support/race_partner.hpp"
#include "support/test_waker.hpp"

#include <multishot.hpp>

#include <array>
#include <optional>
#include <string>
#include <utility>

namespace {

// A receiver is one pointer in every build, assertions on or off: no layout
// depends on NDEBUG (README, "Across binaries"). This file is built without
// NDEBUG, where the debug flag of a suspended co_await once made it larger.
static_assert(sizeof(multishot::Receiver<int>) == sizeof(void*));
static_assert(sizeof(multishot::Receiver<void>) == sizeof(void*));
static_assert(sizeof(multishot::Sender<int>) == sizeof(void*));

// The model checker's access shadows take no space outside the model build
// ([[no_unique_address]]): the shared block's cells are exactly their values.
static_assert(sizeof(multishot::detail::SharedCell<multishot::Waker>) ==
              sizeof(multishot::Waker));
static_assert(sizeof(multishot::detail::ValueSlot<int>) == sizeof(int));
static_assert(sizeof(multishot::detail::ValueSlot<long double>) == sizeof(long double));

using namespace multishot_test;

// Checks that a receive whose value is already there completes at once and
// never calls the target, and that one on a fresh receiver completes with
// closed.
// The shared block's size as the README's B5 table states it (64 bytes for
// T = int and void, 96 for std::string from libstdc++), and its extension's
// (64 bytes with the futex wait), on a 64-bit build. Elsewhere the figures
// differ (32-bit pointers, libc++'s string, the portable wait's mutex and
// condition variable in the extension).
TEST_CASE("the shared block is the size the README states", "[footprint]") {
    if constexpr (sizeof(void*) != 8) {
        WARN("skipped: the README's figures are for a 64-bit build");
        return;
    }
    CHECK(sizeof(multishot::detail::Block<int>) == 64);
    CHECK(sizeof(multishot::detail::Block<void>) == 64);
#if defined(_GLIBCXX_RELEASE)
    CHECK(sizeof(multishot::detail::Block<std::string>) == 96);
#endif
    // A T of up to 6 bytes shares the cache line with the two debug flags.
    CHECK(sizeof(multishot::detail::Block<std::array<char, 6>>) == 64);
    CHECK(sizeof(multishot::detail::Block<std::array<char, 7>>) == 72);
    if constexpr (MULTISHOT_FUTEX_WAIT) CHECK(sizeof(multishot::detail::Extension) == 64);
}

TEST_CASE("start_recv: ready at once without calling the target", "[start_recv]") {
    CountingWaker target;
    Receiver<int> receiver;
    const auto fresh = receiver.start_recv(target.waker());
    REQUIRE(fresh.has_value());
    CHECK(*fresh == RecvError::closed);

    receiver.sender()->send(5);
    const auto ready = receiver.start_recv(target.waker());
    REQUIRE(ready.has_value());
    CHECK(*ready == RecvResult<int>(std::in_place, 5));
    CHECK(target.take_count() == 0);
}

// Checks that a pending receive calls the target exactly once when the value
// is sent, after which try_recv returns it and a late cancel() does nothing.
TEST_CASE("start_recv: the sender calls the target once", "[start_recv]") {
    CountingWaker target;
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CHECK_FALSE(receiver.start_recv(target.waker()).has_value());
    const RecvCanceller canceller = receiver.canceller();
    CHECK(target.take_count() == 0);
    sender.send(7);
    CHECK(target.take_count() == 1);
    CHECK_FALSE(canceller.cancel());
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 7));
    CHECK(target.take_count() == 0);
    CHECK(receiver.sender().has_value());
}

// Checks that a sender destroyed without sending calls the target, and the
// receive then completes with closed.
TEST_CASE("start_recv: a dropped sender calls the target", "[start_recv]") {
    CountingWaker target;
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    CHECK_FALSE(receiver.start_recv(target.waker()).has_value());
    sender.reset();
    CHECK(target.take_count() == 1);
    CHECK(receiver.try_recv() == RecvError::closed);
}

// Checks that cancel() withdraws a pending receive: it returns true once, the
// target is never called (not even when the value comes later), and the
// receive stays open: the value sent afterwards is received by the next
// receive, which may be start_recv again.
TEST_CASE("start_recv: cancel withdraws the receive and keeps it open", "[start_recv]") {
    CountingWaker target;
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CHECK_FALSE(receiver.start_recv(target.waker()).has_value());
    const RecvCanceller canceller = receiver.canceller();
    CHECK(canceller.cancel());
    CHECK_FALSE(canceller.cancel());
    CHECK(receiver.try_recv() == RecvError::empty);
    sender.send(9);
    CHECK(target.take_count() == 0);
    const auto again = receiver.start_recv(target.waker());
    REQUIRE(again.has_value());
    CHECK(*again == RecvResult<int>(std::in_place, 9));
    CHECK(target.take_count() == 0);
}

// Checks that a receive cancelled and started again is woken by the sender
// (the second target, once), and that a canceller taken for the first
// sender's receive cannot cancel the next sender's.
TEST_CASE("start_recv: cancel then wait again and an old canceller is inert", "[start_recv]") {
    CountingWaker first;
    CountingWaker second;
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CHECK_FALSE(receiver.start_recv(first.waker()).has_value());
    REQUIRE(receiver.canceller().cancel());
    CHECK_FALSE(receiver.start_recv(second.waker()).has_value());
    sender.send(1);
    CHECK(first.take_count() == 0);
    CHECK(second.take_count() == 1);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 1));

    const RecvCanceller old = receiver.canceller();
    Sender<int> next = *receiver.sender();
    CHECK_FALSE(receiver.start_recv(first.waker()).has_value());
    CHECK_FALSE(old.cancel());
    next.send(2);
    CHECK(first.take_count() == 1);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 2));
}

// Checks the canceller's naming of its sender when the receives in between
// never wait. One taken for a sender whose receive never waited (before the
// block had any wait cell) stays inert through later senders that nobody
// named, and cannot cancel the receive of the sender that finally waits; one
// taken before start_recv, with no sender() in between, cancels it.
TEST_CASE("start_recv: a canceller names its sender across receives that never wait",
          "[start_recv]") {
    CountingWaker target;
    Receiver<int> receiver;
    receiver.sender()->send(0);
    const RecvCanceller stale = receiver.canceller();
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 0));
    for (int round = 1; round < 4; ++round) {
        receiver.sender()->send(round);
        CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, round));
    }
    Sender<int> waited_for = *receiver.sender();
    const RecvCanceller early = receiver.canceller();
    CHECK_FALSE(receiver.start_recv(target.waker()).has_value());
    CHECK_FALSE(stale.cancel());
    CHECK(early.cancel());
    waited_for.send(4);
    CHECK(target.take_count() == 0);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 4));
}

// Checks that start_recv on a moved-from receiver throws usage_error.
TEST_CASE("start_recv: moved-from receiver throws", "[start_recv]") {
    Receiver<int> receiver;
    Receiver<int> moved_to = std::move(receiver);
    CountingWaker target;
    CHECK_THROWS_AS(receiver.start_recv(target.waker()), multishot::usage_error);
}

// Races cancel() on one thread against send() on another, 2000 rounds: in
// every round exactly one of them wins (the target called once and cancel
// false, or cancel true and the target never called), and the value is
// received exactly once, afterwards, by try_recv. Counted checks that no
// value leaks or is destroyed twice.
TEST_CASE("start_recv: cancel races send exactly once", "[start_recv][race]") {
    const long live_before = Census::live();
    multishot_test::RacePartner partner;
    Receiver<Counted> receiver;
    int cancelled = 0;
    int woken = 0;
    for (int round = 0; round < 2000; ++round) {
        CountingWaker target;
        Sender<Counted> sender = *receiver.sender();
        REQUIRE_FALSE(receiver.start_recv(target.waker()).has_value());
        const RecvCanceller canceller = receiver.canceller();
        bool won = false;
        partner.race([&] { sender.send(Counted(round)); }, [&] { won = canceller.cancel(); },
                     round % 7 - 3);
        const std::size_t calls = target.take_count();
        REQUIRE(calls == (won ? 0U : 1U));
        (won ? cancelled : woken) += 1;
        const RecvResult<Counted> result = receiver.try_recv();
        REQUIRE(result.has_value());
        REQUIRE(result->value() == round);
    }
    CHECK(cancelled + woken == 2000);
    CHECK(Census::live() == live_before);
}

}  // namespace
