// asio_integration: multishot::asio::async_recv (<multishot/asio.hpp>) four
// ways: co_await inside an asio::awaitable, a timeout with ||, a callback
// bound to a strand, and asio::use_future. Senders live on other threads;
// every completion runs on a thread of the io_context (use_future: on asio's
// system executor), never on the sender's thread.
#include <multishot/asio.hpp>

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

// Set on the thread that runs the io_context.
thread_local bool on_io_thread = false;

bool ok = true;

void check(bool condition, const char* what) {
    std::cout << (condition ? "ok:   " : "FAIL: ") << what << '\n';
    ok = ok && condition;
}

// Sends `text` from a new thread, or closes the channel if `text` is empty.
std::thread send_from_another_thread(multishot::Sender<std::string> sender, std::string text) {
    return std::thread([sender = std::move(sender), text = std::move(text)]() mutable {
        if (!text.empty()) sender.send(std::move(text));
        multishot::Sender<std::string> closed_here = std::move(sender);
    });
}

// A coroutine recycling one receiver: a value, then a closed channel.
asio::awaitable<void> await_twice(std::vector<std::thread>& senders) {
    multishot::Receiver<std::string> receiver;

    senders.push_back(send_from_another_thread(*receiver.sender(), "hello"));
    multishot::RecvResult<std::string> first =
        co_await multishot::asio::async_recv(receiver, asio::use_awaitable);
    check(first.has_value() && *first == "hello", "co_await: received \"hello\"");
    check(on_io_thread, "co_await: resumed on the io_context's thread");

    senders.push_back(send_from_another_thread(*receiver.sender(), ""));
    multishot::RecvResult<std::string> second =
        co_await multishot::asio::async_recv(receiver, asio::use_awaitable);
    check(second == multishot::RecvError::closed, "co_await: then RecvError::closed");
}

// A timeout: race the receive against a timer with ||. The timer wins, the
// receive is cancelled, and the channel is unchanged: the late reply is
// still there for the next receive.
asio::awaitable<void> await_with_timeout(std::vector<std::thread>& senders) {
    multishot::Receiver<std::string> receiver;
    multishot::Sender<std::string> sender = *receiver.sender();  // no reply yet

    asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
    auto winner = co_await (multishot::asio::async_recv(receiver, asio::use_awaitable) ||
                            timer.async_wait(asio::use_awaitable));
    check(winner.index() == 1, "||: the timer won (no reply within 50 ms)");

    senders.push_back(send_from_another_thread(std::move(sender), "late"));
    multishot::RecvResult<std::string> late =
        co_await multishot::asio::async_recv(receiver, asio::use_awaitable);
    check(late.has_value() && *late == "late", "||: the late reply is received afterwards");
}

}  // namespace

int main() {
    asio::io_context io;
    std::vector<std::thread> senders;

    // 1 and 2. co_await inside an asio::awaitable, and a timeout.
    asio::co_spawn(io, await_twice(senders), asio::detached);
    asio::co_spawn(io, await_with_timeout(senders), asio::detached);

    // 3. A callback, bound to a strand of the io_context.
    multishot::Receiver<std::string> callback_receiver;
    senders.push_back(send_from_another_thread(*callback_receiver.sender(), "callback"));
    bool callback_ran = false;
    multishot::asio::async_recv(
        callback_receiver,
        asio::bind_executor(asio::make_strand(io), [&](multishot::RecvResult<std::string> r) {
            check(r.has_value() && *r == "callback", "callback: received \"callback\"");
            check(on_io_thread, "callback: ran on the io_context's thread");
            callback_ran = true;
        }));

    // The io_context has work until the receives above complete.
    on_io_thread = true;
    io.run();
    on_io_thread = false;
    check(callback_ran, "callback: completed before io_context::run() returned");

    // 4. asio::use_future: completes on asio's system executor.
    multishot::Receiver<std::string> future_receiver;
    senders.push_back(send_from_another_thread(*future_receiver.sender(), "future"));
    std::future<multishot::RecvResult<std::string>> reply =
        multishot::asio::async_recv(future_receiver, asio::use_future);
    multishot::RecvResult<std::string> from_future = reply.get();
    check(from_future.has_value() && *from_future == "future", "use_future: received \"future\"");

    // The senders post to the io_context: join them before it goes away.
    for (std::thread& sender : senders) sender.join();
    std::cout << (ok ? "asio_integration: all good\n" : "asio_integration: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
