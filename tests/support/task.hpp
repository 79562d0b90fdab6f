// A minimal coroutine task for tests: it starts eagerly (runs until its first
// suspension when called), keeps its frame at the final suspension point so
// that done() and result() can be inspected, and owns (destroys) its frame.
//
// Whoever resumes a suspended task is the caller's business: a Waker built
// from its handle, a multishot sender, or a test.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace multishot_test {

namespace detail {

// Stores what the coroutine returned.
template <class T>
class TaskResult {
public:
    void return_value(T value) { value_.emplace(std::move(value)); }
    T take() { return std::move(*value_); }

private:
    std::optional<T> value_;
};

template <>
class TaskResult<void> {
public:
    void return_void() noexcept {}
    void take() noexcept {}
};

}  // namespace detail

template <class T = void>
class Task {
public:
    struct promise_type : detail::TaskResult<T> {
        Task get_return_object() noexcept {
            return Task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void unhandled_exception() noexcept { error = std::current_exception(); }

        std::exception_ptr error;
    };

    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Task& operator=(Task&&) = delete;
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() {
        if (handle_) handle_.destroy();
    }

    /// True once the coroutine ran to completion (returned or threw).
    bool done() const noexcept { return handle_.done(); }

    /// What the coroutine returned; rethrows what escaped it. Precondition:
    /// done().
    T result() {
        if (handle_.promise().error) std::rethrow_exception(handle_.promise().error);
        return handle_.promise().take();
    }

private:
    explicit Task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}

    std::coroutine_handle<promise_type> handle_;
};

}  // namespace multishot_test
