// The main API built with -fno-exceptions: send, emplace, co_await recv,
// poll_recv, try_recv, recv_blocking, recv_for, recv_until, recycling, and a
// void channel, on one thread and across two. A plain program (Catch2's
// checks of thrown exceptions cannot compile without exceptions); it prints
// each failed check and exits 1 if any failed.

#include "support/names.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#if defined(__cpp_exceptions)
#error "tests/noexcept is built with -fno-exceptions"
#endif

namespace {

using namespace multishot_test;

int failures = 0;

void check(bool condition, const char* what, int line) {
    if (!condition) {
        std::printf("FAIL (line %d): %s\n", line, what);
        ++failures;
    }
}
#define CHECK(condition) check((condition), #condition, __LINE__)

template <class T>
Task<RecvResult<T>> receive(Receiver<T>& receiver) {
    co_return co_await receiver.recv();
}

#if MULTISHOT_HAS_STOP_TOKEN
Task<RecvResult<int>> receive(Receiver<int>& receiver, std::stop_token token) {
    co_return co_await receiver.recv(std::move(token));
}
#endif

void send_and_try_recv() {
    auto [sender, receiver] = multishot::channel<std::string>();
    CHECK(receiver.try_recv() == RecvError::empty);
    CHECK(!sender.is_closed());
    sender.send("hello");
    CHECK(!sender.valid());
    const RecvResult<std::string> result = receiver.try_recv();
    CHECK(result.has_value() && *result == "hello");
    CHECK(result.value() == "hello");
    CHECK(result->size() == 5);
    // Recycled: the next sender, through the same block.
    std::optional<Sender<std::string>> next = receiver.sender();
    CHECK(next.has_value());
    next->emplace(3, 'x');
    CHECK(receiver.try_recv() == RecvResult<std::string>(std::in_place, "xxx"));
    next = receiver.sender();
    next.reset();
    CHECK(receiver.try_recv() == RecvError::closed);
    CHECK(receiver.try_recv().value_or("none") == "none");
}

void poll() {
    Receiver<std::unique_ptr<int>> receiver;
    std::optional<Sender<std::unique_ptr<int>>> sender = receiver.sender();
    int woken = 0;
    const multishot::Waker waker([](void* context) noexcept { ++*static_cast<int*>(context); },
                                 &woken);
    CHECK(!receiver.poll_recv(waker).has_value());
    sender->send(std::make_unique<int>(7));
    CHECK(woken == 1);
    const multishot::PollResult<std::unique_ptr<int>> polled = receiver.poll_recv(waker);
    CHECK(polled.has_value() && polled->has_value() && ***polled == 7);
}

void coroutine_inline_and_across_threads() {
    Receiver<int> receiver;
    std::optional<Sender<int>> sender = receiver.sender();
    Task<RecvResult<int>> waiting = receive(receiver);
    CHECK(!waiting.done());
    std::thread([&sender] { sender->send(41); }).join();
    CHECK(waiting.done() && waiting.result() == RecvResult<int>(std::in_place, 41));

    receiver.sender()->send(42);
    Task<RecvResult<int>> ready = receive(receiver);
    CHECK(ready.done() && ready.result() == RecvResult<int>(std::in_place, 42));

    sender = receiver.sender();
    Task<RecvResult<int>> closing = receive(receiver);
    std::thread([&sender] { sender.reset(); }).join();
    CHECK(closing.done() && closing.result() == RecvError::closed);
}

void cancellation() {
#if MULTISHOT_HAS_STOP_TOKEN
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    std::stop_source stop;
    Task<RecvResult<int>> task = receive(receiver, stop.get_token());
    CHECK(!task.done());
    stop.request_stop();
    CHECK(task.done() && task.result() == RecvError::cancelled);
    sender.send(5);
    CHECK(receiver.try_recv() == RecvResult<int>(std::in_place, 5));
#else
    std::puts("(no std::stop_token in this standard library: recv(stop_token) not checked)");
#endif
}

void blocking_and_timed() {
    Receiver<int> receiver;
    {
        std::thread sending([sender = *receiver.sender()]() mutable {
            std::this_thread::sleep_for(10ms);
            sender.send(1);
        });
        CHECK(receiver.recv_blocking() == RecvResult<int>(std::in_place, 1));
        sending.join();
    }
    {
        Sender<int> sender = *receiver.sender();
        CHECK(receiver.recv_for(5ms) == RecvError::timed_out);
        CHECK(receiver.recv_until(std::chrono::steady_clock::now() + 1ms) == RecvError::timed_out);
        CHECK(receiver.recv_until(std::chrono::system_clock::now()) == RecvError::timed_out);
        std::thread sending([&sender] {
            std::this_thread::sleep_for(10ms);
            sender.send(2);
        });
        CHECK(receiver.recv_for(10s) == RecvResult<int>(std::in_place, 2));
        sending.join();
    }
    {
        std::thread closing([sender = *receiver.sender()]() mutable {
            std::this_thread::sleep_for(10ms);
            auto gone = std::move(sender);
        });
        CHECK(receiver.recv_until(std::chrono::steady_clock::now() + 10s) == RecvError::closed);
        closing.join();
    }
}

void void_channel() {
    auto [done, finished] = multishot::channel<void>();
    const RecvResult<void> sent(std::in_place);
    CHECK(finished.try_recv() == RecvError::empty);
    done.send();
    const RecvResult<void> result = finished.try_recv();
    CHECK(result == sent && result.has_value());
    result.value();

    std::optional<Sender<void>> next = finished.sender();
    Task<RecvResult<void>> waiting = receive(finished);
    std::thread([&next] { next->send(); }).join();
    CHECK(waiting.done() && waiting.result() == sent);

    next = finished.sender();
    CHECK(finished.recv_for(1ms) == RecvError::timed_out);
    next.reset();
    CHECK(finished.recv_blocking() == RecvError::closed);
}

void allocator() {
    auto [sender, receiver] = multishot::channel<int>(std::allocator_arg, std::allocator<long>());
    sender.send(9);
    CHECK(receiver.recv_for(0s) == RecvResult<int>(std::in_place, 9));
}

}  // namespace

int main() {
    send_and_try_recv();
    poll();
    coroutine_inline_and_across_threads();
    cancellation();
    blocking_and_timed();
    void_channel();
    allocator();
    if (failures == 0) std::puts("the API without exceptions: ok");
    return failures == 0 ? 0 : 1;
}
