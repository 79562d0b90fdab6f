// The RMW costs that the documentation states, counted at run time: this
// executable swaps in a sync layer (unit/counting_sync_layer.hpp) whose
// atomics count their read-modify-write operations on the calling thread.
// benchmarks/rmw/check_rmw.py checks the same claims in the compiled code,
// path by path, but cannot tell a first registration from a replacement.
// The claims: poll_recv "costs one load when ready, one RMW to register the
// first waker of a sender's lifetime, two to replace it" (and none to
// re-poll with the registered one); algorithm.md, "Sending costs one RMW
// when no waker changed, typically two otherwise"; sender() and try_recv()
// make none; poll_closed costs at most two RMWs (a change of waker), none
// for a re-poll.

#define MULTISHOT_SYNC_LAYER "unit/counting_sync_layer.hpp"

#include "support/catch.hpp"

#include <multishot.hpp>

#include <optional>
#include <utility>

namespace {

using multishot::Receiver;
using multishot::Sender;
using multishot::Waker;
using multishot_test::rmw_count;

// The RMWs the calling thread makes while running `operation`.
template <class Operation>
long rmws_of(Operation&& operation) {
    const long before = rmw_count;
    std::forward<Operation>(operation)();
    return rmw_count - before;
}

void ignore(void*) noexcept {}

// Checks the counting layer itself: the channel's atomics are its, so a send
// counts (otherwise every count below would be 0 and prove nothing).
TEST_CASE("rmw counts: the counting layer sees the channel's RMWs", "[rmw]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CHECK(rmws_of([&] { sender.send(1); }) > 0);
}

// Checks sender(), a send with no waker registered, and the ready receives.
TEST_CASE("rmw counts: sender() 0, send with no waker change 1, ready receive 0", "[rmw]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender;
    CHECK(rmws_of([&] { sender = receiver.sender(); }) == 0);
    CHECK(rmws_of([&] { sender->send(1); }) == 1);
    CHECK(rmws_of([&] { CHECK(receiver.poll_recv({})->value() == 1); }) == 0);

    sender = receiver.sender();
    CHECK(rmws_of([&] { CHECK(sender->try_send(2) == std::nullopt); }) == 1);
    CHECK(rmws_of([&] { CHECK(receiver.try_recv().value() == 2); }) == 0);

    // A poll with the empty waker that sender() left in slot 0 registers
    // nothing: it is a re-poll, and the send still needs one RMW.
    sender = receiver.sender();
    CHECK(rmws_of([&] { CHECK_FALSE(receiver.poll_recv({}).has_value()); }) == 0);
    CHECK(rmws_of([&] { sender->send(3); }) == 1);
    CHECK(rmws_of([&] { CHECK(receiver.try_recv().value() == 3); }) == 0);
}

// Checks the poll layer's registrations: the first waker of a sender's
// lifetime one RMW, a re-poll with it none, another waker two; a send after
// a registration two (the newer waker makes it retry), the ready poll none.
TEST_CASE("rmw counts: the first waker 1, a re-poll 0, another waker 2", "[rmw]") {
    Receiver<int> receiver;
    int first_context = 0;
    int second_context = 0;
    const Waker first(&ignore, &first_context);
    const Waker second(&ignore, &second_context);
    for (int round = 0; round < 2; ++round) {
        INFO("sender " << round);
        Sender<int> sender = *receiver.sender();
        CHECK(rmws_of([&] { CHECK_FALSE(receiver.poll_recv(first).has_value()); }) == 1);
        CHECK(rmws_of([&] { CHECK_FALSE(receiver.poll_recv(first).has_value()); }) == 0);
        CHECK(rmws_of([&] { CHECK_FALSE(receiver.poll_recv(second).has_value()); }) == 2);
        CHECK(rmws_of([&] { CHECK_FALSE(receiver.poll_recv(second).has_value()); }) == 0);
        CHECK(rmws_of([&] { sender.send(round); }) == 2);
        CHECK(rmws_of([&] { CHECK(receiver.poll_recv(second)->value() == round); }) == 0);
    }
}

// Checks poll_closed: the first registration one RMW, a re-poll none, a
// change of waker two (withdraw, then register).
TEST_CASE("rmw counts: poll_closed first waker 1, re-poll 0, another waker 2", "[rmw]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    int first_context = 0;
    int second_context = 0;
    const Waker first(&ignore, &first_context);
    const Waker second(&ignore, &second_context);
    CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(first)); }) == 1);
    CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(first)); }) == 0);
    CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(second)); }) == 2);
    CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(second)); }) == 0);
}

}  // namespace
