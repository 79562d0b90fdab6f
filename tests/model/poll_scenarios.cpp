// Scenarios of the poll layer: a receiver polls with a planned sequence of
// counting wakers (changing its waker, or re-polling with the same one) while
// the sender sends or is destroyed on another thread.
//
// After every poll the waker contract is checked:
//   * a poll that starts after a waker call is visible is ready;
//   * at most one waker call per sender lifetime;
//   * if the receiver's last poll was pending, the waker of that poll, and
//     no other, is called;
//   * a waker first passed to a poll that was ready is never called.
// Once ready, the receiver recycles at once, racing the old sender's return:
// sender() must succeed, and a value sent on the recycled sender is received.
#include <cstddef>
#include <optional>
#include <utility>

#include "model.hpp"

namespace multishot_model {
namespace {

constexpr int max_polls = 4;
constexpr int waker_count = 3;

// The wakers a receiver polls with, in order (indices into its wakers).
struct PollPlan {
    int wakers[max_polls];
    int polls;
};

// A receiver driven by a PollPlan, with the checks listed above.
class PlannedReceiver {
public:
    // Thread body: polls as planned, stopping at the first ready poll.
    void poll_as_planned(const PollPlan& plan) {
        for (int i = 0; i != plan.polls; ++i) {
            const bool woken = any_call_seen();
            if (poll_with(plan.wakers[i])) return;
            MODEL_CHECK(!woken, "a poll after a visible waker call was pending");
        }
        if (any_call_seen())
            MODEL_CHECK(poll_with(last_pending_), "a poll after a visible waker call was pending");
    }

    // After both threads finished: checks the waker calls and completes the
    // receive if the last planned poll was pending.
    void settle(SenderEnd end) {
        MODEL_CHECK(total_calls() <= 1, "a waker was called more than once per sender");
        if (!result_) {
            MODEL_CHECK(waker_[last_pending_].calls() == 1 && total_calls() == 1,
                        "the waker of the last pending poll was not the one called");
            MODEL_CHECK(poll_with(last_pending_), "a poll after the waker call was pending");
        } else if (!pending_once_[ready_waker_]) {
            MODEL_CHECK(waker_[ready_waker_].calls() == 0,
                        "the waker of a poll that was ready got called");
        }
        MODEL_CHECK(matches(*result_, end), "received the wrong result");
    }

    multishot::Receiver<Value>& receiver() { return receiver_; }

private:
    // Polls with waker `index`; on ready, keeps the result and recycles.
    bool poll_with(int index) {
        multishot::PollResult<Value> polled = receiver_.poll_recv(waker_[index].waker());
        if (!polled) {
            last_pending_ = index;
            pending_once_[index] = true;
            return false;
        }
        result_.emplace(std::move(*polled));
        ready_waker_ = index;
        recycle_and_send_again();
        return true;
    }

    // sender() after a completed receive never fails, and the recycled
    // sender delivers.
    void recycle_and_send_again() {
        std::optional<multishot::Sender<Value>> next = receiver_.sender();
        MODEL_CHECK(next.has_value(), "sender() failed after a completed receive");
        next->send(make_value(second_payload));
        multishot::PollResult<Value> again = receiver_.poll_recv(multishot::Waker{});
        MODEL_CHECK(again && holds_payload(*again, second_payload),
                    "the recycled sender's value was not received");
    }

    bool any_call_seen() const { return total_calls() != 0; }

    int total_calls() const {
        int calls = 0;
        for (const CountingWaker& waker : waker_) calls += waker.calls();
        return calls;
    }

    multishot::Receiver<Value> receiver_;
    CountingWaker waker_[waker_count];
    bool pending_once_[waker_count] = {};
    std::optional<multishot::RecvResult<Value>> result_;
    int last_pending_ = -1;
    int ready_waker_ = -1;
};

// Thread 0 polls as `plan` says; thread 1 sends or drops the sender.
template <PollPlan plan, SenderEnd end>
struct PollWhileSenderEnds : rl::test_suite<PollWhileSenderEnds<plan, end>, 2> {
    PlannedReceiver polling;
    std::optional<multishot::Sender<Value>> sender = polling.receiver().sender();

    void thread(unsigned index) {
        if (index == 0)
            polling.poll_as_planned(plan);
        else
            finish(*sender, end);
    }

    void after() { polling.settle(end); }
};

// Full search where it ends within a second or two.
constexpr SearchPlan full = full_search(
    500000, "two threads, one poll against one send: the full search ends in about a second");

// Context-bound search where a full one takes from 15 s to several minutes
// (the sender's CAS loop and every added poll multiply the schedules; since
// the waker slots are two atomics each, a full search of one waker change
// against a send ran for over 5 minutes, where it had taken a second): bound
// 5 still interleaves each of the sender's steps between any two steps of the
// receiver's polls.
constexpr SearchPlan bound5 = bounded_search(
    5, 500000,
    "a full search takes 15 s to minutes; bound 5 lets the sender preempt each receiver step");

constexpr PollPlan one_waker{{0}, 1};
constexpr PollPlan waker_changed_once{{0, 1}, 2};
constexpr PollPlan waker_changed_twice{{0, 1, 2}, 3};
constexpr PollPlan same_waker_repolled{{0, 0, 1, 1}, 4};

using NotifyBySend = PollWhileSenderEnds<one_waker, SenderEnd::send>;
using NotifyByDrop = PollWhileSenderEnds<one_waker, SenderEnd::drop>;
using WakerChangedOnceSend = PollWhileSenderEnds<waker_changed_once, SenderEnd::send>;
using WakerChangedOnceDrop = PollWhileSenderEnds<waker_changed_once, SenderEnd::drop>;
using WakerChangedTwiceSend = PollWhileSenderEnds<waker_changed_twice, SenderEnd::send>;
using WakerChangedTwiceDrop = PollWhileSenderEnds<waker_changed_twice, SenderEnd::drop>;
using SameWakerRepolledSend = PollWhileSenderEnds<same_waker_repolled, SenderEnd::send>;
using SameWakerRepolledDrop = PollWhileSenderEnds<same_waker_repolled, SenderEnd::drop>;

[[maybe_unused]] const bool registered[] = {
    register_scenario("notify_by_send", &run<NotifyBySend, full>),
    register_scenario("notify_by_drop", &run<NotifyByDrop, full>),
    register_scenario("waker_changed_once_send", &run<WakerChangedOnceSend, bound5>),
    register_scenario("waker_changed_once_drop", &run<WakerChangedOnceDrop, bound5>),
    register_scenario("waker_changed_twice_send", &run<WakerChangedTwiceSend, bound5>),
    register_scenario("waker_changed_twice_drop", &run<WakerChangedTwiceDrop, bound5>),
    register_scenario("same_waker_repolled_send", &run<SameWakerRepolledSend, bound5>),
    register_scenario("same_waker_repolled_drop", &run<SameWakerRepolledDrop, bound5>),
};

}  // namespace
}  // namespace multishot_model
