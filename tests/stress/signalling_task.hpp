// A minimal coroutine driver for the stress test: a task that starts when
// told, may be resumed on any thread, and raises a flag once it has finished
// and is suspended for good, so that its owner can then destroy it.
#ifndef MULTISHOT_STRESS_SIGNALLING_TASK_HPP
#define MULTISHOT_STRESS_SIGNALLING_TASK_HPP

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <utility>

namespace stress {

class SignallingTask {
public:
    struct promise_type;
    using Handle = std::coroutine_handle<promise_type>;

    // Raises the flag from the final suspension point: once the flag is up the
    // frame is suspended and nothing here touches it again.
    struct RaiseFlag {
        bool await_ready() const noexcept { return false; }
        void await_suspend(Handle handle) const noexcept {
            // Release: publishes everything the coroutine wrote to the owner's
            // acquire load, after which it may destroy the frame.
            handle.promise().finished->store(true, std::memory_order_release);
        }
        void await_resume() const noexcept {}
    };

    struct promise_type {
        std::atomic<bool>* finished = nullptr;

        // Counts frames (allocated on the thread that creates the task), so
        // that the test can tell them from the channel's own allocations.
        static void* operator new(std::size_t size) {
            ++frames_allocated_on_this_thread;
            return ::operator new(size);
        }
        static void operator delete(void* frame) noexcept { ::operator delete(frame); }

        SignallingTask get_return_object() noexcept {
            return SignallingTask(Handle::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        RaiseFlag final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
    };

    static inline thread_local std::uint64_t frames_allocated_on_this_thread = 0;

    SignallingTask(SignallingTask&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    SignallingTask& operator=(SignallingTask&&) = delete;
    SignallingTask(const SignallingTask&) = delete;
    SignallingTask& operator=(const SignallingTask&) = delete;

    /// Destroys the frame. Precondition: started and `finished` is up (as
    /// seen by an acquire load).
    ~SignallingTask() {
        if (handle_) handle_.destroy();
    }

    /// Runs the coroutine on this thread up to its first suspension; it sets
    /// `finished` when it is done, on whichever thread runs its end.
    void start(std::atomic<bool>& finished) {
        handle_.promise().finished = &finished;
        handle_.resume();
    }

private:
    explicit SignallingTask(Handle handle) noexcept : handle_(handle) {}

    Handle handle_;
};

}  // namespace stress

#endif
