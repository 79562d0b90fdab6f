// Issue 9, item 4: timed receives at the limits of std::chrono. A negative
// or NaN timeout, and a deadline long past (time_point::min()), time out at
// once (the value, if it is there already, is still returned); a timeout or
// deadline at or past what the clock can represent waits without a deadline.
// No input may be undefined behaviour: the ASan build runs UBSan with
// -fno-sanitize-recover=all, so a signed overflow or an out-of-range
// float-to-integer conversion in the header fails the run.
//
// A receive that should time out at once runs against a sender held by a
// watchdog thread, which destroys it after a few seconds: a receive that
// waits instead of timing out then ends with closed (and fails the test)
// rather than blocking for minutes.

#include "support/catch.hpp"
#include "support/names.hpp"

#include <multishot.hpp>

#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <ratio>
#include <string>
#include <thread>
#include <utility>

namespace {

using namespace multishot_test;
using Clock = std::chrono::steady_clock;
using std::chrono::duration;
using std::chrono::time_point;

// "At once": a receive that times out at once returns well within this.
constexpr auto at_once = 1s;
// The watchdog ends a receive that waits instead, after this.
constexpr auto rescue_after = 3s;
// How long the sender of a "waits without a deadline" case waits to send.
constexpr auto send_delay = 50ms;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

// Centuries: three of them are past what steady_clock can represent (about
// 292 years of nanoseconds). (A longer period cannot be converted to
// nanoseconds at all: the ratio would overflow std::intmax_t.)
using centuries = duration<long long, std::ratio<3155695200>>;

// `elapsed` in milliseconds, for messages.
double milliseconds_of(Clock::duration elapsed) {
    return duration<double, std::milli>(elapsed).count();
}

// Holds the receiver's next sender, which never sends, and destroys it after
// `rescue_after`, or when the watchdog is destroyed, whichever comes first.
// (std::thread, not std::jthread: this file does not need <stop_token>.)
class Watchdog {
public:
    explicit Watchdog(Receiver<int>& receiver)
        : thread_([this, sender = receiver.sender()] {
              std::unique_lock lock(mutex_);
              wakeup_.wait_for(lock, rescue_after, [this] { return finished_; });
              // The sender is destroyed with this function object, before
              // the thread ends.
          }) {}
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    ~Watchdog() {
        {
            const std::lock_guard lock(mutex_);
            finished_ = true;
        }
        wakeup_.notify_one();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable wakeup_;
    bool finished_ = false;
    std::thread thread_;
};

// A thread that sends `value` through the receiver's next sender after
// send_delay; joined on destruction.
class SendLater {
public:
    SendLater(Receiver<int>& receiver, int value)
        : thread_([sender = receiver.sender(), value]() mutable {
              std::this_thread::sleep_for(send_delay);
              sender->send(value);
          }) {}
    SendLater(const SendLater&) = delete;
    SendLater& operator=(const SendLater&) = delete;
    ~SendLater() { thread_.join(); }

private:
    std::thread thread_;
};

// Checks that `receive` (a timed receive with a past deadline or a
// non-positive timeout) times out at once while the sender is alive and
// silent, returns the value if it was sent already, and closed if the
// sender is gone.
template <class Receive>
void check_at_once(const std::string& what, Receive receive) {
    INFO(what);
    {
        Receiver<int> receiver;
        const Watchdog watchdog(receiver);
        const auto start = Clock::now();
        const RecvResult<int> result = receive(receiver);
        const auto waited = Clock::now() - start;
        INFO("waited " << milliseconds_of(waited) << " ms");
        CHECK(result == RecvError::timed_out);
        CHECK(waited < at_once);
        // The receive stays open after the timeout: no second sender.
        CHECK_FALSE(receiver.sender().has_value());
    }
    {
        Receiver<int> receiver;
        receiver.sender()->send(5);
        CHECK(receive(receiver) == RecvResult<int>(std::in_place, 5));
    }
    {
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        REQUIRE(sender.has_value());
        sender.reset();
        CHECK(receive(receiver) == RecvError::closed);
    }
}

// Checks that `receive` (a timed receive whose timeout or deadline is at or
// past the clock's range) waits for a value sent later from another thread
// rather than giving up, and that it returns the value at once if it is
// there already.
template <class Receive>
void check_waits(const std::string& what, Receive receive) {
    INFO(what);
    {
        Receiver<int> receiver;
        const SendLater sending(receiver, 6);
        CHECK(receive(receiver) == RecvResult<int>(std::in_place, 6));
    }
    {
        Receiver<int> receiver;
        receiver.sender()->send(7);
        CHECK(receive(receiver) == RecvResult<int>(std::in_place, 7));
    }
}

template <class Rep, class Period>
void check_recv_for_at_once(const std::string& what, duration<Rep, Period> timeout) {
    check_at_once("recv_for(" + what + ")",
                  [timeout](Receiver<int>& receiver) { return receiver.recv_for(timeout); });
}

template <class Rep, class Period>
void check_recv_for_waits(const std::string& what, duration<Rep, Period> timeout) {
    check_waits("recv_for(" + what + ")",
                [timeout](Receiver<int>& receiver) { return receiver.recv_for(timeout); });
}

template <class C, class D>
void check_recv_until_at_once(const std::string& what, time_point<C, D> deadline) {
    check_at_once("recv_until(" + what + ")",
                  [deadline](Receiver<int>& receiver) { return receiver.recv_until(deadline); });
}

template <class C, class D>
void check_recv_until_waits(const std::string& what, time_point<C, D> deadline) {
    check_waits("recv_until(" + what + ")",
                [deadline](Receiver<int>& receiver) { return receiver.recv_until(deadline); });
}

// Checks that recv_for with a negative timeout of any representation, down
// to the most negative, times out at once (hours(-5124095) used to wrap the
// deadline into the future and block for about 34 minutes).
TEST_CASE("timed limits: recv_for with a negative timeout times out at once",
          "[blocking][limits]") {
    check_recv_for_at_once("hours(-5124095)", std::chrono::hours(-5124095));
    check_recv_for_at_once("hours::min()", std::chrono::hours::min());
    check_recv_for_at_once("seconds::min()", std::chrono::seconds::min());
    check_recv_for_at_once("nanoseconds::min()", std::chrono::nanoseconds::min());
    check_recv_for_at_once("nanoseconds(-1)", std::chrono::nanoseconds(-1));
    check_recv_for_at_once("minutes(-1)", std::chrono::minutes(-1));
    check_recv_for_at_once("picoseconds::min()", duration<long long, std::pico>::min());
    check_recv_for_at_once("centuries(-3)", centuries(-3));
    check_recv_for_at_once("centuries::min()", centuries::min());
    check_recv_for_at_once("duration<double>(-1e300)", duration<double>(-1e300));
    check_recv_for_at_once("duration<double>::min()", duration<double>::min());
    check_recv_for_at_once("duration<double>(-infinity)", duration<double>(-infinity));
    check_recv_for_at_once("duration<double>(-denorm_min)",
                           duration<double>(-std::numeric_limits<double>::denorm_min()));
    check_recv_for_at_once("duration<float, milli>(-0.5)", duration<float, std::milli>(-0.5f));
    check_recv_for_at_once("duration<long double>(-1e4000)", duration<long double>(-1e4000L));
}

// Checks that recv_for with a NaN timeout times out at once (it used to be
// an undefined float-to-integer conversion).
TEST_CASE("timed limits: recv_for with a NaN timeout times out at once", "[blocking][limits]") {
    check_recv_for_at_once("duration<double>(NaN)", duration<double>(nan));
    check_recv_for_at_once("duration<double>(-NaN)", duration<double>(-nan));
    check_recv_for_at_once("duration<double, milli>(NaN)", duration<double, std::milli>(nan));
    check_recv_for_at_once("duration<float>(NaN)",
                           duration<float>(std::numeric_limits<float>::quiet_NaN()));
}

// Checks that recv_for with a zero timeout, in any representation, times
// out at once, and that a tiny positive one times out too.
TEST_CASE("timed limits: recv_for with a zero timeout times out at once", "[blocking][limits]") {
    check_recv_for_at_once("nanoseconds::zero()", std::chrono::nanoseconds::zero());
    check_recv_for_at_once("hours(0)", std::chrono::hours(0));
    check_recv_for_at_once("duration<double>(0)", duration<double>(0.0));
    check_recv_for_at_once("duration<double>(-0.0)", duration<double>(-0.0));
    check_recv_for_at_once("duration<unsigned, milli>(0)", duration<unsigned, std::milli>(0));
    check_recv_for_at_once("duration<double>(denorm_min)",
                           duration<double>(std::numeric_limits<double>::denorm_min()));
    check_recv_for_at_once("duration<double>(double min)",
                           duration<double>(std::numeric_limits<double>::min()));
}

// Checks that recv_for with a timeout at or past what steady_clock can
// represent waits for the value (no deadline), whatever its representation.
TEST_CASE("timed limits: recv_for with a timeout past the clock's range waits",
          "[blocking][limits]") {
    check_recv_for_waits("hours::max()", std::chrono::hours::max());
    check_recv_for_waits("seconds::max()", std::chrono::seconds::max());
    check_recv_for_waits("nanoseconds::max()", std::chrono::nanoseconds::max());
    check_recv_for_waits("centuries(3)", centuries(3));
    check_recv_for_waits("centuries::max()", centuries::max());
    check_recv_for_waits("duration<double>(1e300)", duration<double>(1e300));
    check_recv_for_waits("duration<double>::max()", duration<double>::max());
    check_recv_for_waits("duration<double>(infinity)", duration<double>(infinity));
    check_recv_for_waits("duration<float>(infinity)",
                         duration<float>(std::numeric_limits<float>::infinity()));
    check_recv_for_waits("duration<long double>(1e4000)", duration<long double>(1e4000L));
}

// Checks that recv_until with a deadline at or past what its clock (or
// steady_clock) can represent waits for the value: time_point::max() of a
// coarse duration used to overflow when converted and give up at once.
TEST_CASE("timed limits: recv_until with the largest deadlines waits", "[blocking][limits]") {
    using std::chrono::system_clock;
    check_recv_until_waits("time_point<steady_clock, seconds>::max()",
                           time_point<Clock, std::chrono::seconds>::max());
    check_recv_until_waits("time_point<system_clock, hours>::max()",
                           time_point<system_clock, std::chrono::hours>::max());
    check_recv_until_waits("steady_clock::time_point::max()", Clock::time_point::max());
    check_recv_until_waits("system_clock::time_point::max()", system_clock::time_point::max());
    check_recv_until_waits("time_point<steady_clock, centuries>::max()",
                           time_point<Clock, centuries>::max());
    check_recv_until_waits("time_point<steady_clock, duration<double>>::max()",
                           time_point<Clock, duration<double>>::max());
    check_recv_until_waits("time_point<steady_clock, duration<double>>(infinity)",
                           time_point<Clock, duration<double>>(duration<double>(infinity)));
    check_recv_until_waits("time_point<system_clock, duration<double>>(1e300)",
                           time_point<system_clock, duration<double>>(duration<double>(1e300)));
}

// Checks that recv_until with time_point::min() of various durations (and
// other deadlines long past) times out at once.
TEST_CASE("timed limits: recv_until with the smallest deadlines times out at once",
          "[blocking][limits]") {
    using std::chrono::system_clock;
    check_recv_until_at_once("time_point<steady_clock, seconds>::min()",
                             time_point<Clock, std::chrono::seconds>::min());
    check_recv_until_at_once("time_point<system_clock, hours>::min()",
                             time_point<system_clock, std::chrono::hours>::min());
    check_recv_until_at_once("steady_clock::time_point::min()", Clock::time_point::min());
    check_recv_until_at_once("system_clock::time_point::min()", system_clock::time_point::min());
    check_recv_until_at_once("time_point<steady_clock, centuries>::min()",
                             time_point<Clock, centuries>::min());
    check_recv_until_at_once("time_point<steady_clock, duration<double>>::min()",
                             time_point<Clock, duration<double>>::min());
    check_recv_until_at_once("time_point<steady_clock, duration<double>>(-infinity)",
                             time_point<Clock, duration<double>>(duration<double>(-infinity)));
    check_recv_until_at_once("time_point<system_clock, duration<double>>(-1e300)",
                             time_point<system_clock, duration<double>>(duration<double>(-1e300)));
    check_recv_until_at_once("steady_clock epoch", Clock::time_point());
    check_recv_until_at_once("system_clock epoch", system_clock::time_point());
}

// Checks that an ordinary timed receive waits its timeout, not much longer,
// and returns timed_out: 100 ms as recv_for (integral and floating-point)
// and as recv_until on both clocks.
TEST_CASE("timed limits: a 100 ms timed receive times out after about 100 ms",
          "[blocking][limits]") {
    constexpr auto timeout = 100ms;
    constexpr auto too_late = 300ms;
    const auto check_takes_timeout = [&](const char* what, auto receive) {
        INFO(what);
        Receiver<int> receiver;
        const Watchdog watchdog(receiver);
        const auto start = Clock::now();
        const RecvResult<int> result = receive(receiver);
        const auto waited = Clock::now() - start;
        INFO("waited " << milliseconds_of(waited) << " ms");
        CHECK(result == RecvError::timed_out);
        CHECK(waited >= timeout);
        CHECK(waited < too_late);
    };
    check_takes_timeout("recv_for(100ms)",
                        [&](Receiver<int>& receiver) { return receiver.recv_for(timeout); });
    check_takes_timeout("recv_for(duration<double>(0.1))", [](Receiver<int>& receiver) {
        return receiver.recv_for(duration<double>(0.1));
    });
    check_takes_timeout("recv_until(steady_clock::now() + 100ms)", [&](Receiver<int>& receiver) {
        return receiver.recv_until(Clock::now() + timeout);
    });
    check_takes_timeout("recv_until(system_clock::now() + 100ms)", [&](Receiver<int>& receiver) {
        return receiver.recv_until(std::chrono::system_clock::now() + timeout);
    });
}

}  // namespace
