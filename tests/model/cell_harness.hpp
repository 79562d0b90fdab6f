// Harness for the wait-cell scenarios: ModelAccess (the header's model-only
// hook into Receiver), a model of std::stop_source with one std::stop_callback,
// a checked coroutine target, and ModelCancellableRecv, which performs the
// steps of multishot::CancellableRecvAwaiter in the header's order.
//
// Why a mirror of CancellableRecvAwaiter rather than the awaiter itself:
// std::stop_token and std::stop_callback use native atomics and futex waits,
// which Relacy neither sees nor can schedule (a wait would hang the fibers).
// The mirror replaces them with StopModel and otherwise calls the very
// functions the awaiter calls: Block::extension_for_use, WaitCell::arm,
// Receiver::register_waker,
// WaitCell::park, WaitCell::cancel, WaitCell::cancelled, Receiver::complete.
// Keep it in step with the header: any change of order there is a change here.
#ifndef MULTISHOT_MODEL_CELL_HARNESS_HPP
#define MULTISHOT_MODEL_CELL_HARNESS_HPP

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "model.hpp"

namespace multishot::detail {

// The header declares this a friend of Receiver for the model suite.
struct ModelAccess {
    template <class T>
    static Block<T>& block(Receiver<T>& receiver) {
        return *receiver.block_;
    }
    template <class T>
    static std::size_t load_state(Receiver<T>& receiver) {
        return receiver.load_state();
    }
    template <class T>
    static std::size_t register_waker(Receiver<T>& receiver, const Waker& waker,
                                      std::size_t state) {
        return receiver.register_waker(waker, state);
    }
    template <class T>
    static RecvResult<T> complete(Receiver<T>& receiver, std::size_t state) {
        return receiver.complete(state);
    }
};

}  // namespace multishot::detail

namespace multishot_model {

using multishot::detail::ModelAccess;

// A stop source with (at most) one registered callback, with the semantics
// CancellableRecvAwaiter relies on: a callback registered after the request
// runs at once, inline; request_stop() runs a registered callback on the
// requesting thread; deregistering waits for a callback running on another
// thread to return, and does not wait for one running on its own thread
// (the callback resumed the coroutine that deregisters).
class StopModel {
public:
    using Callback = void (*)(void* context);

    // std::stop_source::request_stop().
    void request_stop() {
        int word = word_(RL_INFO).load(rl::mo_relaxed);
        int next = 0;
        do {
            if ((word & requested) != 0) return;
            next = word | requested | ((word & registered) != 0 ? running : 0);
            // Acquire: the callback registered with release in register_callback
            // is visible. Release: publishes the request to stop_requested().
        } while (!word_(RL_INFO).compare_exchange_weak(word, next, rl::mo_acq_rel,
                                                        rl::mo_relaxed));
        if ((next & running) == 0) return;
        // Relaxed: only the running thread compares it with its own index (see
        // deregister_callback), and it wrote it itself.
        runner_(RL_INFO).store(static_cast<int>(rl::thread_index()), rl::mo_relaxed);
        const Callback callback = callback_(RL_INFO);
        callback(context_(RL_INFO));
        // Release: the callback's accesses happen before a deregistration that
        // sees it finished.
        word_(RL_INFO).fetch_and(~(running | registered), rl::mo_release);
    }

    // std::stop_token::stop_requested().
    bool stop_requested() const {
        // Acquire: pairs with the release in request_stop().
        return (word_(RL_INFO).load(rl::mo_acquire) & requested) != 0;
    }

    // std::stop_callback's constructor: registers `callback`, or runs it here
    // if stop was requested already.
    void register_callback(Callback callback, void* context) {
        callback_(RL_INFO) = callback;
        context_(RL_INFO) = context;
        // Acquire: a request seen here happens before the inline call.
        int word = word_(RL_INFO).load(rl::mo_acquire);
        do {
            if ((word & requested) != 0) {
                callback(context);
                return;
            }
            // Release: publishes the callback to request_stop(). Acquire: as
            // the load above, when the CAS fails because of a request.
        } while (!word_(RL_INFO).compare_exchange_weak(word, word | registered, rl::mo_acq_rel,
                                                        rl::mo_acquire));
    }

    // std::stop_callback's destructor.
    void deregister_callback() {
        for (;;) {
            // Acquire: a callback that finished on another thread happens
            // before the caller goes on (and, say, destroys the receiver).
            int word = word_(RL_INFO).load(rl::mo_acquire);
            if ((word & registered) == 0) return;  // never registered, or ran
            if ((word & running) != 0) {
                // Relaxed: see request_stop().
                if (runner_(RL_INFO).load(rl::mo_relaxed) == static_cast<int>(rl::thread_index()))
                    return;  // the callback is on this thread's stack
                rl::yield(1, RL_INFO);
                continue;
            }
            // Acquire: as the load. No release: deregistering publishes nothing.
            if (word_(RL_INFO).compare_exchange_weak(word, word & ~registered, rl::mo_acquire,
                                                     rl::mo_relaxed))
                return;
        }
    }

private:
    static constexpr int requested = 1;
    static constexpr int registered = 2;
    static constexpr int running = 4;

    rl::atomic<int> word_{0};
    rl::atomic<int> runner_{-1};
    rl::var<Callback> callback_{nullptr};
    rl::var<void*> context_{nullptr};
};

// The target a model coroutine arms in the wait cell (in the header: the
// coroutine handle itself). Waking it checks that the coroutine is parked,
// counts the resumption, and resumes the coroutine inline, as waking a
// coroutine handle does. The coroutine reports its phases; `phase_` is an
// rl::var, so a wake-up that is not ordered after the coroutine parked is a
// data race, and one that comes while the coroutine is not parked (twice,
// spuriously, or after it finished) fails the check.
class CoroutineTarget {
public:
    multishot::Waker waker() noexcept { return multishot::Waker(&resume, this); }

    // The coroutine, just before WaitCell::park(): from now on it may be
    // resumed.
    void parking(std::coroutine_handle<> handle) {
        handle_ = handle;
        phase_(RL_INFO) = parked;
        ++suspensions_;
    }

    // The coroutine, when park() found the target claimed: it carries on.
    void carried_on() {
        phase_(RL_INFO) = running;
        --suspensions_;
    }

    // The coroutine, at its end.
    void finished() { phase_(RL_INFO) = done; }

    // Checked after the threads joined: every suspension was resumed once.
    bool resumed_every_suspension() const { return resumes_ == suspensions_; }

private:
    static constexpr int running = 0;
    static constexpr int parked = 1;
    static constexpr int done = 2;

    static void resume(void* self) noexcept { static_cast<CoroutineTarget*>(self)->resume(); }

    void resume() {
        MODEL_CHECK(phase_(RL_INFO) == parked,
                    "a coroutine was resumed while not parked: twice, spuriously or finished");
        phase_(RL_INFO) = running;
        ++resumes_;
        handle_.resume();
    }

    std::coroutine_handle<> handle_;
    rl::var<int> phase_{running};
    // Plain counters: only the coroutine and its resumer touch them, ordered
    // by phase_'s checked accesses.
    int suspensions_ = 0;
    int resumes_ = 0;
};

// `co_await ModelCancellableRecv(receiver, stop, target)`: the steps of
// multishot::CancellableRecvAwaiter, with StopModel for the stop token and
// `target` armed in place of the coroutine handle.
class ModelCancellableRecv {
public:
    ModelCancellableRecv(multishot::Receiver<Value>& receiver, StopModel& stop,
                         CoroutineTarget& target) noexcept
        : receiver_(receiver), stop_(stop), target_(target) {}

    bool await_ready() {
        state_ = ModelAccess::load_state(receiver_);
        if (!multishot::detail::is_open(state_)) return true;
        cancelled_early_ = stop_.stop_requested();
        if (!cancelled_early_) cell_ = &ModelAccess::block(receiver_).extension_for_use().cell;
        return cancelled_early_;
    }

    bool await_suspend(std::coroutine_handle<> handle) {
        multishot::detail::Block<Value>& block = ModelAccess::block(receiver_);
        multishot::detail::WaitCell& cell = *cell_;
        epoch_ = block.epoch.load();
        if (!cell.arm(epoch_, target_.waker(), /*parked=*/false)) {
            state_ = ModelAccess::load_state(receiver_);
            return false;
        }
        stop_callback_.emplace(stop_, this);
        const std::size_t state =
            ModelAccess::register_waker(receiver_, block.link.cell_waker(), state_);
        if (!multishot::detail::is_open(state)) {
            state_ = state;
            return false;
        }
        target_.parking(handle);
        if (cell.park()) return true;
        target_.carried_on();
        return false;
    }

    multishot::RecvResult<Value> await_resume() {
        stop_callback_.reset();
        if (cancelled_early_) return multishot::RecvError::cancelled;
        if (multishot::detail::is_open(state_)) {
            multishot::detail::Block<Value>& block = ModelAccess::block(receiver_);
            if (cell_->cancelled(epoch_)) return multishot::RecvError::cancelled;
            state_ = block.state.load(std::memory_order::relaxed);
        }
        return ModelAccess::complete(receiver_, state_);
    }

private:
    // std::optional<std::stop_callback<Canceller>>: constructing it registers
    // the canceller, destroying it deregisters. `engaged_` stands for the
    // optional's flag, written after the registration and read by the
    // destructor, possibly on the thread that resumed the coroutine.
    class StopCallback {
    public:
        StopCallback(StopModel& stop, ModelCancellableRecv* awaiter) : stop_(stop) {
            stop_.register_callback(&ModelCancellableRecv::cancel, awaiter);
            engaged_(RL_INFO) = true;
        }
        ~StopCallback() {
            MODEL_CHECK(engaged_(RL_INFO), "the stop callback was not engaged");
            stop_.deregister_callback();
        }

    private:
        StopModel& stop_;
        rl::var<bool> engaged_{false};
    };

    // CancellableRecvAwaiter::cancel(), the stop callback.
    static void cancel(void* self) noexcept {
        ModelCancellableRecv& awaiter = *static_cast<ModelCancellableRecv*>(self);
        multishot::detail::WaitCell& cell = *awaiter.cell_;
        if (cell.cancel(awaiter.epoch_) == multishot::detail::Claim::claimed_parked)
            cell.target().wake();
    }

    multishot::Receiver<Value>& receiver_;
    StopModel& stop_;
    CoroutineTarget& target_;
    multishot::detail::WaitCell* cell_ = nullptr;
    std::size_t state_ = multishot::detail::OPEN;
    std::uint64_t epoch_ = 0;
    bool cancelled_early_ = false;
    std::optional<StopCallback> stop_callback_;
};

}  // namespace multishot_model

#endif  // MULTISHOT_MODEL_CELL_HARNESS_HPP
