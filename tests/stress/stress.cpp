// Stress test: send / recv / recycle cycles of one channel across two threads.
//
//   multishot_stress [cycles [seed]]     (defaults: 1000000 cycles, seed 1)
//
// The main thread owns the Receiver. Each cycle it takes a sender with
// sender(), posts it to the sender thread with a randomly chosen action
// (send, emplace, or destroy without sending) and delay, and receives with a
// randomly chosen plan: poll_recv with function wakers (waiting for the
// waker, switching wakers, or busy polling), co_await recv() in a coroutine
// that the sender thread resumes, co_await recv(token) with a stop request at
// a random moment (a cancelled receive is then completed by polling), or no
// receive at all: the receiver is
// destroyed (at once, while a poll is pending, or after the sender finished,
// with the value pending) and replaced, or the value is left unread for the
// next sender() to discard. Hand-offs between the threads spin, then yield:
// no blocking wake-ups.
//
// Checked every cycle: sender() succeeds once the previous receive completed;
// a received value carries this cycle's sequence number and comes from a
// sender that sent one, and "closed" from one that did not (nothing lost,
// nothing duplicated, nothing stale); a poll after its waker was called is
// ready; when the last registering poll was left pending, exactly its waker
// is called, once; otherwise at most one waker is called, and none when no
// poll was ever pending; every value that was sent and
// not received has been destroyed by the library, and no Payload is alive.
// Checked at the end: no Payload is alive and, where operator new is the
// counting one (not under valgrind or clang's sanitizers), no heap allocation
// is alive, the sender thread allocated at most one block extension per block,
// and the main thread allocated one block per Receiver, one frame per
// coroutine, one shared state per std::stop_source and at most one extension
// per block, nothing else.
//
// Any failure prints the cycle and what went wrong and aborts. A wait that
// makes no progress for a minute fails the same way.

#include "allocation_counter.hpp"
#include "payload.hpp"
#include "signalling_task.hpp"

#include <multishot.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

namespace {

using stress::Payload;
using Receiver = multishot::Receiver<Payload>;
using Sender = multishot::Sender<Payload>;

// ---------------------------------------------------------------------------
// Failure reporting, randomness, waiting
// ---------------------------------------------------------------------------

// What the failing thread was doing, for the failure message.
struct FailureContext {
    const char* thread = "main thread";
    const char* plan = "-";
    const char* action = "-";
};
thread_local FailureContext failure_context;

[[noreturn]] void fail(const char* what, std::uint64_t cycle) {
    std::fprintf(stderr,
                 "multishot stress: FAILED at cycle %" PRIu64 " (%s, plan %s, action %s): %s\n",
                 cycle, failure_context.thread, failure_context.plan, failure_context.action, what);
    std::abort();
}

void check(bool ok, const char* what, std::uint64_t cycle) {
    if (!ok) fail(what, cycle);
}

// splitmix64: small and fast. The seed fixes every random choice; the
// interleavings of the two threads are not reproducible.
class Random {
public:
    explicit Random(std::uint64_t seed) noexcept : state_(seed) {}

    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15U);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9U;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebU;
        return z ^ (z >> 31);
    }

    /// Uniform in [0, bound).
    std::uint32_t below(std::uint32_t bound) noexcept {
        return static_cast<std::uint32_t>(next() % bound);
    }

private:
    std::uint64_t state_;
};

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// A pause before acting, so that each side sometimes acts first and
// sometimes in the middle of the other's operation.
struct Delay {
    std::uint32_t pauses = 0;
    bool yield = false;
};

// Mostly none or short (a pause is about 30 ns here, a poll that registers a
// waker about 100 ns), sometimes long enough for the other side to finish.
Delay random_delay(Random& random) {
    const std::uint32_t roll = random.below(100);
    if (roll < 50) return {};
    if (roll < 85) return {random.below(16), false};
    if (roll < 97) return {random.below(256), false};
    return {0, true};
}

void pause_for(Delay delay) {
    for (std::uint32_t i = 0; i < delay.pauses; ++i) cpu_relax();
    if (delay.yield) std::this_thread::yield();
}

constexpr auto stall_limit = std::chrono::seconds(60);

// One step of a wait: spins at first, then yields the processor. Fails if
// the wait makes no progress for stall_limit.
class Backoff {
public:
    Backoff(const char* what, std::uint64_t cycle) noexcept : what_(what), cycle_(cycle) {}

    void pause() {
        ++steps_;
        if (steps_ < 100)
            cpu_relax();
        else
            std::this_thread::yield();
        if (steps_ % 4096 == 0) check_progress();
    }

private:
    void check_progress() {
        const auto now = std::chrono::steady_clock::now();
        if (deadline_ == never) deadline_ = now + stall_limit;
        if (now > deadline_) fail(what_, cycle_);
    }

    static constexpr auto never = std::chrono::steady_clock::time_point::max();

    const char* what_;
    std::uint64_t cycle_;
    std::uint32_t steps_ = 0;
    std::chrono::steady_clock::time_point deadline_ = never;
};

// Waits until `ready(flag)` and returns the flag's value, read with acquire.
// `ready` must stay true once true (the flags only move forward).
template <class V, class Ready>
V wait_until(const std::atomic<V>& flag, Ready ready, const char* what, std::uint64_t cycle) {
    Backoff backoff(what, cycle);
    // Relaxed while spinning: only the value matters until it is ready, and
    // acquire loads in a spin loop are costly under ThreadSanitizer.
    while (!ready(flag.load(std::memory_order_relaxed))) backoff.pause();
    // Acquire: reads the value that made `ready` true or a later one, so it
    // synchronizes with the release store (or RMW) that wrote it.
    return flag.load(std::memory_order_acquire);
}

// ---------------------------------------------------------------------------
// The sender thread and its mailbox
// ---------------------------------------------------------------------------

// try_send first registers a closure waker (Sender::poll_closed), then
// sends; a value it gets back is destroyed holding its number (a discard).
enum class SenderAction : std::uint8_t { send, emplace, try_send, drop };

constexpr std::array<const char*, 4> action_names = {"send", "emplace", "try-send", "drop"};

SenderAction random_action(Random& random) {
    const std::uint32_t roll = random.below(100);
    if (roll < 45) return SenderAction::send;
    if (roll < 65) return SenderAction::emplace;
    if (roll < 80) return SenderAction::try_send;
    return SenderAction::drop;
}

struct Job {
    std::optional<Sender> sender;
    std::uint64_t cycle = 0;
    SenderAction action = SenderAction::drop;
    Delay delay;
    multishot::Waker closure;  // for try_send's poll_closed
};

// What a try_send job saw, reported with the job's completion.
struct TrySendReport {
    bool closed_at_poll = false;  // poll_closed was ready: the receiver had left
    bool returned = false;        // try_send handed the value back
};

// Hands one job at a time from the main thread to the sender thread, and the
// news that it is done back. The main thread posts job n+1 only after job n
// completed, so the single slot is never written while it is read.
class Mailbox {
public:
    void post(Job job) {
        job_ = std::move(job);
        // Release: publishes job_ to the acquire load in take().
        posted_.store(job_.cycle, std::memory_order_release);
    }

    Job take(std::uint64_t cycle) {
        // Acquire (in wait_until): pairs with post(), so that job_ is the job.
        wait_until(posted_, [&](std::uint64_t posted) { return posted == cycle; },
                   "the sender thread waited too long for a job", cycle);
        Job job = std::move(job_);
        job_.sender.reset();
        return job;
    }

    void complete(std::uint64_t cycle, TrySendReport report) {
        report_ = report;
        // Release: orders everything the job did (sending, waking, destroying
        // values, reading job_, writing report_) before the main thread's
        // acquire loads.
        completed_.store(cycle, std::memory_order_release);
    }

    // After wait_completed(): what the cycle's try_send saw.
    TrySendReport report() const { return report_; }

    bool completed(std::uint64_t cycle) const {
        return completed_.load(std::memory_order_acquire) == cycle;  // Acquire: see complete().
    }

    void wait_completed(std::uint64_t cycle) const {
        // Acquire (in wait_until): see complete().
        wait_until(completed_, [&](std::uint64_t completed) { return completed == cycle; },
                   "the sender thread did not finish its job", cycle);
    }

private:
    Job job_;
    TrySendReport report_;
    std::atomic<std::uint64_t> posted_{0};
    std::atomic<std::uint64_t> completed_{0};
};

TrySendReport perform(Job& job) {
    pause_for(job.delay);
    TrySendReport report;
    switch (job.action) {
        case SenderAction::send: job.sender->send(Payload(job.cycle)); break;
        case SenderAction::emplace: job.sender->emplace(job.cycle); break;
        case SenderAction::try_send:
            report.closed_at_poll = job.sender->poll_closed(job.closure);
            report.returned = job.sender->try_send(Payload(job.cycle)).has_value();
            break;
        case SenderAction::drop: job.sender.reset(); break;
    }
    return report;
}

// Runs `cycles` jobs; returns how many allocations it made (expected: none).
std::uint64_t run_sender_thread(Mailbox& mailbox, std::uint64_t cycles) {
    failure_context.thread = "sender thread";
    const std::uint64_t allocations_before = stress::allocations_on_this_thread();
    for (std::uint64_t cycle = 1; cycle <= cycles; ++cycle) {
        TrySendReport report;
        {
            Job job = mailbox.take(cycle);
            failure_context.action = action_names[static_cast<std::size_t>(job.action)];
            report = perform(job);
        }  // The sender is destroyed here, before the job is reported done.
        mailbox.complete(cycle, report);
    }
    return stress::allocations_on_this_thread() - allocations_before;
}

// ---------------------------------------------------------------------------
// Receive outcomes and waker bookkeeping
// ---------------------------------------------------------------------------

struct Outcome {
    enum class Kind : std::uint8_t { none, value, closed, cancelled, other_error };
    Kind kind = Kind::none;
    std::uint64_t sequence = 0;
};

Outcome to_outcome(multishot::RecvResult<Payload>&& result) {
    if (result) return {Outcome::Kind::value, result->take()};
    switch (result.error()) {
        case multishot::RecvError::closed: return {Outcome::Kind::closed, 0};
        case multishot::RecvError::cancelled: return {Outcome::Kind::cancelled, 0};
        default: return {Outcome::Kind::other_error, 0};
    }
}

// Counts the calls of the Waker it hands out.
class WakeCounter {
public:
    multishot::Waker waker() noexcept { return multishot::Waker(&WakeCounter::record, this); }

    // Acquire: pairs with record(); once a call is seen, the sender's RMW
    // that completed the channel happens-before the next poll.
    std::uint64_t calls() const noexcept { return calls_.load(std::memory_order_acquire); }

    void wait_for_call_after(std::uint64_t calls_before, std::uint64_t cycle) const {
        // Acquire (in wait_until): as calls().
        wait_until(calls_, [&](std::uint64_t calls) { return calls != calls_before; },
                   "the waker of a pending poll was never called", cycle);
    }

private:
    static void record(void* self) noexcept {
        // Release: see calls().
        static_cast<WakeCounter*>(self)->calls_.fetch_add(1, std::memory_order_release);
    }

    std::atomic<std::uint64_t> calls_{0};
};

// Which calls of the two wakers a cycle allows: between min and max calls in
// all, and none on the other waker when `only_on` names one.
struct WakeRule {
    std::uint64_t min_calls = 0;
    std::uint64_t max_calls = 0;
    int only_on = -1;

    static WakeRule none() { return {}; }
    static WakeRule exactly_once_on(int waker) { return {1, 1, waker}; }
    static WakeRule at_most_once_on(int waker) { return {0, 1, waker}; }
    static WakeRule at_most_once_on_either() { return {0, 1, -1}; }
};

struct CycleResult {
    Outcome outcome;
    WakeRule wakes;
    bool receive_skipped = false;  // The plan left the value (if any) unread.
};

CycleResult skipped_receive() { return {{}, WakeRule::none(), true}; }

stress::SignallingTask await_into(Receiver& receiver, Outcome& outcome) {
    outcome = to_outcome(co_await receiver.recv());
}

stress::SignallingTask await_cancellable_into(Receiver& receiver, std::stop_token token,
                                              Outcome& outcome) {
    outcome = to_outcome(co_await receiver.recv(std::move(token)));
}

// ---------------------------------------------------------------------------
// The receiving side (main thread)
// ---------------------------------------------------------------------------

enum class Plan : std::uint8_t {
    poll_wait,        // poll; if pending, wait for the waker and poll again
    poll_switching,   // poll, re-poll with the other waker 1 to 3 times, then wait
    busy_poll,        // poll with the same waker until ready
    await,            // co_await recv() in a coroutine
    await_cancel,     // co_await recv(token), request stop; if cancelled, poll
    timed_wait,       // recv_for a few microseconds; if timed out, recv_blocking
    timed_abandon,    // recv_for a few microseconds; if timed out, destroy the receiver
    abandon_now,      // destroy the receiver right after posting the sender
    abandon_waiting,  // poll once; if pending, destroy the receiver
    abandon_done,     // wait for the sender thread, then destroy the receiver
    recycle_unread,   // wait for the sender thread, leave the value to sender()
    count
};

constexpr std::array<const char*, static_cast<std::size_t>(Plan::count)> plan_names = {
    "poll-wait",   "poll-switching",  "busy-poll",       "await",        "await-cancel",
    "timed-wait",  "timed-abandon",   "abandon-now",     "abandon-waiting", "abandon-done",
    "recycle-unread"};

Plan random_plan(Random& random) {
    // Weights in percent, in the order of Plan.
    // The timed plans are rare: a blocked receive costs a kernel wake-up.
    constexpr std::array<std::uint32_t, plan_names.size()> weights = {19, 14, 9, 16, 8, 4,
                                                                      2,  6,  7, 6, 9};
    std::uint32_t roll = random.below(100);
    for (std::size_t plan = 0; plan < weights.size(); ++plan) {
        if (roll < weights[plan]) return static_cast<Plan>(plan);
        roll -= weights[plan];
    }
    return Plan::await;
}

struct Stats {
    std::array<std::uint64_t, plan_names.size()> plans{};
    std::uint64_t values = 0;
    std::uint64_t closed = 0;
    std::uint64_t expected_discards = 0;
    std::uint64_t cycles_with_pending_poll = 0;
    std::uint64_t wake_calls = 0;
    std::uint64_t receivers = 1;
    std::uint64_t stop_sources = 0;  // each allocates its shared state
    std::uint64_t cancelled = 0;     // cancelled receives (received again after)
    std::uint64_t timed_out = 0;     // timed-out receives (received again or abandoned)
    std::uint64_t receivers_destroyed_early = 0;  // before the sender thread finished its job
    std::uint64_t abandons = 0;           // receivers that left by abandon()
    std::uint64_t abandon_allocations = 0;  // new blocks abandon() allocated (live senders)
    std::uint64_t values_returned = 0;    // try_send handed the value back
    std::uint64_t closure_calls = 0;      // closure wakers called
};

class ReceivingSide {
public:
    ReceivingSide(Mailbox& mailbox, std::uint64_t seed) : mailbox_(mailbox), random_(seed) {}

    void run_cycle(std::uint64_t cycle) {
        std::optional<Sender> sender = receiver_.sender();
        check(sender.has_value(), "sender() failed after the previous receive completed", cycle);
        check_nothing_left(cycle);
        const SenderAction action = random_action(random_);
        const Plan plan = random_plan(random_);
        ++stats_.plans[static_cast<std::size_t>(plan)];
        describe(plan, action);
        for (std::size_t i = 0; i < wakers_.size(); ++i) calls_before_[i] = wakers_[i].calls();
        const std::uint64_t closure_calls_before = closure_.calls();
        mailbox_.post(
            Job{std::move(sender), cycle, action, random_delay(random_), closure_.waker()});
        pause_for(random_delay(random_));
        const CycleResult result = execute(plan, cycle);
        mailbox_.wait_completed(cycle);
        check_outcome(result, action, cycle);
        check_wakes(result.wakes, cycle);
        check_try_send(action, mailbox_.report(), closure_.calls() - closure_calls_before, result,
                       cycle);
    }

    // Every value sent and not received has been destroyed, and no Payload is
    // alive. Holds at the start of each cycle and at the end.
    void check_nothing_left(std::uint64_t cycle) const {
        check(Payload::live() == 0, "a Payload outlived its cycle (leak)", cycle);
        check(Payload::discarded() == stats_.expected_discards,
              "the number of discarded values differs from the number sent and not received",
              cycle);
    }

    const Stats& stats() const { return stats_; }

private:
    void describe(Plan plan, SenderAction action) {
        failure_context.plan = plan_names[static_cast<std::size_t>(plan)];
        failure_context.action = action_names[static_cast<std::size_t>(action)];
    }

    CycleResult execute(Plan plan, std::uint64_t cycle) {
        switch (plan) {
            case Plan::poll_wait: return poll_until_ready(0, false, cycle);
            case Plan::poll_switching: return poll_until_ready(1 + random_.below(3), false, cycle);
            case Plan::busy_poll: return poll_until_ready(0, true, cycle);
            case Plan::await: return await_receive(cycle);
            case Plan::await_cancel: return await_then_cancel(cycle);
            case Plan::timed_wait: return timed_then_blocking(cycle);
            case Plan::timed_abandon: return timed_then_abandon(cycle);
            case Plan::abandon_now: return abandon_now(cycle);
            case Plan::abandon_waiting: return abandon_waiting(cycle);
            case Plan::abandon_done: return abandon_done(cycle);
            case Plan::recycle_unread: return recycle_unread(cycle);
            case Plan::count: break;
        }
        fail("unknown plan", cycle);
    }

    // Polls with waker 0; while pending, re-polls `switches` times with the
    // other waker each time; then busy-polls with the same waker, or waits for
    // it to be called and polls once more, which must be ready.
    CycleResult poll_until_ready(std::uint32_t switches, bool busy, std::uint64_t cycle) {
        int current = 0;
        WakeRule wakes = WakeRule::none();
        bool woken = false;
        Backoff backoff("a busy-polled receive never completed", cycle);
        for (std::uint32_t polls = 0;; ++polls) {
            if (multishot::PollResult<Payload> result = poll(current, wakes))
                return {to_outcome(std::move(*result)), wakes, false};
            check(!woken, "a poll after its waker was called is pending", cycle);
            if (polls < switches) {
                current = 1 - current;
            } else if (busy) {
                backoff.pause();
            } else {
                wakers_[current].wait_for_call_after(calls_before_[current], cycle);
                woken = true;
            }
        }
    }

    // One poll with waker `index`. Pending binds the sender to call that
    // waker. A ready poll with another waker after a pending one frees it: it
    // may call the earlier waker (late), or none if the new poll's step 1
    // withdrew the earlier one before the sender's final RMW.
    multishot::PollResult<Payload> poll(int index, WakeRule& wakes) {
        multishot::PollResult<Payload> result = receiver_.poll_recv(wakers_[index].waker());
        if (!result) {
            wakes = WakeRule::exactly_once_on(index);
        } else if (wakes.only_on >= 0 && wakes.only_on != index) {
            wakes = WakeRule::at_most_once_on_either();
        }
        return result;
    }

    CycleResult await_receive(std::uint64_t cycle) {
        std::atomic<bool> finished{false};
        Outcome outcome;
        {
            stress::SignallingTask task = await_into(receiver_, outcome);
            task.start(finished);
            // Acquire (in wait_until): pairs with the task's release store, so
            // that `outcome` is written and the frame may be destroyed.
            wait_until(finished, [](bool done) { return done; },
                       "co_await recv() was never resumed", cycle);
        }
        return {outcome, WakeRule::none(), false};
    }

    // Requests stop at a random moment while co_await recv(token) may be
    // suspended. A cancelled receive stays open, and the sender may still
    // act: receive again by polling, which must then get this cycle's outcome.
    CycleResult await_then_cancel(std::uint64_t cycle) {
        std::stop_source stop;
        ++stats_.stop_sources;
        std::atomic<bool> finished{false};
        Outcome outcome;
        {
            stress::SignallingTask task =
                await_cancellable_into(receiver_, stop.get_token(), outcome);
            task.start(finished);
            pause_for(random_delay(random_));
            stop.request_stop();
            // Acquire (in wait_until): as in await_receive().
            wait_until(finished, [](bool done) { return done; },
                       "co_await recv(token) was never resumed", cycle);
        }
        if (outcome.kind != Outcome::Kind::cancelled) return {outcome, WakeRule::none(), false};
        ++stats_.cancelled;
        return poll_until_ready(0, false, cycle);
    }

    // A timed receive through the wait cell that often gives up: a timed-out
    // receive stays open, and blocking again must get this cycle's outcome.
    CycleResult timed_then_blocking(std::uint64_t) {
        multishot::RecvResult<Payload> result = receiver_.recv_for(random_timeout());
        if (result != multishot::RecvError::timed_out)
            return {to_outcome(std::move(result)), WakeRule::none(), false};
        ++stats_.timed_out;
        return {to_outcome(receiver_.recv_blocking()), WakeRule::none(), false};
    }

    // Gives up on a timed receive and destroys the receiver, possibly while
    // the sender notifies the wait cell (the block stays pinned until then).
    CycleResult timed_then_abandon(std::uint64_t cycle) {
        multishot::RecvResult<Payload> result = receiver_.recv_for(random_timeout());
        if (result != multishot::RecvError::timed_out)
            return {to_outcome(std::move(result)), WakeRule::none(), false};
        ++stats_.timed_out;
        replace_receiver(cycle);
        return {{}, WakeRule::none(), true};
    }

    // 0 to 7 microseconds: the sender's random delay makes either side first.
    std::chrono::microseconds random_timeout() { return std::chrono::microseconds(random_.below(8)); }

    CycleResult abandon_now(std::uint64_t cycle) {
        replace_receiver(cycle);
        return skipped_receive();
    }

    CycleResult abandon_waiting(std::uint64_t cycle) {
        multishot::PollResult<Payload> result = receiver_.poll_recv(wakers_[0].waker());
        if (result) return {to_outcome(std::move(*result)), WakeRule::none(), false};
        replace_receiver(cycle);
        // The sender calls waker 0 if it completes before the destruction.
        return {{}, WakeRule::at_most_once_on(0), true};
    }

    CycleResult abandon_done(std::uint64_t cycle) {
        mailbox_.wait_completed(cycle);
        replace_receiver(cycle);
        return skipped_receive();
    }

    CycleResult recycle_unread(std::uint64_t cycle) {
        mailbox_.wait_completed(cycle);
        return skipped_receive();  // The next sender() destroys the value.
    }

    // Leaves the receive: half the time by destroying the receiver and
    // making a new one, half the time by abandon(), which allocates a new
    // block only while the sender is alive.
    void replace_receiver(std::uint64_t cycle) {
        const bool sender_done = mailbox_.completed(cycle);
        if (!sender_done) ++stats_.receivers_destroyed_early;
        if (random_.below(2) == 0) {
            receiver_ = Receiver();
            ++stats_.receivers;
            return;
        }
        const std::uint64_t before = stress::allocations_on_this_thread();
        receiver_.abandon();
        const std::uint64_t made = stress::allocations_on_this_thread() - before;
        // (Both hold trivially where allocations are not counted: made is 0.)
        check(made <= 1, "abandon() allocated more than one block", cycle);
        check(!sender_done || made == 0, "abandon() allocated with no live sender", cycle);
        ++stats_.abandons;
        stats_.abandon_allocations += made;
        stats_.receivers += made;
    }

    // try_send returns the value only if the receiver left first (its
    // receive was skipped); the closure waker registered before it is called
    // once if the receiver left after the registration and before the send,
    // never otherwise.
    void check_try_send(SenderAction action, TrySendReport report, std::uint64_t closure_calls,
                        const CycleResult& result, std::uint64_t cycle) {
        stats_.closure_calls += closure_calls;
        if (action != SenderAction::try_send) {
            check(closure_calls == 0, "a closure waker was called without a registration", cycle);
            return;
        }
        if (report.returned) {
            ++stats_.values_returned;
            check(result.receive_skipped, "try_send returned a value that was received", cycle);
        }
        check(!report.closed_at_poll || report.returned,
              "try_send delivered after poll_closed said the receiver was gone", cycle);
        const bool left_while_registered = report.returned && !report.closed_at_poll;
        check(closure_calls == (left_while_registered ? 1U : 0U),
              left_while_registered ? "the receiver left without calling the closure waker"
                                    : "a closure waker was called needlessly",
              cycle);
    }

    void check_outcome(const CycleResult& result, SenderAction action, std::uint64_t cycle) {
        const bool sent = action != SenderAction::drop;
        switch (result.outcome.kind) {
            case Outcome::Kind::value:
                check(sent, "received a value from a sender that sent none", cycle);
                check(result.outcome.sequence == cycle,
                      "received a value with another cycle's sequence number", cycle);
                ++stats_.values;
                return;
            case Outcome::Kind::closed:
                check(!sent, "received closed from a sender that sent a value", cycle);
                ++stats_.closed;
                return;
            case Outcome::Kind::none:
                check(result.receive_skipped, "a receive completed without an outcome", cycle);
                if (sent) ++stats_.expected_discards;
                return;
            case Outcome::Kind::cancelled:
            case Outcome::Kind::other_error: break;
        }
        fail("a receive ended with an error other than closed", cycle);
    }

    void check_wakes(const WakeRule& rule, std::uint64_t cycle) {
        // All wake-ups of this cycle happened before the sender thread
        // reported the job done, which the caller has seen.
        std::array<std::uint64_t, 2> calls{};
        for (std::size_t i = 0; i < calls.size(); ++i)
            calls[i] = wakers_[i].calls() - calls_before_[i];
        const std::uint64_t total = calls[0] + calls[1];
        stats_.wake_calls += total;
        if (rule.max_calls > 0) ++stats_.cycles_with_pending_poll;
        check(total >= rule.min_calls, "the waker of a pending poll was not called", cycle);
        check(total <= rule.max_calls, "a waker was called more often than allowed", cycle);
        if (rule.only_on >= 0)
            check(calls[static_cast<std::size_t>(1 - rule.only_on)] == 0,
                  "a waker other than the newest pending one was called", cycle);
    }

    Mailbox& mailbox_;
    Random random_;
    Receiver receiver_;
    std::array<WakeCounter, 2> wakers_;
    std::array<std::uint64_t, 2> calls_before_{};
    WakeCounter closure_;
    Stats stats_;
};

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

struct Config {
    std::uint64_t cycles = 1'000'000;
    std::uint64_t seed = 1;
};

std::uint64_t parse_number(const char* text, const char* name) {
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0') {
        std::fprintf(stderr, "multishot stress: %s must be a number, got '%s'\n", name, text);
        std::exit(2);
    }
    return value;
}

Config parse_arguments(int argc, char** argv) {
    if (argc > 3) {
        std::fprintf(stderr, "usage: %s [cycles [seed]]\n", argv[0]);
        std::exit(2);
    }
    Config config;
    if (argc > 1) config.cycles = parse_number(argv[1], "cycles");
    if (argc > 2) config.seed = parse_number(argv[2], "seed");
    if (config.cycles == 0) {
        std::fprintf(stderr, "multishot stress: cycles must be at least 1\n");
        std::exit(2);
    }
    return config;
}

struct RunResult {
    Stats stats;
    std::uint64_t main_allocations = 0;
    std::uint64_t expected_main_allocations = 0;
};

// Runs the receiving side on this thread; the receivers are all gone on return.
RunResult receive_all(Mailbox& mailbox, const Config& config) {
    const std::uint64_t allocations_before = stress::allocations_on_this_thread();
    const std::uint64_t frames_before = stress::SignallingTask::frames_allocated_on_this_thread;
    ReceivingSide side(mailbox, config.seed);
    for (std::uint64_t cycle = 1; cycle <= config.cycles; ++cycle) side.run_cycle(cycle);
    RunResult run{side.stats(), stress::allocations_on_this_thread() - allocations_before, 0};
    const std::uint64_t frames =
        stress::SignallingTask::frames_allocated_on_this_thread - frames_before;
    run.expected_main_allocations = run.stats.receivers + frames + run.stats.stop_sources;
    return run;
}

void print_summary(const Config& config, const Stats& stats, double seconds) {
    std::printf("multishot stress: %" PRIu64 " cycles, seed %" PRIu64 ", %.2f s (%.2f us/cycle)\n",
                config.cycles, config.seed, seconds,
                seconds * 1e6 / static_cast<double>(config.cycles));
    std::printf("  plans:");
    for (std::size_t plan = 0; plan < plan_names.size(); ++plan)
        std::printf(" %s %" PRIu64, plan_names[plan], stats.plans[plan]);
    std::printf("\n  cancelled receives %" PRIu64 " (then received again)", stats.cancelled);
    std::printf(", timed-out receives %" PRIu64, stats.timed_out);
    std::printf("\n  values received %" PRIu64 ", closed received %" PRIu64
                ", values discarded %" PRIu64 "\n",
                stats.values, stats.closed, stats.expected_discards);
    std::printf("  cycles with a pending poll %" PRIu64 ", waker calls %" PRIu64
                ", receivers %" PRIu64 " (%" PRIu64 " destroyed before their sender finished)\n",
                stats.cycles_with_pending_poll, stats.wake_calls, stats.receivers,
                stats.receivers_destroyed_early);
    std::printf("  abandon() %" PRIu64 " times (%" PRIu64 " allocated a block: a live sender)"
                ", try_send values returned %" PRIu64 ", closure waker calls %" PRIu64 "\n",
                stats.abandons, stats.abandon_allocations, stats.values_returned,
                stats.closure_calls);
}

}  // namespace

int main(int argc, char** argv) {
    const Config config = parse_arguments(argc, argv);
    const std::int64_t live_allocations_before = stress::live_allocations();
    const auto start = std::chrono::steady_clock::now();

    Mailbox mailbox;
    std::uint64_t sender_allocations = 0;
    std::thread sender_thread(
        [&] { sender_allocations = run_sender_thread(mailbox, config.cycles); });
    const RunResult run = receive_all(mailbox, config);
    sender_thread.join();

    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const std::uint64_t end = config.cycles + 1;
    check(Payload::live() == 0, "Payload objects leaked", end);
    check(Payload::discarded() == run.stats.expected_discards,
          "the number of discarded values differs from the number sent and not received", end);
    const bool allocations_counted = stress::allocations_are_counted();
    if (allocations_counted) {
        check(stress::live_allocations() == live_allocations_before, "heap allocations leaked",
              end);
        // Besides those, each thread may allocate one extension per block
        // (its first poll_closed, or its first wait through the wait cell),
        // installed or, if the other thread installed one first, freed.
        check(sender_allocations <= run.stats.receivers,
              "the sender thread allocated more than one extension per block", end);
        check(run.main_allocations >= run.expected_main_allocations &&
                  run.main_allocations - run.expected_main_allocations <= run.stats.receivers,
              "the receiving thread allocated other than one block per Receiver, one frame "
              "per coroutine, one state per stop_source and at most one extension per block",
              end);
    }
    print_summary(config, run.stats, elapsed.count());
    if (!allocations_counted)
        std::printf("  heap allocations not counted: operator new is not the counting one\n");
    return 0;
}
