// Scenarios of the request lifecycle (issue 12): Receiver::abandon() racing
// the sender's end, Sender::poll_closed() and co_await closed() racing the
// receiver's departure, and Sender::try_send() racing both.
//
// Checked throughout: every value is delivered (and destroyed by whoever
// owns it: Relacy's checked allocator reports a leak or a double free of the
// Value or of the block) or returned by try_send, exactly once; a closure
// waker is called at most once, exactly once if it was the last registered
// and the receiver left while the sender was alive and had not sent, never
// after a send that delivered; a coroutine awaiting closed() is resumed
// exactly once; sender() succeeds after abandon().
#include <optional>
#include <utility>

#include "model.hpp"

namespace multishot_model {
namespace {

// How the receiver leaves in the closure scenarios.
enum class Leave { destroy, abandon };

// Leaves as `leave` says; after abandon() the receiver must hand out a new
// sender at once, which delivers.
inline void leave(std::optional<multishot::Receiver<Value>>& receiver, Leave how) {
    if (how == Leave::destroy) {
        receiver.reset();
        return;
    }
    receiver->abandon();
    std::optional<multishot::Sender<Value>> next = receiver->sender();
    MODEL_CHECK(next.has_value(), "sender() failed right after abandon()");
    next->send(make_value(second_payload));
    multishot::RecvResult<Value> result = receiver->try_recv();
    MODEL_CHECK(holds_payload(result, second_payload),
                "the sender after abandon() did not deliver");
}

// Thread 0 polls once (so that the sender may have to retry with the other
// waker slot), then abandons the message, takes a new sender and receives
// its value; thread 1 try_sends or drops the first sender.
template <SenderEnd end>
struct AbandonRacesSenderEnd : rl::test_suite<AbandonRacesSenderEnd<end>, 2> {
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();
    CountingWaker waker;
    std::optional<Value> returned;

    void thread(unsigned index) {
        if (index == 0) {
            multishot::PollResult<Value> polled = receiver->poll_recv(waker.waker());
            MODEL_CHECK(!polled || matches(*polled, end), "received the wrong result");
            leave(receiver, Leave::abandon);
        } else if (end == SenderEnd::send) {
            returned = sender->try_send(make_value(first_payload));
        } else {
            finish(*sender, end);
        }
    }

    void after() {
        MODEL_CHECK(waker.calls() <= 1, "a waker was called more than once");
        if (returned)
            MODEL_CHECK(*returned && **returned == first_payload,
                        "try_send returned something other than its value");
    }
};

// Thread 0, the sender: registers a closure waker, then try_sends or drops;
// thread 1: the receiver leaves. The receiver's call of the closure waker
// races the send that may free the block.
template <SenderEnd end, Leave how>
struct ClosureWakeRacesSenderEnd : rl::test_suite<ClosureWakeRacesSenderEnd<end, how>, 2> {
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();
    CountingWaker closure;
    bool closed_at_poll = false;
    bool delivered = false;

    void thread(unsigned index) {
        if (index == 0) {
            closed_at_poll = sender->poll_closed(closure.waker());
            if (end == SenderEnd::send) {
                std::optional<Value> back = sender->try_send(make_value(first_payload));
                delivered = !back;
                MODEL_CHECK(!closed_at_poll || back, "try_send delivered to a receiver gone");
                MODEL_CHECK(!back || (*back && **back == first_payload),
                            "try_send returned something other than its value");
            } else {
                finish(*sender, end);
            }
        } else {
            leave(receiver, how);
        }
    }

    void after() {
        MODEL_CHECK(closure.calls() <= 1, "a closure waker was called more than once");
        if (closed_at_poll || delivered)
            MODEL_CHECK(closure.calls() == 0, "a closure waker was called needlessly");
        if (end == SenderEnd::send && !closed_at_poll && !delivered)
            MODEL_CHECK(closure.calls() == 1,
                        "the receiver left with a closure waker registered and did not call it");
    }
};

// Thread 0, the sender: polls with waker 1 twice (the second costs no RMW),
// then with waker 2 (withdrawing waker 1); thread 1: the receiver leaves.
// The sender stays alive until after(), so the last pending waker must be
// called once.
template <Leave how>
struct ClosureRegistrationRacesLeave : rl::test_suite<ClosureRegistrationRacesLeave<how>, 2> {
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();
    CountingWaker first;
    CountingWaker second;
    bool first_ready = false;
    bool repoll_ready = false;
    bool second_ready = false;

    void thread(unsigned index) {
        if (index == 0) {
            first_ready = sender->poll_closed(first.waker());
            repoll_ready = sender->poll_closed(first.waker());
            second_ready = sender->poll_closed(second.waker());
        } else {
            leave(receiver, how);
        }
    }

    void after() {
        MODEL_CHECK(first.calls() + second.calls() <= 1, "more than one closure waker call");
        MODEL_CHECK(!first_ready || (repoll_ready && second_ready),
                    "poll_closed was pending after it had been ready");
        if (!second_ready)
            MODEL_CHECK(second.calls() == 1 && first.calls() == 0,
                        "the last pending closure waker was not the one called");
        else
            MODEL_CHECK(second.calls() == 0, "a closure waker was called for a ready poll");
        if (first_ready) MODEL_CHECK(first.calls() == 0, "a closure waker of a ready poll called");
        MODEL_CHECK(sender->is_closed(), "is_closed() false after the receiver left");
        sender.reset();
    }
};

// Thread 0: a coroutine awaits closed() on the sender, then destroys the
// sender (possibly inline in the receiver's departure, while the receiver
// holds its pin); thread 1: the receiver leaves.
template <Leave how>
struct ClosedAwaitRacesLeave : rl::test_suite<ClosedAwaitRacesLeave<how>, 2> {
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();
    rl::atomic<int> resumptions{0};
    std::optional<Task> task;

    Task await_closed() {
        co_await sender->closed();
        // Relaxed: counted by this coroutine, read after the threads joined.
        resumptions(RL_INFO).fetch_add(1, rl::mo_relaxed);
        MODEL_CHECK(sender->is_closed(), "closed() completed while the receiver is there");
        sender.reset();
    }

    void thread(unsigned index) {
        if (index == 0)
            task.emplace(await_closed());
        else
            leave(receiver, how);
    }

    void after() {
        MODEL_CHECK(task && task->done(), "co_await closed() was never resumed");
        MODEL_CHECK(resumptions(RL_INFO).load(rl::mo_relaxed) == 1,
                    "co_await closed() resumed other than once");
    }
};

// The full search of these takes minutes (abandon_races_drop: 47 million
// schedules, four minutes), so: every schedule with at most three
// preemptions, plus random ones.
constexpr SearchPlan two_threads_bounded = bounded_search(
    3, 200000, "two threads, up to a dozen shared accesses each: bound 3 takes seconds");

[[maybe_unused]] const bool registered[] = {
    register_scenario("abandon_races_send",
                      &run<AbandonRacesSenderEnd<SenderEnd::send>, two_threads_bounded>),
    register_scenario("abandon_races_drop",
                      &run<AbandonRacesSenderEnd<SenderEnd::drop>, two_threads_bounded>),
    register_scenario(
        "closure_wake_races_send",
        &run<ClosureWakeRacesSenderEnd<SenderEnd::send, Leave::destroy>, two_threads_bounded>),
    register_scenario(
        "closure_wake_races_drop",
        &run<ClosureWakeRacesSenderEnd<SenderEnd::drop, Leave::destroy>, two_threads_bounded>),
    register_scenario(
        "closure_wake_by_abandon_races_send",
        &run<ClosureWakeRacesSenderEnd<SenderEnd::send, Leave::abandon>, two_threads_bounded>),
    register_scenario("closure_registration_races_destruction",
                      &run<ClosureRegistrationRacesLeave<Leave::destroy>, two_threads_bounded>),
    register_scenario("closure_registration_races_abandon",
                      &run<ClosureRegistrationRacesLeave<Leave::abandon>, two_threads_bounded>),
    register_scenario("closed_await_races_destruction",
                      &run<ClosedAwaitRacesLeave<Leave::destroy>, two_threads_bounded>),
    register_scenario("closed_await_races_abandon",
                      &run<ClosedAwaitRacesLeave<Leave::abandon>, two_threads_bounded>),
};

}  // namespace
}  // namespace multishot_model
