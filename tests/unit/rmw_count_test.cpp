// The RMW costs that the documentation states, counted at run time: this
// executable swaps in a sync layer (unit/counting_sync_layer.hpp) whose
// atomics count their read-modify-write operations on the calling thread.
// benchmarks/rmw/check_rmw.py checks the same claims in the compiled code,
// path by path, but cannot tell a first registration from a replacement.
// The claims: poll_recv "costs one load when ready, one RMW to register the
// first waker of a sender's lifetime, two to replace it" (and none to
// re-poll with the registered one); algorithm.md, "Sending costs one RMW
// unless the receiver registers or leaves while the send runs ... where
// std::size_t has 32 bits, two after a registration"; sender() and try_recv()
// make none; poll_closed costs at most two RMWs (a change of waker, or the
// first registration of the channel's lifetime, which installs the block's
// extension), none for a re-poll.

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

// The RMWs of a send after a registration: the shortcut's CAS, or where
// std::size_t has 32 bits (no shortcut) the general path's retry.
constexpr long send_after_registration = sizeof(std::size_t) >= 8 ? 1 : 2;
// The same for a sender's destruction. Without the shortcut it costs three:
// its CAS loop seeds the retry with the state its first CAS replaced, not the
// one it wrote, so the retry's first CAS fails.
constexpr long destroy_after_registration = sizeof(std::size_t) >= 8 ? 1 : 3;

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
// a registration one (the shortcut's CAS; two where std::size_t has 32 bits,
// the retry of the general path), the ready poll none.
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
        CHECK(rmws_of([&] { sender.send(round); }) == send_after_registration);
        CHECK(rmws_of([&] { CHECK(receiver.poll_recv(second)->value() == round); }) == 0);
    }
}

// Checks a sender destroyed after a registration: the shortcut as for send.
TEST_CASE("rmw counts: a sender destroyed after a registration 1", "[rmw]") {
    Receiver<int> receiver;
    int context = 0;
    const Waker waker(&ignore, &context);
    std::optional<Sender<int>> sender = receiver.sender();
    CHECK_FALSE(receiver.poll_recv(waker).has_value());
    CHECK(rmws_of([&] { sender.reset(); }) == destroy_after_registration);
    CHECK(receiver.poll_recv(waker)->error() == multishot::RecvError::closed);
}

// Checks poll_closed: the first registration of a sender's lifetime one RMW
// (two in the channel's lifetime: the first installs the block's extension),
// a re-poll none, a change of waker two (withdraw, then register).
TEST_CASE("rmw counts: poll_closed first waker 1, re-poll 0, another waker 2", "[rmw]") {
    Receiver<int> receiver;
    int first_context = 0;
    int second_context = 0;
    const Waker first(&ignore, &first_context);
    const Waker second(&ignore, &second_context);
    for (int round = 0; round < 2; ++round) {
        INFO("sender " << round);
        Sender<int> sender = *receiver.sender();
        CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(first)); }) == (round == 0 ? 2 : 1));
        CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(first)); }) == 0);
        CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(second)); }) == 2);
        CHECK(rmws_of([&] { CHECK_FALSE(sender.poll_closed(second)); }) == 0);
    }
}

// Checks that the extension is installed once: the first start_recv() of
// the channel's lifetime makes one RMW more than the next one.
TEST_CASE("rmw counts: the extension is installed by the first use only", "[rmw]") {
    Receiver<int> receiver;
    int context = 0;
    const Waker target(&ignore, &context);
    long started[2] = {0, 0};
    for (long& rmws : started) {
        std::optional<Sender<int>> sender = receiver.sender();
        rmws = rmws_of([&] { CHECK_FALSE(receiver.start_recv(target).has_value()); });
        CHECK(receiver.canceller().cancel());
        sender.reset();  // closes: the next sender() succeeds, on the same block
        CHECK(receiver.try_recv() == multishot::RecvError::closed);
    }
    CHECK(started[0] == 4);  // install, arm, register, park
    CHECK(started[1] == 3);
}

}  // namespace
