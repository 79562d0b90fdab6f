// B3: two threads ping-pong through two reused channels with recv_blocking,
// sleeping in the kernel while they wait. The baselines: std::atomic
// wait/notify, a raw futex, mutex + condition variable + optional, and a
// std::promise/std::future pair per message.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "support.hpp"

namespace {

// The pong side: answers every ping until the ping sender is dropped.
void answer_pings_blocking(multishot::Receiver<bench::Ping> pings) {
    for (;;) {
        multishot::RecvResult<bench::Ping> ping = pings.recv_blocking();
        if (!ping) return;
        ping->reply.send(bench::Pong{*pings.sender()});
    }
}

void B3_multishot_recv_blocking(benchmark::State& state) {
    multishot::Receiver<bench::Ping> pings;
    multishot::Sender<bench::Ping> to_pong = *pings.sender();
    std::thread pong(answer_pings_blocking, std::move(pings));

    multishot::Receiver<bench::Pong> pongs;
    for (auto _ : state) {
        to_pong.send(bench::Ping{*pongs.sender()});
        to_pong = std::move(pongs.recv_blocking()->next);
    }
    // Dropping the unused sender closes the pong side's channel: it returns.
    { const multishot::Sender<bench::Ping> closing = std::move(to_pong); }
    pong.join();
}
BENCHMARK(B3_multishot_recv_blocking)->UseRealTime();

constexpr std::uint32_t stop_value = ~std::uint32_t{0};

// Runs `echo(ping, pong)` on a second thread, which must answer every value
// sent through `ping` with the same value through `pong` and return on
// stop_value; times `send, receive` round trips from the benchmark thread.
template <class Mailbox, class Echo>
void run_ping_pong(benchmark::State& state, Echo echo) {
    Mailbox ping;
    Mailbox pong;
    std::thread echo_thread(echo, std::ref(ping), std::ref(pong));
    std::uint32_t value = 0;
    for (auto _ : state) {
        ping.put(++value);
        if (pong.take() != value) state.SkipWithError("the echo answered a different value");
    }
    ping.put(stop_value);
    echo_thread.join();
}

template <class Mailbox>
void echo_until_stop(Mailbox& ping, Mailbox& pong) {
    for (;;) {
        const std::uint32_t value = ping.take();
        if (value == stop_value) return;
        pong.put(value);
    }
}

// std::atomic<uint32_t>::wait/notify_one on a sequence word (0: empty).
struct AtomicWaitMailbox {
    std::atomic<std::uint32_t> word{0};

    void put(std::uint32_t value) {
        // release: the taker's acquire load sees the value with its history.
        word.store(value, std::memory_order_release);
        word.notify_one();
    }
    std::uint32_t take() {
        // acquire: pairs with put's release store.
        word.wait(0, std::memory_order_acquire);
        // acquire: as above; wait returned because the word is no longer 0.
        const std::uint32_t value = word.load(std::memory_order_acquire);
        // relaxed: only the taker writes 0, and the putter does not put again
        // until the taker has answered (a ping-pong alternates).
        word.store(0, std::memory_order_relaxed);
        return value;
    }
};

void B3_atomic_wait_notify(benchmark::State& state) {
    run_ping_pong<AtomicWaitMailbox>(state, echo_until_stop<AtomicWaitMailbox>);
}
BENCHMARK(B3_atomic_wait_notify)->UseRealTime();

// A raw futex event: 0 empty, 1 posted, 2 a taker sleeps. The putter makes
// the system call only when the taker sleeps.
struct FutexMailbox {
    static constexpr std::uint32_t empty = 0;
    static constexpr std::uint32_t posted = 1;
    static constexpr std::uint32_t sleeping = 2;

    std::atomic<std::uint32_t> word{empty};
    std::uint32_t value = 0;

    void put(std::uint32_t new_value) {
        value = new_value;
        // release: publishes `value` to the taker's acquire.
        if (word.exchange(posted, std::memory_order_release) == sleeping) futex(FUTEX_WAKE, 1);
    }
    std::uint32_t take() {
        std::uint32_t seen = empty;
        // acquire: on failure the word is "posted" and `value` must be
        // visible; on success the ordering is not needed (it only announces
        // that we sleep), and acquire costs nothing more on x86.
        if (word.compare_exchange_strong(seen, sleeping, std::memory_order_acquire)) {
            // acquire: pairs with put's release exchange.
            while (word.load(std::memory_order_acquire) == sleeping) futex(FUTEX_WAIT, sleeping);
        }
        const std::uint32_t result = value;
        // relaxed: only the taker resets, and the putter waits for the answer.
        word.store(empty, std::memory_order_relaxed);
        return result;
    }

private:
    void futex(int operation, std::uint32_t argument) {
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), operation | FUTEX_PRIVATE_FLAG,
                argument, nullptr, nullptr, 0);
    }
};
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

void B3_raw_futex(benchmark::State& state) {
    run_ping_pong<FutexMailbox>(state, echo_until_stop<FutexMailbox>);
}
BENCHMARK(B3_raw_futex)->UseRealTime();

// mutex + condition_variable + optional.
struct CondvarMailbox {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<std::uint32_t> value;

    void put(std::uint32_t new_value) {
        {
            const std::lock_guard lock(mutex);
            value = new_value;
        }
        ready.notify_one();
    }
    std::uint32_t take() {
        std::unique_lock lock(mutex);
        ready.wait(lock, [this] { return value.has_value(); });
        return *std::exchange(value, std::nullopt);
    }
};

void B3_mutex_condvar_optional(benchmark::State& state) {
    run_ping_pong<CondvarMailbox>(state, echo_until_stop<CondvarMailbox>);
}
BENCHMARK(B3_mutex_condvar_optional)->UseRealTime();

// A promise/future pair per message; each message carries (a pointer to)
// the promise for its answer, as with the multishot senders. The pointer
// breaks the type cycle (std::promise needs a complete type); the promise
// lives on the driver's stack until its future is ready.
struct FuturePong;
struct FuturePing {
    std::promise<FuturePong>* reply;
};
struct FuturePong {
    std::promise<FuturePing> next;
};

// Returns when the ping promise is dropped (std::future_error: broken promise).
void answer_future_pings(std::future<FuturePing> pings) {
    try {
        for (;;) {
            FuturePing ping = pings.get();
            std::promise<FuturePing> next;
            pings = next.get_future();
            ping.reply->set_value(FuturePong{std::move(next)});
        }
    } catch (const std::future_error&) {
    }
}

void B3_promise_future_per_message(benchmark::State& state) {
    std::promise<FuturePing> to_pong;
    std::thread pong(answer_future_pings, to_pong.get_future());
    for (auto _ : state) {
        std::promise<FuturePong> reply;
        std::future<FuturePong> answer = reply.get_future();
        to_pong.set_value(FuturePing{&reply});
        to_pong = std::move(answer.get().next);
    }
    { const std::promise<FuturePing> closing = std::move(to_pong); }
    pong.join();
}
BENCHMARK(B3_promise_future_per_message)->UseRealTime();

}  // namespace
