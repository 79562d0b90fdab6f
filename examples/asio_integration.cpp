// asio_integration: multishot_asio::async_recv (multishot_asio.hpp, a short
// adapter built on asio::async_initiate) used three ways: co_await inside an
// asio::awaitable, a callback bound to a strand, and asio::use_future.
// Senders live on other threads; every completion must run on a thread of
// the io_context (the handler's executor), never on the sender's thread.
#include "multishot_asio.hpp"

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

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
        co_await multishot_asio::async_recv(receiver, asio::use_awaitable);
    check(first.has_value() && *first == "hello", "co_await: received \"hello\"");
    check(on_io_thread, "co_await: resumed on the io_context's thread");

    senders.push_back(send_from_another_thread(*receiver.sender(), ""));
    multishot::RecvResult<std::string> second =
        co_await multishot_asio::async_recv(receiver, asio::use_awaitable);
    check(second == multishot::RecvError::closed, "co_await: then RecvError::closed");
}

}  // namespace

int main() {
    asio::io_context io;
    std::vector<std::thread> senders;

    // 1. co_await inside an asio::awaitable.
    asio::co_spawn(io, await_twice(senders), asio::detached);

    // 2. A callback, bound to a strand of the io_context.
    multishot::Receiver<std::string> callback_receiver;
    senders.push_back(send_from_another_thread(*callback_receiver.sender(), "callback"));
    bool callback_ran = false;
    multishot_asio::async_recv(
        callback_receiver,
        asio::bind_executor(asio::make_strand(io), [&](multishot::RecvResult<std::string> r) {
            check(r.has_value() && *r == "callback", "callback: received \"callback\"");
            check(on_io_thread, "callback: ran on the io_context's thread");
            callback_ran = true;
        }));

    // The io_context has work until both receives above complete.
    on_io_thread = true;
    io.run();
    on_io_thread = false;
    check(callback_ran, "callback: completed before io_context::run() returned");

    // 3. asio::use_future: completes on asio's system executor.
    multishot::Receiver<std::string> future_receiver;
    senders.push_back(send_from_another_thread(*future_receiver.sender(), "future"));
    std::future<multishot::RecvResult<std::string>> reply =
        multishot_asio::async_recv(future_receiver, asio::use_future);
    multishot::RecvResult<std::string> from_future = reply.get();
    check(from_future.has_value() && *from_future == "future", "use_future: received \"future\"");

    for (std::thread& sender : senders) sender.join();
    std::cout << (ok ? "asio_integration: all good\n" : "asio_integration: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
