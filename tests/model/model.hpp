// The Relacy model suite's harness: the transition recorder, a counting test
// waker, an eagerly started coroutine, a non-blocking hand-off between model
// threads, checks, the search plans and the scenario registry.
//
// Include this, never multishot.hpp directly: it plugs the model's sync
// layer (sync_layer.hpp) and the transition, timeout and assertion hooks into
// the header, which must see them first, and it includes every standard
// header before relacy.hpp, because relacy.hpp #defines new, delete, assert
// and the memory_order_* names. For the same reason test code names Relacy
// orderings (rl::mo_acquire, ...) and never writes `new`, `delete` or `$`
// (use RL_INFO).
#ifndef MULTISHOT_MODEL_HPP
#define MULTISHOT_MODEL_HPP

#if !defined(MULTISHOT_RELACY)
#error "the model suite is built with MULTISHOT_RELACY defined"
#endif

#include <coroutine>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model_clock.hpp"

namespace multishot_model {
// Records that `operation` took `row` (see expected_rows.hpp). Never
// allocates, so it may run inside a simulation.
void record_transition(const char* operation, const char* row) noexcept;
}  // namespace multishot_model

#define MULTISHOT_TRANSITION_HOOK(operation, row) \
    ::multishot_model::record_transition(operation, row)

// The model's sync layer: multishot.hpp includes it after its standard
// headers; it includes relacy.hpp and suspends relacy's macros for the rest
// of the header, which are restored here. It has its own wait primitives.
#define MULTISHOT_SYNC_LAYER "sync_layer.hpp"
#define MULTISHOT_SYNC_LAYER_WAIT 1
#include <multishot.hpp>
#undef MULTISHOT_SITE

#pragma pop_macro("free")
#pragma pop_macro("malloc")
#pragma pop_macro("assert")
#pragma pop_macro("delete")
#pragma pop_macro("new")

// After the header: the rows a build expects depend on its wait
// (MULTISHOT_FUTEX_WAIT).
#include "expected_rows.hpp"

// Fails the current Relacy iteration with `message` unless `condition` holds.
// A failed check ends the iteration at once (Relacy switches away from the
// thread for good), so code after a check may rely on its condition.
#define MODEL_CHECK(condition, message) \
    RL_ASSERT_IMPL(condition, ::rl::test_result_user_assert_failed, message, RL_INFO)

namespace multishot_model {

// The channel's value type: owning a heap allocation (made through Relacy's
// checked allocator inside a simulation), so that a value destroyed twice is
// a double free and a value never destroyed is a leak.
using Value = std::unique_ptr<int>;

inline Value make_value(int payload) { return std::make_unique<int>(payload); }

// True if `result` holds a value carrying `payload`.
inline bool holds_payload(const multishot::RecvResult<Value>& result, int payload) {
    return result.has_value() && *result && **result == payload;
}

// How the sender under test ends its life.
enum class SenderEnd { send, drop };

inline constexpr int first_payload = 42;
inline constexpr int second_payload = 43;

// Sends `first_payload` or drops the sender, as `end` says.
inline void finish(multishot::Sender<Value>& sender, SenderEnd end) {
    if (end == SenderEnd::send) {
        sender.send(make_value(first_payload));
    } else {
        multishot::Sender<Value> dropped = std::move(sender);
    }
}

// True if `result` is what a receiver must get from a sender that ended as
// `end` did.
inline bool matches(const multishot::RecvResult<Value>& result, SenderEnd end) {
    return end == SenderEnd::send ? holds_payload(result, first_payload)
                                  : result == multishot::RecvError::closed;
}

// A test waker that counts its calls.
class CountingWaker {
public:
    multishot::Waker waker() noexcept { return multishot::Waker(&CountingWaker::call, this); }

    // Acquire: pairs with the release in call(), as a runtime's wake-up (a
    // queue push, an unpark) would, so that a receiver that sees the call
    // also sees what the sender did before it.
    int calls() const { return calls_(RL_INFO).load(rl::mo_acquire); }

private:
    // Release: see calls().
    static void call(void* self) noexcept {
        static_cast<CountingWaker*>(self)->calls_(RL_INFO).fetch_add(1, rl::mo_release);
    }

    rl::atomic<int> calls_{0};
};

// An eagerly started coroutine; its frame lives until the Task is destroyed.
class Task {
public:
    struct promise_type {
        Task get_return_object() {
            return Task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };

    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    ~Task() {
        if (handle_) handle_.destroy();
    }

    bool done() const { return handle_.done(); }

private:
    explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}

    std::coroutine_handle<promise_type> handle_;
};

// Hands an object from a producer thread to a consumer thread without
// waiting: exactly one of them ends up with it. A model thread cannot block,
// so the consumer declines if it comes first and the producer keeps the
// object. The slot is shadowed by an rl::var, so Relacy checks the hand-off
// itself for races.
template <class T>
class Handoff {
public:
    // Puts `object` in the slot. Returns it back if the consumer already
    // declined; then the producer must use it.
    std::optional<T> offer(T&& object) {
        slot_.emplace(std::move(object));
        shadow_(RL_INFO) = 1;
        // Release: publishes the slot and everything the producer did before
        // (for a sender: the state stored by Receiver::sender()) to take().
        // No acquire: if the consumer declined it touched nothing.
        if (state_(RL_INFO).exchange(offered, rl::mo_release) != declined) return std::nullopt;
        shadow_(RL_INFO) = 2;
        return take_slot();
    }

    // Takes the object if it was offered, else declines it for good.
    std::optional<T> take() {
        // Acquire: pairs with the release in offer(). No release: a decline
        // publishes nothing.
        if (state_(RL_INFO).exchange(declined, rl::mo_acquire) != offered) return std::nullopt;
        shadow_(RL_INFO) = 3;
        return take_slot();
    }

private:
    static constexpr int idle = 0;
    static constexpr int offered = 1;
    static constexpr int declined = 2;

    std::optional<T> take_slot() {
        std::optional<T> taken = std::move(slot_);
        slot_.reset();
        return taken;
    }

    std::optional<T> slot_;
    rl::var<int> shadow_{0};
    rl::atomic<int> state_{idle};
};

// How a scenario is searched. Relacy's exhaustive schedulers (full and
// context-bound) let a non-RMW load read only the latest store; stale reads
// are explored by the random scheduler alone. So every scenario runs an
// exhaustive search *and* random iterations.
struct SearchPlan {
    // Full search if 0, else a context-bound search with this bound.
    unsigned context_bound;
    rl::iteration_t random_iterations;
    // Why this search: printed with the scenario.
    const char* why;
};

// Full search plus `random_iterations` random schedules.
constexpr SearchPlan full_search(rl::iteration_t random_iterations, const char* why) {
    return {0, random_iterations, why};
}

// Context-bound search plus `random_iterations` random schedules.
constexpr SearchPlan bounded_search(unsigned bound, rl::iteration_t random_iterations,
                                    const char* why) {
    return {bound, random_iterations, why};
}

// Runs Relacy over `Test` as `plan` says; true if every search ended with
// the test's expected result.
bool explore(bool (*simulate)(rl::test_params&), const SearchPlan& plan);

template <class Test>
bool explore(const SearchPlan& plan) {
    return explore(&rl::simulate<Test>, plan);
}

// A scenario as `register_scenario` takes it: `Test` explored as `plan`
// says (`&run<Test, plan>`), one definition for every scenario file.
template <class Test, const SearchPlan& plan>
bool run() {
    return explore<Test>(plan);
}

// After a scenario explored: true if this process reached every row of
// `rows` (operation, row), else false after naming the missing ones. For a
// scenario written to reach particular rows, so that it fails if it no
// longer does (model.coverage checks only that some scenario reaches each).
bool reached_all(std::initializer_list<TransitionRow> rows);

struct Scenario {
    const char* name;
    bool (*run)();
};

// The registry of scenarios, filled at static initialization by
// `register_scenario` and run by name by the model runner.
std::vector<Scenario>& scenarios();

inline bool register_scenario(const char* name, bool (*run)()) {
    scenarios().push_back({name, run});
    return true;
}

}  // namespace multishot_model

#endif  // MULTISHOT_MODEL_HPP
