// Negative controls: each scenario passes only if Relacy reports the failure
// named in its test_suite's expected result, which shows that the model
// suite can fail. They are built into multishot_model_negative, against a
// copy of multishot.hpp that CMakeLists.txt breaks on purpose: Sender's
// publish_value announces the value with a *relaxed* fetch_add instead of
// acq_rel.
#include <memory>
#include <optional>

#include "model.hpp"

namespace multishot_model {
namespace {

// Thread 0 polls once; thread 1 sends. With the relaxed announcement, a
// receiver that sees the value has not synchronized with its construction:
// its read of the value slot is a data race. The poll passes the empty waker,
// which sender() left in slot 0, so it registers nothing and the send never
// retries: a retry's relaxed RMW would also let it read a torn waker from
// the (atomic) slot, which the full search reports first, as an access to
// freed memory when it calls it.
struct RelaxedAnnouncementIsReported
    : rl::test_suite<RelaxedAnnouncementIsReported, 2, rl::test_result_data_race> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();

    void thread(unsigned index) {
        if (index == 0) {
            [[maybe_unused]] multishot::PollResult<Value> polled =
                receiver.poll_recv(multishot::Waker{});
        } else {
            sender->send(make_value(first_payload));
        }
    }
};

// Thread 0 sends and the receiver is never destroyed: the shared block,
// which the header allocates with a plain `new`, leaks with the value in it,
// and Relacy's checked allocator must report it. (Nothing receives, so the
// broken announcement plays no part. Thread 1 idles: Relacy's schedulers do
// not compile warning-free for one thread.)
struct LeakedBlockIsReported
    : rl::test_suite<LeakedBlockIsReported, 2, rl::test_result_memory_leak> {
    // Storage whose destructor does not destroy the receiver.
    union Storage {
        Storage() { std::construct_at(&receiver); }
        ~Storage() {}
        multishot::Receiver<Value> receiver;
    } leaked;
    std::optional<multishot::Sender<Value>> sender = leaked.receiver.sender();

    void thread(unsigned index) {
        if (index == 0) sender->send(make_value(first_payload));
    }
};

constexpr SearchPlan until_reported = full_search(
    100000, "a control stops at the first report; the full search finds it at once");

[[maybe_unused]] const bool registered[] = {
    register_scenario("relaxed_announcement_is_reported",
                      &run<RelaxedAnnouncementIsReported, until_reported>),
    register_scenario("leaked_block_is_reported", &run<LeakedBlockIsReported, until_reported>),
};

}  // namespace
}  // namespace multishot_model
