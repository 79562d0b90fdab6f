// The dso tests' main program: receives on channels whose sender the library
// (dso_library.cpp, a shared library or a plugin, see CMakeLists.txt) uses,
// and sends on channels whose receiver the library uses, through every
// receive that waits on the wait cell or on a waker.
//
//   multishot_dso_test_<variant>_<mode> <variant> <scenario> [<plugin.so>]
//
// runs one scenario (see `scenarios` below; the variant's name only labels
// the output, and the plugin's program loads the plugin given last). It
// returns 0 if every check passed, 1 if one failed (saying which, on stderr),
// 77 if the scenario needs std::stop_token and the standard library has none.
// Every wait is bounded: a timed receive waits at most 2 s, and a watchdog
// fails the run after 6 s (a receive that never returned: a lost wake-up).
//
// A sender recognises the wait cell of a receiver in the other binary only if
// that identity does not depend on which binary's copy of an inline function
// is used; otherwise the wake-up is lost (NDEBUG: recv_for times out, a
// coroutine is never resumed) or the "called directly" assertion aborts.
#include "dso_api.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#if MULTISHOT_DSO_PLUGIN
#include <dlfcn.h>
#endif

#include "support/task.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using multishot::Receiver;
using multishot::Sender;
using multishot_test::Task;

constexpr int timeout_ms = 2000;  // every receive that may time out waits this long
constexpr double prompt_ms = 1000;  // "promptly": well under the timeout
constexpr int short_timeout_ms = 20;  // a receive that must time out
constexpr int delay_us = 10000;  // a delayed sender waits this long: the receiver waits first
constexpr int watchdog_s = 6;

#if defined(NDEBUG)
constexpr const char* mode = "NDEBUG";
#else
constexpr const char* mode = "assertions on";
#endif

// ---------------------------------------------------------------------------
// The library
// ---------------------------------------------------------------------------

struct Api {
#define MULTISHOT_DSO_MEMBER(name) decltype(&::name) name = nullptr;
    MULTISHOT_DSO_ENTRY_POINTS(MULTISHOT_DSO_MEMBER)
#undef MULTISHOT_DSO_MEMBER
};
Api lib;

const char* variant_description(const std::string& variant) {
    if (variant == "default")
        return "a shared library with default visibility (control: the dynamic linker binds "
               "both binaries to one copy of each inline function)";
    if (variant == "hidden")
        return "a shared library built with -fvisibility=hidden, exporting only its extern \"C\" "
               "entry points";
    if (variant == "inlines_hidden")
        return "a shared library built with -fvisibility-inlines-hidden";
    if (variant == "bsymbolic") return "a shared library linked with -Wl,-Bsymbolic-functions";
    if (variant == "plugin")
        return "a plugin (default visibility) loaded with dlopen(RTLD_NOW | RTLD_LOCAL), entry "
               "points found with dlsym";
    return "an unknown variant";
}

bool load_library([[maybe_unused]] const char* plugin) {
#if MULTISHOT_DSO_PLUGIN
    if (plugin == nullptr) {
        std::fprintf(stderr, "FAIL  usage: give the plugin's path after the scenario\n");
        return false;
    }
    void* handle = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        std::fprintf(stderr, "FAIL  dlopen(%s): %s\n", plugin, dlerror());
        return false;
    }
    // Never closed: the library's threads and coroutine frames are gone at exit.
#define MULTISHOT_DSO_LOAD(name)                                                  \
    if (void* symbol = dlsym(handle, #name)) {                                   \
        lib.name = reinterpret_cast<decltype(&::name)>(symbol);                  \
    } else {                                                                     \
        std::fprintf(stderr, "FAIL  dlsym(%s): %s\n", #name, dlerror());          \
        return false;                                                            \
    }
    MULTISHOT_DSO_ENTRY_POINTS(MULTISHOT_DSO_LOAD)
#undef MULTISHOT_DSO_LOAD
#else
#define MULTISHOT_DSO_LINK(name) lib.name = &::name;
    MULTISHOT_DSO_ENTRY_POINTS(MULTISHOT_DSO_LINK)
#undef MULTISHOT_DSO_LINK
#endif
    return true;
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

class Stopwatch {
public:
    double ms() const {
        return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
    }

private:
    Clock::time_point start_ = Clock::now();
};

// Fails the run if it is still going after watchdog_s: a receive that never
// returns must not hang the test.
class Watchdog {
public:
    explicit Watchdog(std::string what)
        : thread_([this, what = std::move(what)] {
              std::unique_lock lock(mutex_);
              if (!done_changed_.wait_for(lock, std::chrono::seconds(watchdog_s),
                                          [this] { return done_; })) {
                  std::fflush(stdout);
                  std::fprintf(stderr,
                               "FAIL  %s: still running after %d s: a receive never returned "
                               "(a lost wake-up)\n",
                               what.c_str(), watchdog_s);
                  std::fflush(stderr);
                  std::_Exit(1);
              }
          }) {}
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    ~Watchdog() {
        {
            const std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_changed_.notify_one();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable done_changed_;
    bool done_ = false;
    std::thread thread_;  // last: starts when the rest is ready
};

std::string describe(const dso_outcome& outcome) {
    switch (outcome.kind) {
        case dso_value: return "the value " + std::to_string(outcome.value);
        case dso_closed: return "closed";
        case dso_empty: return "empty";
        case dso_timed_out: return "timed_out";
        case dso_cancelled: return "cancelled";
        case dso_pending: return "nothing (still pending)";
    }
    return "an invalid outcome";
}

bool same(const dso_outcome& a, const dso_outcome& b) {
    return a.kind == b.kind && (a.kind != dso_value || a.value == b.value);
}

void fail(const std::string& what, const std::string& why) {
    std::fflush(stdout);
    std::fprintf(stderr, "FAIL  %s: %s\n", what.c_str(), why.c_str());
    std::fflush(stderr);
}

// Checks that a receive gave `want`, and within prompt_ms if `ms` is given.
bool expect(const std::string& what, const dso_outcome& got, const dso_outcome& want,
            double ms = -1) {
    char elapsed[64] = "";
    if (ms >= 0) std::snprintf(elapsed, sizeof elapsed, " after %.1f ms", ms);
    if (!same(got, want) || ms >= prompt_ms) {
        std::string why = "got " + describe(got) + elapsed + ", expected " + describe(want);
        if (ms >= 0) why += " within " + std::to_string(static_cast<int>(prompt_ms)) + " ms";
        if (got.kind == dso_timed_out && want.kind != dso_timed_out)
            why += ": the sender had completed, but the receive was never woken (a lost wake-up)";
        fail(what, why);
        return false;
    }
    std::printf("ok    %s: %s%s\n", what.c_str(), describe(got).c_str(), elapsed);
    return true;
}

// The next sender of `receiver` (engaged: the previous receive completed).
Sender<int> next_sender(Receiver<int>& receiver) {
    std::optional<Sender<int>> sender = receiver.sender();
    if (!sender) {
        fail("sender()", "empty after a completed receive");
        std::exit(1);
    }
    return std::move(*sender);
}

// How the other side completes the sender: on a thread of its own (after a
// delay, or at once) or on the receiving thread, by sending or by being
// destroyed unsent (the receiver gets closed).
struct Step {
    const char* how;
    bool drop;
    bool on_thread;
    int delay_us;
};

constexpr Step thread_steps[] = {
    {"sent from another thread after 10 ms", false, true, delay_us},
    {"sent from another thread at once", false, true, 0},
    {"sender destroyed unsent on another thread after 10 ms", true, true, delay_us},
    {"sender destroyed unsent on another thread at once", true, true, 0},
};
constexpr Step all_steps[] = {
    {"sent from another thread after 10 ms", false, true, delay_us},
    {"sent from another thread at once", false, true, 0},
    {"sent on the receiving thread", false, false, 0},
    {"sender destroyed unsent on another thread after 10 ms", true, true, delay_us},
    {"sender destroyed unsent on the receiving thread", true, false, 0},
};

dso_outcome expected(const Step& step, int value) {
    return step.drop ? dso_outcome{dso_closed, 0} : dso_outcome{dso_value, value};
}

std::string label(const char* receive, const char* side, const Step& step) {
    return std::string(receive) + ", " + side + " " + step.how;
}

// The library completes `sender` as `step` says: on its own thread (returned,
// to be joined with lib.dso_join) or on this one (nullptr).
dso_thread* library_completes(Sender<int>& sender, const Step& step, int value) {
    if (step.on_thread)
        return step.drop ? lib.dso_drop_later(&sender, step.delay_us)
                         : lib.dso_send_later(&sender, value, step.delay_us);
    if (step.drop) {
        lib.dso_drop(&sender);
    } else {
        lib.dso_send(&sender, value);
    }
    return nullptr;
}

void library_joins(dso_thread* thread) {
    if (thread != nullptr) lib.dso_join(thread);
}

// The main program completes `sender` as `step` says (its own code sends).
std::thread main_completes(Sender<int> sender, const Step& step, int value) {
    if (step.on_thread) {
        return std::thread([s = std::move(sender), step, value]() mutable {
            std::this_thread::sleep_for(std::chrono::microseconds(step.delay_us));
            if (step.drop) {
                [[maybe_unused]] const Sender<int> gone = std::move(s);
            } else {
                s.send(value);
            }
        });
    }
    if (step.drop) {
        [[maybe_unused]] const Sender<int> gone = std::move(sender);
    } else {
        sender.send(value);
    }
    return std::thread();
}

void main_joins(std::thread& thread) {
    if (thread.joinable()) thread.join();
}

// A waker or start_recv target that counts its calls.
void count_call(void* count) noexcept { static_cast<std::atomic<int>*>(count)->fetch_add(1); }

bool called_once(const std::string& what, const char* callee, int calls) {
    if (calls == 1) return true;
    fail(what, std::string("the ") + callee + " was called " + std::to_string(calls) +
                   " times, expected once" + (calls == 0 ? " (a lost wake-up)" : ""));
    return false;
}

bool not_called(const std::string& what, int calls) {
    if (calls == 0) return true;
    fail(what, "the target was called " + std::to_string(calls) +
                   " times after cancel() had withdrawn the receive");
    return false;
}

// ---------------------------------------------------------------------------
// The main program receives; the library sends
// ---------------------------------------------------------------------------

constexpr const char* by_library = "the library's sender";
constexpr const char* by_main = "the main program's sender";

// A blocking receive: `receive(receiver, timeout_ms)`.
template <class Receive>
bool main_blocking(const char* kind, Receive receive, bool times_out) {
    Receiver<int> receiver;
    int value = 42;
    for (const Step& step : thread_steps) {
        Sender<int> sender = next_sender(receiver);
        dso_thread* thread = library_completes(sender, step, value);
        const Stopwatch watch;
        const dso_outcome got = dso_outcome_of(receive(receiver, timeout_ms));
        const double ms = watch.ms();
        library_joins(thread);
        if (!expect(label(kind, by_library, step), got, expected(step, value), ms)) return false;
        ++value;
    }
    if (times_out) {
        // Times out (nobody sends), then waits again on the same sender.
        Sender<int> sender = next_sender(receiver);
        const std::string what = std::string(kind) + ", timed out first, then " + by_library +
                                 " sent from another thread after 10 ms";
        if (!expect(std::string(kind) + " with a 20 ms timeout instead, nobody sends",
                    dso_outcome_of(receive(receiver, short_timeout_ms)), {dso_timed_out, 0}))
            return false;
        dso_thread* thread = lib.dso_send_later(&sender, value, delay_us);
        const Stopwatch watch;
        const dso_outcome got = dso_outcome_of(receive(receiver, timeout_ms));
        const double ms = watch.ms();
        lib.dso_join(thread);
        if (!expect(what, got, {dso_value, value}, ms)) return false;
    }
    return true;
}

int recv_blocking() {
    return main_blocking(
        "recv_blocking()", [](Receiver<int>& r, int) { return r.recv_blocking(); }, false) ? 0 : 1;
}

int recv_for() {
    return main_blocking(
        "recv_for(2 s)",
        [](Receiver<int>& r, int ms) { return r.recv_for(std::chrono::milliseconds(ms)); },
        true) ? 0 : 1;
}

int recv_until() {
    return main_blocking(
        "recv_until(now + 2 s)",
        [](Receiver<int>& r, int ms) {
            return r.recv_until(Clock::now() + std::chrono::milliseconds(ms));
        },
        true) ? 0 : 1;
}

Task<dso_outcome> main_receive(Receiver<int>& receiver) {
    co_return dso_outcome_of(co_await receiver.recv());
}

// After the library completed the sender: `task` must have been resumed
// (inline, before send() or ~Sender() returned) with the expected outcome.
// `rescue` ends a coroutine that was not resumed, if it can.
template <class Rescue>
bool check_resumed(const std::string& what, Task<dso_outcome>& task, const dso_outcome& want,
                   Rescue rescue) {
    if (!task.done()) {
        fail(what, "the coroutine was not resumed, though the sender's send() or ~Sender() "
                   "returned (a lost wake-up)");
        rescue();
        if (task.done())
            std::fprintf(stderr, "      (a stop request then resumed it with %s)\n",
                         describe(task.result()).c_str());
        return false;
    }
    return expect(what, task.result(), want);
}

bool suspended(const std::string& what, bool done) {
    if (done) fail(what, "the coroutine did not suspend before the sender acted");
    return !done;
}

int recv() {
    Receiver<int> receiver;
    int value = 42;
    for (const Step& step : all_steps) {
        const std::string what = label("co_await recv()", by_library, step);
        Sender<int> sender = next_sender(receiver);
        Task<dso_outcome> task = main_receive(receiver);
        if (!suspended(what, task.done())) return 1;
        library_joins(library_completes(sender, step, value));
        if (!check_resumed(what, task, expected(step, value), [] {})) return 1;
        ++value;
    }
    return 0;
}

int poll_recv() {
    Receiver<int> receiver;
    int value = 42;
    for (const Step& step : all_steps) {
        const std::string what = label("poll_recv(waker)", by_library, step);
        Sender<int> sender = next_sender(receiver);
        std::atomic<int> wakes{0};
        const multishot::Waker waker(&count_call, &wakes);
        if (receiver.poll_recv(waker)) {
            fail(what, "the first poll was ready before the sender acted");
            return 1;
        }
        library_joins(library_completes(sender, step, value));
        if (!called_once(what, "waker", wakes.load())) return 1;
        const multishot::PollResult<int> polled = receiver.poll_recv(waker);
        if (!polled) {
            fail(what, "the poll after the wake-up is still pending");
            return 1;
        }
        if (!expect(what, dso_outcome_of(*polled), expected(step, value))) return 1;
        ++value;
    }
    return 0;
}

int start_recv() {
    Receiver<int> receiver;
    int value = 42;
    for (const Step& step : all_steps) {
        const std::string what = label("start_recv(target)", by_library, step);
        Sender<int> sender = next_sender(receiver);
        std::atomic<int> calls{0};
        if (receiver.start_recv(multishot::Waker(&count_call, &calls))) {
            fail(what, "start_recv completed at once, before the sender acted");
            return 1;
        }
        library_joins(library_completes(sender, step, value));
        if (!called_once(what, "target", calls.load())) return 1;
        if (!expect(what, dso_outcome_of(receiver.try_recv()), expected(step, value))) return 1;
        ++value;
    }
    return 0;
}

// canceller().cancel() withdraws a pending start_recv: the target is not
// called, and the value goes to the next receive.
int start_recv_cancel() {
    Receiver<int> receiver;
    int value = 42;
    {
        const std::string what = std::string("start_recv(target) cancelled, then ") +
                                 by_library + " sent on the receiving thread, then try_recv()";
        Sender<int> sender = next_sender(receiver);
        std::atomic<int> calls{0};
        if (receiver.start_recv(multishot::Waker(&count_call, &calls))) {
            fail(what, "start_recv completed at once, before the sender acted");
            return 1;
        }
        if (!receiver.canceller().cancel()) {
            fail(what, "cancel() returned false before the sender acted");
            return 1;
        }
        lib.dso_send(&sender, value);
        if (!not_called(what, calls.load())) return 1;
        if (!expect(what, dso_outcome_of(receiver.try_recv()), {dso_value, value})) return 1;
        ++value;
    }
    {
        const std::string what = std::string("start_recv(target) cancelled, started again, then ") +
                                 by_library + " sent from another thread after 10 ms";
        Sender<int> sender = next_sender(receiver);
        std::atomic<int> first_calls{0};
        std::atomic<int> calls{0};
        if (receiver.start_recv(multishot::Waker(&count_call, &first_calls)) ||
            !receiver.canceller().cancel() ||
            receiver.start_recv(multishot::Waker(&count_call, &calls))) {
            fail(what, "a start_recv completed, or cancel() failed, before the sender acted");
            return 1;
        }
        library_joins(library_completes(sender, thread_steps[0], value));
        if (!not_called(what, first_calls.load())) return 1;
        if (!called_once(what, "target", calls.load())) return 1;
        if (!expect(what, dso_outcome_of(receiver.try_recv()), {dso_value, value})) return 1;
        if (receiver.canceller().cancel()) {
            fail(what, "cancel() returned true after the sender had called the target");
            return 1;
        }
    }
    return 0;
}

#if MULTISHOT_DSO_HAS_STOP_TOKEN
Task<dso_outcome> main_receive(Receiver<int>& receiver, std::stop_token token) {
    co_return dso_outcome_of(co_await receiver.recv(std::move(token)));
}

int recv_token() {
    Receiver<int> receiver;
    int value = 42;
    for (const Step& step : all_steps) {
        const std::string what = label("co_await recv(stop_token)", by_library, step);
        Sender<int> sender = next_sender(receiver);
        std::stop_source stop;
        Task<dso_outcome> task = main_receive(receiver, stop.get_token());
        if (!suspended(what, task.done())) return 1;
        library_joins(library_completes(sender, step, value));
        if (!check_resumed(what, task, expected(step, value), [&] { stop.request_stop(); }))
            return 1;
        ++value;
    }
    return 0;
}

// What receives the value after a receive was cancelled.
enum class Then { coroutine, recv_for, try_recv };

const char* name_of(Then then) {
    switch (then) {
        case Then::coroutine: return "co_await recv(stop_token)";
        case Then::recv_for: return "recv_for(2 s)";
        case Then::try_recv: return "try_recv()";
    }
    return "?";
}

// A stop request resumes the coroutine with cancelled; the next receive on the
// same sender gets what the library then sends.
int recv_token_cancel() {
    Receiver<int> receiver;
    int value = 42;
    for (const Then then : {Then::coroutine, Then::recv_for, Then::try_recv}) {
        const std::string what =
            std::string("co_await recv(stop_token) cancelled, then ") + name_of(then) +
            " gets the value " + by_library + " sends " +
            (then == Then::try_recv ? "on the receiving thread"
                                    : "from another thread after 10 ms");
        Sender<int> sender = next_sender(receiver);
        {
            std::stop_source stop;
            Task<dso_outcome> task = main_receive(receiver, stop.get_token());
            if (!suspended(what, task.done())) return 1;
            stop.request_stop();
            if (!task.done()) {
                fail(what, "a stop request did not resume the coroutine");
                return 1;
            }
            if (!expect("co_await recv(stop_token), stop requested while it waits",
                        task.result(), {dso_cancelled, 0}))
                return 1;
        }
        switch (then) {
            case Then::coroutine: {
                std::stop_source stop;
                Task<dso_outcome> task = main_receive(receiver, stop.get_token());
                if (!suspended(what, task.done())) return 1;
                lib.dso_join(lib.dso_send_later(&sender, value, delay_us));
                if (!check_resumed(what, task, {dso_value, value}, [&] { stop.request_stop(); }))
                    return 1;
                break;
            }
            case Then::recv_for: {
                dso_thread* thread = lib.dso_send_later(&sender, value, delay_us);
                const Stopwatch watch;
                const dso_outcome got =
                    dso_outcome_of(receiver.recv_for(std::chrono::milliseconds(timeout_ms)));
                const double ms = watch.ms();
                lib.dso_join(thread);
                if (!expect(what, got, {dso_value, value}, ms)) return 1;
                break;
            }
            case Then::try_recv:
                lib.dso_send(&sender, value);
                if (!expect(what, dso_outcome_of(receiver.try_recv()), {dso_value, value}))
                    return 1;
                break;
        }
        ++value;
    }
    return 0;
}
#endif

// ---------------------------------------------------------------------------
// The library receives; the main program sends
// ---------------------------------------------------------------------------

template <class Receive>
bool lib_blocking(const char* kind, Receive receive, bool times_out) {
    Receiver<int> receiver;
    int value = 42;
    const std::string library_kind = std::string("the library's ") + kind;
    for (const Step& step : thread_steps) {
        std::thread thread = main_completes(next_sender(receiver), step, value);
        const Stopwatch watch;
        const dso_outcome got = receive(&receiver, timeout_ms);
        const double ms = watch.ms();
        main_joins(thread);
        if (!expect(label(library_kind.c_str(), by_main, step), got, expected(step, value), ms))
            return false;
        ++value;
    }
    if (times_out) {
        const std::string what = library_kind + ", timed out first, then " + by_main +
                                 " sent from another thread after 10 ms";
        Sender<int> sender = next_sender(receiver);
        if (!expect(library_kind + " with a 20 ms timeout instead, nobody sends",
                    receive(&receiver, short_timeout_ms), {dso_timed_out, 0}))
            return false;
        std::thread thread = main_completes(std::move(sender), thread_steps[0], value);
        const Stopwatch watch;
        const dso_outcome got = receive(&receiver, timeout_ms);
        const double ms = watch.ms();
        main_joins(thread);
        if (!expect(what, got, {dso_value, value}, ms)) return false;
    }
    return true;
}

int lib_recv_blocking() {
    return lib_blocking(
        "recv_blocking()", [](Receiver<int>* r, int) { return lib.dso_recv_blocking(r); },
        false) ? 0 : 1;
}

int lib_recv_for() {
    return lib_blocking("recv_for(2 s)", lib.dso_recv_for, true) ? 0 : 1;
}

int lib_recv_until() {
    return lib_blocking("recv_until(now + 2 s)", lib.dso_recv_until, true) ? 0 : 1;
}

// After the main program completed the sender: the library's coroutine must
// have been resumed with the expected outcome.
template <class Rescue>
bool check_library_resumed(const std::string& what, dso_task* task, const dso_outcome& want,
                           Rescue rescue) {
    dso_outcome got = lib.dso_task_outcome(task);
    if (got.kind == dso_pending) {
        fail(what, "the library's coroutine was not resumed, though the sender's send() or "
                   "~Sender() returned (a lost wake-up)");
        rescue();
        got = lib.dso_task_outcome(task);
        if (got.kind != dso_pending)
            std::fprintf(stderr, "      (a stop request then resumed it with %s)\n",
                         describe(got).c_str());
        return false;
    }
    return expect(what, got, want);
}

bool library_suspended(const std::string& what, dso_task* task) {
    if (lib.dso_task_outcome(task).kind != dso_pending) {
        fail(what, "the library's coroutine did not suspend before the sender acted");
        return false;
    }
    return true;
}

// A coroutine of the library's, started by `start(receiver)`.
template <class Start, class Rescue>
int lib_coroutine(const char* kind, Start start, Rescue rescue) {
    Receiver<int> receiver;
    int value = 42;
    const std::string library_kind = std::string("the library's ") + kind;
    for (const Step& step : all_steps) {
        const std::string what = label(library_kind.c_str(), by_main, step);
        Sender<int> sender = next_sender(receiver);
        dso_task* task = start(receiver);
        bool ok = library_suspended(what, task);
        if (ok) {
            std::thread thread = main_completes(std::move(sender), step, value);
            main_joins(thread);
            ok = check_library_resumed(what, task, expected(step, value), rescue);
        }
        lib.dso_task_destroy(task);
        if (!ok) return 1;
        ++value;
    }
    return 0;
}

int lib_recv() {
    return lib_coroutine(
        "co_await recv()", [](Receiver<int>& r) { return lib.dso_recv_start(&r); }, [] {});
}

int lib_start_recv() {
    Receiver<int> receiver;
    int value = 42;
    for (const Step& step : all_steps) {
        const std::string what = label("the library's start_recv(target)", by_main, step);
        Sender<int> sender = next_sender(receiver);
        std::atomic<int> calls{0};
        const multishot::Waker target(&count_call, &calls);
        const dso_outcome started = lib.dso_start_recv(&receiver, &target);
        if (started.kind != dso_pending) {
            fail(what, "start_recv completed at once with " + describe(started) +
                           ", before the sender acted");
            return 1;
        }
        std::thread thread = main_completes(std::move(sender), step, value);
        main_joins(thread);
        if (!called_once(what, "target", calls.load())) return 1;
        if (!expect(what, lib.dso_try_recv(&receiver), expected(step, value))) return 1;
        ++value;
    }
    return 0;
}

int lib_start_recv_cancel() {
    Receiver<int> receiver;
    int value = 42;
    for (const Step& step : {all_steps[0], all_steps[2]}) {
        const std::string what = std::string("the library's start_recv(target) cancelled, then ") +
                                 by_main + " " + step.how + ", then try_recv()";
        Sender<int> sender = next_sender(receiver);
        std::atomic<int> calls{0};
        const multishot::Waker target(&count_call, &calls);
        if (lib.dso_start_recv(&receiver, &target).kind != dso_pending) {
            fail(what, "start_recv completed at once, before the sender acted");
            return 1;
        }
        if (!lib.dso_cancel(&receiver)) {
            fail(what, "cancel() returned false before the sender acted");
            return 1;
        }
        std::thread thread = main_completes(std::move(sender), step, value);
        main_joins(thread);
        if (!not_called(what, calls.load())) return 1;
        if (!expect(what, lib.dso_try_recv(&receiver), {dso_value, value})) return 1;
        ++value;
    }
    return 0;
}

#if MULTISHOT_DSO_HAS_STOP_TOKEN
int lib_recv_token() {
    std::stop_source stop;  // a fresh one for each receive
    return lib_coroutine(
        "co_await recv(stop_token)",
        [&](Receiver<int>& r) {
            stop = std::stop_source();
            const std::stop_token token = stop.get_token();
            return lib.dso_recv_token_start(&r, &token);
        },
        [&] { stop.request_stop(); });
}

int lib_recv_token_cancel() {
    Receiver<int> receiver;
    int value = 42;
    for (const Then then : {Then::coroutine, Then::recv_for}) {
        const std::string what =
            std::string("the library's co_await recv(stop_token) cancelled, then its ") +
            name_of(then) + " gets the value " + by_main + " sends from another thread after 10 ms";
        Sender<int> sender = next_sender(receiver);
        {
            std::stop_source stop;
            const std::stop_token token = stop.get_token();
            dso_task* task = lib.dso_recv_token_start(&receiver, &token);
            bool ok = library_suspended(what, task);
            if (ok) {
                stop.request_stop();
                ok = expect("the library's co_await recv(stop_token), stop requested while it "
                            "waits",
                            lib.dso_task_outcome(task), {dso_cancelled, 0});
            }
            lib.dso_task_destroy(task);
            if (!ok) return 1;
        }
        if (then == Then::coroutine) {
            std::stop_source stop;
            const std::stop_token token = stop.get_token();
            dso_task* task = lib.dso_recv_token_start(&receiver, &token);
            bool ok = library_suspended(what, task);
            if (ok) {
                std::thread thread = main_completes(std::move(sender), thread_steps[0], value);
                main_joins(thread);
                ok = check_library_resumed(what, task, {dso_value, value},
                                           [&] { stop.request_stop(); });
            }
            lib.dso_task_destroy(task);
            if (!ok) return 1;
        } else {
            std::thread thread = main_completes(std::move(sender), thread_steps[0], value);
            const Stopwatch watch;
            const dso_outcome got = lib.dso_recv_for(&receiver, timeout_ms);
            const double ms = watch.ms();
            main_joins(thread);
            if (!expect(what, got, {dso_value, value}, ms)) return 1;
        }
        ++value;
    }
    return 0;
}
#endif

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

#if !MULTISHOT_DSO_HAS_STOP_TOKEN
int skipped() {
    std::printf("skipped: this standard library has no std::stop_token\n");
    return 77;
}
#endif

struct Scenario {
    const char* name;
    int (*run)();
};

constexpr Scenario scenarios[] = {
    {"recv_blocking", recv_blocking},
    {"recv_for", recv_for},
    {"recv_until", recv_until},
    {"recv", recv},
    {"poll_recv", poll_recv},
    {"start_recv", start_recv},
    {"start_recv_cancel", start_recv_cancel},
#if MULTISHOT_DSO_HAS_STOP_TOKEN
    {"recv_token", recv_token},
    {"recv_token_cancel", recv_token_cancel},
#else
    {"recv_token", skipped},
    {"recv_token_cancel", skipped},
#endif
    {"lib_recv_blocking", lib_recv_blocking},
    {"lib_recv_for", lib_recv_for},
    {"lib_recv_until", lib_recv_until},
    {"lib_recv", lib_recv},
    {"lib_start_recv", lib_start_recv},
    {"lib_start_recv_cancel", lib_start_recv_cancel},
#if MULTISHOT_DSO_HAS_STOP_TOKEN
    {"lib_recv_token", lib_recv_token},
    {"lib_recv_token_cancel", lib_recv_token_cancel},
#else
    {"lib_recv_token", skipped},
    {"lib_recv_token_cancel", skipped},
#endif
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <variant> <scenario> [<plugin.so>]\nscenarios:", argv[0]);
        for (const Scenario& scenario : scenarios) std::fprintf(stderr, " %s", scenario.name);
        std::fprintf(stderr, "\n");
        return 2;
    }
    const std::string variant = argv[1];
    const Scenario* chosen = nullptr;
    for (const Scenario& scenario : scenarios)
        if (std::strcmp(scenario.name, argv[2]) == 0) chosen = &scenario;
    if (chosen == nullptr) {
        std::fprintf(stderr, "FAIL  unknown scenario %s\n", argv[2]);
        return 2;
    }
    std::printf("multishot across a shared-library boundary: %s, %s; scenario %s\n",
                variant_description(variant), mode, chosen->name);
    std::fflush(stdout);
    if (!load_library(argc > 3 ? argv[3] : nullptr)) return 1;

    const Watchdog watchdog(variant + ", " + mode + ": " + chosen->name);
    const Stopwatch watch;
    const int result = chosen->run();
    std::printf("%s: %s (%.0f ms)\n", chosen->name,
                result == 0 ? "passed" : result == 77 ? "skipped" : "FAILED", watch.ms());
    return result;
}
