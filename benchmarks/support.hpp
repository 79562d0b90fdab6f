// Shared pieces of the benchmark binary: a minimal eagerly started coroutine
// type, the per-thread allocation counter, and the message types of the
// two-sided ping-pongs.
#ifndef MULTISHOT_BENCH_SUPPORT_HPP
#define MULTISHOT_BENCH_SUPPORT_HPP

#include <coroutine>
#include <cstddef>
#include <exception>
#include <utility>

#include <benchmark/benchmark.h>
#include <multishot.hpp>

namespace bench {

// A coroutine that starts at once and stays suspended at its end until its
// owner destroys it, so that the owner can check `done()` after the
// benchmark loop. Exceptions terminate: a benchmark has no one to report to.
class Task {
public:
    struct promise_type {
        Task get_return_object() noexcept {
            return Task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };

    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task& operator=(Task&&) = delete;
    ~Task() {
        if (handle_) handle_.destroy();
    }

    bool done() const noexcept { return handle_.done(); }

private:
    explicit Task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
    std::coroutine_handle<promise_type> handle_;
};

// Like Task, but created suspended: someone must resume it first (the
// direct-resume baseline hands control to it by symmetric transfer).
class LazyTask {
public:
    struct promise_type {
        LazyTask get_return_object() noexcept {
            return LazyTask(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };

    LazyTask(LazyTask&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    LazyTask& operator=(LazyTask&&) = delete;
    ~LazyTask() {
        if (handle_) handle_.destroy();
    }

    std::coroutine_handle<> handle() const noexcept { return handle_; }

private:
    explicit LazyTask(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
    std::coroutine_handle<promise_type> handle_;
};

// Keeps a received value alive the way the Rust peers' consume() does
// (benchmarks/peers/src/main.rs): an empty asm statement that takes the value
// by value, in a register, and may read or write any memory. Unlike
// benchmark::DoNotOptimize on a reference into the receive's result, it
// does not make the compiler write the whole result object (padding
// included) to memory, which is work the Rust side does not do.
inline void consume(int value) noexcept { asm volatile("" : : "r"(value) : "memory"); }

// Number of calls to the global operator new made on the calling thread
// (alloc_counter.cpp replaces it).
std::size_t allocations_on_this_thread() noexcept;

// The ping-pong messages: each side sends the other the sender through
// which the reply is to come, so both channels are reused for every
// round trip exactly as a request/response protocol would use them.
struct Pong;
struct Ping {
    multishot::Sender<Pong> reply;
};
struct Pong {
    multishot::Sender<Ping> next;
};

// The one-thread coroutine ping-pong (B4, B5). The answering coroutine
// answers pings until the ping channel closes. Each ping resumes it inline,
// inside the driver's send; its reply finds the driver not yet waiting, so
// the driver's co_await is ready at once.
inline Task answer_pings_inline(multishot::Receiver<Ping>& pings) {
    for (;;) {
        multishot::RecvResult<Ping> ping = co_await pings.recv();
        if (!ping) co_return;
        ping->reply.send(Pong{*pings.sender()});
    }
}

// The driver runs the benchmark loop, one round trip per iteration, and
// leaves in `to_pong` the sender for the next ping (dropping it closes the
// ping channel). `allocations_at_start` receives the allocation count of
// this thread as the loop starts.
inline Task drive_pings_inline(benchmark::State& state, multishot::Receiver<Pong>& pongs,
                               multishot::Sender<Ping>& to_pong,
                               std::size_t& allocations_at_start) {
    allocations_at_start = allocations_on_this_thread();
    for (auto _ : state) {
        to_pong.send(Ping{*pongs.sender()});
        multishot::RecvResult<Pong> pong = co_await pongs.recv();
        to_pong = std::move(pong->next);
    }
}

}  // namespace bench

#endif
