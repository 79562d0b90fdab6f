// Allocators: Receiver<T>(std::allocator_arg, alloc) and
// channel<T>(std::allocator_arg, alloc) allocate the shared block through
// (a rebound copy of) the allocator, exactly once per receiver however many
// times it is recycled, and free it through the allocator whichever half goes
// last, on whichever thread. Checked with a stateful arena allocator of our
// own and with std::pmr::polymorphic_allocator over a counting resource; both
// keep a ledger of every allocation and check each deallocation against it.

#include "support/catch.hpp"
#include "support/concurrent.hpp"
#include "support/names.hpp"
#include "support/race_partner.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

namespace {

using namespace multishot_test;

// Every live allocation and the totals, guarded by a mutex: the block may be
// freed on another thread than the one that allocated it.
class Ledger {
public:
    void allocated(void* pointer, std::size_t bytes) {
        const std::lock_guard lock(mutex_);
        live_.emplace(pointer, bytes);
        ++allocations_;
        bytes_allocated_ += bytes;
    }

    // Records a deallocation; one of a pointer not allocated here, or with
    // another size than it was allocated with, counts as a bad free.
    void freed(void* pointer, std::size_t bytes) {
        const std::lock_guard lock(mutex_);
        const auto entry = live_.find(pointer);
        if (entry == live_.end() || entry->second != bytes) {
            ++bad_frees_;
            return;
        }
        live_.erase(entry);
        bytes_freed_ += bytes;
    }

    long allocations() const { return locked(allocations_); }
    std::size_t bytes_allocated() const { return locked(bytes_allocated_); }
    std::size_t outstanding_bytes() const { return locked(bytes_allocated_ - bytes_freed_); }
    long bad_frees() const { return locked(bad_frees_); }

private:
    template <class V>
    V locked(const V& value) const {
        const std::lock_guard lock(mutex_);
        return value;
    }

    mutable std::mutex mutex_;
    std::map<void*, std::size_t> live_;
    long allocations_ = 0;
    std::size_t bytes_allocated_ = 0;
    std::size_t bytes_freed_ = 0;
    long bad_frees_ = 0;
};

// A fixed buffer handed out in order and never reused; its ledger counts
// what was handed out and what came back.
class Arena {
public:
    void* allocate(std::size_t bytes, std::size_t alignment) {
        const std::lock_guard lock(mutex_);
        const std::size_t offset = (used_ + alignment - 1) / alignment * alignment;
        if (alignment > alignof(std::max_align_t) || offset + bytes > sizeof(buffer_)) {
            throw std::bad_alloc();
        }
        used_ = offset + bytes;
        void* pointer = buffer_ + offset;
        ledger_.allocated(pointer, bytes);
        return pointer;
    }

    void deallocate(void* pointer, std::size_t bytes) { ledger_.freed(pointer, bytes); }

    const Ledger& ledger() const { return ledger_; }

private:
    std::mutex mutex_;
    std::size_t used_ = 0;
    alignas(std::max_align_t) std::byte buffer_[16 * 1024];
    Ledger ledger_;
};

// A stateful allocator over an Arena. Copies and rebound copies share the
// arena and compare equal.
template <class T>
class ArenaAllocator {
public:
    using value_type = T;
    template <class U>
    struct rebind {
        using other = ArenaAllocator<U>;
    };

    explicit ArenaAllocator(Arena& arena) noexcept : arena_(&arena) {}
    template <class U>
    ArenaAllocator(const ArenaAllocator<U>& other) noexcept : arena_(&other.arena()) {}

    T* allocate(std::size_t count) {
        return static_cast<T*>(arena_->allocate(count * sizeof(T), alignof(T)));
    }
    void deallocate(T* pointer, std::size_t count) noexcept {
        arena_->deallocate(pointer, count * sizeof(T));
    }

    Arena& arena() const noexcept { return *arena_; }

    friend bool operator==(const ArenaAllocator&, const ArenaAllocator&) = default;

private:
    Arena* arena_;
};

// A memory resource that takes its memory from the default new/delete
// resource and keeps a ledger of it.
class CountingResource final : public std::pmr::memory_resource {
public:
    const Ledger& ledger() const { return ledger_; }

private:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        void* pointer = std::pmr::new_delete_resource()->allocate(bytes, alignment);
        ledger_.allocated(pointer, bytes);
        return pointer;
    }
    void do_deallocate(void* pointer, std::size_t bytes, std::size_t alignment) override {
        ledger_.freed(pointer, bytes);
        std::pmr::new_delete_resource()->deallocate(pointer, bytes, alignment);
    }
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
        return this == &other;
    }

    Ledger ledger_;
};

// The two allocators under test, each with the ledger that watches it.
struct ArenaSetup {
    Arena arena;
    ArenaAllocator<std::byte> allocator() { return ArenaAllocator<std::byte>(arena); }
    const Ledger& ledger() const { return arena.ledger(); }
};

struct PmrSetup {
    CountingResource resource;
    std::pmr::polymorphic_allocator<std::byte> allocator() { return {&resource}; }
    const Ledger& ledger() const { return resource.ledger(); }
};

// Checks the ledger after both halves are gone: the one block was allocated
// and every byte of it came back, through the allocator, with its size.
void check_all_returned(const Ledger& ledger) {
    CHECK(ledger.allocations() == 1);
    CHECK(ledger.bytes_allocated() >= sizeof(int));
    CHECK(ledger.outstanding_bytes() == 0);
    CHECK(ledger.bad_frees() == 0);
}

// Runs `action` on a new thread if `elsewhere`, else here.
template <class Action>
void run_here_or_elsewhere(bool elsewhere, Action action) {
    if (elsewhere) {
        std::thread(std::move(action)).join();
    } else {
        action();
    }
}

// Checks that the block is allocated once through the allocator, stays
// allocated while either half lives, and comes back in full when the second
// half is done with it: the receiver destroyed last, or the sender last
// (sending into the closed channel, or dropped), the last half on this thread
// or another.
TEMPLATE_TEST_CASE("allocator: every byte comes back whichever half goes last", "[allocator]",
                   ArenaSetup, PmrSetup) {
    const bool receiver_last = GENERATE(false, true);
    const bool sends = GENERATE(false, true);
    const bool last_elsewhere = GENERATE(false, true);
    TestType setup;
    std::optional<Receiver<int>> receiver(std::in_place, std::allocator_arg, setup.allocator());
    CHECK(setup.ledger().allocations() == 1);
    std::optional<Sender<int>> sender = receiver->sender();
    const auto finish_sender = [&sender, sends] {
        if (sends) sender->send(1);
        sender.reset();
    };
    if (receiver_last) {
        finish_sender();
        CHECK(setup.ledger().outstanding_bytes() > 0);
        run_here_or_elsewhere(last_elsewhere, [&receiver] { receiver.reset(); });
    } else {
        receiver.reset();
        CHECK(setup.ledger().outstanding_bytes() > 0);
        run_here_or_elsewhere(last_elsewhere, finish_sender);
    }
    check_all_returned(setup.ledger());
}

// Checks that the halves of channel<T>(std::allocator_arg, alloc), finished
// at the same moment on two threads (the sender sending or dropped, the
// receiver destroyed), return every byte, in each round.
TEMPLATE_TEST_CASE("allocator: channel halves finished concurrently return every byte",
                   "[allocator][thread]", ArenaSetup, PmrSetup) {
    RacePartner partner;
    for (int round = 0; round < 200; ++round) {
        TestType setup;
        {
            auto channel = multishot::channel<int>(std::allocator_arg, setup.allocator());
            std::optional<Sender<int>> sender(std::move(channel.first));
            std::optional<Receiver<int>> receiver(std::move(channel.second));
            const auto finish_sender = [&sender, round] {
                if (round % 2 == 0) sender->send(round);
                sender.reset();
            };
            partner.race(finish_sender, [&receiver] { receiver.reset(); }, stagger_for(round));
        }
        check_all_returned(setup.ledger());
    }
}

Task<RecvResult<int>> receive(Receiver<int>& receiver) { co_return co_await receiver.recv(); }

#if MULTISHOT_HAS_STOP_TOKEN
Task<RecvResult<int>> receive(Receiver<int>& receiver, std::stop_token token) {
    co_return co_await receiver.recv(std::move(token));
}
#endif

// One cycle of the channel, ending in a receive of the kind `cycle % 6`
// picks: try_recv, poll, co_await (suspended), recv_for (timed out first),
// co_await recv(token) (cancelled first; a dropped sender where there is no
// std::stop_token), or a sender dropped.
void run_cycle(Receiver<int>& receiver, int cycle) {
    std::optional<Sender<int>> sender = receiver.sender();
    REQUIRE(sender.has_value());
    switch (cycle % 6) {
        case 0: {
            sender->send(cycle);
            CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, cycle));
            break;
        }
        case 1: {
            CHECK_FALSE(receiver.poll_recv({}).has_value());
            sender->send(cycle);
            CHECK(receiver.poll_recv({}) == RecvResult<int>(std::in_place, cycle));
            break;
        }
        case 2: {
            Task<RecvResult<int>> task = receive(receiver);
            sender->send(cycle);
            REQUIRE(task.done());
            CHECK(task.result() == RecvResult<int>(std::in_place, cycle));
            break;
        }
        case 3: {
            CHECK(receiver.recv_for(0s) == RecvError::timed_out);
            sender->send(cycle);
            CHECK(receiver.recv_blocking() == RecvResult<int>(std::in_place, cycle));
            break;
        }
#if MULTISHOT_HAS_STOP_TOKEN
        case 4: {
            std::stop_source stop;
            stop.request_stop();
            Task<RecvResult<int>> task = receive(receiver, stop.get_token());
            REQUIRE(task.done());
            CHECK(task.result() == RecvError::cancelled);
            sender->send(cycle);
            CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, cycle));
            break;
        }
#endif
        default: {
            sender.reset();
            CHECK(receiver.try_recv() == RecvError::closed);
            break;
        }
    }
}

// Checks that a receiver recycled a thousand times through every kind of
// receive allocates exactly once, through the allocator given to it or to
// channel(), and that every byte comes back when it is destroyed.
TEMPLATE_TEST_CASE("allocator: one allocation per receiver whatever the number of cycles",
                   "[allocator]", ArenaSetup, PmrSetup) {
    const bool through_channel = GENERATE(false, true);
    TestType setup;
    {
        std::optional<Receiver<int>> receiver;
        if (through_channel) {
            receiver.emplace(multishot::channel<int>(std::allocator_arg, setup.allocator()).second);
        } else {
            receiver.emplace(std::allocator_arg, setup.allocator());
        }
        const std::size_t block_bytes = setup.ledger().bytes_allocated();
        for (int cycle = 0; cycle < 1000; ++cycle) run_cycle(*receiver, cycle);
        CHECK(setup.ledger().allocations() == 1);
        CHECK(setup.ledger().outstanding_bytes() == block_bytes);
    }
    check_all_returned(setup.ledger());
}

}  // namespace
