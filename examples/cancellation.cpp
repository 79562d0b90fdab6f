// cancellation: a std::stop_token ends a `co_await r.recv(token)` early, and
// the coroutine then receives again on the same receiver.
//
// 1. A std::jthread acting as a timer requests stop while the coroutine waits;
//    the coroutine resumes (inline, on the timer thread) with
//    RecvError::cancelled, then awaits again and gets the value that the slow
//    sender sends afterwards.
// 2. A stop requested before the await (on a std::jthread's stop source)
//    completes it at once, with cancelled; a value already sent wins over a
//    stop request.
// 3. Many rounds in which a stop request races the send: each round the
//    coroutine gets the value or cancelled, never both and never neither;
//    after cancelled, a second receive gets the value.
#include <multishot.hpp>

#include <chrono>
#include <coroutine>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <latch>
#include <semaphore>
#include <stop_token>
#include <thread>
#include <utility>

namespace {

using namespace std::chrono_literals;

// A coroutine that starts at once and frees itself when it finishes.
struct Detached {
    struct promise_type {
        Detached get_return_object() const noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
    };
};

bool ok = true;

void check(bool condition, const char* what) {
    if (!condition) std::cout << "FAIL: " << what << '\n';
    ok = ok && condition;
}

// What a receiving coroutine saw: its first result and, if that was
// cancelled, the result of receiving again without a token.
struct Outcome {
    multishot::RecvResult<int> first = multishot::RecvError::closed;
    multishot::RecvResult<int> second = multishot::RecvError::closed;
    std::binary_semaphore done{0};
};

Detached receive_then_retry(multishot::Receiver<int>& receiver, std::stop_token token,
                            Outcome& outcome) {
    outcome.first = co_await receiver.recv(std::move(token));
    if (outcome.first == multishot::RecvError::cancelled)
        outcome.second = co_await receiver.recv();  // the receive is still open
    outcome.done.release();
}

// 1. A timer thread cancels the wait; a slow sender delivers afterwards.
void timer_cancels_then_receive_again() {
    multishot::Receiver<int> receiver;
    multishot::Sender<int> sender = *receiver.sender();
    std::stop_source stop;
    Outcome outcome;
    receive_then_retry(receiver, stop.get_token(), outcome);  // suspends: nothing sent yet

    std::jthread timer([&stop] {
        std::this_thread::sleep_for(10ms);
        stop.request_stop();  // resumes the coroutine here; it then awaits again
    });
    timer.join();
    check(outcome.first == multishot::RecvError::cancelled, "1: first receive cancelled");

    std::jthread slow_sender([s = std::move(sender)]() mutable { s.send(42); });
    outcome.done.acquire();
    check(outcome.second == multishot::RecvResult<int>(std::in_place, 42),
          "1: receiving again got the value sent after the cancellation");
    std::cout << "1. timer cancelled the wait; receiving again got "
              << outcome.second.value_or(-1) << '\n';
}

// 2. Stop requested before the await (here on a std::jthread's own stop
// source), and a value already sent, which wins over a stop request.
void stop_before_the_await() {
    multishot::Receiver<int> receiver;
    multishot::Sender<int> sender = *receiver.sender();
    std::jthread stopped_thread([](const std::stop_token&) {});
    stopped_thread.request_stop();
    const std::stop_token stopped = stopped_thread.get_stop_token();

    Outcome early;
    receive_then_retry(receiver, stopped, early);  // cancelled at once, then waits
    check(early.first == multishot::RecvError::cancelled, "2: stop before the await cancels");
    sender.send(7);
    early.done.acquire();
    check(early.second == multishot::RecvResult<int>(std::in_place, 7), "2: then the value");

    (*receiver.sender()).send(8);
    Outcome sent_first;
    receive_then_retry(receiver, stopped, sent_first);
    sent_first.done.acquire();
    check(sent_first.first == multishot::RecvResult<int>(std::in_place, 8),
          "2: a value already sent wins over a stop request");
    std::cout << "2. early stop: cancelled, then " << early.second.value_or(-1)
              << "; value already sent: " << sent_first.first.value_or(-1) << '\n';
}

// 3. Stop races the send, on two jthreads, round after round.
void stop_races_send() {
    constexpr int rounds = 2000;
    int cancelled = 0;
    int delivered = 0;
    multishot::Receiver<int> receiver;  // recycled for every round
    for (int round = 0; round < rounds; ++round) {
        std::stop_source stop;
        Outcome outcome;
        multishot::Sender<int> sender = *receiver.sender();
        receive_then_retry(receiver, stop.get_token(), outcome);
        {
            std::latch start(2);  // lines the two threads up, for a closer race
            std::jthread sending([&start, s = std::move(sender), round]() mutable {
                start.arrive_and_wait();
                s.send(round);
            });
            std::jthread stopping([&start, &stop] {
                start.arrive_and_wait();
                stop.request_stop();
            });
        }  // both joined here
        outcome.done.acquire();
        const multishot::RecvResult<int> expected(std::in_place, round);
        if (outcome.first == multishot::RecvError::cancelled) {
            ++cancelled;
            check(outcome.second == expected, "3: after cancelled, receiving again got the value");
        } else {
            ++delivered;
            check(outcome.first == expected, "3: the value, when it won the race");
        }
    }
    std::cout << "3. " << rounds << " races: " << delivered << " delivered first, " << cancelled
              << " cancelled then delivered\n";
}

}  // namespace

int main() {
    timer_cancels_then_receive_again();
    stop_before_the_await();
    stop_races_send();
    std::cout << (ok ? "cancellation: all good\n" : "cancellation: FAILED\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
