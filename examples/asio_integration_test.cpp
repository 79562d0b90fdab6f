// asio_integration_test: multishot::asio::async_recv under load. An io_context
// is run by several threads; coroutines and strand-bound callback chains each
// recycle one receiver for many rounds; plain threads send (or close) from
// outside the io_context. Checks every result, that every completion runs on
// one of the io_context's threads and never on a sender thread, and that
// io_context::run() does not return while a receive is pending (callback
// rounds would be missing). Then asio::use_future with the same senders.
#include <multishot/asio.hpp>

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr int io_thread_count = 3;
constexpr int sender_thread_count = 2;
constexpr int coroutine_count = 16;
constexpr int callback_chain_count = 4;
constexpr int rounds = 500;
constexpr int future_count = 200;

enum class Role { other, io, sender };
thread_local Role role = Role::other;

// Plain threads that send, or close the channel, on request.
class SenderThreads {
public:
    struct Job {
        multishot::Sender<int> sender;
        std::optional<int> value;  // nothing: destroy the sender unsent
    };

    SenderThreads() {
        for (int i = 0; i < sender_thread_count; ++i) threads_.emplace_back([this] { serve(); });
    }
    ~SenderThreads() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        changed_.notify_all();
        for (std::thread& thread : threads_) thread.join();
    }

    void submit(multishot::Sender<int> sender, std::optional<int> value) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(Job{std::move(sender), value});
        }
        changed_.notify_one();
    }

private:
    void serve() {
        role = Role::sender;
        while (std::optional<Job> job = next_job()) {
            if (job->value) job->sender.send(*job->value);
        }  // an unsent sender is destroyed here: the channel closes
    }

    // The next job, waiting for one; nothing once stopped and drained.
    std::optional<Job> next_job() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return !jobs_.empty() || stopped_; });
        if (jobs_.empty()) return std::nullopt;
        std::optional<Job> job(std::move(jobs_.front()));
        jobs_.pop_front();
        return job;
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Job> jobs_;
    bool stopped_ = false;
    std::vector<std::thread> threads_;
};

// Results, counted from the completion handlers. Relaxed: tallies, read after
// the threads that write them are joined.
struct Tally {
    std::atomic<int> right{0};
    std::atomic<int> wrong{0};
    std::atomic<int> off_io_thread{0};

    void record(bool correct) {
        (correct ? right : wrong).fetch_add(1, std::memory_order_relaxed);  // Relaxed: a tally.
        if (role != Role::io)
            off_io_thread.fetch_add(1, std::memory_order_relaxed);  // Relaxed: a tally.
    }
};

// Every tenth round the sender closes the channel instead of sending.
bool closes(int round) { return round % 10 == 9; }

bool is_expected(const multishot::RecvResult<int>& result, int round, int value) {
    return closes(round) ? result == multishot::RecvError::closed
                         : result.has_value() && *result == value;
}

asio::awaitable<void> coroutine_client(SenderThreads& senders, int id, Tally& tally) {
    multishot::Receiver<int> receiver;
    for (int round = 0; round < rounds; ++round) {
        const int value = id * rounds + round;
        senders.submit(*receiver.sender(), closes(round) ? std::nullopt : std::optional(value));
        const multishot::RecvResult<int> result =
            co_await multishot::asio::async_recv(receiver, asio::use_awaitable);
        tally.record(is_expected(result, round, value));
    }
}

// A callback that re-arms itself for the next round, on its own strand.
class CallbackChain {
public:
    CallbackChain(asio::io_context& io, SenderThreads& senders, int id, Tally& tally)
        : strand_(asio::make_strand(io)), senders_(senders), id_(id), tally_(tally) {}

    void arm() {
        const int value = id_ * rounds + round_;
        senders_.submit(*receiver_.sender(), closes(round_) ? std::nullopt : std::optional(value));
        multishot::asio::async_recv(
            receiver_, asio::bind_executor(strand_, [this, value](multishot::RecvResult<int> r) {
                tally_.record(is_expected(r, round_, value));
                if (++round_ < rounds) arm();
            }));
    }

private:
    multishot::Receiver<int> receiver_;
    asio::strand<asio::io_context::executor_type> strand_;
    SenderThreads& senders_;
    int id_;
    Tally& tally_;
    int round_ = 0;
};

int futures_received(SenderThreads& senders) {
    int right = 0;
    multishot::Receiver<int> receiver;
    for (int i = 0; i < future_count; ++i) {
        senders.submit(*receiver.sender(), i);
        std::future<multishot::RecvResult<int>> reply =
            multishot::asio::async_recv(receiver, asio::use_future);
        const multishot::RecvResult<int> result = reply.get();
        right += result.has_value() && *result == i ? 1 : 0;
    }
    return right;
}

}  // namespace

// Runs `io` on several threads until it runs out of work. No work guard:
// pending receives alone must keep run() going.
void run_on_io_threads(asio::io_context& io) {
    std::vector<std::thread> io_threads;
    for (int i = 0; i < io_thread_count; ++i)
        io_threads.emplace_back([&io] {
            role = Role::io;
            io.run();
        });
    for (std::thread& thread : io_threads) thread.join();
}

int main() {
    Tally tally;
    asio::io_context coroutine_io;
    asio::io_context callback_io;
    // The sender threads post to the io_contexts (completing a pending
    // receive): they are joined first, in their destructor.
    SenderThreads senders;

    // Coroutines (co_spawn keeps its io_context busy while they live).
    for (int id = 0; id < coroutine_count; ++id)
        asio::co_spawn(coroutine_io, coroutine_client(senders, id, tally), asio::detached);
    run_on_io_threads(coroutine_io);

    // Callbacks alone: only the adapter's work tracking keeps run() going.
    std::vector<std::unique_ptr<CallbackChain>> chains;
    for (int id = 0; id < callback_chain_count; ++id) {
        chains.push_back(
            std::make_unique<CallbackChain>(callback_io, senders, coroutine_count + id, tally));
        chains.back()->arm();
    }
    run_on_io_threads(callback_io);

    const int expected = (coroutine_count + callback_chain_count) * rounds;
    // Relaxed: the io threads that wrote the tallies are joined.
    const int right = tally.right.load(std::memory_order_relaxed);
    const int wrong = tally.wrong.load(std::memory_order_relaxed);
    const int off_io = tally.off_io_thread.load(std::memory_order_relaxed);
    const int from_futures = futures_received(senders);

    std::cout << io_thread_count << " io threads, " << sender_thread_count
              << " sender threads: " << right << " of " << expected << " receives right, "
              << wrong << " wrong, " << off_io << " completed off the io threads; " << from_futures
              << " of " << future_count << " futures right\n";
    const bool ok = right == expected && wrong == 0 && off_io == 0 && from_futures == future_count;
    std::cout << (ok ? "asio_integration_test: all good\n" : "asio_integration_test: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
