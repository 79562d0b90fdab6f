// Blocking receives for plain threads: recv_blocking(), recv_for() and
// recv_until(). They wait without spinning for a value or closure from
// another thread, give up with timed_out at the deadline, and leave the
// receive open after a timeout so that a later receive still gets the value.

#include "support/catch.hpp"
#include "support/concurrent.hpp"
#include "support/counting.hpp"
#include "support/names.hpp"
#include "support/race_partner.hpp"

#include <multishot.hpp>

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace {

using namespace multishot_test;
using Clock = std::chrono::steady_clock;

// Long enough that a sender on another thread is surely late, short enough
// to keep the suite fast.
constexpr auto short_wait = 20ms;
// A wait that overshoots its deadline by this much is broken, not slow.
constexpr auto absurd_delay = 5s;
// Enough rounds to vary the race, few enough for the TSan build.
constexpr int racing_rounds = 2000;

// CPU time consumed by the calling thread so far.
std::chrono::nanoseconds thread_cpu_time() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// Sends `value` through `sender` on a new thread after `delay`.
JoiningThread send_later(Sender<int> sender, int value, std::chrono::milliseconds delay) {
    return JoiningThread([sender = std::move(sender), value, delay]() mutable {
        std::this_thread::sleep_for(delay);
        sender.send(value);
    });
}

// Checks that recv_blocking waits for a value sent later on another thread,
// and returns it.
TEST_CASE("blocking: recv_blocking gets a value sent later on another thread", "[blocking]") {
    Receiver<int> receiver;
    const JoiningThread sending = send_later(*receiver.sender(), 21, short_wait);
    CHECK(receiver.recv_blocking() == RecvResult<int>(std::in_place, 21));
    CHECK(receiver.sender().has_value());
}

// Checks that recv_blocking returns closed when the sender is destroyed
// unused on another thread.
TEST_CASE("blocking: recv_blocking gets closed when the sender is destroyed on another thread",
          "[blocking]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    const JoiningThread destroying([&sender] {
        std::this_thread::sleep_for(short_wait);
        sender.reset();
    });
    CHECK(receiver.recv_blocking() == RecvError::closed);
}

// Checks that every blocking receive returns at once, with no timeout
// needed, when the sender already acted or never existed: a value wins even
// with a zero timeout or a deadline in the past.
TEST_CASE("blocking: a completed sender is seen at once even with a zero timeout", "[blocking]") {
    Receiver<int> receiver;
    CHECK(receiver.recv_for(0s) == RecvError::closed);  // no sender was ever created
    receiver.sender()->send(1);
    CHECK(receiver.recv_for(0s) == RecvResult<int>(std::in_place, 1));
    receiver.sender()->send(2);
    CHECK(receiver.recv_until(Clock::now() - 1h) == RecvResult<int>(std::in_place, 2));
    receiver.sender()->send(3);
    CHECK(receiver.recv_blocking() == RecvResult<int>(std::in_place, 3));
    receiver.sender().reset();
    CHECK(receiver.recv_for(0s) == RecvError::closed);
}

// Receives again after a timeout, in the way `how` names: the value must be
// there, since the caller sent it.
RecvResult<int> receive_again(Receiver<int>& receiver, int how) {
    switch (how) {
        case 0: return receiver.try_recv();
        case 1: return receiver.recv_blocking();
        default: return receiver.recv_for(0s);
    }
}

// Checks that recv_for gives up with timed_out after at least its timeout
// (and not absurdly later), without spinning meanwhile; that the receive
// stays open (no new sender); and that the value sent afterwards is received
// by the same receiver, whichever receive it uses.
TEST_CASE("blocking: recv_for times out then the value sent later arrives", "[blocking]") {
    const int how = GENERATE(0, 1, 2);
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    const auto cpu_before = thread_cpu_time();
    const auto start = Clock::now();
    CHECK(receiver.recv_for(short_wait) == RecvError::timed_out);
    const auto waited = Clock::now() - start;
    CHECK(waited >= short_wait);
    CHECK(waited < short_wait + absurd_delay);
    // A thread that spun through the wait would have used most of it.
    CHECK(thread_cpu_time() - cpu_before < short_wait / 2);
    CHECK_FALSE(receiver.sender().has_value());
    sender.send(22);
    CHECK(receive_again(receiver, how) == RecvResult<int>(std::in_place, 22));
}

// Checks that after a timeout the receiver can block again and be woken by
// a value sent later on another thread (the second wait is woken, not the
// first, withdrawn one).
TEST_CASE("blocking: timed out then blocked again until a send on another thread",
          "[blocking]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CHECK(receiver.recv_for(1ms) == RecvError::timed_out);
    CHECK(receiver.recv_for(0s) == RecvError::timed_out);
    const JoiningThread sending = send_later(std::move(sender), 23, short_wait);
    CHECK(receiver.recv_for(absurd_delay) == RecvResult<int>(std::in_place, 23));
}

// Checks that recv_until with `Clock` times out no earlier than its deadline
// as that clock sees it, and that the receive stays open for the value.
template <class DeadlineClock>
void check_recv_until_times_out() {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    const auto deadline = DeadlineClock::now() + short_wait;
    CHECK(receiver.recv_until(deadline) == RecvError::timed_out);
    CHECK(DeadlineClock::now() >= deadline);
    CHECK(DeadlineClock::now() < deadline + absurd_delay);
    // A deadline already past times out at once while the sender is alive.
    CHECK(receiver.recv_until(DeadlineClock::now() - 1s) == RecvError::timed_out);
    sender.send(24);
    CHECK(receiver.recv_until(DeadlineClock::now() - 1s) == RecvResult<int>(std::in_place, 24));
}

// Checks recv_until with a steady_clock and a system_clock deadline.
TEST_CASE("blocking: recv_until with steady_clock and system_clock", "[blocking]") {
    SECTION("steady_clock") { check_recv_until_times_out<std::chrono::steady_clock>(); }
    SECTION("system_clock") { check_recv_until_times_out<std::chrono::system_clock>(); }
}

// The message of the usage_error that `receive` throws.
template <class Receive>
std::string usage_error_message(Receive receive) {
    try {
        receive();
    } catch (const usage_error& error) {
        return error.what();
    }
    return "(no usage_error)";
}

// Checks that the blocking receives on a moved-from receiver throw
// usage_error naming the receive, rather than touching a missing block.
TEST_CASE("blocking: on a moved-from receiver throws usage_error", "[blocking][misuse]") {
    Receiver<int> receiver;
    const Receiver<int> moved_to = std::move(receiver);
    CHECK_THAT(usage_error_message([&] { receiver.recv_blocking(); }),
               Catch::Matchers::Contains("recv_blocking: receiver is empty"));
    CHECK_THAT(usage_error_message([&] { receiver.recv_for(0s); }),
               Catch::Matchers::Contains("recv_for: receiver is empty"));
    CHECK_THAT(usage_error_message([&] { receiver.recv_until(Clock::now()); }),
               Catch::Matchers::Contains("recv_until: receiver is empty"));
}

// Checks that a timeout too large for steady_clock waits for the value
// instead of overflowing into a deadline in the past.
TEST_CASE("blocking: recv_for with the largest durations waits for the value", "[blocking]") {
    Receiver<int> receiver;
    {
        const JoiningThread sending = send_later(*receiver.sender(), 31, short_wait);
        CHECK(receiver.recv_for(std::chrono::hours::max()) == RecvResult<int>(std::in_place, 31));
    }
    {
        const JoiningThread sending = send_later(*receiver.sender(), 32, short_wait);
        CHECK(receiver.recv_for(std::chrono::nanoseconds::max()) ==
              RecvResult<int>(std::in_place, 32));
    }
}

// Checks that a timed receive wakes soon after the send, not at its own
// pace: the thread sleeps in the kernel until released. (libstdc++ 12's
// std::binary_semaphore, used before, polled with sleeps of up to 64 ms and
// woke some 30 ms late on average at these delays.)
TEST_CASE("blocking: recv_for wakes promptly when the value is sent", "[blocking]") {
    Receiver<int> receiver;
    Clock::duration total_lateness{};
    for (const auto delay : {150ms, 200ms, 250ms}) {
        std::optional<Sender<int>> sender = receiver.sender();
        REQUIRE(sender.has_value());
        Clock::time_point sent_at;
        JoiningThread sending([&sent_at, &sender, delay] {
            std::this_thread::sleep_for(delay);
            sent_at = Clock::now();
            sender->send(static_cast<int>(delay.count()));
        });
        const RecvResult<int> result = receiver.recv_for(10s);
        const Clock::time_point received_at = Clock::now();
        sending.join();
        CHECK(result == RecvResult<int>(std::in_place, static_cast<int>(delay.count())));
        total_lateness += received_at - sent_at;
    }
    // Generous for a loaded machine (a futex wake-up takes well under 1 ms).
    CHECK(total_lateness < 20ms);
}

// The timeout for round `round` of a race: 0, 2, 4 or 6 microseconds. (A
// timed wait on this machine gives up a few microseconds after a deadline
// already past, and tens of microseconds after a future one.)
std::chrono::microseconds tiny_timeout(int round) {
    return std::chrono::microseconds(round / 64 % 4 * 2);
}

// The stagger for round `round` of a race with a timed receive: from the
// sender (on the new thread) starting first by about a microsecond to it
// starting about 17 microseconds late (1024 spin turns take about 0.3 us on
// the development machine). There, with g++, about 40% of the rounds time
// out first and the rest receive the value directly (about 1% under TSan).
int timed_stagger(int round) { return 4096 - (round % 68) * 1024; }

// Checks that the races left no stray permit in the receiver's wait cell: a
// wait with the next sender alive times out rather than waking (a stray wake
// trips "completing an open receive" in debug builds and returns garbage in
// release builds), and the closure that follows is still seen.
void check_no_stray_wake(Receiver<Counted>& receiver) {
    std::optional<Sender<Counted>> sender = receiver.sender();
    REQUIRE(sender.has_value());
    CHECK(receiver.recv_for(1ms) == RecvError::timed_out);
    sender.reset();
    CHECK(receiver.recv_for(0s) == RecvError::closed);
}

// Checks that a recv_for with a tiny timeout racing a send on another thread
// receives every value exactly once: either that recv_for returns it, or it
// times out and a follow-up receive returns it. Every Counted is destroyed
// exactly once and no stray wake-up survives the rounds.
TEST_CASE("blocking: recv_for with a tiny timeout racing a send", "[blocking][thread]") {
    const long constructions_before = Census::constructions();
    const long live_before = Census::live();
    int timed_out = 0;
    {
        RacePartner partner;
        Receiver<Counted> receiver;
        for (int round = 0; round < racing_rounds; ++round) {
            Sender<Counted> sender = *receiver.sender();
            RecvResult<Counted> result = RecvError::closed;
            partner.race([&] { sender.send(Counted(round)); },
                         [&] { result = receiver.recv_for(tiny_timeout(round)); },
                         timed_stagger(round));
            if (result == RecvError::timed_out) {
                ++timed_out;
                result = round % 2 == 0 ? receiver.try_recv() : receiver.recv_blocking();
            }
            REQUIRE(result.has_value());
            REQUIRE(result->value() == round);
        }
        check_no_stray_wake(receiver);
    }
    INFO("rounds that timed out first: " << timed_out);
    CHECK(Census::constructions() > constructions_before);
    CHECK(Census::live() == live_before);
}

// Checks that a recv_for with a tiny timeout racing the sender's destruction
// on another thread ends in closed: directly, or after a timeout, by the
// follow-up receive.
TEST_CASE("blocking: recv_for with a tiny timeout racing sender destruction",
          "[blocking][thread]") {
    RacePartner partner;
    Receiver<Counted> receiver;
    for (int round = 0; round < racing_rounds; ++round) {
        std::optional<Sender<Counted>> sender = receiver.sender();
        RecvResult<Counted> result = RecvError::empty;
        partner.race([&] { sender.reset(); },
                     [&] { result = receiver.recv_for(tiny_timeout(round)); },
                     timed_stagger(round));
        if (result == RecvError::timed_out) result = receiver.recv_for(absurd_delay);
        REQUIRE(result == RecvError::closed);
    }
    check_no_stray_wake(receiver);
}

}  // namespace
