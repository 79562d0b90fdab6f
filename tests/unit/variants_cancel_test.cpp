// co_await r.recv(std::stop_token): a stop request ends the wait with
// RecvError::cancelled. The coroutine is resumed exactly once, by the sender
// or by the thread that requests stop, and after a cancellation the same
// receiver receives the value that comes later.
//
// The coroutines here record what their receives produced in a Probe and
// then park at a last suspension point that nobody resumes: a second or
// stale resumption would run past it and be counted.

#include "support/catch.hpp"
#include "support/concurrent.hpp"
#include "support/counting.hpp"
#include "support/names.hpp"
#include "support/race_partner.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <coroutine>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace multishot_test;

// Enough rounds to vary the race, few enough for the TSan build.
constexpr int racing_rounds = 2000;

// What a coroutine's receives produced, written by the coroutine on whichever
// thread resumed it and read by the test after that thread was joined (or on
// the same thread), so plain fields suffice.
template <class T>
struct Probe {
    std::vector<RecvResult<T>> results;
    std::thread::id resumed_on;
    int stale_resumptions = 0;  // resumptions after the coroutine parked

    void record(RecvResult<T> result) {
        results.push_back(std::move(result));
        resumed_on = std::this_thread::get_id();
    }
    bool cancelled_last() const { return results.back() == RecvError::cancelled; }
};

// How a coroutine receives again after a cancellation.
enum class Again { never, plain, with_token };

// Receives with `token`; if cancelled, receives once more as `again` says
// (co_await recv(), or recv(again_token)). Then parks for good.
template <class T>
Task<> receive_and_park(Receiver<T>& receiver, std::stop_token token, Probe<T>& probe,
                        Again again = Again::never, std::stop_token again_token = {}) {
    probe.record(co_await receiver.recv(std::move(token)));
    if (probe.cancelled_last() && again == Again::plain) {
        probe.record(co_await receiver.recv());
    } else if (probe.cancelled_last() && again == Again::with_token) {
        probe.record(co_await receiver.recv(std::move(again_token)));
    }
    co_await std::suspend_always{};
    ++probe.stale_resumptions;
}

// Receives with co_await recv(), then parks for good.
template <class T>
Task<> receive_plain_and_park(Receiver<T>& receiver, Probe<T>& probe) {
    probe.record(co_await receiver.recv());
    co_await std::suspend_always{};
    ++probe.stale_resumptions;
}

using Results = std::vector<RecvResult<int>>;

RecvResult<int> value(int v) { return RecvResult<int>(std::in_place, v); }

// Runs `action` on a new thread, joins it, and returns that thread's id.
template <class Action>
std::thread::id run_on_another_thread(Action action) {
    std::thread thread(std::move(action));
    const std::thread::id id = thread.get_id();
    thread.join();
    return id;
}

// Checks that a stop requested on another thread while the coroutine is
// suspended resumes it once, on that thread, with cancelled; that the receive
// stays open (no new sender); and that the same receiver then receives the
// value, sent before or after it waits again, with co_await recv() and with
// co_await recv(token2).
TEST_CASE("cancel: stop requested while suspended then the value received", "[cancel]") {
    const Again again = GENERATE(Again::plain, Again::with_token);
    const bool send_before_waiting_again = GENERATE(false, true);
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    std::stop_source stop;
    Probe<int> first;
    const Task<> first_task = receive_and_park(receiver, stop.get_token(), first);
    REQUIRE(first.results.empty());

    const std::thread::id requester = run_on_another_thread([&stop] { stop.request_stop(); });
    CHECK(first.results == Results{RecvError::cancelled});
    CHECK(first.resumed_on == requester);
    CHECK_FALSE(receiver.sender().has_value());

    if (send_before_waiting_again) sender.send(31);
    const std::stop_source never;
    Probe<int> second;
    const Task<> second_task = again == Again::plain
                                   ? receive_plain_and_park(receiver, second)
                                   : receive_and_park(receiver, never.get_token(), second);
    if (!send_before_waiting_again) {
        CHECK(second.results.empty());
        sender.send(31);
    }
    CHECK(second.results == Results{value(31)});
    CHECK(first.results == Results{RecvError::cancelled});
    CHECK(first.stale_resumptions == 0);
    CHECK(second.stale_resumptions == 0);
    CHECK(receiver.sender().has_value());
}

// Checks that a stop requested before the await completes it at once with
// cancelled while the sender is alive and has not acted, leaving the receive
// open for the value sent later; and that a sender that already sent or was
// destroyed wins over the stop request (the value, or closed).
TEST_CASE("cancel: stop requested before the await", "[cancel]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    std::stop_source stop;
    stop.request_stop();
    Probe<int> probe;
    SECTION("nothing there yet: cancelled at once") {
        const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
        CHECK(probe.results == Results{RecvError::cancelled});
        CHECK(probe.resumed_on == std::this_thread::get_id());
        sender->send(32);
        CHECK(receiver.try_recv() == value(32));
    }
    SECTION("the value is there: the value wins") {
        sender->send(33);
        const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
        CHECK(probe.results == Results{value(33)});
    }
    SECTION("the sender was destroyed: closed wins") {
        sender.reset();
        const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
        CHECK(probe.results == Results{RecvError::closed});
    }
    CHECK(probe.stale_resumptions == 0);
    CHECK(receiver.sender().has_value());
}

// Checks that a stop requested after the sender resumed the coroutine with
// the value changes nothing: no second resumption, and the result stays the
// value.
TEST_CASE("cancel: stop requested after the value arrived", "[cancel]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    std::stop_source stop;
    Probe<int> probe;
    const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
    REQUIRE(probe.results.empty());
    sender.send(34);
    CHECK(probe.results == Results{value(34)});
    stop.request_stop();
    CHECK(probe.results == Results{value(34)});
    CHECK(probe.stale_resumptions == 0);
}

// Checks that destroying the sender while the coroutine waits resumes it on
// the destroying thread with closed, and that a stop requested afterwards
// does not resume it again.
TEST_CASE("cancel: sender destroyed while waiting", "[cancel]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    std::stop_source stop;
    Probe<int> probe;
    const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
    REQUIRE(probe.results.empty());
    const std::thread::id destroyer = run_on_another_thread([&sender] { sender.reset(); });
    CHECK(probe.results == Results{RecvError::closed});
    CHECK(probe.resumed_on == destroyer);
    stop.request_stop();
    CHECK(probe.stale_resumptions == 0);
    CHECK(receiver.sender().has_value());
}

// Checks that a token whose stop can never be requested behaves like plain
// co_await recv(): suspended, then resumed with the value by the sender.
TEST_CASE("cancel: a token without a stop source waits like recv()", "[cancel]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    Probe<int> probe;
    const Task<> task = receive_and_park(receiver, std::stop_token{}, probe);
    REQUIRE(probe.results.empty());
    sender.send(35);
    CHECK(probe.results == Results{value(35)});
}

// Checks that after a cancellation the receiver may be destroyed while the
// sender is alive, and the value sent afterwards is destroyed exactly once
// (the block is freed by the sender: for ASan to check).
TEST_CASE("cancel: receiver destroyed after a cancellation then the sender sends", "[cancel]") {
    const long live_before = Census::live();
    std::optional<Sender<Counted>> sender;
    {
        Receiver<Counted> receiver;
        sender = receiver.sender();
        std::stop_source stop;
        Probe<Counted> probe;
        const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
        stop.request_stop();
        CHECK(probe.cancelled_last());
    }
    CHECK(sender->is_closed());
    sender->send(Counted(36));
    CHECK(Census::live() == live_before);
}

// Checks that co_await recv(token) on a moved-from receiver throws
// usage_error into the coroutine.
TEST_CASE("cancel: on a moved-from receiver throws usage_error", "[cancel][misuse]") {
    Receiver<int> receiver;
    const Receiver<int> moved_to = std::move(receiver);
    CHECK_THROWS_AS(receiver.recv(std::stop_token{}), usage_error);
}

// --- Races ------------------------------------------------------------------

// Races a stop request against `consume` (a send or a drop): one on the
// partner thread, the other on the calling thread (which started the
// coroutine and is now free); they swap places every other round. Each
// records its thread.
template <class Consume>
void race_stop_against(RacePartner& partner, std::stop_source& stop, Consume consume, int round,
                       std::thread::id& requester, std::thread::id& consumer) {
    auto request_stop = [&] {
        requester = std::this_thread::get_id();
        stop.request_stop();
    };
    auto consume_noting_thread = [&] {
        consumer = std::this_thread::get_id();
        consume();
    };
    if (round % 2 == 0) {
        partner.race(request_stop, consume_noting_thread, stagger_for(round));
    } else {
        partner.race(consume_noting_thread, request_stop, stagger_for(round));
    }
}

// Checks that request_stop racing send resumes the suspended coroutine
// exactly once, on the winner's thread, and that every value is received
// exactly once: by the cancellable await, or after cancelled by a follow-up
// receive. Every Counted is destroyed exactly once.
TEST_CASE("cancel: request_stop racing send", "[cancel][thread]") {
    const long constructions_before = Census::constructions();
    const long live_before = Census::live();
    int cancelled = 0;
    {
        RacePartner partner;
        Receiver<Counted> receiver;
        for (int round = 0; round < racing_rounds; ++round) {
            Sender<Counted> sender = *receiver.sender();
            std::stop_source stop;
            Probe<Counted> probe;
            const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
            REQUIRE(probe.results.empty());
            std::thread::id requester;
            std::thread::id sending_thread;
            race_stop_against(partner, stop, [&] { sender.send(Counted(round)); }, round,
                              requester, sending_thread);
            REQUIRE(probe.results.size() == 1);
            REQUIRE(probe.stale_resumptions == 0);
            RecvResult<Counted> result = std::move(probe.results.front());
            if (result == RecvError::cancelled) {
                ++cancelled;
                REQUIRE(probe.resumed_on == requester);
                result = receiver.try_recv();
            } else {
                REQUIRE(probe.resumed_on == sending_thread);
            }
            REQUIRE(result.has_value());
            REQUIRE(result->value() == round);
        }
    }
    INFO("rounds cancelled first: " << cancelled);
    CHECK(Census::constructions() > constructions_before);
    CHECK(Census::live() == live_before);
}

// Checks that request_stop racing the sender's destruction resumes the
// coroutine exactly once, with cancelled (then a follow-up receive gets
// closed) or with closed.
TEST_CASE("cancel: request_stop racing sender destruction", "[cancel][thread]") {
    RacePartner partner;
    Receiver<int> receiver;
    for (int round = 0; round < racing_rounds; ++round) {
        std::optional<Sender<int>> sender = receiver.sender();
        std::stop_source stop;
        Probe<int> probe;
        const Task<> task = receive_and_park(receiver, stop.get_token(), probe);
        REQUIRE(probe.results.empty());
        std::thread::id requester;
        std::thread::id destroyer;
        race_stop_against(partner, stop, [&] { sender.reset(); }, round, requester, destroyer);
        REQUIRE(probe.results.size() == 1);
        REQUIRE(probe.stale_resumptions == 0);
        if (probe.cancelled_last()) {
            REQUIRE(probe.resumed_on == requester);
            REQUIRE(receiver.try_recv() == RecvError::closed);
        } else {
            REQUIRE(probe.results.front() == RecvError::closed);
            REQUIRE(probe.resumed_on == destroyer);
        }
    }
}

// Checks request_stop racing the start of a cancellable await: the stop
// lands before the await, while the coroutine arms and parks, or after it
// parked. Whichever, the coroutine completes exactly once, with cancelled,
// and the receive stays open for the value sent afterwards.
TEST_CASE("cancel: request_stop racing the start of the await", "[cancel][thread]") {
    RacePartner partner;
    Receiver<int> receiver;
    for (int round = 0; round < racing_rounds; ++round) {
        Sender<int> sender = *receiver.sender();
        std::stop_source stop;
        Probe<int> probe;
        std::optional<Task<>> task;
        partner.race([&stop] { stop.request_stop(); },
                     [&] { task.emplace(receive_and_park(receiver, stop.get_token(), probe)); },
                     stagger_for(round));
        REQUIRE(probe.results == Results{RecvError::cancelled});
        REQUIRE(probe.stale_resumptions == 0);
        sender.send(round);
        REQUIRE(receiver.try_recv() == value(round));
    }
}

// Checks a send racing the start of a cancellable await whose stop is never
// requested: the coroutine completes exactly once, with the value, whether
// the value was there before the await or arrived while it armed, parked or
// waited.
TEST_CASE("cancel: send racing the start of the await", "[cancel][thread]") {
    const std::stop_source never;
    RacePartner partner;
    Receiver<int> receiver;
    for (int round = 0; round < racing_rounds; ++round) {
        Sender<int> sender = *receiver.sender();
        Probe<int> probe;
        std::optional<Task<>> task;
        partner.race([&] { sender.send(round); },
                     [&] { task.emplace(receive_and_park(receiver, never.get_token(), probe)); },
                     stagger_for(round));
        REQUIRE(probe.results == Results{value(round)});
        REQUIRE(probe.stale_resumptions == 0);
    }
}

// Checks the withdraw-then-wait-again race: the coroutine, cancelled by a
// stop request racing a send, at once waits again on the same receiver
// (recv(), or recv(token2)). Whichever wins, the value is received exactly
// once, by the first await or by the second, and no await is resumed twice
// or stale.
TEST_CASE("cancel: cancelled then waiting again racing send", "[cancel][thread]") {
    const Again again = GENERATE(Again::plain, Again::with_token);
    const std::stop_source never;
    RacePartner partner;
    Receiver<int> receiver;
    for (int round = 0; round < racing_rounds; ++round) {
        Sender<int> sender = *receiver.sender();
        std::stop_source stop;
        Probe<int> probe;
        const Task<> task =
            receive_and_park(receiver, stop.get_token(), probe, again, never.get_token());
        REQUIRE(probe.results.empty());
        std::thread::id requester;
        std::thread::id sending_thread;
        race_stop_against(partner, stop, [&] { sender.send(round); }, round, requester,
                          sending_thread);
        REQUIRE(probe.stale_resumptions == 0);
        const Results expected = probe.results.size() == 1
                                     ? Results{value(round)}
                                     : Results{RecvError::cancelled, value(round)};
        REQUIRE(probe.results == expected);
        REQUIRE(receiver.sender().has_value());
    }
}

}  // namespace
