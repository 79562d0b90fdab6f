// A timed receive that times out must sleep in the kernel, not spin: the
// receiving thread's CPU time (CLOCK_THREAD_CPUTIME_ID) across a 100 ms
// recv_for or recv_until that times out must stay under 5 ms.
//
// The case this guards: a 32-bit target with a 64-bit time_t (-m32
// -D_TIME_BITS=64, the default on newer 32-bit Debian). Handing the 64-bit
// timespec to the 32-bit-time futex syscall makes the kernel read a deadline
// in the past, so each wait returns ETIMEDOUT at once and the loop burns the
// whole 100 ms (measured: 99.9 ms of CPU in 3,326 futex calls). It must pass
// on every toolchain of the CI matrix. A plain program (no Catch2): it also
// builds with -fno-exceptions.

#include <multishot.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto timeout = 100ms;
constexpr auto cpu_budget = 5ms;
// A wait that overshoots its deadline by this much is broken, not slow.
constexpr auto absurd_delay = 5s;

// CPU time consumed by the calling thread so far.
std::chrono::nanoseconds thread_cpu_time() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

double as_ms(std::chrono::nanoseconds duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

bool ok = true;

void check(bool condition, const char* what) {
    if (!condition) std::printf("FAIL: expected %s\n", what);
    ok = ok && condition;
}

// Times one receive that must time out after `timeout`: `receive` is called
// on `receiver` while its sender is alive and silent.
template <class T, class Receive>
void measure(const char* name, Receive receive) {
    multishot::Receiver<T> receiver;
    multishot::Sender<T> sender = *receiver.sender();
    const auto cpu_before = thread_cpu_time();
    const auto start = Clock::now();
    const multishot::RecvResult<T> result = receive(receiver);
    const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
    const auto cpu = thread_cpu_time() - cpu_before;
    std::printf("%-26s waited %7.2f ms, thread CPU time %6.3f ms (budget %.0f ms)\n", name,
                as_ms(waited), as_ms(cpu), as_ms(cpu_budget));
    check(result == multishot::RecvError::timed_out, "the receive to time out");
    check(waited >= timeout, "the receive to wait at least its timeout");
    check(waited < timeout + absurd_delay, "the receive not to overshoot absurdly");
    check(cpu < cpu_budget, "the waiting thread to sleep, not spin");
    // The receive stays open: the value sent now still arrives.
    if constexpr (std::is_void_v<T>) {
        sender.send();
    } else {
        sender.send(7);
    }
    check(receiver.try_recv().has_value(), "the value sent after the timeout to arrive");
}

}  // namespace

int main() {
    std::printf("sizeof(void*) = %zu, sizeof(time_t) = %zu, wait: %s\n", sizeof(void*),
                sizeof(std::time_t),
#if defined(MULTISHOT_FUTEX_WAIT) && MULTISHOT_FUTEX_WAIT
                "futex"
#elif defined(MULTISHOT_PORTABLE_WAIT)
                "portable (MULTISHOT_PORTABLE_WAIT)"
#else
                "non-futex"
#endif
    );
    measure<int>("recv_for(100ms)", [](auto& r) { return r.recv_for(timeout); });
    measure<int>("recv_until(now + 100ms)", [](auto& r) { return r.recv_until(Clock::now() + timeout); });
    measure<void>("void recv_for(100ms)", [](auto& r) { return r.recv_for(timeout); });
    std::puts(ok ? "timed waits sleep: ok" : "timed waits: FAILED");
    return ok ? 0 : 1;
}
