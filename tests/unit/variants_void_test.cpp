// Void channels: channel<void>(), Sender<void>::send() and RecvResult<void>
// through every receive (poll, co_await, try_recv, blocking, cancellable):
// "sent" is a value, closed and the other errors are not, and value() throws
// bad_result_access carrying the error.

#include "support/catch.hpp"
#include "support/names.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <utility>

namespace {

using namespace multishot_test;

const RecvResult<void> sent(std::in_place);

// The error that value() throws for `result`, or nullopt if it throws none.
std::optional<RecvError> value_error(const RecvResult<void>& result) {
    try {
        result.value();
    } catch (const bad_result_access& error) {
        return error.error();
    }
    return std::nullopt;
}

Task<RecvResult<void>> receive(Receiver<void>& receiver) { co_return co_await receiver.recv(); }

#if MULTISHOT_HAS_STOP_TOKEN
Task<RecvResult<void>> receive(Receiver<void>& receiver, std::stop_token token) {
    co_return co_await receiver.recv(std::move(token));
}
#endif

// Checks that send() on a void channel gives a result that has a value,
// compares equal to "sent", and whose value() does not throw; and that the
// channel recycles.
TEST_CASE("void: send gives a result with a value", "[void]") {
    auto [sender, receiver] = multishot::channel<void>();
    sender.send();
    CHECK_FALSE(sender.valid());
    const RecvResult<void> result = receiver.try_recv();
    CHECK(result.has_value());
    CHECK(static_cast<bool>(result));
    CHECK(result == sent);
    CHECK_FALSE(value_error(result).has_value());
    receiver.sender()->send();
    CHECK(receiver.poll_recv({}) == sent);
}

// Checks that a void channel whose sender is destroyed gives closed, and
// that value() then throws bad_result_access carrying closed.
TEST_CASE("void: closed when the sender is destroyed", "[void]") {
    Receiver<void> receiver;
    receiver.sender().reset();
    const RecvResult<void> result = receiver.try_recv();
    CHECK_FALSE(result.has_value());
    CHECK(result == RecvError::closed);
    CHECK_FALSE(result == sent);
    CHECK(value_error(result) == RecvError::closed);
}

// Checks that value() throws bad_result_access carrying the error for each
// error a void receive can give: empty, timed_out and cancelled.
TEST_CASE("void: value() throws for every error", "[void]") {
    Receiver<void> receiver;
    Sender<void> sender = *receiver.sender();
    CHECK(value_error(receiver.try_recv()) == RecvError::empty);
    CHECK(value_error(receiver.recv_for(0s)) == RecvError::timed_out);
#if MULTISHOT_HAS_STOP_TOKEN
    std::stop_source stop;
    stop.request_stop();
    Task<RecvResult<void>> task = receive(receiver, stop.get_token());
    REQUIRE(task.done());
    CHECK(value_error(task.result()) == RecvError::cancelled);
#endif
    sender.send();
    CHECK(receiver.try_recv() == sent);
}

// Checks that a coroutine awaiting a void channel suspends until send() on
// another thread resumes it with "sent", and that a ready await completes
// without suspending.
TEST_CASE("void: co_await", "[void][coroutine]") {
    Receiver<void> receiver;
    Sender<void> sender = *receiver.sender();
    Task<RecvResult<void>> waiting = receive(receiver);
    REQUIRE_FALSE(waiting.done());
    std::thread([&sender] { sender.send(); }).join();
    REQUIRE(waiting.done());
    CHECK(waiting.result() == sent);

    receiver.sender()->send();
    Task<RecvResult<void>> ready = receive(receiver);
    REQUIRE(ready.done());
    CHECK(ready.result() == sent);
}

// Checks try_recv and recv_for on a void channel: empty and timed_out while
// the sender is alive, then "sent" once it sent, and closed after a drop.
TEST_CASE("void: try_recv and recv_for", "[void][blocking]") {
    Receiver<void> receiver;
    Sender<void> sender = *receiver.sender();
    CHECK(receiver.try_recv() == RecvError::empty);
    CHECK(receiver.recv_for(1ms) == RecvError::timed_out);
    sender.send();
    CHECK(receiver.recv_for(0s) == sent);

    std::optional<Sender<void>> next = receiver.sender();
    std::thread([&next] { next.reset(); }).join();
    CHECK(receiver.recv_for(1s) == RecvError::closed);
}

#if MULTISHOT_HAS_STOP_TOKEN
// Checks that a cancelled void receive leaves the receive open: the signal
// sent afterwards is received.
TEST_CASE("void: cancelled then the signal received", "[void][cancel]") {
    Receiver<void> receiver;
    Sender<void> sender = *receiver.sender();
    std::stop_source stop;
    Task<RecvResult<void>> task = receive(receiver, stop.get_token());
    REQUIRE_FALSE(task.done());
    stop.request_stop();
    REQUIRE(task.done());
    CHECK(task.result() == RecvError::cancelled);
    sender.send();
    CHECK(receiver.recv_blocking() == sent);
}
#endif

}  // namespace
