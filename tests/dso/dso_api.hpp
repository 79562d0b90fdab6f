// The interface between the dso tests' main program (dso_main.cpp) and the
// library under test (dso_library.cpp), which is built as a shared library in
// several variants (-fvisibility=hidden, -fvisibility-inlines-hidden,
// -Wl,-Bsymbolic-functions, a plugin loaded with dlopen(RTLD_LOCAL)). In each
// variant the library has its own copies of the header's inline functions and
// of every template it instantiates, so the two binaries meet only through the
// channel's shared block: a Sender or Receiver created by one is used by the
// other through the extern "C" entry points below.
#pragma once

#include <multishot.hpp>

// co_await recv(std::stop_token) exists only with a standard library that has
// std::stop_token; its scenarios are skipped otherwise.
#define MULTISHOT_DSO_HAS_STOP_TOKEN MULTISHOT_HAS_STOP_TOKEN

// The library's entry points are the only symbols it exports when built with
// -fvisibility=hidden.
#define MULTISHOT_DSO_EXPORT __attribute__((visibility("default")))

// How a receive ended, in a C-compatible struct that crosses the boundary.
enum dso_kind { dso_value, dso_closed, dso_empty, dso_timed_out, dso_cancelled, dso_pending };
struct dso_outcome {
    int kind;   // a dso_kind
    int value;  // the value received, if kind == dso_value
};

inline dso_outcome dso_outcome_of(const multishot::RecvResult<int>& result) {
    if (result) return {dso_value, *result};
    switch (result.error()) {
        case multishot::RecvError::closed: return {dso_closed, 0};
        case multishot::RecvError::empty: return {dso_empty, 0};
        case multishot::RecvError::timed_out: return {dso_timed_out, 0};
        case multishot::RecvError::cancelled: return {dso_cancelled, 0};
    }
    return {-1, 0};
}

// A thread started by the library; a receive running in the library as a
// coroutine (its frame belongs to the library).
struct dso_thread;
struct dso_task;

extern "C" {

// The library sends on, or destroys, a sender that the main program created
// (it is moved from; the library's own code sends or closes the channel).
// On the calling thread:
MULTISHOT_DSO_EXPORT void dso_send(multishot::Sender<int>* sender, int value);
MULTISHOT_DSO_EXPORT void dso_drop(multishot::Sender<int>* sender);
// On a thread of the library's own, after `delay_us` microseconds; dso_join
// waits for that thread (and so for send() or ~Sender() to return).
MULTISHOT_DSO_EXPORT dso_thread* dso_send_later(multishot::Sender<int>* sender, int value,
                                                int delay_us);
MULTISHOT_DSO_EXPORT dso_thread* dso_drop_later(multishot::Sender<int>* sender, int delay_us);
MULTISHOT_DSO_EXPORT void dso_join(dso_thread* thread);

// The library receives on the main program's receiver, on the calling thread.
MULTISHOT_DSO_EXPORT dso_outcome dso_recv_blocking(multishot::Receiver<int>* receiver);
MULTISHOT_DSO_EXPORT dso_outcome dso_recv_for(multishot::Receiver<int>* receiver, int timeout_ms);
// recv_until(steady_clock::now() + timeout_ms).
MULTISHOT_DSO_EXPORT dso_outcome dso_recv_until(multishot::Receiver<int>* receiver,
                                                int timeout_ms);
// Starts a coroutine of the library's in co_await receiver->recv(): it runs
// until it suspends. dso_task_outcome is dso_pending until it has finished.
MULTISHOT_DSO_EXPORT dso_task* dso_recv_start(multishot::Receiver<int>* receiver);
#if MULTISHOT_DSO_HAS_STOP_TOKEN
// The same with co_await receiver->recv(*token).
MULTISHOT_DSO_EXPORT dso_task* dso_recv_token_start(multishot::Receiver<int>* receiver,
                                                    const std::stop_token* token);
#endif
MULTISHOT_DSO_EXPORT dso_outcome dso_task_outcome(dso_task* task);
MULTISHOT_DSO_EXPORT void dso_task_destroy(dso_task* task);
// receiver->start_recv(*target): dso_pending, or the result if it completed at
// once; then receiver->try_recv(), and receiver->canceller().cancel().
MULTISHOT_DSO_EXPORT dso_outcome dso_start_recv(multishot::Receiver<int>* receiver,
                                                const multishot::Waker* target);
MULTISHOT_DSO_EXPORT dso_outcome dso_try_recv(multishot::Receiver<int>* receiver);
MULTISHOT_DSO_EXPORT bool dso_cancel(multishot::Receiver<int>* receiver);

}  // extern "C"

// Every entry point, for the plugin's dlsym and the linked variants alike.
#define MULTISHOT_DSO_COMMON_ENTRY_POINTS(X)                                               \
    X(dso_send) X(dso_drop) X(dso_send_later) X(dso_drop_later) X(dso_join)               \
    X(dso_recv_blocking) X(dso_recv_for) X(dso_recv_until) X(dso_recv_start)              \
    X(dso_task_outcome) X(dso_task_destroy) X(dso_start_recv) X(dso_try_recv) X(dso_cancel)
#if MULTISHOT_DSO_HAS_STOP_TOKEN
#define MULTISHOT_DSO_ENTRY_POINTS(X) MULTISHOT_DSO_COMMON_ENTRY_POINTS(X) X(dso_recv_token_start)
#else
#define MULTISHOT_DSO_ENTRY_POINTS(X) MULTISHOT_DSO_COMMON_ENTRY_POINTS(X)
#endif
