// Three-thread scenarios of the awaitable layer: a coroutine receives with
// co_await (resumed inline on the sender's thread), recycles the channel and
// hands the recycled sender to a third thread, which sends on it.
#include <optional>
#include <utility>

#include "model.hpp"

namespace multishot_model {
namespace {

// Thread 0 starts a coroutine that receives from the first sender, recycles
// the channel and offers the new sender to thread 2, then receives again.
// Thread 1 sends or drops the first sender; thread 2 sends on the recycled
// sender if it gets it (else the coroutine sends itself). The coroutine runs
// on whichever thread resumes it.
template <SenderEnd first_end>
struct RecycleThenSendAgain : rl::test_suite<RecycleThenSendAgain<first_end>, 3> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> first = receiver.sender();
    Handoff<multishot::Sender<Value>> recycled;
    std::optional<multishot::RecvResult<Value>> first_result;
    std::optional<multishot::RecvResult<Value>> second_result;
    std::optional<Task> task;

    Task receive_twice() {
        first_result.emplace(co_await receiver.recv());
        std::optional<multishot::Sender<Value>> next = receiver.sender();
        MODEL_CHECK(next.has_value(), "sender() failed after a completed receive");
        if (std::optional<multishot::Sender<Value>> back = recycled.offer(std::move(*next)))
            back->send(make_value(second_payload));
        second_result.emplace(co_await receiver.recv());
    }

    void thread(unsigned index) {
        if (index == 0) {
            task.emplace(receive_twice());
        } else if (index == 1) {
            finish(*first, first_end);
        } else if (std::optional<multishot::Sender<Value>> taken = recycled.take()) {
            taken->send(make_value(second_payload));
        }
    }

    void after() {
        MODEL_CHECK(task && task->done(), "the receiving coroutine was not resumed to its end");
        MODEL_CHECK(matches(*first_result, first_end), "the first receive got the wrong result");
        MODEL_CHECK(holds_payload(*second_result, second_payload),
                    "the second receive did not get the recycled sender's value");
    }
};

constexpr SearchPlan three_threads = bounded_search(
    3, 1000000,
    "three threads: a full search does not end in minutes; bound 3 covers every preemption "
    "pattern of one receive racing one send with the hand-off, and the random iterations "
    "reach deeper interleavings and stale reads");

[[maybe_unused]] const bool registered[] = {
    register_scenario("recycle_after_send_then_send_again",
                      &run<RecycleThenSendAgain<SenderEnd::send>, three_threads>),
    register_scenario("recycle_after_drop_then_send_again",
                      &run<RecycleThenSendAgain<SenderEnd::drop>, three_threads>),
};

}  // namespace
}  // namespace multishot_model
