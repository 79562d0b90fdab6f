// boost_asio_integration: multishot::boost_asio::async_recv
// (<multishot/boost_asio.hpp>), the same adapter on Boost.Asio: a timeout with
// ||, then a callback cancelled through a cancellation_signal, whose value,
// sent afterwards, goes to the next receive.
#include <multishot/boost_asio.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <utility>

namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace net::experimental::awaitable_operators;

namespace {

bool ok = true;

void check(bool condition, const char* what) {
    std::cout << (condition ? "ok:   " : "FAIL: ") << what << '\n';
    ok = ok && condition;
}

// A reply within the timeout: the receive wins, the timer is cancelled.
net::awaitable<void> reply_in_time(std::thread& replier) {
    multishot::Receiver<int> receiver;
    replier = std::thread([s = *receiver.sender()]() mutable {
        std::this_thread::sleep_for(10ms);
        s.send(42);
    });
    net::steady_timer timer(co_await net::this_coro::executor, 5s);
    auto winner = co_await (multishot::boost_asio::async_recv(receiver, net::use_awaitable) ||
                            timer.async_wait(net::use_awaitable));
    check(
        winner.index() == 0 && std::get<0>(winner) == multishot::RecvResult<int>(std::in_place, 42),
        "||: the reply (42) came before the 5 s timeout");
}

}  // namespace

int main() {
    net::io_context io;
    std::thread replier;
    net::co_spawn(io, reply_in_time(replier), net::detached);
    io.run();
    replier.join();

    // A callback cancelled by a signal before any value: RecvError::cancelled.
    net::cancellation_signal signal;
    multishot::Receiver<int> receiver;
    multishot::Sender<int> sender = *receiver.sender();
    multishot::RecvResult<int> first = multishot::RecvError::empty;
    multishot::boost_asio::async_recv(
        receiver, net::bind_cancellation_slot(
                      signal.slot(),
                      net::bind_executor(io, [&](multishot::RecvResult<int> r) { first = r; })));
    signal.emit(net::cancellation_type::terminal);
    io.restart();
    io.run();
    check(first == multishot::RecvError::cancelled, "signal: the receive ended with cancelled");

    // The channel is unchanged: the value sent now goes to the next receive.
    sender.send(7);
    multishot::RecvResult<int> second = multishot::RecvError::empty;
    multishot::boost_asio::async_recv(
        receiver, net::bind_executor(io, [&](multishot::RecvResult<int> r) { second = r; }));
    io.restart();
    io.run();
    check(second == multishot::RecvResult<int>(std::in_place, 7),
          "signal: the value sent afterwards is received next");

    std::cout << (ok ? "boost_asio_integration: all good\n" : "boost_asio_integration: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
