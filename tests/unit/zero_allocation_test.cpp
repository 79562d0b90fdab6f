// Recycling never allocates: once a Receiver exists, any number of
// sender()/send/receive cycles make zero heap allocations, with the poll
// layer and with co_await, on one thread and with the sender on another.
// Also: the shared block is the channel's only allocation (with its
// extension, allocated once by its first use), freed exactly once whichever
// half goes last.
//
// This executable replaces the global operator new and delete with counting
// versions (malloc/free based), so it is kept apart from the other tests.

#include "support/catch.hpp"
#include "support/concurrent.hpp"
#include "support/names.hpp"
#include "support/task.hpp"
#include "support/test_waker.hpp"

#include <multishot.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <optional>
#include <thread>
#include <utility>

namespace {

// Relaxed throughout: the tallies are read on the thread that counts, or
// after joining the threads that allocated (join orders their increments).
std::atomic<long> allocations{0};
std::atomic<long> deallocations{0};

void* counted_allocation(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
    throw std::bad_alloc();
}

void* counted_aligned_allocation(std::size_t size, std::align_val_t alignment) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    const auto align = static_cast<std::size_t>(alignment);
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t rounded = (size + align - 1) / align * align;
    if (void* memory = std::aligned_alloc(align, rounded == 0 ? align : rounded)) return memory;
    throw std::bad_alloc();
}

void counted_deallocation(void* memory) noexcept {
    if (memory == nullptr) return;
    deallocations.fetch_add(1, std::memory_order_relaxed);
    std::free(memory);
}

}  // namespace

// g++ 12 flags free() on memory that reaches operator delete as a mismatch;
// here that pairing is the point (every operator new above uses malloc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) { return counted_allocation(size); }
void* operator new[](std::size_t size) { return counted_allocation(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
    return counted_aligned_allocation(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return counted_aligned_allocation(size, alignment);
}
// The nothrow forms too: a sanitizer runtime brings its own, which would
// bypass the counters.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return counted_allocation(size);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return operator new(size, tag);
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    try {
        return counted_aligned_allocation(size, alignment);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, std::align_val_t alignment,
                     const std::nothrow_t& tag) noexcept {
    return operator new(size, alignment, tag);
}
void operator delete(void* memory) noexcept { counted_deallocation(memory); }
void operator delete[](void* memory) noexcept { counted_deallocation(memory); }
void operator delete(void* memory, std::size_t) noexcept { counted_deallocation(memory); }
void operator delete[](void* memory, std::size_t) noexcept { counted_deallocation(memory); }
void operator delete(void* memory, std::align_val_t) noexcept { counted_deallocation(memory); }
void operator delete[](void* memory, std::align_val_t) noexcept { counted_deallocation(memory); }
void operator delete(void* memory, std::size_t, std::align_val_t) noexcept {
    counted_deallocation(memory);
}
void operator delete[](void* memory, std::size_t, std::align_val_t) noexcept {
    counted_deallocation(memory);
}
void operator delete(void* memory, const std::nothrow_t&) noexcept { counted_deallocation(memory); }
void operator delete[](void* memory, const std::nothrow_t&) noexcept {
    counted_deallocation(memory);
}
void operator delete(void* memory, std::align_val_t, const std::nothrow_t&) noexcept {
    counted_deallocation(memory);
}
void operator delete[](void* memory, std::align_val_t, const std::nothrow_t&) noexcept {
    counted_deallocation(memory);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using namespace multishot_test;

constexpr int rounds = 10000;

// Allocations and deallocations since construction.
class AllocationWindow {
public:
    long allocations_since() const {
        return allocations.load(std::memory_order_relaxed) - allocations_before_;
    }
    long deallocations_since() const {
        return deallocations.load(std::memory_order_relaxed) - deallocations_before_;
    }

private:
    long allocations_before_ = allocations.load(std::memory_order_relaxed);
    long deallocations_before_ = deallocations.load(std::memory_order_relaxed);
};

// Checks that the counting operator new is in effect, so that the zero
// counts below mean something.
TEST_CASE("allocation: the counters see operator new", "[allocation]") {
    const AllocationWindow window;
    // Called directly: a new-expression's allocation may be elided.
    ::operator delete(::operator new(sizeof(int)));
    const long allocated = window.allocations_since();
    const long freed = window.deallocations_since();
    CHECK(allocated == 1);
    CHECK(freed == 1);
}

// Whether round i sends or destroys its sender (every third round).
bool sends_in(int round) { return round % 3 != 2; }

RecvResult<int> expected_in(int round) {
    if (sends_in(round)) return RecvResult<int>(std::in_place, round);
    return RecvError::closed;
}

void send_or_destroy(Sender<int> sender, int round) {
    if (sends_in(round)) sender.send(round);
}

// Checks that recycling through the poll layer on one thread allocates
// nothing: ready polls, pending polls, and changed wakers.
TEST_CASE("allocation: recycling with the poll layer on one thread", "[allocation]") {
    Receiver<int> receiver;
    CountingWaker first;
    CountingWaker second;
    int wrong_results = 0;
    const AllocationWindow window;
    for (int round = 0; round < rounds; ++round) {
        Sender<int> sender = *receiver.sender();
        if (round % 2 == 1) {
            wrong_results += receiver.poll_recv(first.waker()).has_value();
            wrong_results += receiver.poll_recv(second.waker()).has_value();
        }
        send_or_destroy(std::move(sender), round);
        const PollResult<int> result = receiver.poll_recv(first.waker());
        wrong_results += !result.has_value() || *result != expected_in(round);
    }
    CHECK(window.allocations_since() == 0);
    CHECK(wrong_results == 0);
    CHECK(first.take_count() == 0);
    CHECK(second.take_count() == static_cast<std::size_t>(rounds / 2));
}

// Hands senders from one thread to another: a one-slot mailbox.
class Mailbox {
public:
    void put(Sender<int> sender) {
        // Acquire: the taker's release store says the slot is free again.
        while (full_.load(std::memory_order_acquire)) std::this_thread::yield();
        slot_.emplace(std::move(sender));
        // Release: publishes the sender written into the slot.
        full_.store(true, std::memory_order_release);
    }

    Sender<int> take() {
        // Acquire: pairs with put()'s release, so the slot is readable.
        while (!full_.load(std::memory_order_acquire)) std::this_thread::yield();
        Sender<int> sender = std::move(*slot_);
        slot_.reset();
        // Release: the slot is emptied before put() may refill it.
        full_.store(false, std::memory_order_release);
        return sender;
    }

private:
    std::optional<Sender<int>> slot_;
    std::atomic<bool> full_{false};
};

// Sends (or destroys) `rounds` senders taken from `mailbox`, in order.
void serve(Mailbox& mailbox) {
    for (int round = 0; round < rounds; ++round) send_or_destroy(mailbox.take(), round);
}

// Checks that recycling with the sender on another thread, the receiver
// re-polling until ready, allocates nothing. The thread is started, and has
// reached its loop, before the window opens.
TEST_CASE("allocation: recycling with the poll layer and the sender on another thread",
          "[allocation][thread]") {
    Receiver<int> receiver;
    Mailbox mailbox;
    CountingWaker waker;
    int wrong_results = 0;
    std::optional<AllocationWindow> window;
    run_concurrently([&] { serve(mailbox); },
                     [&] {
                         window.emplace();
                         for (int round = 0; round < rounds; ++round) {
                             mailbox.put(*receiver.sender());
                             PollResult<int> result;
                             while (!(result = receiver.poll_recv(waker.waker())))
                                 std::this_thread::yield();
                             wrong_results += *result != expected_in(round);
                         }
                     });
    CHECK(window->allocations_since() == 0);
    CHECK(wrong_results == 0);
}

// Receives `rounds` times with co_await, handing each sender to `mailbox`
// before awaiting, and counts the results that were not the expected ones.
// Suspends first in `start`, so that its frame is allocated before any
// counting starts.
Task<int> receive_rounds(Receiver<int>& receiver, Mailbox& mailbox, Receiver<int>& start) {
    co_await start.recv();
    int wrong_results = 0;
    for (int round = 0; round < rounds; ++round) {
        std::optional<Sender<int>> sender = receiver.sender();
        if (!sender) {
            ++wrong_results;
            continue;
        }
        mailbox.put(std::move(*sender));
        wrong_results += co_await receiver.recv() != expected_in(round);
    }
    co_return wrong_results;
}

// Checks that recycling with co_await allocates nothing, with the sender on
// this thread (the coroutine is resumed inline by send) and on another
// thread (it is resumed there, and hands the next sender from there).
TEST_CASE("allocation: recycling with co_await", "[allocation][coroutine]") {
    const bool sender_on_another_thread = GENERATE(false, true);
    Receiver<int> start;
    Sender<int> starter = *start.sender();
    Receiver<int> receiver;
    Mailbox mailbox;
    Task<int> task = receive_rounds(receiver, mailbox, start);
    REQUIRE_FALSE(task.done());
    std::optional<AllocationWindow> window;
    if (sender_on_another_thread) {
        run_concurrently([&] { serve(mailbox); },
                         [&] {
                             window.emplace();
                             starter.send(0);
                         });
    } else {
        // The coroutine hands each sender to `mailbox` from within send().
        window.emplace();
        starter.send(0);
        serve(mailbox);
    }
    const long allocated = window->allocations_since();
    CHECK(allocated == 0);
    REQUIRE(task.done());
    CHECK(task.result() == 0);
}

// Which half of a channel goes last, and how.
enum class LastToGo { receiver, sender_sending, sender_unused };

// Checks that a Receiver makes exactly one allocation, and that it is freed
// exactly once, by the half that goes last. (Catch's own allocations are kept
// out of the window: it is only read here, checked at the end.)
TEST_CASE("allocation: the block is freed exactly once by the last half", "[allocation]") {
    const LastToGo last =
        GENERATE(LastToGo::receiver, LastToGo::sender_sending, LastToGo::sender_unused);
    const AllocationWindow window;
    std::optional<Receiver<int>> receiver(std::in_place);
    std::optional<Sender<int>> sender = receiver->sender();
    const long allocated = window.allocations_since();
    if (last == LastToGo::receiver) {
        sender->send(1);
    } else {
        receiver.reset();
    }
    const long freed_before_the_last = window.deallocations_since();
    if (last == LastToGo::receiver) {
        receiver.reset();
    } else if (last == LastToGo::sender_sending) {
        sender->send(2);
    } else {
        sender.reset();
    }
    const long freed = window.deallocations_since();
    const long allocated_in_all = window.allocations_since();
    CHECK(allocated == 1);
    CHECK(freed_before_the_last == 0);
    CHECK(freed == 1);
    CHECK(allocated_in_all == 1);
}

void ignore_wake(void*) noexcept {}

// Checks the extension's promise: the first receive through the wait cell or
// the first closure waker of a block's lifetime allocates its extension, the
// only other allocation; later cycles allocate nothing, and it is freed with
// the block (two deallocations), whichever half goes last.
TEST_CASE("allocation: the extension is allocated once, by its first use", "[allocation]") {
    const bool receiver_last = GENERATE(false, true);
    const AllocationWindow window;
    std::optional<Receiver<int>> receiver(std::in_place);
    int context = 0;
    const multishot::Waker waker(&ignore_wake, &context);
    long after_first_round = 0;
    for (int round = 0; round < 100; ++round) {
        std::optional<Sender<int>> sender = receiver->sender();
        REQUIRE(sender.has_value());
        CHECK_FALSE(sender->poll_closed(waker));
        CHECK(receiver->recv_for(std::chrono::microseconds(1)) == RecvError::timed_out);
        CHECK_FALSE(receiver->start_recv(waker).has_value());
        CHECK(receiver->canceller().cancel());
        sender->send(round);
        CHECK(receiver->try_recv().value() == round);
        if (round == 0) after_first_round = window.allocations_since();
    }
    const long allocated = window.allocations_since();
    std::optional<Sender<int>> sender = receiver->sender();
    CHECK_FALSE(sender->poll_closed(waker));
    if (receiver_last) {
        sender.reset();
        receiver.reset();
    } else {
        receiver.reset();
        sender.reset();
    }
    CHECK(after_first_round == 2);  // the block and its extension
    CHECK(allocated == 2);
    CHECK(window.deallocations_since() == 2);
}

// Checks that halves destroyed concurrently free the block exactly once:
// allocations and deallocations balance (the thread's own bookkeeping
// included, which std::thread frees before join returns).
TEST_CASE("allocation: halves destroyed concurrently free the block once",
          "[allocation][thread]") {
    const bool send_first = GENERATE(false, true);
    const AllocationWindow window;
    for (int round = 0; round < 200; ++round) {
        std::optional<Receiver<int>> receiver(std::in_place);
        std::optional<Sender<int>> sender = receiver->sender();
        if (send_first) sender->send(round);
        run_concurrently([&] { sender.reset(); }, [&] { receiver.reset(); });
    }
    const long allocated = window.allocations_since();
    const long freed = window.deallocations_since();
    CHECK(allocated >= 200);
    CHECK(freed == allocated);
}

}  // namespace
