// Builds against an installed multishot/boost_asio.hpp and checks one receive.
#include <multishot/boost_asio.hpp>

#include <boost/asio.hpp>  // after the adapter: it stands alone

#include <cstdio>
#include <thread>

int main() {
    boost::asio::io_context io;
    multishot::Receiver<int> receiver;
    std::thread producer([s = *receiver.sender()]() mutable { s.send(42); });
    int received = 0;
    multishot::boost_asio::async_recv(
        receiver, boost::asio::bind_executor(
                      io, [&](multishot::RecvResult<int> r) { received = r.value_or(0); }));
    io.run();
    producer.join();
    if (received != 42) {
        std::fputs("consumer_boost_asio: expected 42\n", stderr);
        return 1;
    }
    std::puts("consumer_boost_asio: received 42 through an installed multishot/boost_asio.hpp");
    return 0;
}
