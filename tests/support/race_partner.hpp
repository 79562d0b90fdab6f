// A thread kept for many rounds of a race: like run_concurrently, but
// without starting a thread per round (which dominates the run time of a
// test with thousands of rounds, above all under the sanitizers).
#pragma once

#include "support/concurrent.hpp"

#include <atomic>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

namespace multishot_test {

class RacePartner {
public:
    RacePartner() : thread_([this] { serve(); }) {}
    RacePartner(const RacePartner&) = delete;
    RacePartner& operator=(const RacePartner&) = delete;

    /// Tells the partner to finish and joins it.
    ~RacePartner() {
        post(Job{});
        thread_.join();
    }

    /// Runs `first` on the partner thread and `second` on the calling thread,
    /// started together, with `stagger` as in run_concurrently. Returns once
    /// both have finished (also when `second` throws: only the calling thread
    /// may use Catch's assertions, and `first` must not throw).
    template <class First, class Second>
    void race(First&& first, Second&& second, int stagger) {
        post(Job{&call<std::remove_reference_t<First>>, std::addressof(first), stagger});
        // Relaxed, here and for "go": the rendezvous only aligns the start
        // times; the job itself was published by post().
        while (phase_.load(std::memory_order_relaxed) != ready) std::this_thread::yield();
        const WaitForDone wait_for_done{*this};
        phase_.store(go, std::memory_order_relaxed);
        spin_for(stagger);
        std::forward<Second>(second)();
    }

private:
    // idle -> posted (caller) -> ready (partner) -> go (caller) -> done
    // (partner) -> idle (caller).
    enum Phase { idle, posted, ready, go, done };

    struct Job {
        void (*function)(const void*) = nullptr;  // none: the partner finishes
        const void* action = nullptr;
        int stagger = 0;
    };

    // Calls the action. `Action` carries the constness of the object that
    // race() was given, so casting the const away only restores its type.
    template <class Action>
    static void call(const void* action) {
        (*static_cast<Action*>(const_cast<void*>(action)))();
    }

    // Waits until the partner finished the round, even during unwinding.
    struct WaitForDone {
        RacePartner& partner;
        ~WaitForDone() {
            // Acquire: pairs with the partner's release store of `done`, so
            // that what the partner's action did is visible to the caller.
            while (partner.phase_.load(std::memory_order_acquire) != done) {
                std::this_thread::yield();
            }
            // Relaxed: the partner reads `idle` only to keep waiting.
            partner.phase_.store(idle, std::memory_order_relaxed);
        }
    };

    void post(const Job& job) {
        job_ = job;
        // Release: publishes job_ (and all the caller did before) to the
        // partner's acquire load of `posted`.
        phase_.store(posted, std::memory_order_release);
    }

    void serve() {
        for (;;) {
            wait_for_post();
            const Job job = job_;
            if (job.function == nullptr) return;
            phase_.store(ready, std::memory_order_relaxed);
            // Spins (to see "go" within nanoseconds), yielding only if the
            // caller is slow to come: the machine may be busy.
            for (int spins = 0; phase_.load(std::memory_order_relaxed) != go; ++spins) {
                if (spins > 100000) std::this_thread::yield();
            }
            spin_for(-job.stagger);
            job.function(job.action);
            // Release: publishes the action's effects (see WaitForDone).
            phase_.store(done, std::memory_order_release);
        }
    }

    // Waits for the caller to post a job. It spins and yields rather than
    // sleeping: a thread woken from a sleep tends to be moved to the waking
    // thread's core, where the two would take turns instead of racing.
    void wait_for_post() {
        // Acquire: pairs with the release store in post(), making job_ visible.
        for (int spins = 0; phase_.load(std::memory_order_acquire) != posted; ++spins) {
            if (spins > 1000) std::this_thread::yield();
        }
    }

    std::atomic<int> phase_{idle};
    Job job_;
    std::thread thread_;
};

}  // namespace multishot_test
