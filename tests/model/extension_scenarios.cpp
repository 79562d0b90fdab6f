// Scenarios of the block's extension (the wait cell and the closure waker,
// allocated on first use): both halves need it first at once, the
// receiver's start_recv() and the sender's poll_closed(), so both allocate
// one and race to install it ("install extension": "installed", "lost: use
// the other's"); and a canceller taken before any extension exists.
//
// Checked throughout: the halves use the same extension whoever installed
// it (the sender's notification reaches the target the receiver armed, the
// receiver's departure calls the closure waker the sender registered), and
// Relacy's checked allocator reports the loser's extension if it is leaked,
// and any use of an extension before its construction is visible.
#include <optional>
#include <utility>

#include "model.hpp"

namespace multishot_model {
namespace {

// Thread 0, the receiver: start_recv() on a channel without an extension.
// Thread 1, the sender: poll_closed() on the same channel (its first
// registration), then sends or drops the sender.
template <SenderEnd end>
struct BothHalvesInstallThenSenderEnds
    : rl::test_suite<BothHalvesInstallThenSenderEnds<end>, 2> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();
    CountingWaker target;
    CountingWaker closure;
    // Written by thread 0, read after the join.
    std::optional<multishot::RecvResult<Value>> result;
    bool pending = false;
    // Written by thread 1, read after the join.
    bool closed_at_poll = false;

    void thread(unsigned index) {
        if (index == 0) {
            result = receiver.start_recv(target.waker());
            pending = !result.has_value();
        } else {
            closed_at_poll = sender->poll_closed(closure.waker());
            finish(*sender, end);
        }
    }

    void after() {
        MODEL_CHECK(!closed_at_poll, "poll_closed() found a receiver that stays gone");
        MODEL_CHECK(closure.calls() == 0, "a closure waker was called, the receiver stayed");
        MODEL_CHECK(target.calls() == (pending ? 1 : 0),
                    "the target was not called exactly once for a pending receive");
        if (pending) result.emplace(receiver.try_recv());
        MODEL_CHECK(matches(*result, end), "the receive did not get the sender's result");
    }
};

// Thread 0, the receiver: start_recv() on a channel without an extension,
// cancelled, then the receiver leaves. Thread 1, the sender: poll_closed()
// (its first registration), staying alive until after the join. The
// receiver leaving must call the closure waker in whichever extension won.
struct BothHalvesInstallThenReceiverLeaves
    : rl::test_suite<BothHalvesInstallThenReceiverLeaves, 2> {
    std::optional<multishot::Receiver<Value>> receiver{std::in_place};
    std::optional<multishot::Sender<Value>> sender = receiver->sender();
    // Taken before any extension exists: it names this sender's receive.
    multishot::RecvCanceller canceller = receiver->canceller();
    CountingWaker target;
    CountingWaker closure;
    // Written by thread 0, read after the join.
    bool pending = false;
    bool cancelled = false;
    // Written by thread 1, read after the join.
    bool closed_at_poll = false;

    void thread(unsigned index) {
        if (index == 0) {
            pending = !receiver->start_recv(target.waker()).has_value();
            cancelled = canceller.cancel();
            receiver.reset();
        } else {
            closed_at_poll = sender->poll_closed(closure.waker());
        }
    }

    void after() {
        MODEL_CHECK(pending, "start_recv() completed with the sender alive and silent");
        MODEL_CHECK(cancelled, "the canceller lost a receive that nobody else could claim");
        MODEL_CHECK(target.calls() == 0, "a cancelled receive's target was called");
        MODEL_CHECK(closure.calls() == (closed_at_poll ? 0 : 1),
                    "the receiver left with a closure waker registered and did not call it "
                    "exactly once (or called one of a ready poll)");
        MODEL_CHECK(sender->is_closed(), "is_closed() false after the receiver left");
        sender.reset();
    }
};

// Thread 0 cancels with a canceller taken before any extension existed;
// thread 1, the receiver, starts a receive (installing the extension). The
// cancel either finds no extension (or nothing armed) and loses, or claims
// the receive; the sender, after the join, then completes it or not.
struct CancellerRacesFirstStartRecv : rl::test_suite<CancellerRacesFirstStartRecv, 2> {
    multishot::Receiver<Value> receiver;
    std::optional<multishot::Sender<Value>> sender = receiver.sender();
    multishot::RecvCanceller canceller = receiver.canceller();
    CountingWaker target;
    // Written by thread 0, read after the join.
    bool cancelled = false;
    // Written by thread 1, read after the join.
    bool pending = false;

    void thread(unsigned index) {
        if (index == 0)
            cancelled = canceller.cancel();
        else
            pending = !receiver.start_recv(target.waker()).has_value();
    }

    void after() {
        MODEL_CHECK(pending, "start_recv() completed with the sender alive and silent");
        sender->send(make_value(first_payload));
        MODEL_CHECK(target.calls() == (cancelled ? 0 : 1),
                    "the target's calls do not match the cancel's result");
        MODEL_CHECK(holds_payload(receiver.try_recv(), first_payload),
                    "the receive did not get the sender's value");
    }
};

constexpr SearchPlan two_threads_bounded = bounded_search(
    3, 200000, "two threads, each first use allocates and installs: bound 3 takes seconds");

[[maybe_unused]] const bool registered[] = {
    register_scenario(
        "both_halves_install_then_send",
        &run<BothHalvesInstallThenSenderEnds<SenderEnd::send>, two_threads_bounded>),
    register_scenario(
        "both_halves_install_then_drop",
        &run<BothHalvesInstallThenSenderEnds<SenderEnd::drop>, two_threads_bounded>),
    register_scenario("both_halves_install_then_receiver_leaves",
                      &run<BothHalvesInstallThenReceiverLeaves, two_threads_bounded>),
    register_scenario("canceller_races_first_start_recv",
                      &run<CancellerRacesFirstStartRecv, two_threads_bounded>),
};

}  // namespace
}  // namespace multishot_model
