// Scenarios of the cancellable poll operation, Receiver::start_recv(target)
// with RecvCanceller::cancel(): the target is armed in the wait cell, and the
// sender and the canceller each claim it with one CAS.
//
// Checked in every scenario:
//   * exactly one of: the receive completed at once (the target never
//     called), the target called once (cancel() false), or cancel() true
//     (the target never called);
//   * the receive then gets the sender's value or closed, exactly once: at
//     once; or by try_recv() on the thread that called the target, as a
//     runtime does that runs the woken task elsewhere (so the value must be
//     visible through that call, and start_recv() must touch nothing once
//     the target may be called: that try_recv() may run while start_recv()
//     is still returning); or, after a cancel, by a second start_recv that
//     the sender (already done) completes;
//   * Relacy's checked allocator: the value is neither leaked nor destroyed
//     twice, and no access races.
#include <optional>
#include <utility>

#include "model.hpp"

namespace multishot_model {
namespace {

// Thread 0 starts the receive and, if it is pending, touches the receiver
// no more; thread 1 sends or drops the sender and, if that called the target,
// completes the receive (the woken task, run on the waking thread); thread 2
// cancels. The cancel races the arming, the registration and the sender's
// notification; the woken task's try_recv() races the end of start_recv().
template <SenderEnd end>
struct CancelRacesStartRecv : rl::test_suite<CancelRacesStartRecv<end>, 3> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();
    // Taken before the threads start, with no sender() after: it names this
    // sender's receive.
    multishot::RecvCanceller canceller = receiver.canceller();
    CountingWaker target;
    // Written by thread 0, read after the join.
    std::optional<multishot::RecvResult<Value>> result;
    bool pending = false;
    // Written by thread 1, read after the join.
    std::optional<multishot::RecvResult<Value>> woken_result;
    // Written by thread 2, read after the join.
    bool cancelled = false;

    void thread(unsigned index) {
        if (index == 0) {
            result = receiver.start_recv(target.waker());
            pending = !result.has_value();
        } else if (index == 1) {
            finish(*sender, end);
            // Only the sender calls the target, inline in finish(): if it
            // did, the receive is this thread's to complete now. The call
            // carries the sender's completion, so try_recv must find it.
            if (target.calls() == 1) {
                woken_result.emplace(receiver.try_recv());
                MODEL_CHECK(*woken_result != multishot::RecvError::empty,
                            "try_recv after the target's call found no completion");
            }
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
        if (woken_result) result = std::move(woken_result);
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

// The one way the sender can claim start_recv()'s target while
// start_recv() is still registering: it holds the cell's waker from an
// earlier receive of the same sender. Thread 0 starts a receive, cancels it,
// polls with another waker, then starts a second receive; the sender, on
// thread 1, may take the first receive's registration (the cell's waker)
// and complete between the second start_recv's two RMWs, after which it
// calls the second target, and the woken task (thread 1 again) completes the
// receive with try_recv() while start_recv() may still be returning.
template <SenderEnd end>
struct StartRecvAfterWithdrawnReceive
    : rl::test_suite<StartRecvAfterWithdrawnReceive<end>, 2> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();
    CountingWaker first_target;
    CountingWaker poll_waker;
    CountingWaker second_target;
    // Written by thread 0, read after the join.
    std::optional<multishot::RecvResult<Value>> result;
    bool pending = false;
    // Written by thread 1, read after the join.
    std::optional<multishot::RecvResult<Value>> woken_result;

    void thread(unsigned index) {
        if (index == 0) {
            result = receiver.start_recv(first_target.waker());
            if (result) return;
            // False: the sender claimed the first target, and thread 1 completes.
            pending = !receiver.canceller().cancel();
            if (pending) return;
            result = receiver.poll_recv(poll_waker.waker());
            if (result) return;
            result = receiver.start_recv(second_target.waker());
            pending = !result.has_value();
        } else {
            finish(*sender, end);
            // Only the sender calls the targets, inline in finish().
            if (first_target.calls() + second_target.calls() == 1) {
                woken_result.emplace(receiver.try_recv());
                MODEL_CHECK(*woken_result != multishot::RecvError::empty,
                            "try_recv after the target's call found no completion");
            }
        }
    }

    void after() {
        MODEL_CHECK(first_target.calls() <= 1 && second_target.calls() <= 1 &&
                        poll_waker.calls() <= 1,
                    "a waker or target was called more than once");
        MODEL_CHECK(first_target.calls() + second_target.calls() <= 1,
                    "both targets were called");
        if (pending) {
            MODEL_CHECK(woken_result.has_value(), "a pending receive's target was never called");
        } else {
            MODEL_CHECK(!woken_result, "a receive that completed at once called its target");
        }
        if (woken_result) result = std::move(woken_result);
        // The poll's pending result is completed now that the sender is done.
        if (!result) result.emplace(receiver.try_recv());
        MODEL_CHECK(matches(*result, end), "the receive did not get the sender's result");
        MODEL_CHECK(receiver.sender().has_value(), "sender() failed after a completed receive");
    }
};

constexpr SearchPlan three_threads = bounded_search(
    2, 100000,
    "three threads: bound 2 lets the sender and the canceller each preempt the receiver "
    "once anywhere in start_recv; the random iterations reach deeper interleavings and "
    "stale reads");

constexpr SearchPlan withdrawn_first = bounded_search(
    3, 200000,
    "two threads: the sender must take the first receive's registration, then complete "
    "inside the second start_recv's registration: bound 3 reaches it");

[[maybe_unused]] const bool registered[] = {
    register_scenario("start_recv_after_withdrawn_receive_send",
                      &run<StartRecvAfterWithdrawnReceive<SenderEnd::send>, withdrawn_first>),
    register_scenario("start_recv_after_withdrawn_receive_drop",
                      &run<StartRecvAfterWithdrawnReceive<SenderEnd::drop>, withdrawn_first>),
    register_scenario("start_recv_cancel_races_send",
                      &run<CancelRacesStartRecv<SenderEnd::send>, three_threads>),
    register_scenario("start_recv_cancel_races_drop",
                      &run<CancelRacesStartRecv<SenderEnd::drop>, three_threads>),
};

}  // namespace
}  // namespace multishot_model
