// blocking_workers: plain std::threads, no coroutines. Client threads hand
// jobs to worker threads and block for the reply on one recycled Receiver
// each: recv_blocking() for ordinary jobs, recv_for() where a reply may be
// late.
//
// The program checks:
//   1. every reply received with recv_blocking() is right, for many clients
//      and jobs, each client recycling one receiver;
//   2. recv_for() on a slow job gives up with RecvError::timed_out, the
//      receive stays open, and the late reply is then received;
//   3. a worker that drops a job without replying closes the channel:
//      the client gets RecvError::closed instead of blocking for ever.
#include <multishot.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct Job {
    int input = 0;
    std::chrono::milliseconds delay{0};  // work time before replying
    bool drop = false;                    // give up without replying
    multishot::Sender<int> reply_to;
};

int square(int x) { return x * x; }

// Worker threads serving a shared job queue until destroyed.
class Workers {
public:
    explicit Workers(int count) {
        for (int i = 0; i < count; ++i) threads_.emplace_back([this] { serve(); });
    }
    ~Workers() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        changed_.notify_all();
        for (std::thread& thread : threads_) thread.join();
    }

    void submit(Job job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        changed_.notify_one();
    }

private:
    void serve() {
        while (std::optional<Job> job = next_job()) {
            std::this_thread::sleep_for(job->delay);
            if (!job->drop) job->reply_to.send(square(job->input));
        }  // a dropped job's sender is destroyed here: the channel closes
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

bool ok = true;

void check(bool condition, const char* what) {
    if (!condition) std::cout << "FAIL: " << what << '\n';
    ok = ok && condition;
}

// 1. Client threads, each blocking on its one recycled receiver.
void many_clients_block_for_replies(Workers& workers) {
    constexpr int client_count = 4;
    constexpr int jobs_per_client = 2000;
    std::vector<int> right(client_count, 0);
    {
        std::vector<std::thread> clients;
        for (int id = 0; id < client_count; ++id)
            clients.emplace_back([&workers, &right, id] {
                multishot::Receiver<int> replies;
                for (int i = 0; i < jobs_per_client; ++i) {
                    const int input = id * jobs_per_client + i;
                    workers.submit(Job{input, 0ms, false, *replies.sender()});
                    const multishot::RecvResult<int> reply = replies.recv_blocking();
                    if (reply.has_value() && *reply == square(input)) ++right[id];
                }
            });
        for (std::thread& client : clients) client.join();
    }
    int total = 0;
    for (int count : right) total += count;
    check(total == client_count * jobs_per_client, "1: every blocking receive got its reply");
    std::cout << "1. " << client_count << " client threads: " << total << " of "
              << client_count * jobs_per_client << " replies right\n";
}

// 2. A reply later than the client's patience, collected afterwards.
void timeout_then_late_reply(Workers& workers) {
    multishot::Receiver<int> replies;
    workers.submit(Job{12, 100ms, false, *replies.sender()});

    const auto asked = std::chrono::steady_clock::now();
    const multishot::RecvResult<int> impatient = replies.recv_for(10ms);
    const auto gave_up = std::chrono::steady_clock::now();
    check(impatient == multishot::RecvError::timed_out, "2: recv_for gave up");
    check(gave_up - asked >= 10ms, "2: recv_for waited at least its timeout");

    // The receive stays open: do something else, then collect the reply.
    const multishot::RecvResult<int> late = replies.recv_for(5s);
    check(late == multishot::RecvResult<int>(std::in_place, 144), "2: the late reply arrived");
    std::cout << "2. recv_for(10ms) timed out after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(gave_up - asked).count()
              << " ms; the late reply " << late.value_or(-1) << " was received afterwards\n";
}

// 3. A worker drops the job: the client is told, not left blocked.
void dropped_job_closes(Workers& workers) {
    multishot::Receiver<int> replies;
    workers.submit(Job{5, 0ms, true, *replies.sender()});
    const multishot::RecvResult<int> reply = replies.recv_blocking();
    check(reply == multishot::RecvError::closed, "3: a dropped job closes the channel");
    workers.submit(Job{5, 0ms, false, *replies.sender()});
    check(replies.recv_blocking() == multishot::RecvResult<int>(std::in_place, 25),
          "3: the same receiver then gets the next reply");
    std::cout << "3. dropped job: " << reply.error() << "; next job on the same receiver: ok\n";
}

}  // namespace

int main() {
    Workers workers(3);
    many_clients_block_for_replies(workers);
    timeout_then_late_reply(workers);
    dropped_job_closes(workers);
    std::cout << (ok ? "blocking_workers: all good\n" : "blocking_workers: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
