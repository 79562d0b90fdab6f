// An RPC client with a deadline per request, and a worker that stops
// computing once nobody waits for the answer.
//
// The client keeps one Receiver for all its requests. Each request takes a
// new sender from it, hands it to the worker thread with the job, and waits
// with recv_for(deadline). When the deadline passes first, the client calls
// abandon(): the late reply can no longer arrive, and the next sender() works
// at once, on the same receiver, instead of allocating a new one.
//
// The worker registers a closure waker (Sender::poll_closed) before it
// starts a job. abandon() calls that waker on the client's thread, and the
// waker sets the job's stop flag, so the worker gives up within a step. A
// reply that is ready just as the client gives up comes back from
// try_send(), and the worker counts it as late.
//
// The program checks its own result: every request is answered correctly or
// timed out; every request that took longer than its deadline timed out, and
// the worker stopped its work well before the work was done; and each timed
// out request was either stopped or answered late, never lost.
#include <multishot.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A request: compute for `work` (in steps of a millisecond), then reply
// with `id * 10`.
struct Job {
    int id;
    std::chrono::milliseconds work;
    multishot::Sender<long> reply;
};

// Stop flags, one per request. They live as long as the program: a closure
// waker may be called until the receiver is done leaving, which the worker
// cannot observe (see multishot::Waker), so its context is never freed early.
constexpr int request_count = 8;
std::array<std::atomic<bool>, request_count> stop_flags{};

void request_stop(void* flag) noexcept {
    static_cast<std::atomic<bool>*>(flag)->store(true, std::memory_order_relaxed);
}

class Worker {
public:
    Worker() : thread_([this] { run(); }) {}
    ~Worker() {
        submit(std::nullopt);
        thread_.join();
    }

    void submit(std::optional<Job> job) {
        {
            const std::lock_guard lock(mutex_);
            queue_.push_back(std::move(job));
        }
        ready_.notify_one();
    }

    int stopped() const { return stopped_.load(); }
    int late() const { return late_.load(); }
    // The longest a stopped job computed before it noticed.
    std::chrono::milliseconds longest_stopped() const { return longest_stopped_; }

private:
    void run() {
        for (;;) {
            std::optional<Job> job = next();
            if (!job) return;
            serve(std::move(*job));
        }
    }

    std::optional<Job> next() {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        std::optional<Job> job = std::move(queue_.front());
        queue_.pop_front();
        return job;
    }

    void serve(Job job) {
        std::atomic<bool>& stop = stop_flags[static_cast<std::size_t>(job.id)];
        // Ready at once if the client gave up while the job was queued.
        if (job.reply.poll_closed(multishot::Waker(&request_stop, &stop))) {
            ++stopped_;
            return;
        }
        const Clock::time_point began = Clock::now();
        while (Clock::now() - began < job.work) {
            if (stop.load(std::memory_order_relaxed)) {
                const auto computed =
                    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
                if (computed > longest_stopped_) longest_stopped_ = computed;
                ++stopped_;  // after the write above: main() reads it once it sees the count
                return;      // destroying the sender cleans up its registration
            }
            std::this_thread::sleep_for(1ms);
        }
        if (job.reply.try_send(job.id * 10L)) ++late_;  // the client gave up just now
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::optional<Job>> queue_;
    std::atomic<int> stopped_{0};
    std::atomic<int> late_{0};
    std::chrono::milliseconds longest_stopped_{0};
    std::thread thread_;
};

}  // namespace

int main() {
    // How long each request computes; the deadline is 40 ms for all.
    constexpr std::array<std::chrono::milliseconds, request_count> work{
        2ms, 300ms, 1ms, 400ms, 3ms, 300ms, 2ms, 1ms};
    constexpr auto deadline = 40ms;

    multishot::Receiver<long> client;
    int answered = 0;
    int timed_out = 0;
    bool ok = true;
    {
        Worker worker;
        for (int id = 0; id < request_count; ++id) {
            std::optional<multishot::Sender<long>> reply = client.sender();
            if (!reply) {  // cannot happen: abandon() always frees the receiver for reuse
                std::puts("rpc_deadlines: FAILED: sender() failed: the receiver was not reusable");
                return 1;
            }
            worker.submit(Job{id, work[static_cast<std::size_t>(id)], std::move(*reply)});
            const multishot::RecvResult<long> result = client.recv_for(deadline);
            if (result.has_value()) {
                ++answered;
                ok = ok && *result == id * 10L;
                std::printf("request %d: answered %ld\n", id, *result);
            } else {
                ++timed_out;
                ok = ok && result.error() == multishot::RecvError::timed_out;
                // Only the long requests can miss a 40 ms deadline (short
                // ones may too on a very busy machine).
                std::printf("request %d: timed out, abandoned\n", id);
                client.abandon();
            }
            const bool long_request = work[static_cast<std::size_t>(id)] >= 300ms;
            ok = ok && (!long_request || !result.has_value());
        }
        // The worker's destructor drains its queue and joins it.
        // (Nothing is pending: the last request has been answered or abandoned.)
        while (worker.stopped() + worker.late() < timed_out) std::this_thread::sleep_for(1ms);
        std::printf("worker: %d stopped early (the longest after %lld ms), %d answered late\n",
                    worker.stopped(), static_cast<long long>(worker.longest_stopped().count()),
                    worker.late());
        ok = ok && worker.stopped() + worker.late() == timed_out;
        // A long request (300 ms or more) was stopped well before its end.
        ok = ok && worker.longest_stopped() < 250ms;
    }
    ok = ok && answered + timed_out == request_count && timed_out >= 3;
    std::puts(ok ? "rpc_deadlines: all good" : "rpc_deadlines: FAILED");
    return ok ? 0 : 1;
}
