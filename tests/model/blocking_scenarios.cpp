// Scenarios of the blocking receives (recv_blocking, recv_until, recv_for),
// which wait through the wait cell on its semaphore. The semaphore is the
// header's own (the futex one, or the portable one in the
// multishot_model_portable build); only the kernel's futex and the mutex and
// condition variable under it are modelled (see the header's sync layer). A
// modelled timed wait may time out at any scheduling point, as Relacy
// chooses, and the timed receives wait on ModelClock, which passes the
// deadline exactly when such a wait timed out (model_clock.hpp): so every
// schedule reads the same times, and Relacy explores the sender's completion
// before, during and after each timed wait. A lost wake-up shows as a
// deadlock or livelock (a blocking acquire that no release ends), a permit
// taken twice likewise, a block freed too early as a use after free, and a
// missing happens-before as a data race.
//
// recv_for is called where its timeout does not depend on steady_clock's
// reading (see model_clock.hpp): zero (it does not wait) and hours::max()
// (it waits without a deadline).
#include <chrono>
#include <optional>
#include <utility>

#include "cell_harness.hpp"

namespace multishot_model {
namespace {

constexpr std::chrono::milliseconds timeout{1};

// A timed receive: recv_until a deadline `timeout` from the model's now.
multishot::RecvResult<Value> receive_for_a_while(multishot::Receiver<Value>& receiver) {
    return receiver.recv_until(ModelClock::in(timeout));
}

// Receives with a timeout, and again after each timeout: once more with a
// timeout, then without (recv_for with a timeout steady_clock cannot reach,
// which is recv_blocking). Returns the first result that is not timed_out.
multishot::RecvResult<Value> receive_through_timeouts(multishot::Receiver<Value>& receiver) {
    multishot::RecvResult<Value> result = receive_for_a_while(receiver);
    if (result == multishot::RecvError::timed_out) result = receive_for_a_while(receiver);
    if (result == multishot::RecvError::timed_out)
        result = receiver.recv_for(std::chrono::hours::max());
    return result;
}

// sender() succeeds after a completed receive, and the recycled sender
// delivers.
void check_recycles(multishot::Receiver<Value>& receiver) {
    std::optional<multishot::Sender<Value>> next = receiver.sender();
    MODEL_CHECK(next.has_value(), "sender() failed after a completed receive");
    next->send(make_value(second_payload));
    MODEL_CHECK(holds_payload(receiver.try_recv(), second_payload),
                "the recycled sender's value was not received");
}

// Thread 0 receives with timeouts (two timed receives, then an untimed one)
// and then recycles; thread 1 sends or drops the sender. Each timeout withdraws
// the wait and the next one arms again in the same epoch, racing the sender:
// its notification may find the cell armed, cancelled or not yet re-armed.
template <SenderEnd end>
struct TimeoutThenWaitAgain : rl::test_suite<TimeoutThenWaitAgain<end>, 2> {
    ModelClockReset clock;
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();

    void thread(unsigned index) {
        if (index == 0) {
            MODEL_CHECK(matches(receive_through_timeouts(receiver), end),
                        "the receive did not get the sender's result");
            check_recycles(receiver);
        } else {
            finish(*sender, end);
        }
    }
};

// Thread 0 receives with recv_blocking and destroys the receiver as soon as
// it has the result; thread 1 sends or drops the sender. The sender releases
// the semaphore from within its notification, while it holds its pin, so
// the receiver is often destroyed before the sender unpins: the block must be
// freed by the sender's last unpin, after its last touch of the cell.
template <SenderEnd end>
struct BlockingReceiveThenDestroy : rl::test_suite<BlockingReceiveThenDestroy<end>, 2> {
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();

    void thread(unsigned index) {
        if (index == 0) {
            MODEL_CHECK(matches(receiver->recv_blocking(), end),
                        "the receive did not get the sender's result");
            receiver.reset();
        } else {
            finish(*sender, end);
        }
    }
};

// Thread 0 waits with a timeout twice, and destroys the receiver whatever
// came of it; thread 1 sends or drops the sender. When both waits time out,
// the second one armed the cell again in the same epoch without any RMW on
// the state (its waker is registered already), and the receiver is then
// destroyed while the sender lives: the sender frees the block.
template <SenderEnd end>
struct TimeoutsThenDestroy : rl::test_suite<TimeoutsThenDestroy<end>, 2> {
    ModelClockReset clock;
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();

    void thread(unsigned index) {
        if (index == 0)
            wait_twice_then_destroy();
        else
            finish(*sender, end);
    }

    void wait_twice_then_destroy() {
        for (int wait = 0; wait != 2; ++wait) {
            multishot::RecvResult<Value> result = receive_for_a_while(*receiver);
            if (result == multishot::RecvError::timed_out) continue;
            MODEL_CHECK(matches(result, end), "the receive did not get the sender's result");
            break;
        }
        receiver.reset();
    }
};

// A stale notification: thread 1 sends on the first sender, then sends on
// the recycled sender if thread 0 handed it over in time. Thread 0 waits with
// a timeout; after a timeout it takes the value with recv_for(0) (or, if the
// sender has not sent, waits for it), recycles, hands the new sender to
// thread 1 (sending itself if thread 1 has moved on) and waits for the
// second value with timeouts and then without. The first sender's
// notification of the cell may be delayed until thread 0 armed the cell for
// the second sender: it must change nothing, and the second wait must end
// only by the second sender's notification.
struct StaleNotification : rl::test_suite<StaleNotification, 2> {
    ModelClockReset clock;
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> first = receiver.sender();
    Handoff<multishot::Sender<Value>> recycled;

    void thread(unsigned index) {
        if (index == 0)
            receive_recycle_receive();
        else
            send_twice();
    }

    void receive_recycle_receive() {
        MODEL_CHECK(holds_payload(receive_after_timeout(), first_payload),
                    "the first receive did not get the first value");
        std::optional<multishot::Sender<Value>> next = receiver.sender();
        MODEL_CHECK(next.has_value(), "sender() failed after a completed receive");
        if (std::optional<multishot::Sender<Value>> back = recycled.offer(std::move(*next)))
            back->send(make_value(second_payload));
        MODEL_CHECK(holds_payload(receive_through_timeouts(receiver), second_payload),
                    "the second receive did not get the second value");
    }

    // A timed receive; after a timeout, recv_for(0) (it does not wait), and
    // recv_blocking if that timed out too.
    multishot::RecvResult<Value> receive_after_timeout() {
        multishot::RecvResult<Value> result = receive_for_a_while(receiver);
        if (result == multishot::RecvError::timed_out)
            result = receiver.recv_for(std::chrono::seconds::zero());
        if (result == multishot::RecvError::timed_out) result = receiver.recv_blocking();
        return result;
    }

    void send_twice() {
        first->send(make_value(first_payload));
        if (std::optional<multishot::Sender<Value>> taken = recycled.take())
            taken->send(make_value(second_payload));
    }
};

// Why no full search: a modelled timed wait may time out at every scheduling
// point, the semaphore's futex (or mutex) is one more lock per wait, and CAS
// loops may fail spuriously, so even these two-thread scenarios do not end a
// full search within 5 minutes. (CPU times below: g++, RelWithDebInfo.)
constexpr SearchPlan bound3 = bounded_search(
    3, 200000,
    "a full search runs for more than 5 minutes; bound 3 (12 to 75 s) preempts the sender "
    "anywhere in each of the receiver's waits and the other way round");

constexpr SearchPlan bound4 = bounded_search(
    4, 200000,
    "a full search runs for more than 5 minutes; bound 4 ends within 10 s here");

// timeouts_then_destroy_drop: the sender's close loop and the receiver's two
// timed waits, each through the semaphore, make bound 4 take a minute.
constexpr SearchPlan bound3_more_random = bounded_search(
    3, 600000,
    "bound 4 takes a minute since the wait is the real semaphore: bound 3 (25 s) and three "
    "times the random iterations");

constexpr SearchPlan stale = bounded_search(
    2, 400000,
    "bound 3 takes a minute: bound 2 (10 s) delays the first notification past the second "
    "arm, and more random iterations than elsewhere reach the rest");

[[maybe_unused]] const bool registered[] = {
    register_scenario("timeout_then_wait_again_send",
                      &run<TimeoutThenWaitAgain<SenderEnd::send>, bound3>),
    register_scenario("timeout_then_wait_again_drop",
                      &run<TimeoutThenWaitAgain<SenderEnd::drop>, bound3>),
    register_scenario("blocking_receive_then_destroy_send",
                      &run<BlockingReceiveThenDestroy<SenderEnd::send>, bound4>),
    register_scenario("blocking_receive_then_destroy_drop",
                      &run<BlockingReceiveThenDestroy<SenderEnd::drop>, bound4>),
    register_scenario("timeouts_then_destroy_send",
                      &run<TimeoutsThenDestroy<SenderEnd::send>, bound4>),
    register_scenario("timeouts_then_destroy_drop",
                      &run<TimeoutsThenDestroy<SenderEnd::drop>, bound3_more_random>),
    register_scenario("stale_notification", &run<StaleNotification, stale>),
};

}  // namespace
}  // namespace multishot_model
