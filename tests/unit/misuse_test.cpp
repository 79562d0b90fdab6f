// Misuse gives a clear error: usage_error naming the mistake for empty
// senders and moved-from receivers. Also the vocabulary types: RecvResult
// (value access, value_or, comparisons), bad_result_access, RecvError's text,
// Waker, and Sender::is_closed.

#include "support/catch.hpp"
#include "support/names.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace {

using namespace multishot_test;

static_assert(std::is_base_of_v<std::logic_error, usage_error>);
static_assert(std::is_base_of_v<std::exception, bad_result_access>);

// The message of the usage_error that `misuse` throws, or a note that it threw
// none (any other exception propagates and fails the test).
template <class Misuse>
std::string usage_error_message(Misuse&& misuse) {
    try {
        std::forward<Misuse>(misuse)();
    } catch (const usage_error& error) {
        return error.what();
    }
    return "(no usage_error thrown)";
}

bool contains(const std::string& text, const char* part) {
    return text.find(part) != std::string::npos;
}

// Checks that send and emplace on a moved-from sender throw usage_error saying
// the sender is empty because it was moved from or used.
TEST_CASE("misuse: send or emplace on a moved-from sender", "[misuse]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    Sender<int> moved_to = std::move(sender);
    CHECK_FALSE(sender.valid());
    const std::string send_message = usage_error_message([&] { sender.send(1); });
    const std::string emplace_message = usage_error_message([&] { sender.emplace(1); });
    INFO(send_message);
    INFO(emplace_message);
    CHECK(contains(send_message, "Sender::send: sender is empty"));
    CHECK(contains(send_message, "moved-from"));
    CHECK(contains(emplace_message, "Sender::emplace: sender is empty"));
    // The channel is untouched: the moved-to sender still delivers.
    moved_to.send(2);
    CHECK(receiver.poll_recv({}) == RecvResult<int>(std::in_place, 2));
}

// Checks that a second send, or an emplace, through a used sender throws
// usage_error saying the sender was already used, and delivers nothing.
TEST_CASE("misuse: send or emplace on a used sender", "[misuse]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    sender.send(1);
    CHECK_FALSE(sender.valid());
    const std::string send_message = usage_error_message([&] { sender.send(2); });
    const std::string emplace_message = usage_error_message([&] { sender.emplace(3); });
    INFO(send_message);
    INFO(emplace_message);
    CHECK(contains(send_message, "already used"));
    CHECK(contains(emplace_message, "already used"));
    CHECK(receiver.poll_recv({}) == RecvResult<int>(std::in_place, 1));
}

// Checks that recv() and poll_recv() on a moved-from receiver throw
// usage_error naming the operation and the moved-from receiver, and that
// sender() on it is simply empty.
TEST_CASE("misuse: receive on a moved-from receiver", "[misuse]") {
    Receiver<int> receiver;
    const Receiver<int> moved_to = std::move(receiver);
    CHECK_FALSE(receiver.valid());
    CHECK(moved_to.valid());
    const std::string recv_message = usage_error_message([&] { (void)receiver.recv(); });
    const std::string poll_message = usage_error_message([&] { receiver.poll_recv({}); });
    INFO(recv_message);
    INFO(poll_message);
    CHECK(contains(recv_message, "recv"));
    CHECK(contains(recv_message, "moved-from"));
    CHECK(contains(poll_message, "poll_recv"));
    CHECK(contains(poll_message, "moved-from"));
    CHECK_FALSE(receiver.sender().has_value());
}

Task<RecvResult<int>> receive(Receiver<int>& receiver) { co_return co_await receiver.recv(); }

// Checks that co_await on a moved-from receiver's recv() throws usage_error
// into the coroutine.
TEST_CASE("misuse: co_await recv on a moved-from receiver", "[misuse][coroutine]") {
    Receiver<int> receiver;
    const Receiver<int> moved_to = std::move(receiver);
    Task<RecvResult<int>> task = receive(receiver);
    REQUIRE(task.done());
    CHECK_THROWS_AS(task.result(), usage_error);
}

// Checks that a sender reports the channel closed exactly when its receiver
// is gone, and that an empty sender counts as closed.
TEST_CASE("misuse: is_closed", "[misuse]") {
    std::optional<Sender<int>> sender;
    {
        Receiver<int> receiver;
        sender = receiver.sender();
        CHECK_FALSE(sender->is_closed());
    }
    CHECK(sender->is_closed());
    sender->send(1);
    CHECK(sender->is_closed());
    CHECK_FALSE(sender->valid());
}

// Checks that sender() hands out no second sender while one is alive, and
// does again once it was consumed.
TEST_CASE("misuse: no second sender while one is alive", "[misuse]") {
    Receiver<int> receiver;
    std::optional<Sender<int>> first = receiver.sender();
    REQUIRE(first.has_value());
    CHECK_FALSE(receiver.sender().has_value());
    CHECK_FALSE(receiver.sender().has_value());
    first->send(1);
    CHECK(receiver.sender().has_value());
}

// Checks value access on a result holding an error: value() throws
// bad_result_access carrying the error and saying why in what().
TEST_CASE("RecvResult: value() on an error throws bad_result_access", "[result]") {
    RecvResult<int> result = RecvError::closed;
    CHECK_FALSE(result.has_value());
    CHECK_FALSE(static_cast<bool>(result));
    CHECK(result.error() == RecvError::closed);
    try {
        (void)result.value();
        FAIL("value() did not throw");
    } catch (const bad_result_access& error) {
        CHECK(error.error() == RecvError::closed);
        CHECK(contains(error.what(), "channel closed"));
    }
    const RecvResult<int>& const_result = result;
    CHECK_THROWS_AS(const_result.value(), bad_result_access);
    CHECK_THROWS_AS(std::move(result).value(), bad_result_access);
}

// Checks value access on a result holding a value.
TEST_CASE("RecvResult: value access", "[result]") {
    RecvResult<std::string> result(std::in_place, "abc");
    CHECK(result.has_value());
    CHECK(static_cast<bool>(result));
    CHECK(result.value() == "abc");
    CHECK(*result == "abc");
    CHECK(result->size() == 3);
    result.value() += "d";
    CHECK(*result == "abcd");
    const std::string taken = std::move(result).value();
    CHECK(taken == "abcd");
}

// Checks value_or on a value and on an error, from lvalues and rvalues.
TEST_CASE("RecvResult: value_or", "[result]") {
    const RecvResult<int> value(std::in_place, 5);
    const RecvResult<int> error = RecvError::closed;
    CHECK(value.value_or(9) == 5);
    CHECK(error.value_or(9) == 9);
    CHECK(RecvResult<std::string>(std::in_place, "x").value_or("fallback") == "x");
    CHECK(RecvResult<std::string>(RecvError::closed).value_or("fallback") == "fallback");
}

// Checks the comparisons: with an error, and between results.
TEST_CASE("RecvResult: operator==", "[result]") {
    const RecvResult<int> five(std::in_place, 5);
    const RecvResult<int> six(std::in_place, 6);
    const RecvResult<int> closed = RecvError::closed;
    const RecvResult<int> empty = RecvError::empty;
    CHECK(closed == RecvError::closed);
    CHECK_FALSE(closed == RecvError::empty);
    CHECK_FALSE(five == RecvError::closed);
    CHECK(five == RecvResult<int>(std::in_place, 5));
    CHECK_FALSE(five == six);
    CHECK_FALSE(five == closed);
    CHECK_FALSE(closed == five);
    CHECK(closed == RecvResult<int>(RecvError::closed));
    CHECK_FALSE(closed == empty);
    CHECK(five != six);
}

// Checks the text of each RecvError, through to_string and operator<<.
TEST_CASE("RecvError: text", "[result]") {
    CHECK(multishot::to_string(RecvError::closed) == "channel closed");
    CHECK(multishot::to_string(RecvError::empty) == "channel empty");
    CHECK(multishot::to_string(RecvError::timed_out) == "receive timed out");
    CHECK(multishot::to_string(RecvError::cancelled) == "receive cancelled");
    std::ostringstream out;
    out << RecvError::closed;
    CHECK(out.str() == "channel closed");
}

void count_call(void* context) noexcept { ++*static_cast<int*>(context); }

// Checks that a Waker is trivially copyable, that an empty one does nothing,
// and that a function waker calls its function with its context.
TEST_CASE("Waker: empty and function wakers", "[waker]") {
    static_assert(std::is_trivially_copyable_v<Waker>);
    const Waker empty;
    CHECK_FALSE(static_cast<bool>(empty));
    empty.wake();
    CHECK_FALSE(static_cast<bool>(Waker(nullptr, nullptr)));

    int calls = 0;
    const Waker waker(&count_call, &calls);
    CHECK(static_cast<bool>(waker));
    const Waker copy = waker;
    CHECK(copy == waker);
    CHECK_FALSE(copy == empty);
    copy.wake();
    waker.wake();
    CHECK(calls == 2);
}

// An awaitable that suspends and hands its coroutine's handle out.
struct SuspendAndExpose {
    std::coroutine_handle<>& handle;

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> suspended) noexcept { handle = suspended; }
    void await_resume() const noexcept {}
};

Task<int> suspend_once(std::coroutine_handle<>& handle) {
    co_await SuspendAndExpose{handle};
    co_return 21;
}

// Checks that a Waker built from a coroutine handle resumes that coroutine.
TEST_CASE("Waker: from a coroutine handle resumes it", "[waker]") {
    std::coroutine_handle<> handle;
    Task<int> task = suspend_once(handle);
    REQUIRE_FALSE(task.done());
    const Waker waker(handle);
    CHECK(static_cast<bool>(waker));
    waker.wake();
    REQUIRE(task.done());
    CHECK(task.result() == 21);
}

}  // namespace
