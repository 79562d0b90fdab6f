// Scenarios where the receiver is destroyed while the sender sends or is
// destroyed, and where sender() races the sender's end. Relacy's checked
// allocator is the main assertion here: the shared block and the value (a
// heap allocation, see Value) must be freed exactly once, by the right half,
// after every access to them.
#include <optional>
#include <utility>

#include "model.hpp"

namespace multishot_model {
namespace {

// Thread 0 polls once if `poll_first`, then destroys the receiver; thread 1
// sends or drops the sender.
template <bool poll_first, SenderEnd end>
struct ReceiverDestroyedWhileSenderEnds
    : rl::test_suite<ReceiverDestroyedWhileSenderEnds<poll_first, end>, 2> {
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();
    CountingWaker waker;

    void thread(unsigned index) {
        if (index == 0)
            poll_then_destroy();
        else
            finish(*sender, end);
    }

    void poll_then_destroy() {
        if (poll_first) {
            multishot::PollResult<Value> polled = receiver->poll_recv(waker.waker());
            MODEL_CHECK(!polled || matches(*polled, end), "received the wrong result");
        }
        receiver.reset();
    }

    // A pending poll's waker may be called once (the sender finished before
    // the receiver was destroyed), never more.
    void after() { MODEL_CHECK(waker.calls() <= 1, "a waker was called more than once"); }
};

// Thread 0 calls sender() (after one poll if `poll_first`) while thread 1
// sends or drops the first sender. sender() may fail only while the first
// sender is alive; if it succeeds an unread value is discarded, and the new
// sender delivers. Once both threads are done, sender() never fails.
template <bool poll_first, SenderEnd end>
struct RecycleRacesSenderEnd : rl::test_suite<RecycleRacesSenderEnd<poll_first, end>, 2> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();
    CountingWaker waker;
    bool recycled = false;

    void thread(unsigned index) {
        if (index == 0)
            recycle_once();
        else
            finish(*sender, end);
    }

    void recycle_once() {
        if (poll_first) {
            multishot::PollResult<Value> polled = receiver.poll_recv(waker.waker());
            MODEL_CHECK(!polled || matches(*polled, end), "received the wrong result");
        }
        recycled = send_on_recycled_sender();
    }

    // Sends on a new sender if sender() gives one; true if it did.
    bool send_on_recycled_sender() {
        std::optional<multishot::Sender<Value>> next = receiver.sender();
        if (!next) return false;
        next->send(make_value(second_payload));
        multishot::PollResult<Value> again = receiver.poll_recv(multishot::Waker{});
        MODEL_CHECK(again && holds_payload(*again, second_payload),
                    "the recycled sender's value was not received");
        return true;
    }

    void after() {
        MODEL_CHECK(waker.calls() <= 1, "a waker was called more than once");
        if (!recycled)
            MODEL_CHECK(send_on_recycled_sender(), "sender() failed after the sender's end");
    }
};

constexpr SearchPlan small_full = full_search(
    500000, "two threads, at most one poll: the full search takes about a second");

[[maybe_unused]] const bool registered[] = {
    register_scenario("both_halves_destroyed",
                      &run<ReceiverDestroyedWhileSenderEnds<false, SenderEnd::drop>, small_full>),
    register_scenario("both_halves_destroyed_after_poll",
                      &run<ReceiverDestroyedWhileSenderEnds<true, SenderEnd::drop>, small_full>),
    register_scenario("receiver_destroyed_with_unread_value",
                      &run<ReceiverDestroyedWhileSenderEnds<false, SenderEnd::send>, small_full>),
    register_scenario("send_races_receiver_destruction",
                      &run<ReceiverDestroyedWhileSenderEnds<true, SenderEnd::send>, small_full>),
    register_scenario("recycle_races_send",
                      &run<RecycleRacesSenderEnd<false, SenderEnd::send>, small_full>),
    register_scenario("recycle_races_drop",
                      &run<RecycleRacesSenderEnd<false, SenderEnd::drop>, small_full>),
    register_scenario("poll_then_recycle_races_send",
                      &run<RecycleRacesSenderEnd<true, SenderEnd::send>, small_full>),
    register_scenario("poll_then_recycle_races_drop",
                      &run<RecycleRacesSenderEnd<true, SenderEnd::drop>, small_full>),
};

}  // namespace
}  // namespace multishot_model
