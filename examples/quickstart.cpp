// quickstart: the multishot README example as a runnable program.
//
// A coroutine receives a value sent from another thread, recycles the sender
// without any allocation, hands it to a second thread that destroys it without
// sending, and receives the "closed" error.
#include <multishot.hpp>

#include <cstdlib>
#include <iostream>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

namespace {

// The smallest coroutine type that can await multishot: it starts at once and
// destroys itself when it finishes. Real programs use their runtime's task.
struct Detached {
    struct promise_type {
        Detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

bool ok = true;

void check(bool condition, const char* what) {
    std::cout << (condition ? "ok:   " : "FAIL: ") << what << '\n';
    ok = ok && condition;
}

Detached run(std::vector<std::thread>& threads, std::binary_semaphore& done) {
    auto [s, r] = multishot::channel<std::string>();

    // Send a value to the channel from another thread.
    threads.emplace_back([s = std::move(s)]() mutable { s.send("42"); });

    // Receive the value. If it is not there yet, the coroutine suspends and
    // the sending thread resumes it inline.
    multishot::RecvResult<std::string> res = co_await r.recv();
    check(res.has_value() && *res == "42", "received \"42\"");

    // Recycle the sender. This is guaranteed to succeed if the previous
    // message has been read, and it allocates nothing.
    std::optional<multishot::Sender<std::string>> s2 = r.sender();
    check(s2.has_value(), "recycled the sender");
    if (!s2) {  // cannot happen here: the message was read
        done.release();
        co_return;
    }

    // Destroy the sender on another thread without sending a message.
    threads.emplace_back([s = std::move(*s2)]() mutable { multishot::Sender<std::string> gone = std::move(s); });

    // Receive an error.
    res = co_await r.recv();
    check(res == multishot::RecvError::closed, "received RecvError::closed");

    done.release();
}

}  // namespace

int main() {
    std::vector<std::thread> threads;
    std::binary_semaphore done{0};
    run(threads, done);
    done.acquire();
    for (std::thread& t : threads) t.join();
    std::cout << (ok ? "quickstart: all good\n" : "quickstart: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
