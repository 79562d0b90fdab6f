// Includes only the header, and instantiates its templates, under the strict
// warning set of tests/strict/CMakeLists.txt with -Werror: a warning in
// multishot.hpp fails the build. Compiled (not run) in every preset, with
// every compiler of the CI matrix. Everything below is the header's API;
// nothing else is included, so that any warning is the header's (or this
// file's).

#include <multishot.hpp>

// The header's feature macros agree with what CMake found the toolchain to
// offer (cmake/toolchain-probes.cmake), which decides the tests it builds.
#if defined(MULTISHOT_TEST_EXPECT_STOP_TOKEN)
static_assert(MULTISHOT_HAS_STOP_TOKEN == MULTISHOT_TEST_EXPECT_STOP_TOKEN,
              "MULTISHOT_HAS_STOP_TOKEN disagrees with the toolchain probe");
#endif
#if defined(MULTISHOT_TEST_EXPECT_EXCEPTIONS)
static_assert(MULTISHOT_HAS_EXCEPTIONS == MULTISHOT_TEST_EXPECT_EXCEPTIONS,
              "MULTISHOT_HAS_EXCEPTIONS disagrees with the toolchain probe");
#endif

// Every member function of the class templates, for a few kinds of T: an
// int, void, a move-only type with a destructor, and a type whose move may
// throw.
namespace strict_check {

struct MoveOnly {
    explicit MoveOnly(int v) noexcept : value(v) {}
    MoveOnly(MoveOnly&& other) noexcept : value(other.value) { other.value = 0; }
    MoveOnly& operator=(MoveOnly&& other) noexcept {
        value = other.value;
        other.value = 0;
        return *this;
    }
    MoveOnly(const MoveOnly&) = delete;
    MoveOnly& operator=(const MoveOnly&) = delete;
    ~MoveOnly() { value = -1; }
    int value;
};

struct MayThrowOnMove {
    MayThrowOnMove() = default;
    MayThrowOnMove(MayThrowOnMove&&) noexcept(false) {}
    MayThrowOnMove& operator=(MayThrowOnMove&&) noexcept(false) { return *this; }
    MayThrowOnMove(const MayThrowOnMove&) = delete;
    MayThrowOnMove& operator=(const MayThrowOnMove&) = delete;
    ~MayThrowOnMove() = default;
};

}  // namespace strict_check

// (RecvResult<void> is an explicit specialization, not instantiated here:
// its members are compiled with the header, and used below.) clang 14
// instantiates even the members whose requires-clause fails (Sender<void>'s
// send(T), Sender<T>'s send()), which C++20 excludes; there, the calls below
// instantiate what they use.
#if !defined(__clang__) || __clang_major__ >= 15
template class multishot::RecvResult<int>;
template class multishot::RecvResult<strict_check::MoveOnly>;
template class multishot::Sender<int>;
template class multishot::Sender<void>;
template class multishot::Sender<strict_check::MoveOnly>;
template class multishot::Sender<strict_check::MayThrowOnMove>;
template class multishot::Receiver<int>;
template class multishot::Receiver<void>;
template class multishot::Receiver<strict_check::MoveOnly>;
template class multishot::Receiver<strict_check::MayThrowOnMove>;
#endif

namespace {

// A minimal coroutine type, to co_await the receives.
struct Task {
    struct promise_type {
        Task get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept {}
    };
};

// g++ 11 and 12 report -Wzero-as-null-pointer-constant at the closing brace
// of every coroutine, from the frame code they generate (not from the
// header, which defines no coroutine): silenced for these three alone.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wzero-as-null-pointer-constant"
#endif

Task receive_int(multishot::Receiver<int>& receiver, int& out) {
    const multishot::RecvResult<int> result = co_await receiver.recv();
    out = result.value_or(-1);
}

Task receive_void(multishot::Receiver<void>& receiver, bool& out) {
    const multishot::RecvResult<void> result = co_await receiver.recv();
    out = result.has_value();
}

#if MULTISHOT_HAS_STOP_TOKEN
Task receive_cancellable(multishot::Receiver<int>& receiver, std::stop_token token, int& out) {
    const multishot::RecvResult<int> result = co_await receiver.recv(std::move(token));
    out = result ? *result : -1;
}
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void wake(void* context) noexcept { *static_cast<int*>(context) += 1; }

int exercise() {
    using namespace std::chrono_literals;
    int total = 0;

    auto [sender, receiver] = multishot::channel<int>();
    total += sender.is_closed() ? 1 : 0;
    sender.send(1);
    const multishot::RecvResult<int> tried = receiver.try_recv();
    total += tried.has_value() ? *tried : 0;

    int woken = 0;
    std::optional<multishot::Sender<int>> next = receiver.sender();
    const multishot::PollResult<int> pending = receiver.poll_recv(multishot::Waker(wake, &woken));
    total += pending.has_value() ? 1 : 0;
    next->emplace(2);
    const multishot::PollResult<int> polled = receiver.poll_recv(multishot::Waker(wake, &woken));
    total += polled && *polled ? **polled : 0;

    next = receiver.sender();
    total += receiver.recv_for(1ms) == multishot::RecvError::timed_out ? 1 : 0;
    total += receiver.recv_until(std::chrono::steady_clock::now()) == multishot::RecvError::timed_out
                 ? 1
                 : 0;
    total += receiver.recv_until(std::chrono::system_clock::now()) == multishot::RecvError::timed_out
                 ? 1
                 : 0;
    next->send(3);
    total += receiver.recv_blocking().value();

    int awaited = 0;
    next = receiver.sender();
    receive_int(receiver, awaited);
    next->send(4);
    total += awaited;

#if MULTISHOT_HAS_STOP_TOKEN
    std::stop_source stop;
    next = receiver.sender();
    receive_cancellable(receiver, stop.get_token(), awaited);
    stop.request_stop();
    total += awaited;
    next->send(5);
    total += *receiver.try_recv();
#endif

    auto [done, finished] = multishot::channel<void>();
    bool signalled = false;
    receive_void(finished, signalled);
    done.send();
    total += signalled ? 1 : 0;
    finished.sender().reset();
    total += finished.recv_for(0s) == multishot::RecvError::closed ? 1 : 0;

    auto [alloc_sender, alloc_receiver] =
        multishot::channel<strict_check::MoveOnly>(std::allocator_arg, std::allocator<int>());
    alloc_sender.emplace(6);
    total += alloc_receiver.try_recv()->value;

    total += static_cast<int>(multishot::to_string(multishot::RecvError::cancelled).size());
    return total;
}

}  // namespace

int main() { return exercise() > 0 ? 0 : 1; }
