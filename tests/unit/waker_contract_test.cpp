// Issue 9, item 5: the waker contract. A waker must not throw: Waker::wake()
// is noexcept and Waker::function_type is a noexcept function pointer. A
// coroutine resumed inline by the sender whose promise's
// unhandled_exception() rethrows therefore makes the sender call
// std::terminate, from send(), emplace(), ~Sender and Sender's move
// assignment alike (it used to propagate out of send() and emplace() only,
// after delivering, and terminate from the others).
//
// The terminations run in a forked child (support/death_test.hpp); the
// tests check that it died of SIGABRT after printing the exception.

#include "support/catch.hpp"
#include "support/death_test.hpp"
#include "support/names.hpp"

#include <multishot.hpp>

#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#if MULTISHOT_HAS_STOP_TOKEN
#include <stop_token>
#endif
#include <string>
#include <type_traits>
#include <utility>

namespace {

using namespace multishot_test;

// The contract, at compile time.
static_assert(std::is_same_v<Waker::function_type, void (*)(void*) noexcept>,
              "Waker::function_type must be a noexcept function pointer");
static_assert(std::is_nothrow_invocable_v<decltype(&Waker::wake), const Waker&>,
              "Waker::wake() must be noexcept");
static_assert(noexcept(std::declval<const Waker&>().wake()));
static_assert(std::is_constructible_v<Waker, void (*)(void*) noexcept, void*>);
static_assert(std::is_trivially_copyable_v<Waker>);

// What the coroutine throws after it was resumed.
constexpr const char* thrown_text = "thrown by the coroutine the sender resumed";

// An eager coroutine whose promise rethrows what escapes the body, out of
// whoever resumed it. It is left suspended at its end, and leaked (its frame
// is only ever destroyed by the child process ending).
struct RethrowingTask {
    struct promise_type {
        RethrowingTask get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() { throw; }
    };
};

// Waits for a value or closure, then throws.
RethrowingTask receive_then_throw(Receiver<int>& receiver, bool& resumed) {
    (void)co_await receiver.recv();
    resumed = true;
    throw std::runtime_error(thrown_text);
}

// In the child: a setup step went wrong.
[[noreturn]] void child_setup_failed(const char* what) {
    std::fprintf(stderr, "death test setup failed: %s\n", what);
    std::fflush(stderr);
    std::_Exit(4);
}

// In the child, after the action that should have terminated: it did not
// (the exception propagated out and was caught here, or did not happen).
[[noreturn]] void child_not_terminated(bool resumed) {
    std::fprintf(stderr, "not terminated (coroutine resumed: %s)\n", resumed ? "yes" : "no");
    std::fflush(stderr);
    std::_Exit(multishot_test::returned_status);
}

// Checks that the child died of SIGABRT (std::terminate) having printed the
// exception, and not of a multishot assertion.
void check_terminated(const DeathResult& death) {
    INFO("child: " << death.describe());
    CHECK(death.aborted());
    CHECK(death.stderr_contains(thrown_text));
    CHECK_FALSE(death.stderr_contains("multishot: "));
}

// Runs `complete(sender)` in a child, with a coroutine that rethrows
// suspended in co_await recv() on the sender's receiver, and checks that it
// terminated.
template <class Complete>
void check_terminates(Complete complete) {
    check_terminated(run_in_child([&] {
        Receiver<int> receiver;
        std::optional<Sender<int>> sender = receiver.sender();
        bool resumed = false;
        receive_then_throw(receiver, resumed);
        if (resumed) child_setup_failed("the coroutine did not suspend");
        complete(*sender);
        child_not_terminated(resumed);
    }));
}

// Checks that send() resuming a coroutine that rethrows terminates, rather
// than propagating the exception out of send().
TEST_CASE("waker contract: send resuming a rethrowing coroutine terminates", "[waker][death]") {
    check_terminates([](Sender<int>& sender) { sender.send(1); });
}

// Checks the same for emplace().
TEST_CASE("waker contract: emplace resuming a rethrowing coroutine terminates",
          "[waker][death]") {
    check_terminates([](Sender<int>& sender) { sender.emplace(2); });
}

// Checks that ~Sender (closing the channel) resuming a coroutine that
// rethrows terminates.
TEST_CASE("waker contract: ~Sender resuming a rethrowing coroutine terminates", "[waker][death]") {
    check_terminates([](Sender<int>& sender) {
        const Sender<int> destroyed = std::move(sender);
    });
}

// Checks that move-assigning onto a live sender (which closes its channel)
// resuming a coroutine that rethrows terminates.
TEST_CASE("waker contract: Sender move assignment resuming a rethrowing coroutine terminates",
          "[waker][death]") {
    check_terminates([](Sender<int>& sender) {
        Receiver<int> other;
        sender = *other.sender();
    });
}

// Checks that waking a Waker built from the handle of such a coroutine
// terminates too: the exception cannot leave wake().
TEST_CASE("waker contract: Waker::wake resuming a rethrowing coroutine terminates",
          "[waker][death]") {
    const DeathResult death = run_in_child([] {
        std::coroutine_handle<> handle;
        struct Capture {
            std::coroutine_handle<>& handle;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) const noexcept { handle = h; }
            void await_resume() const noexcept {}
        };
        [](std::coroutine_handle<>& out) -> RethrowingTask {
            co_await Capture{out};
            throw std::runtime_error(thrown_text);
        }(handle);
        if (!handle) child_setup_failed("the coroutine did not suspend");
        const Waker waker(handle);
        waker.wake();
        std::fputs("not terminated\n", stderr);
        std::fflush(stderr);
        std::_Exit(multishot_test::returned_status);
    });
    INFO("child: " << death.describe());
    CHECK(death.aborted());
    CHECK(death.stderr_contains(thrown_text));
}

#if MULTISHOT_HAS_STOP_TOKEN
// Waits in co_await recv(token) for a value, closure or stop, then throws.
RethrowingTask receive_with_token_then_throw(Receiver<int>& receiver, std::stop_token token,
                                             bool& resumed) {
    (void)co_await receiver.recv(std::move(token));
    resumed = true;
    throw std::runtime_error(thrown_text);
}

// Checks that the thread that requests stop, resuming such a coroutine
// suspended in co_await recv(stop_token) with its stop callback,
// terminates too (the Waker contract's third thread).
TEST_CASE("waker contract: request_stop resuming a rethrowing coroutine terminates",
          "[waker][death][cancel]") {
    check_terminated(run_in_child([] {
        Receiver<int> receiver;
        const std::optional<Sender<int>> sender = receiver.sender();
        std::stop_source stop;
        bool resumed = false;
        receive_with_token_then_throw(receiver, stop.get_token(), resumed);
        if (resumed) child_setup_failed("the coroutine did not suspend");
        stop.request_stop();
        child_not_terminated(resumed);
    }));
}
#endif

// Checks that a plain function waker is called once by send() and that a
// noexcept function converts to Waker::function_type.
TEST_CASE("waker contract: a noexcept function waker is called by send", "[waker]") {
    struct Counter {
        int calls = 0;
        static void wake(void* self) noexcept { ++static_cast<Counter*>(self)->calls; }
    } counter;
    const Waker::function_type function = &Counter::wake;
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    REQUIRE_FALSE(receiver.poll_recv(Waker(function, &counter)).has_value());
    sender->send(3);
    CHECK(counter.calls == 1);
    const multishot::PollResult<int> polled = receiver.poll_recv(Waker(function, &counter));
    REQUIRE(polled.has_value());
    CHECK(*polled == multishot::RecvResult<int>(std::in_place, 3));
}

}  // namespace
