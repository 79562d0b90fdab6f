// Issue 12, the request lifecycle: Receiver::abandon() (give up the current
// message and recycle at once), Sender::poll_closed() and co_await
// Sender::closed() (the producer learns that nobody waits), and
// Sender::try_send() (the value comes back if nobody can receive it).
//
// Every value is a Counted, so that each test checks that the values the
// channel held were destroyed exactly once, or handed back exactly once.
// Allocations are counted through the receiver's own allocator.

#include "support/catch.hpp"
#include "support/counting.hpp"
#include "support/names.hpp"
#include "support/race_partner.hpp"
#include "support/task.hpp"
#include "support/test_waker.hpp"

#include <multishot.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

#if MULTISHOT_HAS_STOP_TOKEN
#include <stop_token>
#endif

namespace {

using namespace multishot_test;

// Counts what goes through it; fails the next allocation when told to.
struct AllocationTally {
    std::size_t allocations = 0;
    std::size_t deallocations = 0;
    bool fail_next = false;
};

template <class T>
struct TallyAllocator {
    using value_type = T;

    explicit TallyAllocator(AllocationTally& tally) noexcept : tally_(&tally) {}
    template <class U>
    TallyAllocator(const TallyAllocator<U>& other) noexcept : tally_(other.tally_) {}

    T* allocate(std::size_t n) {
        if (tally_->fail_next) {
            tally_->fail_next = false;
            throw std::bad_alloc();
        }
        ++tally_->allocations;
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* pointer, std::size_t n) noexcept {
        ++tally_->deallocations;
        std::allocator<T>().deallocate(pointer, n);
    }

    template <class U>
    friend bool operator==(const TallyAllocator& a, const TallyAllocator<U>& b) noexcept {
        return a.tally_ == b.tally_;
    }

    AllocationTally* tally_;
};

Receiver<Counted> tallied_receiver(AllocationTally& tally) {
    return Receiver<Counted>(std::allocator_arg, TallyAllocator<std::byte>(tally));
}

// ---------------------------------------------------------------------------
// abandon()
// ---------------------------------------------------------------------------

TEST_CASE("abandon without a live sender allocates nothing and sender() succeeds", "[lifecycle]") {
    const long live_before = Census::live();
    AllocationTally tally;
    {
        Receiver<Counted> receiver = tallied_receiver(tally);
        REQUIRE(tally.allocations == 1);
        receiver.abandon();  // a new receiver: nothing to give up
        REQUIRE(receiver.sender().has_value());
        // The sender just made is destroyed: closed, consumed.
        receiver.abandon();
        // An unread value is destroyed.
        Sender<Counted> sender = *receiver.sender();
        sender.send(Counted(7));
        REQUIRE(Census::live() == live_before + 1);
        receiver.abandon();
        CHECK(Census::live() == live_before);
        CHECK(tally.allocations == 1);
        Sender<Counted> next = *receiver.sender();
        next.send(Counted(8));
        const RecvResult<Counted> result = receiver.try_recv();
        REQUIRE(result.has_value());
        CHECK(result->value() == 8);
    }
    CHECK(tally.allocations == 1);
    CHECK(tally.deallocations == 1);
    CHECK(Census::live() == live_before);
}

TEST_CASE("abandon after a timed-out recv_for detaches the slow sender", "[lifecycle]") {
    const long live_before = Census::live();
    AllocationTally tally;
    {
        Receiver<Counted> receiver = tallied_receiver(tally);
        std::optional<Sender<Counted>> slow = receiver.sender();
        REQUIRE(receiver.recv_for(1ms) == RecvError::timed_out);
        REQUIRE_FALSE(receiver.sender().has_value());  // the problem abandon() solves
        CHECK(tally.allocations == 2);  // the block, and its extension for the wait cell

        receiver.abandon();
        CHECK(tally.allocations == 3);  // one new block, through the receiver's allocator
        CHECK(slow->is_closed());

        // The receiver goes on with a new sender at once.
        std::optional<Sender<Counted>> next = receiver.sender();
        REQUIRE(next.has_value());
        next->send(Counted(2));
        const RecvResult<Counted> result = receiver.recv_for(1s);
        REQUIRE(result.has_value());
        CHECK(result->value() == 2);

        // The slow sender's late value comes back; the old block is freed
        // when the slow sender goes.
        std::optional<Counted> back = slow->try_send(Counted(1));
        REQUIRE(back.has_value());
        CHECK(back->value() == 1);
        CHECK(tally.deallocations == 2);  // the old block and its extension
    }
    CHECK(tally.deallocations == 3);
    CHECK(Census::live() == live_before);
}

TEST_CASE("abandon: a detached sender's send discards its value and frees the old block",
          "[lifecycle]") {
    const long live_before = Census::live();
    AllocationTally tally;
    {
        Receiver<Counted> receiver = tallied_receiver(tally);
        Sender<Counted> slow = *receiver.sender();
        receiver.abandon();
        CHECK(tally.deallocations == 0);
        slow.send(Counted(1));
        CHECK(tally.deallocations == 1);
        CHECK(Census::live() == live_before);
        CHECK(receiver.try_recv() == RecvError::closed);  // nothing of the old message
    }
    CHECK(tally.allocations == 2);
    CHECK(tally.deallocations == 2);
}

TEST_CASE("abandon: a detached sender destroyed without sending frees the old block",
          "[lifecycle]") {
    AllocationTally tally;
    {
        Receiver<Counted> receiver = tallied_receiver(tally);
        std::optional<Sender<Counted>> slow = receiver.sender();
        receiver.abandon();
        slow.reset();
        CHECK(tally.deallocations == 1);
        CHECK(receiver.sender().has_value());
    }
    CHECK(tally.deallocations == 2);
}

TEST_CASE("abandon: a failed allocation throws and changes nothing", "[lifecycle]") {
    const long live_before = Census::live();
    AllocationTally tally;
    {
        Receiver<Counted> receiver = tallied_receiver(tally);
        Sender<Counted> sender = *receiver.sender();
        tally.fail_next = true;
        REQUIRE_THROWS_AS(receiver.abandon(), std::bad_alloc);
        CHECK_FALSE(sender.is_closed());
        CHECK_FALSE(receiver.sender().has_value());
        sender.send(Counted(5));
        const RecvResult<Counted> result = receiver.try_recv();
        REQUIRE(result.has_value());
        CHECK(result->value() == 5);
    }
    CHECK(tally.allocations == 1);
    CHECK(tally.deallocations == 1);
    CHECK(Census::live() == live_before);
}

// Checks the extension's first use when the allocator fails: each operation
// that would install it throws bad_alloc and changes nothing (the channel
// works on, no waker registered, no target armed), and the next attempt,
// with the allocator willing, installs it.
TEST_CASE("a failed allocation of the extension throws and changes nothing", "[lifecycle]") {
    enum class FirstUse { poll_closed, recv_for, start_recv, closed_await, cancellable_await };
    const FirstUse first_use =
        GENERATE(FirstUse::poll_closed, FirstUse::recv_for, FirstUse::start_recv,
                 FirstUse::closed_await, FirstUse::cancellable_await);
    const long live_before = Census::live();
    AllocationTally tally;
    {
        Receiver<Counted> receiver = tallied_receiver(tally);
        Sender<Counted> sender = *receiver.sender();
        CountingWaker waker;
        const auto use = [&] {
            switch (first_use) {
                case FirstUse::poll_closed: return sender.poll_closed(waker.waker());
                case FirstUse::recv_for: return receiver.recv_for(1ms).has_value();
                case FirstUse::start_recv: return receiver.start_recv(waker.waker()).has_value();
                case FirstUse::closed_await: {
                    auto await_closed = [](Sender<Counted>& s) -> Task<bool> {
                        co_await s.closed();
                        co_return true;
                    };
                    Task<bool> task = await_closed(sender);
                    return task.done() && task.result();
                }
                case FirstUse::cancellable_await: {
#if MULTISHOT_HAS_STOP_TOKEN
                    auto receive = [](Receiver<Counted>& r) -> Task<bool> {
                        std::stop_source never;
                        co_return (co_await r.recv(never.get_token())).has_value();
                    };
                    Task<bool> task = receive(receiver);
                    return task.done() && task.result();
#endif
                }
            }
            return false;
        };
        if (first_use == FirstUse::cancellable_await && !MULTISHOT_HAS_STOP_TOKEN) {
            SUCCEED("no std::stop_token in this standard library: no cancellable co_await");
            return;
        }
        tally.fail_next = true;
        REQUIRE_THROWS_AS(use(), std::bad_alloc);
        CHECK(tally.allocations == 1);
        CHECK_FALSE(sender.is_closed());
        CHECK(receiver.try_recv() == RecvError::empty);

        // Once more, the allocator willing (not for the awaits: their
        // coroutine would suspend, registered, and outlive this test's frame).
        if (first_use != FirstUse::closed_await && first_use != FirstUse::cancellable_await) {
            CHECK_FALSE(use());
            CHECK(tally.allocations == 2);  // installed this time
        }
        if (first_use == FirstUse::start_recv) CHECK(receiver.canceller().cancel());
        sender.send(Counted(5));
        const RecvResult<Counted> result = receiver.try_recv();
        REQUIRE(result.has_value());
        CHECK(result->value() == 5);
        CHECK(waker.take_count() == 0);
    }
    CHECK(tally.deallocations == tally.allocations);
    CHECK(Census::live() == live_before);
}

TEST_CASE("abandon on a moved-from receiver throws usage_error", "[lifecycle]") {
    Receiver<int> receiver;
    Receiver<int> taken = std::move(receiver);
    CHECK_THROWS_AS(receiver.abandon(), multishot::usage_error);  // NOLINT: the point
}

TEST_CASE("abandon after a pending poll: the old waker is never called", "[lifecycle]") {
    Receiver<int> receiver;
    Sender<int> slow = *receiver.sender();
    CountingWaker waker;
    REQUIRE_FALSE(receiver.poll_recv(waker.waker()).has_value());
    receiver.abandon();
    slow.send(1);
    CHECK(waker.take_count() == 0);
    CHECK(receiver.poll_recv(waker.waker()) == RecvError::closed);
}

TEST_CASE("abandon after a cancelled start_recv", "[lifecycle]") {
    Receiver<int> receiver;
    Sender<int> slow = *receiver.sender();
    CountingWaker target;
    REQUIRE_FALSE(receiver.start_recv(target.waker()).has_value());
    REQUIRE(receiver.canceller().cancel());
    receiver.abandon();
    CHECK(slow.is_closed());
    std::optional<Sender<int>> next = receiver.sender();
    REQUIRE(next.has_value());
    REQUIRE_FALSE(receiver.start_recv(target.waker()).has_value());
    next->send(3);
    CHECK(target.take_count() == 1);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 3));
    CHECK(slow.try_send(4) == std::optional<int>(4));
}

#if MULTISHOT_HAS_STOP_TOKEN
TEST_CASE("abandon after a cancelled co_await recv(stop_token)", "[lifecycle]") {
    Receiver<int> receiver;
    Sender<int> slow = *receiver.sender();
    std::stop_source stop;
    auto receive = [](Receiver<int>& r, std::stop_token token) -> Task<RecvResult<int>> {
        co_return co_await r.recv(std::move(token));
    };
    Task<RecvResult<int>> task = receive(receiver, stop.get_token());
    REQUIRE_FALSE(task.done());
    stop.request_stop();
    REQUIRE(task.done());
    REQUIRE(task.result() == RecvError::cancelled);
    receiver.abandon();
    CHECK(slow.is_closed());
    std::optional<Sender<int>> next = receiver.sender();
    REQUIRE(next.has_value());
    next->send(9);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 9));
    slow.send(10);  // discarded
}
#endif

TEST_CASE("abandon races a send on another thread: each value once", "[lifecycle]") {
    const long live_before = Census::live();
    RacePartner partner;
    Receiver<Counted> receiver;
    int returned = 0;
    int abandoned = 0;
    for (int round = 0; round < 2000; ++round) {
        Sender<Counted> sender = *receiver.sender();
        std::optional<Counted> back;
        partner.race([&] { back = sender.try_send(Counted(round)); }, [&] { receiver.abandon(); },
                     round % 7 - 3);
        if (back) {
            REQUIRE(back->value() == round);
            ++returned;
        } else {
            ++abandoned;  // delivered, then destroyed by abandon()
        }
        back.reset();
        REQUIRE(Census::live() == live_before);
        REQUIRE(receiver.try_recv() == RecvError::closed);
    }
    CHECK(returned + abandoned == 2000);
    CHECK(Census::live() == live_before);
}

// ---------------------------------------------------------------------------
// poll_closed() and closed()
// ---------------------------------------------------------------------------

TEST_CASE("poll_closed is ready once the receiver is gone, and for an empty sender",
          "[lifecycle]") {
    std::optional<Receiver<int>> receiver(std::in_place);
    Sender<int> sender = *receiver->sender();
    CountingWaker waker;
    CHECK_FALSE(sender.poll_closed(waker.waker()));
    receiver.reset();
    CHECK(waker.take_count() == 1);
    CHECK(sender.poll_closed(waker.waker()));
    CHECK(sender.is_closed());
    CHECK(waker.take_count() == 0);

    Sender<int> taken = std::move(sender);
    CHECK(sender.poll_closed(waker.waker()));  // NOLINT: an empty sender is closed
}

TEST_CASE("poll_closed: the last pending waker is called, once, on abandon", "[lifecycle]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CountingWaker first;
    CountingWaker second;
    CHECK_FALSE(sender.poll_closed(first.waker()));
    CHECK_FALSE(sender.poll_closed(first.waker()));  // repoll: still one registration
    CHECK_FALSE(sender.poll_closed(second.waker()));
    receiver.abandon();
    CHECK(first.take_count() == 0);
    CHECK(second.take_count() == 1);
    CHECK(sender.poll_closed(second.waker()));
    CHECK(second.take_count() == 0);
}

TEST_CASE("poll_closed: a sender that sends or goes cleans up its registration",
          "[lifecycle]") {
    CountingWaker waker;
    {
        Receiver<int> receiver;
        Sender<int> sender = *receiver.sender();
        CHECK_FALSE(sender.poll_closed(waker.waker()));
        sender.send(1);
        CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 1));
        // The next sender has no registration of its own.
        Sender<int> next = *receiver.sender();
        CHECK_FALSE(next.is_closed());
    }
    {
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        CHECK_FALSE(sender->poll_closed(waker.waker()));
        sender.reset();
    }
    {
        Receiver<int> receiver;
        Sender<int> sender = *receiver.sender();
        CHECK_FALSE(sender.poll_closed(waker.waker()));
        sender.send(2);  // delivered; the receiver is destroyed unread
    }
    CHECK(waker.take_count() == 0);
}

TEST_CASE("poll_closed does not disturb a pending receive", "[lifecycle]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    CountingWaker receive_waker;
    CountingWaker closure;
    REQUIRE_FALSE(receiver.poll_recv(receive_waker.waker()).has_value());
    CHECK_FALSE(sender.poll_closed(closure.waker()));
    CountingWaker newer;  // a second registration makes the sender retry
    REQUIRE_FALSE(receiver.poll_recv(newer.waker()).has_value());
    CHECK_FALSE(sender.poll_closed(closure.waker()));
    sender.send(6);
    CHECK(receive_waker.take_count() + newer.take_count() == 1);
    CHECK(receiver.poll_recv(newer.waker()) == RecvResult<int>(std::in_place, 6));
    CHECK(closure.take_count() == 0);
}

Task<> await_closed(Sender<int>& sender, int& resumptions) {
    co_await sender.closed();
    ++resumptions;
    CHECK(sender.is_closed());
}

TEST_CASE("co_await closed(): at once if the receiver is gone, else resumed once when it goes",
          "[lifecycle]") {
    int resumptions = 0;
    {
        std::optional<Receiver<int>> receiver(std::in_place);
        Sender<int> sender = *receiver->sender();
        receiver.reset();
        Task<> task = await_closed(sender, resumptions);
        CHECK(task.done());
        CHECK(resumptions == 1);
    }
    {
        Receiver<int> receiver;
        Sender<int> sender = *receiver.sender();
        Task<> task = await_closed(sender, resumptions);
        CHECK_FALSE(task.done());
        receiver.abandon();  // resumes it inline
        CHECK(task.done());
        CHECK(resumptions == 2);
        CHECK(receiver.sender().has_value());
    }
    {
        Sender<int> empty = std::move(*Receiver<int>().sender());
        Sender<int> moved = std::move(empty);
        Task<> task = await_closed(empty, resumptions);  // NOLINT: empty is closed
        CHECK(task.done());
        CHECK(resumptions == 3);
    }
}

// The coroutine awaits closed() while the receiver leaves on the partner
// thread (destroyed, or abandon() then a new message); the coroutine is
// resumed exactly once, at once or inline on the partner, and then destroys
// its sender there.
void race_closed_await_with(bool abandon) {
    RacePartner partner;
    std::optional<Receiver<int>> receiver(std::in_place);
    for (int round = 0; round < 2000; ++round) {
        if (!receiver) receiver.emplace();
        std::optional<Sender<int>> sender = receiver->sender();
        REQUIRE(sender.has_value());
        std::atomic<int> resumptions{0};
        std::optional<Task<>> task;
        auto body = [](std::optional<Sender<int>>& s, std::atomic<int>& count) -> Task<> {
            co_await s->closed();
            // Relaxed: read after the race joined.
            count.fetch_add(1, std::memory_order_relaxed);
            s.reset();
        };
        partner.race(
            [&] {
                if (abandon)
                    receiver->abandon();
                else
                    receiver.reset();
            },
            [&] { task.emplace(body(sender, resumptions)); }, round % 7 - 3);
        REQUIRE(task->done());
        REQUIRE(resumptions.load(std::memory_order_relaxed) == 1);
        REQUIRE_FALSE(sender.has_value());
    }
}

TEST_CASE("co_await closed() racing the receiver's destruction on another thread",
          "[lifecycle]") {
    race_closed_await_with(false);
}

TEST_CASE("co_await closed() racing abandon() on another thread", "[lifecycle]") {
    race_closed_await_with(true);
}

TEST_CASE("poll_closed and try_send racing abandon on another thread", "[lifecycle]") {
    const long live_before = Census::live();
    RacePartner partner;
    Receiver<Counted> receiver;
    for (int round = 0; round < 2000; ++round) {
        Sender<Counted> sender = *receiver.sender();
        CountingWaker closure;
        bool ready = false;
        std::optional<Counted> back;
        partner.race([&] { receiver.abandon(); },
                     [&] {
                         ready = sender.poll_closed(closure.waker());
                         back = sender.try_send(Counted(round));
                     },
                     round % 7 - 3);
        const std::size_t calls = closure.take_count();
        if (ready) REQUIRE(calls == 0);
        if (!ready && back) REQUIRE(calls == 1);  // left while registered and unsent
        if (!back) REQUIRE(calls == 0);           // delivered first: never called
        if (back) REQUIRE(back->value() == round);
        back.reset();
        REQUIRE(Census::live() == live_before);
    }
}

// ---------------------------------------------------------------------------
// try_send()
// ---------------------------------------------------------------------------

TEST_CASE("try_send delivers, or hands the value back if the receiver is gone",
          "[lifecycle]") {
    const long live_before = Census::live();
    {
        Receiver<Counted> receiver;
        Sender<Counted> sender = *receiver.sender();
        CHECK_FALSE(sender.try_send(Counted(1)).has_value());
        CHECK_FALSE(sender.valid());
        const RecvResult<Counted> result = receiver.try_recv();
        REQUIRE(result.has_value());
        CHECK(result->value() == 1);
    }
    {
        std::optional<Receiver<Counted>> receiver(std::in_place);
        Sender<Counted> sender = *receiver->sender();
        receiver.reset();
        std::optional<Counted> back = sender.try_send(Counted(2));
        REQUIRE(back.has_value());
        CHECK(back->value() == 2);
        CHECK_FALSE(sender.valid());
        CHECK(Census::live() == live_before + 1);
    }
    {
        // Sent, then the receiver is destroyed unread: counts as received.
        std::optional<Receiver<Counted>> receiver(std::in_place);
        Sender<Counted> sender = *receiver->sender();
        CHECK_FALSE(sender.try_send(Counted(3)).has_value());
        receiver.reset();
    }
    CHECK(Census::live() == live_before);
}

TEST_CASE("try_send on a void channel", "[lifecycle]") {
    Receiver<void> receiver;
    Sender<void> sender = *receiver.sender();
    CHECK(sender.try_send());
    CHECK(receiver.try_recv().has_value());
    Sender<void> detached = *receiver.sender();
    receiver.abandon();
    CHECK_FALSE(detached.try_send());
    CHECK_THROWS_AS(detached.try_send(), multishot::usage_error);
}

TEST_CASE("try_send on an empty sender throws usage_error", "[lifecycle]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    sender.send(1);
    CHECK_THROWS_AS((void)sender.try_send(2), multishot::usage_error);
}

// A value whose move constructor throws on demand.
struct Fragile {
    static inline int throw_on_move = 0;  // throw on the n-th move from now, if > 0
    explicit Fragile(int v) : value(v) { Census::constructed(); }
    Fragile(const Fragile&) = delete;
    Fragile(Fragile&& other) : value(other.value) {
        if (throw_on_move > 0 && --throw_on_move == 0) throw std::runtime_error("move");
        Census::constructed();
    }
    ~Fragile() { Census::destroyed(); }
    int value;
};

TEST_CASE("try_send with a throwing move", "[lifecycle]") {
    const long live_before = Census::live();
    {
        // Into the channel: the sender is left as it was.
        Receiver<Fragile> receiver;
        Sender<Fragile> sender = *receiver.sender();
        Fragile::throw_on_move = 1;  // into the slot (the parameter is built in place)
        CHECK_THROWS_AS((void)sender.try_send(Fragile(1)), std::runtime_error);
        CHECK(sender.valid());
        Fragile::throw_on_move = 0;
        CHECK_FALSE(sender.try_send(Fragile(2)).has_value());
    }
    {
        // Back out of the channel: the value is destroyed, the block freed.
        std::optional<Receiver<Fragile>> receiver(std::in_place);
        Sender<Fragile> sender = *receiver->sender();
        receiver.reset();
        Fragile::throw_on_move = 2;  // into the slot, then back out
        CHECK_THROWS_AS((void)sender.try_send(Fragile(3)), std::runtime_error);
        CHECK_FALSE(sender.valid());
        Fragile::throw_on_move = 0;
    }
    CHECK(Census::live() == live_before);
}

TEST_CASE("try_send racing the receiver's destruction: delivered or returned, once",
          "[lifecycle]") {
    const long live_before = Census::live();
    RacePartner partner;
    int returned = 0;
    for (int round = 0; round < 2000; ++round) {
        std::optional<Receiver<Counted>> receiver(std::in_place);
        Sender<Counted> sender = *receiver->sender();
        std::optional<Counted> back;
        partner.race([&] { receiver.reset(); }, [&] { back = sender.try_send(Counted(round)); },
                     round % 7 - 3);
        if (back) {
            REQUIRE(back->value() == round);
            ++returned;
        }
        back.reset();
        REQUIRE(Census::live() == live_before);
    }
    CHECK(returned <= 2000);
}

}  // namespace
