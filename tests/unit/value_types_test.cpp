// The channel with awkward value types: move-only, not default-constructible,
// large, and with a throwing move constructor (strong guarantee in send,
// nothing lost or leaked in recv). Also emplace with several arguments.

#include "support/catch.hpp"
#include "support/counting.hpp"
#include "support/names.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace {

using namespace multishot_test;

// Receives with the poll layer; the sender must have sent already.
template <class T>
T receive_ready(Receiver<T>& receiver) {
    PollResult<T> result = receiver.poll_recv({});
    REQUIRE(result.has_value());
    return std::move(*result).value();
}

template <class T>
Task<RecvResult<T>> receive(Receiver<T>& receiver) {
    co_return co_await receiver.recv();
}

// Checks that a move-only value goes through, by poll and by co_await.
TEST_CASE("types: move-only value (std::unique_ptr)", "[types]") {
    auto [sender, receiver] = multishot::channel<std::unique_ptr<int>>();
    sender.send(std::make_unique<int>(11));
    const std::unique_ptr<int> polled = receive_ready(receiver);
    REQUIRE(polled != nullptr);
    CHECK(*polled == 11);

    receiver.sender()->send(std::make_unique<int>(12));
    Task<RecvResult<std::unique_ptr<int>>> task = receive(receiver);
    REQUIRE(task.done());
    const std::unique_ptr<int> awaited = task.result().value();
    REQUIRE(awaited != nullptr);
    CHECK(*awaited == 12);
}

// Checks that a type without a default constructor goes through, and that
// an unread one is destroyed with the receiver.
TEST_CASE("types: value that is not default-constructible", "[types]") {
    static_assert(!std::is_default_constructible_v<Counted>);
    const long live_before = Census::live();
    {
        auto [sender, receiver] = multishot::channel<Counted>();
        sender.send(Counted(13));
        CHECK(receive_ready(receiver).value() == 13);
        receiver.sender()->send(Counted(14));
        CHECK(Census::live() == live_before + 1);
    }
    CHECK(Census::live() == live_before);
}

// 4 KiB, filled with a pattern that depends on a seed.
struct Large {
    std::array<unsigned char, 4096> bytes;

    explicit Large(unsigned seed) noexcept {
        for (std::size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<unsigned char>(seed + i * 7);
    }
    bool holds(unsigned seed) const noexcept { return *this == Large(seed); }
    friend bool operator==(const Large&, const Large&) = default;
};

// Checks that a large value arrives intact, sent and emplaced, and across
// recycling of the same block.
TEST_CASE("types: large value (4 KiB)", "[types]") {
    Receiver<Large> receiver;
    for (unsigned seed = 0; seed < 4; ++seed) {
        std::optional<Sender<Large>> sender = receiver.sender();
        REQUIRE(sender.has_value());
        if (seed % 2 == 0) {
            sender->send(Large(seed));
        } else {
            sender->emplace(seed);
        }
        CHECK(receive_ready(receiver).holds(seed));
    }
}

// A value constructed from several arguments, none of them defaulted.
class Point3 {
public:
    Point3(int x, long y, std::unique_ptr<int> z) : x_(x), y_(y), z_(std::move(z)) {}

    int x() const noexcept { return x_; }
    long y() const noexcept { return y_; }
    int z() const noexcept { return *z_; }

private:
    int x_;
    long y_;
    std::unique_ptr<int> z_;
};

// Checks that emplace forwards several arguments (one of them move-only) to
// the constructor of the value, in place.
TEST_CASE("types: emplace with several arguments", "[types]") {
    auto [sender, receiver] = multishot::channel<Point3>();
    sender.emplace(1, 2L, std::make_unique<int>(3));
    CHECK_FALSE(sender.valid());
    const Point3 point = receive_ready(receiver);
    CHECK(point.x() == 1);
    CHECK(point.y() == 2);
    CHECK(point.z() == 3);
}

struct MoveFailure {};

// A tracked, move-only value whose move constructor throws MoveFailure when
// armed (once per arming). Single-threaded use only.
class ThrowingMove {
public:
    explicit ThrowingMove(int value) noexcept : value_(value) { Census::constructed(); }
    ThrowingMove(ThrowingMove&& other) : value_(other.value_) {
        if (std::exchange(fail_next_move, false)) throw MoveFailure{};
        Census::constructed();
    }
    ThrowingMove& operator=(ThrowingMove&&) = delete;
    ~ThrowingMove() { Census::destroyed(); }

    int value() const noexcept { return value_; }

    static inline bool fail_next_move = false;

private:
    int value_;
};

static_assert(!std::is_nothrow_move_constructible_v<ThrowingMove>);

// Checks the strong guarantee of send and emplace: when moving the value into
// the channel throws, the exception propagates, the sender stays valid and
// open, nothing is delivered or leaked, and a later send works.
TEST_CASE("types: throwing move in send leaves the sender usable", "[types]") {
    const long live_before = Census::live();
    {
        auto [sender, receiver] = multishot::channel<ThrowingMove>();
        ThrowingMove::fail_next_move = true;
        CHECK_THROWS_AS(sender.send(ThrowingMove(1)), MoveFailure);
        CHECK(sender.valid());
        CHECK_FALSE(sender.is_closed());
        CHECK_FALSE(receiver.poll_recv({}).has_value());

        ThrowingMove kept(2);
        ThrowingMove::fail_next_move = true;
        CHECK_THROWS_AS(sender.emplace(std::move(kept)), MoveFailure);
        CHECK(sender.valid());
        CHECK(Census::live() == live_before + 1);

        sender.send(ThrowingMove(3));
        CHECK_FALSE(sender.valid());
        CHECK(receive_ready(receiver).value() == 3);
    }
    CHECK(Census::live() == live_before);
}

// Checks that when moving the value out of the channel throws, the exception
// propagates from poll_recv, the value stays in the channel (alive once), and
// a later poll still gets it.
TEST_CASE("types: throwing move in poll_recv keeps the value", "[types]") {
    const long live_before = Census::live();
    {
        auto [sender, receiver] = multishot::channel<ThrowingMove>();
        sender.send(ThrowingMove(4));
        ThrowingMove::fail_next_move = true;
        CHECK_THROWS_AS(receiver.poll_recv({}), MoveFailure);
        CHECK(Census::live() == live_before + 1);
        CHECK(receive_ready(receiver).value() == 4);
        CHECK(Census::live() == live_before);
    }
    CHECK(Census::live() == live_before);
}

// Checks the same for co_await: the exception escapes from co_await into the
// coroutine, and a later co_await gets the value.
TEST_CASE("types: throwing move in co_await recv keeps the value", "[types][coroutine]") {
    const long live_before = Census::live();
    {
        auto [sender, receiver] = multishot::channel<ThrowingMove>();
        sender.send(ThrowingMove(5));
        ThrowingMove::fail_next_move = true;
        Task<RecvResult<ThrowingMove>> failed = receive(receiver);
        REQUIRE(failed.done());
        CHECK_THROWS_AS(failed.result(), MoveFailure);
        CHECK(Census::live() == live_before + 1);

        Task<RecvResult<ThrowingMove>> retried = receive(receiver);
        REQUIRE(retried.done());
        CHECK(retried.result().value().value() == 5);
    }
    CHECK(Census::live() == live_before);
}

// Checks that a value whose receive threw is destroyed once by whoever
// discards it: the receiver's destructor, or the next sender().
TEST_CASE("types: value left by a throwing receive is destroyed once", "[types]") {
    const long live_before = Census::live();
    const bool recycle = GENERATE(false, true);
    {
        auto [sender, receiver] = multishot::channel<ThrowingMove>();
        sender.send(ThrowingMove(6));
        ThrowingMove::fail_next_move = true;
        CHECK_THROWS_AS(receiver.poll_recv({}), MoveFailure);
        if (recycle) {
            CHECK(receiver.sender().has_value());
            CHECK(Census::live() == live_before);
        }
    }
    CHECK(Census::live() == live_before);
}

}  // namespace
