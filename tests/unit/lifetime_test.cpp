// Destruction counting: whichever half goes first, on whichever thread, every
// value put into a channel is destroyed exactly once. Each scenario uses the
// Counted type and checks that constructions == destructions when it ends.
// (That the shared block itself is freed exactly once is checked by the
// allocation-counting executable and by the ASan and valgrind runs.)

#include "support/catch.hpp"
#include "support/concurrent.hpp"
#include "support/counting.hpp"
#include "support/names.hpp"
#include "support/test_waker.hpp"

#include <multishot.hpp>

#include <optional>
#include <utility>

namespace {

using namespace multishot_test;

// Each round starts a thread: enough rounds to vary the race, few enough for
// the TSan build.
constexpr int concurrent_rounds = 500;

// Fails the test case if a scenario leaked or double-destroyed a Counted.
// Also checks that the scenario constructed some, so that it could fail.
class CensusCheck {
public:
    CensusCheck() : constructions_before_(Census::constructions()), live_before_(Census::live()) {}
    CensusCheck(const CensusCheck&) = delete;
    CensusCheck& operator=(const CensusCheck&) = delete;

    // Counted objects alive now that were not alive when this was created.
    long live_since() const { return Census::live() - live_before_; }

    void verify() const {
        CHECK(Census::constructions() > constructions_before_);
        CHECK(live_since() == 0);
    }

private:
    long constructions_before_;
    long live_before_;
};

// The value of a ready receive (the Counted itself is gone on return).
int receive_ready(Receiver<Counted>& receiver) {
    const PollResult<Counted> result = receiver.poll_recv({});
    REQUIRE(result.has_value());
    REQUIRE(result->has_value());
    return (*result)->value();
}

// Checks that a value sent and never read is destroyed with the receiver,
// whether or not the receiver had polled before the send.
TEST_CASE("lifetime: value unread when the receiver is destroyed", "[lifetime]") {
    const CensusCheck census;
    SECTION("sent before any poll") {
        auto [sender, receiver] = multishot::channel<Counted>();
        sender.send(Counted(1));
        CHECK(census.live_since() == 1);
    }
    SECTION("sent after a pending poll") {
        CountingWaker waker;
        auto [sender, receiver] = multishot::channel<Counted>();
        CHECK_FALSE(receiver.poll_recv(waker.waker()).has_value());
        sender.send(Counted(2));
        CHECK(waker.take_count() == 1);
    }
    SECTION("replaced by move assignment") {
        auto [sender, receiver] = multishot::channel<Counted>();
        sender.send(Counted(3));
        receiver = Receiver<Counted>();
        CHECK(census.live_since() == 0);
    }
    census.verify();
}

// Checks that sender() destroys the value the previous sender left unread.
TEST_CASE("lifetime: value unread when sender() recycles", "[lifetime]") {
    const CensusCheck census;
    Receiver<Counted> receiver;
    receiver.sender()->send(Counted(4));
    CHECK(census.live_since() == 1);
    std::optional<Sender<Counted>> recycled = receiver.sender();
    REQUIRE(recycled.has_value());
    CHECK(census.live_since() == 0);
    recycled->send(Counted(5));
    CHECK(receive_ready(receiver) == 5);
    census.verify();
}

// Checks that a sender outliving its receiver reports the channel closed,
// and that what it then sends is destroyed at once.
TEST_CASE("lifetime: sender sends after the receiver was destroyed", "[lifetime]") {
    const CensusCheck census;
    std::optional<Sender<Counted>> sender;
    {
        Receiver<Counted> receiver;
        sender = receiver.sender();
        CHECK_FALSE(sender->is_closed());
    }
    CHECK(sender->is_closed());
    sender->send(Counted(6));
    CHECK(census.live_since() == 0);
    census.verify();
}

// Checks that a receiver destroyed while it waits (a waker registered) leaves
// the block to the sender, which frees it and never calls the waker.
TEST_CASE("lifetime: receiver destroyed while waiting", "[lifetime]") {
    const CensusCheck census;
    CountingWaker waker;
    std::optional<Sender<Counted>> sender;
    {
        Receiver<Counted> receiver;
        sender = receiver.sender();
        CHECK_FALSE(receiver.poll_recv(waker.waker()).has_value());
    }
    sender->send(Counted(8));
    CHECK(waker.take_count() == 0);
    census.verify();
}

// Checks that a sender move-assigned over an unused one closes the channel of
// the one it replaces.
TEST_CASE("lifetime: sender replaced by move assignment closes its channel", "[lifetime]") {
    const CensusCheck census;
    auto [first_sender, first_receiver] = multishot::channel<Counted>();
    auto [second_sender, second_receiver] = multishot::channel<Counted>();
    first_sender = std::move(second_sender);
    CHECK(first_receiver.poll_recv({}) == RecvResult<Counted>(RecvError::closed));
    first_sender.send(Counted(9));
    CHECK(receive_ready(second_receiver) == 9);
    census.verify();
}

// Checks that destroying both halves at the same moment on two threads
// destroys an already-sent value once, whichever goes first.
TEST_CASE("lifetime: both halves destroyed concurrently with a value sent", "[lifetime][thread]") {
    const CensusCheck census;
    for (int round = 0; round < concurrent_rounds; ++round) {
        std::optional<Receiver<Counted>> receiver(std::in_place);
        std::optional<Sender<Counted>> sender = receiver->sender();
        sender->send(Counted(round));
        run_concurrently([&] { sender.reset(); }, [&] { receiver.reset(); }, stagger_for(round));
    }
    census.verify();
}

// Checks that destroying an unused sender and the receiver (idle, or waiting
// with a registered waker) concurrently wakes the receiver at most once: only
// if the sender went first. (That the block is freed exactly once is for the
// sanitizers and the allocation-counting executable to see.)
TEST_CASE("lifetime: both halves destroyed concurrently with nothing sent", "[lifetime][thread]") {
    const bool poll_first = GENERATE(false, true);
    CountingWaker waker;
    for (int round = 0; round < concurrent_rounds; ++round) {
        std::optional<Receiver<Counted>> receiver(std::in_place);
        std::optional<Sender<Counted>> sender = receiver->sender();
        if (poll_first) CHECK_FALSE(receiver->poll_recv(waker.waker()).has_value());
        run_concurrently([&] { sender.reset(); }, [&] { receiver.reset(); }, stagger_for(round));
        CHECK(waker.take_count() <= (poll_first ? 1u : 0u));
    }
}

// Checks that a send racing the receiver's destruction destroys the value
// exactly once: by the receiver if the send came first, else by the sender.
TEST_CASE("lifetime: send racing receiver destruction", "[lifetime][thread]") {
    const CensusCheck census;
    const bool poll_first = GENERATE(false, true);
    CountingWaker waker;
    for (int round = 0; round < concurrent_rounds; ++round) {
        std::optional<Receiver<Counted>> receiver(std::in_place);
        Sender<Counted> sender = *receiver->sender();
        if (poll_first) CHECK_FALSE(receiver->poll_recv(waker.waker()).has_value());
        run_concurrently([&] { sender.send(Counted(round)); }, [&] { receiver.reset(); },
                         stagger_for(round));
        CHECK(waker.take_count() <= (poll_first ? 1u : 0u));
    }
    census.verify();
}

// Checks that a send racing a poll neither leaks nor double-destroys when
// the channel is then recycled: a ready poll yields the value and no wake-up;
// a pending one leaves the value unread, the waker called once, and the next
// sender() destroys the value.
TEST_CASE("lifetime: send racing a poll then recycle", "[lifetime][thread]") {
    const CensusCheck census;
    CountingWaker waker;
    {
        Receiver<Counted> receiver;
        for (int round = 0; round < concurrent_rounds; ++round) {
            Sender<Counted> sender = *receiver.sender();
            CHECK(census.live_since() == 0);
            PollResult<Counted> result;
            run_concurrently([&] { sender.send(Counted(round)); },
                             [&] { result = receiver.poll_recv(waker.waker()); },
                             stagger_for(round));
            if (result.has_value()) {
                CHECK(result->value().value() == round);
                CHECK(waker.take_count() == 0);
            } else {
                CHECK(census.live_since() == 1);
                CHECK(waker.take_count() == 1);
            }
        }
    }
    census.verify();
}

}  // namespace
