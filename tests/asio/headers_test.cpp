// Both adapters in one translation unit, included after the whole of
// <asio.hpp> and <boost/asio.hpp> (async_recv_test.cpp includes one before
// any asio header): each public header stands alone, in either order, and
// the one implementation serves both namespaces side by side.
#include <asio.hpp>
#include <boost/asio.hpp>

#include <multishot/asio.hpp>
#include <multishot/boost_asio.hpp>
#include <multishot/asio.hpp>  // again: guarded

#include "support/catch.hpp"

#include <optional>

// Checks a callback receive through each flavour in the same program.
TEST_CASE("both flavours in one translation unit", "[asio][headers]") {
    multishot::Receiver<int> first;
    multishot::Receiver<int> second;
    first.sender()->send(1);
    second.sender()->send(2);
    std::optional<multishot::RecvResult<int>> from_asio;
    std::optional<multishot::RecvResult<int>> from_boost;

    asio::io_context io;
    multishot::asio::async_recv(
        first, asio::bind_executor(io, [&](multishot::RecvResult<int> r) { from_asio = r; }));
    io.run();
    boost::asio::io_context boost_io;
    multishot::boost_asio::async_recv(
        second, boost::asio::bind_executor(boost_io,
                                           [&](multishot::RecvResult<int> r) { from_boost = r; }));
    boost_io.run();

    CHECK(from_asio == multishot::RecvResult<int>(std::in_place, 1));
    CHECK(from_boost == multishot::RecvResult<int>(std::in_place, 2));
}
