// Scenarios of the cancellable co_await recv(stop_token): a coroutine waits
// through the wait cell (ModelCancellableRecv, see cell_harness.hpp) while
// the sender sends or is destroyed and a stop request claims the wait.
//
// Checked in every scenario:
//   * a parked coroutine is resumed exactly once per suspension, never while
//     it is not parked (CoroutineTarget), and by the end it has finished;
//   * a cancelled wait is followed by a second wait on the same receiver,
//     which gets the sender's value or closed; an uncancelled wait gets it
//     at once;
//   * sender() succeeds after the receive completed;
//   * the coroutine destroys the receiver right after the receive, possibly
//     inline in the sender's notification of the cell, while the sender still
//     holds its pin (release owner "pinned: defer", unpin "last: free");
//     Relacy's checked allocator reports a use after free or a leak.
#include <optional>
#include <utility>

#include "cell_harness.hpp"

namespace multishot_model {
namespace {

// The receiving side of the scenarios: a coroutine that receives with a
// cancellable wait on `stop` and, if cancelled, waits again (cancellably, on
// a stop source nobody triggers).
class CancellableReceiver {
public:
    multishot::Receiver<Value>& receiver() { return *receiver_; }
    StopModel& stop() { return stop_; }

    // Starts the coroutine on the calling thread.
    void start() { task_.emplace(receive_then_destroy()); }

    // After the threads joined: the checks listed at the top of the file.
    void check(SenderEnd end) const {
        MODEL_CHECK(task_ && task_->done(), "the coroutine was never resumed to its end");
        MODEL_CHECK(target_.resumed_every_suspension(), "a parked coroutine was not resumed");
        const multishot::RecvResult<Value>& final_result = second_ ? *second_ : *first_;
        MODEL_CHECK(matches(final_result, end), "the receive did not get the sender's result");
    }

private:
    Task receive_then_destroy() {
        first_.emplace(co_await ModelCancellableRecv(*receiver_, stop_, target_));
        if (*first_ == multishot::RecvError::cancelled)
            second_.emplace(co_await ModelCancellableRecv(*receiver_, never_stopped_, target_));
        MODEL_CHECK(receiver_->sender().has_value(), "sender() failed after a completed receive");
        receiver_.reset();
        target_.finished();
    }

    std::optional<multishot::Receiver<Value>> receiver_{std::in_place};
    StopModel stop_;
    StopModel never_stopped_;
    CoroutineTarget target_;
    std::optional<multishot::RecvResult<Value>> first_;
    std::optional<multishot::RecvResult<Value>> second_;
    std::optional<Task> task_;
};

// Thread 0 starts the coroutine; thread 1 sends or drops the sender; thread 2
// requests stop. The claim races both the coroutine's steps and the sender's
// notification, and the second wait races the sender.
template <SenderEnd end>
struct CancelRacesSenderEnd : rl::test_suite<CancelRacesSenderEnd<end>, 3> {
    CancellableReceiver receiving;
    std::optional<multishot::Sender<Value>> sender = receiving.receiver().sender();

    void thread(unsigned index) {
        if (index == 0)
            receiving.start();
        else if (index == 1)
            finish(*sender, end);
        else
            receiving.stop().request_stop();
    }

    void after() { receiving.check(end); }
};

// Thread 0 starts the coroutine; thread 1 requests stop, then sends or drops
// the sender. Every stop request comes before the sender's end, so a wait
// claimed by it is always followed by a second wait that the sender must
// complete: cancel, then wait again, racing the send (or the drop). The
// second wait may even run on thread 1, inline in its stop request.
template <SenderEnd end>
struct CancelThenWaitAgain : rl::test_suite<CancelThenWaitAgain<end>, 2> {
    CancellableReceiver receiving;
    std::optional<multishot::Sender<Value>> sender = receiving.receiver().sender();

    void thread(unsigned index) {
        if (index == 0) {
            receiving.start();
        } else {
            receiving.stop().request_stop();
            finish(*sender, end);
        }
    }

    void after() { receiving.check(end); }
};

// Why no full search: the stop callback's deregistration and the coroutine's
// second wait spin (rl::yield) and every CAS loop may fail spuriously, so even
// with two threads a full search does not end within minutes.
constexpr SearchPlan three_threads = bounded_search(
    2, 200000,
    "three threads: bound 2 (1.5 to 4 minutes) lets the stop request and the sender each "
    "preempt the coroutine once anywhere; the random iterations reach deeper interleavings and "
    "stale reads");

constexpr SearchPlan two_threads = bounded_search(
    3, 200000,
    "two threads, but spinning waits make a full search run for more than 5 minutes; bound 3 "
    "(35 to 100 s) interleaves the stop request and the sender's end with every step of both "
    "waits");

[[maybe_unused]] const bool registered[] = {
    register_scenario("cancel_races_send", &run<CancelRacesSenderEnd<SenderEnd::send>, three_threads>),
    register_scenario("cancel_races_drop", &run<CancelRacesSenderEnd<SenderEnd::drop>, three_threads>),
    register_scenario("cancel_then_wait_again_send",
                      &run<CancelThenWaitAgain<SenderEnd::send>, two_threads>),
    register_scenario("cancel_then_wait_again_drop",
                      &run<CancelThenWaitAgain<SenderEnd::drop>, two_threads>),
};

}  // namespace
}  // namespace multishot_model
