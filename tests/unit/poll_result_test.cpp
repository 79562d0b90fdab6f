// PollResult<T>: the poll layer's result type. It replaced
// std::optional<RecvResult<T>> in 0.2 and keeps that type's interface, at the
// size of a RecvResult<T> ("pending" is one more value of its code byte).
// These tests hold the header's promises: the sizes, the optional-shaped
// members, the comparisons, reset(), the conversion back to the optional,
// and the debug assertions on dereferencing.

#include "support/catch.hpp"
#include "support/counting.hpp"
#include "support/death_test.hpp"
#include "support/names.hpp"

#include <multishot.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace {

using namespace multishot_test;

// The sizes the header promises: RecvError is one byte, and a PollResult is
// no bigger than the RecvResult it holds.
static_assert(sizeof(RecvError) == 1);
static_assert(sizeof(PollResult<int>) == sizeof(RecvResult<int>));
static_assert(sizeof(PollResult<void>) == sizeof(RecvResult<void>));
static_assert(sizeof(PollResult<std::string>) == sizeof(RecvResult<std::string>));
static_assert(sizeof(PollResult<Sender<int>>) == sizeof(RecvResult<Sender<int>>));
// A RecvResult<T> is a T and one code byte (value, or which error): for int,
// 8 bytes (the size of an optional<int>) rather than the 16 of the
// optional<RecvResult<int>> of 0.1; for void, the byte alone.
static_assert(sizeof(RecvResult<int>) == sizeof(std::optional<int>));
static_assert(sizeof(PollResult<int>) < sizeof(std::optional<RecvResult<int>>));
static_assert(sizeof(PollResult<int>) == 8);  // CHANGELOG: 8 bytes instead of 16
static_assert(sizeof(RecvResult<void>) == 1);  // CHANGELOG: 1 instead of 2
// Trivially copyable when T is, so that a poll returns it in registers.
static_assert(std::is_trivially_copyable_v<PollResult<int>>);
static_assert(std::is_trivially_copyable_v<PollResult<void>>);
static_assert(std::is_trivially_copyable_v<RecvResult<int>>);
static_assert(!std::is_trivially_copyable_v<RecvResult<std::string>>);
// Move-only T: a move-only result; throwing T: the moves say so.
static_assert(!std::is_copy_constructible_v<PollResult<std::unique_ptr<int>>>);
static_assert(!std::is_copy_assignable_v<RecvResult<std::unique_ptr<int>>>);
static_assert(std::is_nothrow_move_constructible_v<PollResult<std::unique_ptr<int>>>);
static_assert(std::is_nothrow_move_assignable_v<RecvResult<std::unique_ptr<int>>>);
static_assert(!std::is_nothrow_move_constructible_v<RecvResult<std::string>> ==
              !std::is_nothrow_move_constructible_v<std::string>);
// Copy-constructible but not assignable T (a const member): so is the result.
struct ConstMember {
    const int value;
};
static_assert(std::is_copy_constructible_v<RecvResult<ConstMember>>);
static_assert(!std::is_copy_assignable_v<RecvResult<ConstMember>>);
static_assert(!std::is_move_assignable_v<RecvResult<ConstMember>>);
// Neither copyable nor movable T: neither is the result.
struct Pinned {
    explicit Pinned(int v) : value(v) {}
    Pinned(const Pinned&) = delete;
    Pinned& operator=(const Pinned&) = delete;
    ~Pinned() {}  // not trivially copyable: the storage that declares all four
    int value;
};
static_assert(!std::is_copy_constructible_v<RecvResult<Pinned>>);
static_assert(!std::is_move_constructible_v<RecvResult<Pinned>>);
static_assert(!std::is_copy_assignable_v<RecvResult<Pinned>>);
static_assert(!std::is_move_assignable_v<RecvResult<Pinned>>);

// A value whose copies (construction and assignment) throw while `fail` is set.
struct FragileCopy {
    explicit FragileCopy(int v) : value(v) {}
    FragileCopy(const FragileCopy& other) : value(other.value) { check(); }
    FragileCopy& operator=(const FragileCopy& other) {
        check();
        value = other.value;
        return *this;
    }
    ~FragileCopy() {}
    static void check() {
        if (fail) throw std::runtime_error("copy failed");
    }
    static inline bool fail = false;
    int value;
};

// A PollResult<Counted> that completed with a value.
PollResult<Counted> completed_with(int value) {
    return PollResult<Counted>(std::in_place, std::in_place, Counted(value));
}

// Checks that a default-constructed PollResult and one built from
// std::nullopt are pending, as an empty optional.
TEST_CASE("poll result: default and nullopt are pending", "[poll_result]") {
    const PollResult<int> by_default;
    const PollResult<int> from_nullopt = std::nullopt;
    for (const PollResult<int>* pending : {&by_default, &from_nullopt}) {
        CHECK_FALSE(pending->has_value());
        CHECK_FALSE(static_cast<bool>(*pending));
        CHECK(*pending == std::nullopt);
        CHECK(std::nullopt == *pending);
    }
    CHECK(by_default == from_nullopt);
}

// Checks that a PollResult built from a RecvResult holds it: a value or an
// error, reached through *, -> and value().
TEST_CASE("poll result: a completed poll holds its RecvResult", "[poll_result]") {
    PollResult<int> value = RecvResult<int>(std::in_place, 7);
    REQUIRE(value.has_value());
    CHECK(static_cast<bool>(value));
    CHECK(value != std::nullopt);
    CHECK((*value).has_value());
    CHECK(**value == 7);
    CHECK(value->value() == 7);
    CHECK(value.value() == RecvResult<int>(std::in_place, 7));
    (*value).value() = 8;
    CHECK(**value == 8);

    const PollResult<int> closed = RecvResult<int>(RecvError::closed);
    REQUIRE(closed.has_value());
    CHECK_FALSE(closed->has_value());
    CHECK(closed->error() == RecvError::closed);
    CHECK(closed == RecvError::closed);
    CHECK(closed == RecvResult<int>(RecvError::closed));
    CHECK(closed != value);

    const PollResult<void> sent = RecvResult<void>(std::in_place);
    REQUIRE(sent.has_value());
    CHECK(sent->has_value());
    const PollResult<void> timed_out = RecvResult<void>(RecvError::timed_out);
    CHECK(timed_out == RecvError::timed_out);
}

// Checks comparisons: pending equals only pending, and completed results
// compare by their RecvResult.
TEST_CASE("poll result: comparisons", "[poll_result]") {
    const PollResult<int> pending;
    const PollResult<int> seven = RecvResult<int>(std::in_place, 7);
    const PollResult<int> also_seven = RecvResult<int>(std::in_place, 7);
    const PollResult<int> eight = RecvResult<int>(std::in_place, 8);
    const PollResult<int> closed = RecvResult<int>(RecvError::closed);
    CHECK(seven == also_seven);
    CHECK(seven != eight);
    CHECK(seven != pending);
    CHECK(pending != closed);
    CHECK(seven == RecvResult<int>(std::in_place, 7));
    CHECK(RecvResult<int>(std::in_place, 7) == seven);
    CHECK(pending != RecvResult<int>(RecvError::closed));
    CHECK(closed == RecvError::closed);
    CHECK(pending != RecvError::closed);
}

// Checks that value() on a pending poll throws std::bad_optional_access, as
// optional's value() does.
TEST_CASE("poll result: value() on a pending poll throws bad_optional_access",
          "[poll_result]") {
    PollResult<int> pending;
    CHECK_THROWS_AS(pending.value(), std::bad_optional_access);
    CHECK_THROWS_AS(std::as_const(pending).value(), std::bad_optional_access);
    CHECK_THROWS_AS(std::move(pending).value(), std::bad_optional_access);
}

// Checks that reset() makes a completed poll pending and destroys the value
// it held, once.
TEST_CASE("poll result: reset() destroys the value and makes it pending", "[poll_result]") {
    const long live_before = Census::live();
    PollResult<Counted> polled = completed_with(5);
    CHECK(Census::live() == live_before + 1);
    polled.reset();
    CHECK_FALSE(polled.has_value());
    CHECK(Census::live() == live_before);
    polled.reset();  // pending already: nothing to destroy
    CHECK(Census::live() == live_before);
}

// Checks copies, moves and assignments between pending and completed
// results: each value is destroyed exactly once, and the state follows.
TEST_CASE("poll result: copies and assignments keep values and states", "[poll_result]") {
    const long live_before = Census::live();
    {
        PollResult<Counted> a = completed_with(1);
        PollResult<Counted> b;
        b = a;  // pending <- completed: copy
        REQUIRE(b.has_value());
        CHECK(b->value().value() == 1);
        a = PollResult<Counted>();  // completed <- pending
        CHECK_FALSE(a.has_value());
        a = std::move(b);
        REQUIRE(a.has_value());
        CHECK(a->value().value() == 1);
        const PollResult<Counted> c(a);
        CHECK(c == a);
        CHECK(Census::live() == live_before + 3);  // a, c, and b's moved-from value
    }
    CHECK(Census::live() == live_before);
}

// Checks RecvResult's copies, moves and assignments between values and
// errors: each value is destroyed exactly once, and value or error follows.
TEST_CASE("recv result: copies and assignments keep values and errors", "[poll_result]") {
    const long live_before = Census::live();
    {
        RecvResult<Counted> a(std::in_place, 1);
        RecvResult<Counted> b = RecvError::timed_out;
        b = a;  // error <- value: copy construction
        REQUIRE(b.has_value());
        CHECK(b->value() == 1);
        a = RecvError::cancelled;  // value <- error: the value destroyed
        CHECK(a == RecvError::cancelled);
        CHECK(Census::live() == live_before + 1);
        RecvResult<Counted> c(std::in_place, 2);
        c = b;  // value <- value: assignment
        CHECK(c->value() == 1);
        c = std::move(a);  // value <- error, moved
        CHECK(c == RecvError::cancelled);
        RecvResult<Counted> d(std::move(b));
        CHECK(d->value() == 1);
        const RecvResult<Counted> e(d);
        CHECK(e == d);
        CHECK(e != c);
        CHECK(Census::live() == live_before + 3);  // b's moved-from value, d, e
    }
    CHECK(Census::live() == live_before);
}

// Checks that an assignment whose copy throws leaves the result holding what
// it held: its error, or its value as T's assignment left it.
TEST_CASE("recv result: an assignment that throws keeps the result intact", "[poll_result]") {
    const RecvResult<FragileCopy> source(std::in_place, 7);
    RecvResult<FragileCopy> holding_error = RecvError::closed;
    RecvResult<FragileCopy> holding_value(std::in_place, 3);
    FragileCopy::fail = true;
    CHECK_THROWS_AS(holding_error = source, std::runtime_error);
    CHECK_THROWS_AS(holding_value = source, std::runtime_error);
    CHECK_THROWS_AS(RecvResult<FragileCopy>(source), std::runtime_error);
    FragileCopy::fail = false;
    CHECK(holding_error == RecvError::closed);
    REQUIRE(holding_value.has_value());
    CHECK(holding_value->value == 3);
    holding_error = source;
    CHECK(holding_error->value == 7);
}

// Checks the conversion to the std::optional<RecvResult<T>> of 0.1: empty
// for a pending poll, holding the result otherwise; a move-only value moves.
TEST_CASE("poll result: converts to the optional<RecvResult> of 0.1", "[poll_result]") {
    const PollResult<int> pending;
    const std::optional<RecvResult<int>> empty = pending;
    CHECK_FALSE(empty.has_value());

    const PollResult<int> seven = RecvResult<int>(std::in_place, 7);
    const std::optional<RecvResult<int>> copied = seven;
    REQUIRE(copied.has_value());
    CHECK(**copied == 7);

    PollResult<std::unique_ptr<int>> boxed =
        RecvResult<std::unique_ptr<int>>(std::in_place, std::make_unique<int>(9));
    std::optional<RecvResult<std::unique_ptr<int>>> moved;
    moved = std::move(boxed);
    REQUIRE(moved.has_value());
    REQUIRE(moved->has_value());
    CHECK(***moved == 9);
}

// Checks the receiver's polls through the new type: pending while a sender
// is alive, the value once sent, closed after the sender is gone.
TEST_CASE("poll result: poll_recv and start_recv return it", "[poll_result]") {
    Receiver<int> receiver;
    Sender<int> sender = *receiver.sender();
    if (auto polled = receiver.poll_recv({})) FAIL("pending poll completed");
    sender.send(3);
    if (auto polled = receiver.poll_recv({})) {
        CHECK(**polled == 3);
    } else {
        FAIL("ready poll pending");
    }
    { const Sender<int> closing = *receiver.sender(); }
    CHECK(receiver.start_recv({}) == RecvError::closed);
}

// Checks the debug assertions: dereferencing a pending PollResult, or a
// RecvResult holding an error, aborts with a message naming the mistake.
// Without assertions (NDEBUG) the dereference is unchecked: nothing to test.
TEST_CASE("poll result: dereferencing a pending poll aborts in debug builds",
          "[poll_result][death]") {
#if defined(NDEBUG)
    SUCCEED("assertions are off (NDEBUG)");
#else
    const DeathResult pending = run_in_child([] {
        PollResult<int> polled;
        (void)*polled;
    });
    INFO(pending.describe());
    CHECK(pending.aborted());
    CHECK(pending.stderr_contains("multishot: PollResult dereferenced while pending"));

    const DeathResult error = run_in_child([] {
        RecvResult<int> closed(RecvError::closed);
        (void)*closed;
    });
    INFO(error.describe());
    CHECK(error.aborted());
    CHECK(error.stderr_contains("multishot: RecvResult dereferenced while holding an error"));
#endif
}

}  // namespace
