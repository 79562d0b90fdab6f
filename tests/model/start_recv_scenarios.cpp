// Scenarios of the cancellable poll operation, Receiver::start_recv(target)
// with RecvCanceller::cancel(): the target is armed in the wait cell, and the
// sender and the canceller each claim it with one CAS.
//
// Checked in every scenario:
//   * exactly one of: the receive completed at once (the target never
//     called), the target called once (cancel() false), or cancel() true
//     (the target never called);
//   * the receive then gets the sender's value or closed, exactly once: at
//     once, by try_recv() on the receiving thread after it saw the target's
//     call (so the value must be visible through that call), or, after a
//     cancel, by a second start_recv that the sender (already done) completes;
//   * Relacy's checked allocator: the value is neither leaked nor destroyed
//     twice, and no access races.
#include <optional>
#include <utility>

#include "model.hpp"

namespace multishot_model {
namespace {

// Thread 0 starts the receive and completes it if it can see the target's
// call; thread 1 sends or drops the sender; thread 2 cancels. The cancel
// races the arming, the registration and the sender's notification.
template <SenderEnd end>
struct CancelRacesStartRecv : rl::test_suite<CancelRacesStartRecv<end>, 3> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();
    // Taken before the threads start, with no sender() after: it names this
    // sender's receive.
    multishot::RecvCanceller canceller = receiver.canceller();
    CountingWaker target;
    std::optional<multishot::RecvResult<Value>> result;
    bool pending = false;
    // Written by thread 2, read after the join.
    bool cancelled = false;

    void thread(unsigned index) {
        if (index == 0) {
            std::optional<multishot::RecvResult<Value>> ready = receiver.start_recv(target.waker());
            if (ready) {
                result = std::move(ready);
            } else {
                pending = true;
                // A runtime would hand the receive to the target's task here;
                // the call (acquire, see CountingWaker) carries the sender's
                // completion, so try_recv must find it.
                if (target.calls() == 1) {
                    result.emplace(receiver.try_recv());
                    MODEL_CHECK(*result != multishot::RecvError::empty,
                                "try_recv after the target's call found no completion");
                }
            }
        } else if (index == 1) {
            finish(*sender, end);
        } else {
            cancelled = canceller.cancel();
        }
    }

    void after() {
        const int calls = target.calls();
        MODEL_CHECK(calls <= 1, "the target was called more than once");
        if (!pending) {
            MODEL_CHECK(calls == 0, "a receive that completed at once called its target");
        } else if (cancelled) {
            MODEL_CHECK(calls == 0, "a cancelled receive's target was called");
        } else {
            MODEL_CHECK(calls == 1, "a pending receive was neither woken nor cancelled");
        }
        if (!result && !(pending && cancelled)) result.emplace(receiver.try_recv());
        if (!result) {
            // Cancelled: the receive stayed open; the sender is done, so the
            // next start_recv completes at once.
            result = receiver.start_recv(target.waker());
            MODEL_CHECK(result.has_value(), "the receive after a cancel did not complete");
        }
        MODEL_CHECK(matches(*result, end), "the receive did not get the sender's result");
        MODEL_CHECK(receiver.sender().has_value(), "sender() failed after a completed receive");
    }
};

template <class Test, const SearchPlan& plan>
bool run() {
    return explore<Test>(plan);
}

constexpr SearchPlan three_threads = bounded_search(
    2, 100000,
    "three threads: bound 2 lets the sender and the canceller each preempt the receiver "
    "once anywhere in start_recv; the random iterations reach deeper interleavings and "
    "stale reads");

[[maybe_unused]] const bool registered[] = {
    register_scenario("start_recv_cancel_races_send",
                      &run<CancelRacesStartRecv<SenderEnd::send>, three_threads>),
    register_scenario("start_recv_cancel_races_drop",
                      &run<CancelRacesStartRecv<SenderEnd::drop>, three_threads>),
};

}  // namespace
}  // namespace multishot_model
