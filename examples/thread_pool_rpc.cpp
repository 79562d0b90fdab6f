// thread_pool_rpc: many client coroutines call a fixed pool of worker threads,
// each client through one reply channel that it recycles for every request.
//
// A client owns one multishot::Receiver. For each request it takes a fresh
// Sender from it (no allocation: the receiver's block is reused), queues the
// request with that sender, and co_awaits the reply. A worker pops the
// request, computes the answer and sends it, which resumes the client inline
// on the worker thread; the client then queues its next request from there.
//
// The program checks every answer, prints requests per second, and counts
// calls of the global operator new (replaced below) to show that once the
// pool, the clients and their receivers exist, the whole request/reply
// traffic allocates nothing.
#include <multishot.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iomanip>
#include <iostream>
#include <latch>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace {

// Calls of the global operator new. Relaxed: a tally, read after the latch
// that the counting threads count down (which orders their increments first).
std::atomic<std::uint64_t> allocations{0};

void* counted_allocation(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);  // Relaxed: a tally (see above).
    if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
    throw std::bad_alloc();
}

}  // namespace

// The replaced allocation functions. The array and nothrow forms of the
// standard library forward to the first one.
void* operator new(std::size_t size) { return counted_allocation(size); }
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

namespace {

using Reply = std::uint64_t;

struct Request {
    std::uint64_t question = 0;
    multishot::Sender<Reply> reply_to;
};

Reply answer(std::uint64_t question) noexcept { return question * 3 + 1; }

// A bounded FIFO of requests that allocates only when it is constructed.
class RequestQueue {
public:
    explicit RequestQueue(std::size_t capacity) : slots_(capacity) {}

    // Precondition: fewer than `capacity` requests are queued (each client has
    // at most one request outstanding).
    void push(Request request) {
        {
            std::lock_guard lock(mutex_);
            slots_[(head_ + count_) % slots_.size()].emplace(std::move(request));
            ++count_;
        }
        not_empty_.notify_one();
    }

    // The oldest request, waiting for one; nothing once stopped and drained.
    std::optional<Request> pop() {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [this] { return count_ > 0 || stopped_; });
        if (count_ == 0) return std::nullopt;
        std::optional<Request> request = std::exchange(slots_[head_], std::nullopt);
        head_ = (head_ + 1) % slots_.size();
        --count_;
        return request;
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        not_empty_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable not_empty_;
    std::vector<std::optional<Request>> slots_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    bool stopped_ = false;
};

class ThreadPool {
public:
    ThreadPool(std::size_t workers, std::size_t queue_capacity) : queue_(queue_capacity) {
        for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
    }
    ~ThreadPool() {
        queue_.stop();
        for (std::thread& worker : workers_) worker.join();
    }

    void submit(Request request) { queue_.push(std::move(request)); }

private:
    void work() {
        while (std::optional<Request> request = queue_.pop())
            request->reply_to.send(answer(request->question));  // may resume the client here
    }

    RequestQueue queue_;
    std::vector<std::thread> workers_;
};

// A coroutine that starts when told and frees itself when it finishes.
class Client {
public:
    struct promise_type {
        Client get_return_object() noexcept {
            return Client(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
    };

    void start() { std::exchange(coroutine_, {}).resume(); }

private:
    explicit Client(std::coroutine_handle<promise_type> coroutine) : coroutine_(coroutine) {}
    std::coroutine_handle<promise_type> coroutine_;
};

struct Tally {
    explicit Tally(std::size_t clients) : clients_done(static_cast<std::ptrdiff_t>(clients)) {}

    // Relaxed: read after the latch (see `allocations`).
    std::atomic<std::uint64_t> right_answers{0};
    std::atomic<std::uint64_t> wrong_answers{0};
    std::latch clients_done;
};

// One client: `requests` calls through its one, recycled reply channel.
Client run_client(ThreadPool& pool, multishot::Receiver<Reply> replies, std::uint64_t id,
                  int requests, Tally& tally) {
    std::uint64_t right = 0;
    for (int i = 0; i < requests; ++i) {
        const std::uint64_t question = id * 1'000'000 + static_cast<std::uint64_t>(i);
        // Engaged: the previous reply was received, so no sender is alive.
        pool.submit(Request{question, *replies.sender()});
        const multishot::RecvResult<Reply> reply = co_await replies.recv();
        if (reply.has_value() && *reply == answer(question))
            ++right;
        else
            tally.wrong_answers.fetch_add(1, std::memory_order_relaxed);  // Relaxed: a tally.
    }
    tally.right_answers.fetch_add(right, std::memory_order_relaxed);  // Relaxed: a tally.
    tally.clients_done.count_down();
}

}  // namespace

int main() {
    constexpr std::size_t worker_count = 4;
    constexpr std::size_t client_count = 64;
    constexpr int requests_per_client = 20'000;

    // Setup allocates: threads, queue slots, client frames, reply blocks.
    ThreadPool pool(worker_count, client_count);
    Tally tally(client_count);
    std::vector<Client> clients;
    clients.reserve(client_count);
    for (std::uint64_t id = 0; id < client_count; ++id)
        clients.push_back(run_client(pool, multishot::Receiver<Reply>(), id, requests_per_client,
                                     tally));

    // Relaxed: the main thread's own allocations precede this load in program
    // order. An allocation by an idle worker is not ordered, but could only
    // be counted against the traffic below, never hidden from it.
    const std::uint64_t allocations_before = allocations.load(std::memory_order_relaxed);
    const auto started = std::chrono::steady_clock::now();
    for (Client& client : clients) client.start();
    tally.clients_done.wait();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    // Relaxed: the latch orders every client's increments before this load.
    const std::uint64_t steady_allocations =
        allocations.load(std::memory_order_relaxed) - allocations_before;

    const double total = static_cast<double>(client_count) * requests_per_client;
    // Relaxed: the latch orders every client's increments before these loads.
    const std::uint64_t wrong = tally.wrong_answers.load(std::memory_order_relaxed);
    const std::uint64_t right = tally.right_answers.load(std::memory_order_relaxed);
    std::cout << std::fixed << std::setprecision(3) << client_count << " clients, "
              << worker_count << " workers: " << client_count * requests_per_client
              << " requests in " << elapsed.count() << " s = " << std::setprecision(0)
              << total / elapsed.count() << " requests/s\n"
              << "allocations during the request/reply traffic: " << steady_allocations << '\n'
              << "right answers: " << right << ", wrong answers: " << wrong << '\n';

    const bool ok = right == client_count * requests_per_client && wrong == 0 &&
                    steady_allocations == 0;
    std::cout << (ok ? "thread_pool_rpc: all good\n" : "thread_pool_rpc: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
