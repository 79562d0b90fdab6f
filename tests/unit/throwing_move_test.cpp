// Issue 9, item 1: a receive moves the value out of the channel exactly once
// (one move construction, or one copy construction for a copy-only type),
// and nothing moves or copies it again on the way to the caller's variable.
// If that one move throws, the exception propagates out of the receive, the
// value stays in the channel, and the next receive gets it, exactly once.
// Every kind of receive is checked: co_await recv(), co_await
// recv(stop_token), poll_recv, try_recv, recv_blocking, recv_for and
// recv_until, each with the value sent before the receive and sent while it
// waits.
//
// The payloads count their live instances, their move and copy
// constructions, and destructions of an object that is not alive (a double
// destruction); one can be armed to throw on its Nth transfer (move or copy
// construction). The values are sent with emplace(), which constructs them in
// the channel without any transfer, so every transfer counted is the
// receive's.

#include "support/catch.hpp"
#include "support/names.hpp"
#include "support/task.hpp"
#include "support/test_waker.hpp"

#include <multishot.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#if MULTISHOT_HAS_STOP_TOKEN
#include <stop_token>
#endif

namespace {

using namespace multishot_test;

// What an armed payload throws.
struct TransferFailure {};

// The bookkeeping shared by all payload types. Atomic: the blocking receives
// are woken by a sender on another thread (which only emplaces, so it never
// transfers a payload, but it does construct one).
class Ledger {
public:
    enum class Transfer { move, copy };

    static long live() noexcept { return live_.load(); }
    static long moves() noexcept { return moves_.load(); }
    static long copies() noexcept { return copies_.load(); }
    static long transfers() noexcept { return moves() + copies(); }
    static long bad_destructions() noexcept { return bad_destructions_.load(); }

    /// Restarts the transfer counts; the `fail_at`-th transfer from now (1 is
    /// the next one) throws TransferFailure; 0: none does.
    static void arm(int fail_at) noexcept {
        moves_.store(0);
        copies_.store(0);
        fail_at_.store(fail_at);
    }
    static void disarm() noexcept { fail_at_.store(0); }

    static void constructed() noexcept { live_.fetch_add(1); }
    static void destroyed(bool was_alive) noexcept {
        live_.fetch_sub(1);
        if (!was_alive) bad_destructions_.fetch_add(1);
    }

    /// Counts a transfer, then throws if it is the armed one. Called by a
    /// transferring constructor before it constructs anything.
    static void transfer(Transfer kind) {
        (kind == Transfer::move ? moves_ : copies_).fetch_add(1);
        const int fail_at = fail_at_.load();
        if (fail_at != 0 && transfers() == fail_at) throw TransferFailure{};
    }

private:
    static inline std::atomic<long> live_{0};
    static inline std::atomic<long> moves_{0};
    static inline std::atomic<long> copies_{0};
    static inline std::atomic<long> bad_destructions_{0};
    static inline std::atomic<int> fail_at_{0};
};

// The common part of the payloads: a number, kept on the heap so that
// AddressSanitizer reports a read of a destroyed value (heap-use-after-free)
// or a double destruction (double free), and a mark that tells a live
// object from a destroyed one, so that both show without it too.
class Tracked {
public:
    /// The number, or `destroyed_number` if this object is not alive.
    int number() const noexcept {
        return mark_ == alive && number_ != nullptr ? *number_ : destroyed_number;
    }

    static constexpr int destroyed_number = -1000;

protected:
    explicit Tracked(int number) : number_(std::make_unique<int>(number)) {
        Ledger::constructed();
    }
    // A transfer: counted (and possibly thrown) before anything is built.
    // It copies the number, leaving the source as it was.
    Tracked(const Tracked& other, Ledger::Transfer kind)
        : number_((Ledger::transfer(kind), std::make_unique<int>(other.number()))) {
        Ledger::constructed();
    }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() {
        Ledger::destroyed(mark_ == alive);
        mark_ = dead;
    }

private:
    static constexpr unsigned alive = 0xA11CEu;
    static constexpr unsigned dead = 0xDEADu;

    std::unique_ptr<int> number_;
    // volatile: the store in the destructor must not be optimized away (the
    // object's lifetime ends there, so a plain store would be a dead store).
    volatile unsigned mark_ = alive;
};

// Move-only, with a move constructor that may throw.
class MoveOnly : public Tracked {
public:
    explicit MoveOnly(int number) : Tracked(number) {}
    MoveOnly(MoveOnly&& other) noexcept(false) : Tracked(other, Ledger::Transfer::move) {}
    MoveOnly(const MoveOnly&) = delete;
    MoveOnly& operator=(MoveOnly&&) = delete;
    MoveOnly& operator=(const MoveOnly&) = delete;
    ~MoveOnly() = default;
};

// Copy-only: the move constructor is deleted, the copy constructor may throw.
class CopyOnly : public Tracked {
public:
    explicit CopyOnly(int number) : Tracked(number) {}
    CopyOnly(const CopyOnly& other) : Tracked(other, Ledger::Transfer::copy) {}
    CopyOnly(CopyOnly&&) = delete;
    CopyOnly& operator=(const CopyOnly&) = delete;
    CopyOnly& operator=(CopyOnly&&) = delete;
    ~CopyOnly() = default;
};

// Copy-only the C++03 way: a copy constructor (that may throw) and no move
// constructor declared, so that an rvalue is copied.
class CopyWithoutMove : public Tracked {
public:
    explicit CopyWithoutMove(int number) : Tracked(number) {}
    CopyWithoutMove(const CopyWithoutMove& other) : Tracked(other, Ledger::Transfer::copy) {}
    CopyWithoutMove& operator=(const CopyWithoutMove&) = delete;
    ~CopyWithoutMove() = default;
};

// Both, and the move may throw (like libstdc++'s std::deque): a receive
// must move it, not copy it.
class MoveAndCopy : public Tracked {
public:
    explicit MoveAndCopy(int number) : Tracked(number) {}
    MoveAndCopy(MoveAndCopy&& other) noexcept(false) : Tracked(other, Ledger::Transfer::move) {}
    MoveAndCopy(const MoveAndCopy& other) : Tracked(other, Ledger::Transfer::copy) {}
    MoveAndCopy& operator=(const MoveAndCopy&) = delete;
    ~MoveAndCopy() = default;
};

static_assert(!std::is_nothrow_move_constructible_v<MoveOnly>);
static_assert(!std::is_copy_constructible_v<MoveOnly>);
static_assert(!std::is_move_constructible_v<CopyOnly>);
static_assert(std::is_copy_constructible_v<CopyOnly>);
static_assert(std::is_move_constructible_v<CopyWithoutMove>);  // by copying
static_assert(!std::is_nothrow_move_constructible_v<MoveAndCopy>);

// The transfer a receive must make: a move, unless the type cannot be moved
// (only copied: then a copy).
template <class P>
constexpr bool receives_by_copy =
    std::is_same_v<P, CopyOnly> || std::is_same_v<P, CopyWithoutMove>;

// The kinds of receive.
enum class Kind {
    co_await_recv,
    co_await_recv_token,
    poll_recv,
    try_recv,
    recv_blocking,
    recv_for,
    recv_until,
};

constexpr Kind all_kinds[] = {
    Kind::co_await_recv, Kind::co_await_recv_token, Kind::poll_recv, Kind::try_recv,
    Kind::recv_blocking, Kind::recv_for,            Kind::recv_until,
};

const char* name_of(Kind kind) {
    switch (kind) {
        case Kind::co_await_recv: return "co_await recv()";
        case Kind::co_await_recv_token: return "co_await recv(stop_token)";
        case Kind::poll_recv: return "poll_recv";
        case Kind::try_recv: return "try_recv";
        case Kind::recv_blocking: return "recv_blocking";
        case Kind::recv_for: return "recv_for";
        case Kind::recv_until: return "recv_until";
    }
    return "?";
}

bool kind_available(Kind kind) {
    return kind != Kind::co_await_recv_token || MULTISHOT_HAS_STOP_TOKEN;
}

// When the value is sent: before the receive starts (it completes at once),
// or while the receive waits (suspended, pending, or blocked).
enum class When { before, while_waiting };

const char* name_of(When when) {
    return when == When::before ? "sent before the receive" : "sent while it waits";
}

// What one receive produced, recorded as soon as it returned (before the
// result was touched in any other way).
struct Outcome {
    enum class What { nothing, value, error, threw } what = What::nothing;
    int number = 0;            // What::value: the payload's number
    std::string error;         // What::error: the error
    long moves = -1;           // transfers counted when the receive returned
    long copies = -1;

    template <class P>
    void record(const RecvResult<P>& result) {
        moves = Ledger::moves();
        copies = Ledger::copies();
        if (result) {
            what = What::value;
            number = result->number();
        } else {
            what = What::error;
            error = std::string(multishot::to_string(result.error()));
        }
    }
    void record_throw() {
        moves = Ledger::moves();
        copies = Ledger::copies();
        what = What::threw;
    }
    long transfers() const noexcept { return moves + copies; }

    std::string describe() const {
        switch (what) {
            case What::nothing: return "nothing (the receive did not complete)";
            case What::value: return "value " + std::to_string(number);
            case What::error: return "error: " + error;
            case What::threw: return "threw TransferFailure";
        }
        return "?";
    }
};

constexpr int sent_number = 42;

template <class P>
Task<> await_recv(Receiver<P>& receiver, Outcome& outcome) {
    try {
        auto result = co_await receiver.recv();
        outcome.record(result);
    } catch (const TransferFailure&) {
        outcome.record_throw();
    }
}

#if MULTISHOT_HAS_STOP_TOKEN
template <class P>
Task<> await_recv_token(Receiver<P>& receiver, std::stop_token token, Outcome& outcome) {
    try {
        auto result = co_await receiver.recv(std::move(token));
        outcome.record(result);
    } catch (const TransferFailure&) {
        outcome.record_throw();
    }
}
#endif

// A thread that sends the value through `sender` (if any) after a short
// while; joined on destruction. (std::thread, not std::jthread: this file
// needs <stop_token> only for recv(stop_token).)
template <class P>
class SendSoon {
public:
    explicit SendSoon(std::optional<Sender<P>> sender) {
        if (!sender) return;
        thread_ = std::thread([sender = std::move(sender)]() mutable {
            std::this_thread::sleep_for(2ms);
            sender->emplace(sent_number);
        });
    }
    SendSoon(const SendSoon&) = delete;
    SendSoon& operator=(const SendSoon&) = delete;
    ~SendSoon() {
        if (thread_.joinable()) thread_.join();
    }

private:
    std::thread thread_;
};

// Runs a receive that does not wait (poll_recv or try_recv), recording what
// it produced.
template <class Receive>
Outcome receive_now(Receive receive) {
    Outcome outcome;
    try {
        receive(outcome);
    } catch (const TransferFailure&) {
        outcome.record_throw();
    }
    return outcome;
}

// Performs one receive of `kind` on `receiver`. If `sender` is given, it
// sends the value with emplace(), `when` says at which point; without a
// sender the value must be in the channel already.
template <class P>
Outcome receive(Receiver<P>& receiver, Kind kind, std::optional<Sender<P>> sender, When when) {
    if (sender && when == When::before) {
        sender->emplace(sent_number);
        sender.reset();
    }
    const auto send_now = [&sender] {
        sender->emplace(sent_number);
        sender.reset();
    };

    Outcome outcome;
    switch (kind) {
        case Kind::co_await_recv: {
            const Task<> task = await_recv(receiver, outcome);
            if (sender) {
                REQUIRE_FALSE(task.done());
                send_now();  // resumes the coroutine inline
            }
            REQUIRE(task.done());
            return outcome;
        }
        case Kind::co_await_recv_token: {
#if MULTISHOT_HAS_STOP_TOKEN
            const std::stop_source never_stopped;
            const Task<> task = await_recv_token(receiver, never_stopped.get_token(), outcome);
            if (sender) {
                REQUIRE_FALSE(task.done());
                send_now();
            }
            REQUIRE(task.done());
#endif
            return outcome;
        }
        case Kind::poll_recv: {
            CountingWaker waker;
            if (sender) {
                REQUIRE_FALSE(receiver.poll_recv(waker.waker()).has_value());
                send_now();
                REQUIRE(waker.take_count() == 1);
            }
            return receive_now([&](Outcome& out) {
                auto result = receiver.poll_recv(waker.waker());
                REQUIRE(result.has_value());
                out.record(*result);
            });
        }
        case Kind::try_recv: {
            if (sender) {
                REQUIRE(receiver.try_recv() == RecvError::empty);
                send_now();
            }
            return receive_now([&](Outcome& out) {
                auto result = receiver.try_recv();
                out.record(result);
            });
        }
        case Kind::recv_blocking:
        case Kind::recv_for:
        case Kind::recv_until: {
            // The value comes from another thread, a little later.
            const SendSoon sending(std::move(sender));
            try {
                if (kind == Kind::recv_blocking) {
                    auto result = receiver.recv_blocking();
                    outcome.record(result);
                } else if (kind == Kind::recv_for) {
                    auto result = receiver.recv_for(10s);
                    outcome.record(result);
                } else {
                    auto result = receiver.recv_until(std::chrono::steady_clock::now() + 10s);
                    outcome.record(result);
                }
            } catch (const TransferFailure&) {
                outcome.record_throw();
            }
            return outcome;
        }
    }
    return outcome;
}

// For every receive kind, both timings and N = 1..4: arms the payload to
// throw on its Nth transfer, receives, and checks that a receive that threw
// left the value in the channel for the next receive, which gets it; that
// the value is received exactly once; that the first transfer always throws
// (a receive transfers at least once); and that constructions and
// destructions balance, with no double destruction.
template <class P>
void check_throwing_transfers() {
    for (const Kind kind : all_kinds) {
        if (!kind_available(kind)) continue;
        for (const When when : {When::before, When::while_waiting}) {
            for (int fail_at = 1; fail_at <= 4; ++fail_at) {
                INFO(name_of(kind) << ", " << name_of(when) << ", transfer " << fail_at
                                   << " throws");
                const long live_before = Ledger::live();
                const long bad_before = Ledger::bad_destructions();
                {
                    Receiver<P> receiver;
                    std::optional<Sender<P>> sender = receiver.sender();
                    REQUIRE(sender.has_value());
                    Ledger::arm(fail_at);
                    const Outcome first = receive(receiver, kind, std::move(sender), when);
                    Ledger::disarm();
                    INFO("first receive: " << first.describe() << " after " << first.moves
                                           << " moves and " << first.copies << " copies");
                    if (fail_at == 1) CHECK(first.what == Outcome::What::threw);
                    if (first.what == Outcome::What::threw) {
                        // The value is still in the channel, alive once.
                        CHECK(Ledger::live() == live_before + 1);
                        const Outcome second =
                            receive<P>(receiver, kind, std::nullopt, When::before);
                        INFO("second receive: " << second.describe());
                        CHECK(second.what == Outcome::What::value);
                        CHECK(second.number == sent_number);
                    } else {
                        CHECK(first.what == Outcome::What::value);
                        CHECK(first.number == sent_number);
                    }
                    // Received once: nothing is left to receive, and the
                    // value received was destroyed once, with its result.
                    CHECK(receiver.try_recv() == RecvError::closed);
                    CHECK(Ledger::live() == live_before);
                    // The receive completed: the next sender delivers again.
                    std::optional<Sender<P>> next = receiver.sender();
                    REQUIRE(next.has_value());
                    next->emplace(sent_number + 1);
                    const Outcome again = receive<P>(receiver, Kind::try_recv, std::nullopt,
                                                  When::before);
                    CHECK(again.what == Outcome::What::value);
                    CHECK(again.number == sent_number + 1);
                }
                CHECK(Ledger::live() == live_before);
                CHECK(Ledger::bad_destructions() == bad_before);
            }
        }
    }
}

// For every receive kind and both timings: the receive makes exactly one
// transfer of the value, a move (a copy for a type that can only be copied),
// counted when the receive has returned into the caller's variable.
template <class P>
void check_one_transfer_per_receive() {
    for (const Kind kind : all_kinds) {
        if (!kind_available(kind)) continue;
        for (const When when : {When::before, When::while_waiting}) {
            INFO(name_of(kind) << ", " << name_of(when));
            const long live_before = Ledger::live();
            {
                Receiver<P> receiver;
                std::optional<Sender<P>> sender = receiver.sender();
                REQUIRE(sender.has_value());
                Ledger::arm(0);
                const Outcome outcome = receive(receiver, kind, std::move(sender), when);
                INFO("receive: " << outcome.describe());
                CHECK(outcome.what == Outcome::What::value);
                CHECK(outcome.number == sent_number);
                CHECK(outcome.transfers() == 1);
                if constexpr (receives_by_copy<P>) {
                    CHECK(outcome.copies == 1);
                    CHECK(outcome.moves == 0);
                } else {
                    CHECK(outcome.moves == 1);
                    CHECK(outcome.copies == 0);
                }
            }
            CHECK(Ledger::live() == live_before);
        }
    }
}

// A copy-only type with a deleted move constructor (CopyOnly) is in the
// contract: a receive copies it once.

// Checks that a receive whose move of a move-only value throws keeps the
// value for the next receive, for every receive kind and every N.
TEST_CASE("throwing move: move-only value whose Nth move throws is received once",
          "[types][throwing_move]") {
    check_throwing_transfers<MoveOnly>();
}

// The same with a copy-only value (deleted move constructor) whose Nth copy
// throws.
TEST_CASE("throwing move: copy-only value whose Nth copy throws is received once",
          "[types][throwing_move]") {
    check_throwing_transfers<CopyOnly>();
}

// The same with a value that has a copy constructor and no move constructor
// (rvalues are copied) whose Nth copy throws.
TEST_CASE("throwing move: value without a move constructor whose Nth copy throws",
          "[types][throwing_move]") {
    check_throwing_transfers<CopyWithoutMove>();
}

// The same with a value that can be moved (throwing) and copied.
TEST_CASE("throwing move: movable and copyable value whose Nth transfer throws",
          "[types][throwing_move]") {
    check_throwing_transfers<MoveAndCopy>();
}

// Checks that every receive kind moves a move-only value exactly once.
TEST_CASE("throwing move: every receive moves a move-only value exactly once",
          "[types][throwing_move]") {
    check_one_transfer_per_receive<MoveOnly>();
}

// Checks that every receive kind copies a copy-only value exactly once.
TEST_CASE("throwing move: every receive copies a copy-only value exactly once",
          "[types][throwing_move]") {
    check_one_transfer_per_receive<CopyOnly>();
    check_one_transfer_per_receive<CopyWithoutMove>();
}

// Checks that every receive kind moves, not copies, a value that can be
// both moved (with a throwing move) and copied, exactly once.
TEST_CASE("throwing move: every receive moves a movable and copyable value once",
          "[types][throwing_move]") {
    check_one_transfer_per_receive<MoveAndCopy>();
}

}  // namespace
