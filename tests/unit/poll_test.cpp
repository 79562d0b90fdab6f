// The scenarios of the Rust crate's own unit tests (multishot 0.3.2, its
// `mod tests` and its Loom tests), ported to the poll layer with counting
// wakers: send / drop before the first poll and after it, after changing the
// waker once and twice, on this thread and on another, and the concurrent
// versions in which the sender acts while the receiver polls.

#include "support/catch.hpp"
#include "support/concurrent.hpp"
#include "support/names.hpp"
#include "support/test_waker.hpp"

#include <multishot.hpp>

#include <thread>
#include <utility>

namespace {

using namespace multishot_test;

// How a scenario consumes its sender, and what the receiver must then get.
struct Consumption {
    const char* description;
    void (*consume)(Sender<int>);
    bool on_another_thread;
    RecvResult<int> expected;
};

void send_42(Sender<int> sender) { sender.send(42); }
void destroy(Sender<int> sender) { (void)sender; }  // destroyed on return

const Consumption consumptions[] = {
    {"send on this thread", &send_42, false, RecvResult<int>(std::in_place, 42)},
    {"destroy on this thread", &destroy, false, RecvError::closed},
    {"send on another thread", &send_42, true, RecvResult<int>(std::in_place, 42)},
    {"destroy on another thread", &destroy, true, RecvError::closed},
};

void consume(const Consumption& how, Sender<int> sender) {
    if (!how.on_another_thread) return how.consume(std::move(sender));
    std::thread([&] { how.consume(std::move(sender)); }).join();
}

// The concurrent scenarios only make sense across threads.
const Consumption concurrent_consumptions[] = {consumptions[2], consumptions[3]};

// Enough rounds for the sender to land between each pair of the receiver's
// steps many times, short enough for the sanitizer builds.
constexpr int concurrent_rounds = 1000;
// The recycling test starts two threads a round.
constexpr int recycle_rounds = 500;

// Checks that sending or destroying the sender before the first poll makes
// that poll ready, without calling the waker.
TEST_CASE("poll: consumed before the first poll makes the first poll ready", "[poll]") {
    Receiver<int> receiver;
    CountingWaker waker;
    for (const Consumption& how : consumptions) {
        INFO(how.description);
        consume(how, *receiver.sender());
        const PollResult<int> result = receiver.poll_recv(waker.waker());
        REQUIRE(result.has_value());
        CHECK(*result == how.expected);
        CHECK(waker.take_count() == 0);
    }
}

// Checks that a pending poll's waker is called exactly once when the sender
// sends or is destroyed, and that the next poll is then ready.
TEST_CASE("poll: consumed after a pending poll calls the waker once", "[poll]") {
    Receiver<int> receiver;
    CountingWaker waker;
    for (const Consumption& how : consumptions) {
        INFO(how.description);
        Sender<int> sender = *receiver.sender();
        CHECK_FALSE(receiver.poll_recv(waker.waker()).has_value());
        consume(how, std::move(sender));
        CHECK(waker.take_count() == 1);
        const PollResult<int> result = receiver.poll_recv(waker.waker());
        REQUIRE(result.has_value());
        CHECK(*result == how.expected);
        CHECK(waker.take_count() == 0);
    }
}

// Checks that after the waker changed once, only the newest waker is called,
// and that a ready poll (here with the older waker) calls none.
TEST_CASE("poll: after changing the waker once only the newest is called", "[poll]") {
    CountingWaker first;
    CountingWaker second;
    for (const Consumption& how : consumptions) {
        INFO(how.description);
        auto [sender, receiver] = multishot::channel<int>();
        CHECK_FALSE(receiver.poll_recv(first.waker()).has_value());
        CHECK_FALSE(receiver.poll_recv(second.waker()).has_value());
        consume(how, std::move(sender));
        CHECK(second.take_count() == 1);
        const PollResult<int> result = receiver.poll_recv(first.waker());
        CHECK(first.take_count() == 0);
        CHECK(second.take_count() == 0);
        REQUIRE(result.has_value());
        CHECK(*result == how.expected);
    }
}

// Checks the same after the waker changed twice (the second change reuses
// the first waker slot).
TEST_CASE("poll: after changing the waker twice only the newest is called", "[poll]") {
    CountingWaker first;
    CountingWaker second;
    CountingWaker third;
    for (const Consumption& how : consumptions) {
        INFO(how.description);
        auto [sender, receiver] = multishot::channel<int>();
        CHECK_FALSE(receiver.poll_recv(first.waker()).has_value());
        CHECK_FALSE(receiver.poll_recv(second.waker()).has_value());
        CHECK_FALSE(receiver.poll_recv(third.waker()).has_value());
        consume(how, std::move(sender));
        CHECK(third.take_count() == 1);
        const PollResult<int> result = receiver.poll_recv(second.waker());
        CHECK(first.take_count() == 0);
        CHECK(second.take_count() == 0);
        REQUIRE(result.has_value());
        CHECK(*result == how.expected);
    }
}

// Checks that re-polling with the waker already registered keeps it
// registered: it is still called once.
TEST_CASE("poll: re-polling with the same waker keeps it registered", "[poll]") {
    CountingWaker waker;
    for (const Consumption& how : consumptions) {
        INFO(how.description);
        auto [sender, receiver] = multishot::channel<int>();
        CHECK_FALSE(receiver.poll_recv(waker.waker()).has_value());
        CHECK_FALSE(receiver.poll_recv(waker.waker()).has_value());
        consume(how, std::move(sender));
        CHECK(waker.take_count() == 1);
        const PollResult<int> result = receiver.poll_recv(waker.waker());
        REQUIRE(result.has_value());
        CHECK(*result == how.expected);
    }
}

// One poll of the concurrent scenarios (the Rust crate's Loom helper
// `try_complete`): polls with `current` and returns true if the receive
// completed, by this poll or by the next one. After a pending poll, `other`
// (an older waker) must not have been called, and if `current` was called
// the next poll must be ready.
bool try_complete(Receiver<int>& receiver, CountingWaker& current, CountingWaker& other,
                  const RecvResult<int>& expected) {
    const PollResult<int> result = receiver.poll_recv(current.waker());
    if (result.has_value()) {
        CHECK(*result == expected);
        return true;
    }
    CHECK(other.take_count() == 0);
    const std::size_t calls = current.take_count();
    if (calls == 0) return false;
    CHECK(calls == 1);
    const PollResult<int> next = receiver.poll_recv(other.waker());
    CHECK(current.take_count() == 0);
    CHECK(other.take_count() == 0);
    REQUIRE(next.has_value());
    CHECK(*next == expected);
    return true;
}

// Polls until the receive completes, alternating between two wakers (each
// poll but the first replaces the waker), with try_complete's checks after
// every poll. Yields now and then, in case the sender's thread is not
// running.
void poll_alternating_until_complete(Receiver<int>& receiver, CountingWaker& first,
                                     CountingWaker& second, const RecvResult<int>& expected) {
    for (int poll = 0;; ++poll) {
        const bool done = poll % 2 == 0 ? try_complete(receiver, first, second, expected)
                                        : try_complete(receiver, second, first, expected);
        if (done) return;
        if (poll % 64 == 63) std::this_thread::yield();
    }
}

// Checks, with the sender consumed on another thread while the receiver
// polls and changes its waker at every poll, that a notified waker always
// means the next poll is ready, and that no waker other than the newest is
// ever called after a pending poll. The staggered start moves the sender's
// action across the receiver's polls from round to round.
TEST_CASE("poll: consumed while the receiver polls and changes its waker", "[poll][thread]") {
    for (const Consumption& how : concurrent_consumptions) {
        INFO(how.description);
        for (int round = 0; round < concurrent_rounds; ++round) {
            CountingWaker first;
            CountingWaker second;
            auto [sender, receiver] = multishot::channel<int>();
            run_concurrently(
                [&, &sender = sender] { how.consume(std::move(sender)); },
                [&, &receiver = receiver] {
                    poll_alternating_until_complete(receiver, first, second, how.expected);
                },
                stagger_for(round));
        }
    }
}

// Completes a receive whose sender is being consumed on another thread:
// polls once while it runs and, if that poll was pending, again after it
// finished, when the waker must have been called exactly once.
RecvResult<int> receive_racing(Receiver<int>& receiver, CountingWaker& waker,
                               void (*consume)(Sender<int>), Sender<int> sender, int stagger) {
    PollResult<int> result;
    run_concurrently([&] { consume(std::move(sender)); },
                     [&] { result = receiver.poll_recv(waker.waker()); }, stagger);
    if (!result.has_value()) {
        CHECK(waker.take_count() == 1);
        result = receiver.poll_recv(waker.waker());
        REQUIRE(result.has_value());
    }
    return std::move(*result);
}

// Checks that once a receive completed, sender() recycles the channel at
// once, whether the previous sender sent or was destroyed while the receiver
// polled, and that the recycled sender delivers its value.
TEST_CASE("poll: recycled after a sender consumed concurrently", "[poll][thread]") {
    for (const Consumption& how : concurrent_consumptions) {
        INFO(how.description);
        for (int round = 0; round < recycle_rounds; ++round) {
            CountingWaker waker;
            auto [sender, receiver] = multishot::channel<int>();
            CHECK(receive_racing(receiver, waker, how.consume, std::move(sender),
                                 stagger_for(round)) == how.expected);
            std::optional<Sender<int>> recycled = receiver.sender();
            REQUIRE(recycled.has_value());
            auto send_13 = [](Sender<int> s) { s.send(13); };
            CHECK(receive_racing(receiver, waker, send_13, std::move(*recycled),
                                 stagger_for(round + 32)) ==
                  RecvResult<int>(std::in_place, 13));
            CHECK(waker.take_count() == 0);
        }
    }
}

}  // namespace
