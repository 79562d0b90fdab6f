// Without exceptions, misuse aborts after printing "multishot: " and the
// message the exception would have carried (the what() of usage_error,
// bad_result_access, or the bad_optional_access of PollResult::value()).
// `multishot_noexcept_misuse <case>` commits one mistake; its ctest passes only if that message is printed and the
// program aborts (a SIGABRT handler turns the abort into exit 0, since CTest
// counts a death by signal as a failure even when the output matches; if the
// misuse returns, "FAIL:" is printed, which fails the test).

#include "support/names.hpp"
#include "support/task.hpp"

#include <multishot.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <unistd.h>
#include <utility>

namespace {

using namespace multishot_test;

extern "C" void exit_on_abort(int) {
    const char note[] = "[SIGABRT]\n";
    (void)!::write(2, note, sizeof note - 1);
    std::_Exit(0);
}

multishot_test::Task<RecvResult<int>> receive(Receiver<int>& receiver) {
    co_return co_await receiver.recv();
}

// A moved-from sender / receiver (moving leaves the source empty).
Sender<int> moved_from_sender(Receiver<int>& receiver) {
    Sender<int> sender = *receiver.sender();
    [[maybe_unused]] Sender<int> taken = std::move(sender);
    return sender;
}

Receiver<int> moved_from_receiver() {
    Receiver<int> receiver;
    [[maybe_unused]] Receiver<int> taken = std::move(receiver);
    return receiver;
}

bool run(const char* which) {
    auto is = [which](const char* name) { return std::strcmp(which, name) == 0; };
    if (is("send_moved_from")) {
        Receiver<int> receiver;
        moved_from_sender(receiver).send(1);
    } else if (is("send_used")) {
        Receiver<int> receiver;
        Sender<int> sender = *receiver.sender();
        sender.send(1);
        sender.send(2);
    } else if (is("emplace_moved_from")) {
        Receiver<int> receiver;
        moved_from_sender(receiver).emplace(1);
    } else if (is("void_send_used")) {
        auto [sender, receiver] = multishot::channel<void>();
        sender.send();
        sender.send();
    } else if (is("recv_moved_from")) {
        Receiver<int> receiver = moved_from_receiver();
        (void)receive(receiver);
    } else if (is("try_recv_moved_from")) {
        (void)moved_from_receiver().try_recv();
    } else if (is("poll_recv_moved_from")) {
        (void)moved_from_receiver().poll_recv({});
    } else if (is("recv_blocking_moved_from")) {
        (void)moved_from_receiver().recv_blocking();
    } else if (is("recv_for_moved_from")) {
        (void)moved_from_receiver().recv_for(1ms);
    } else if (is("recv_until_moved_from")) {
        (void)moved_from_receiver().recv_until(std::chrono::steady_clock::now());
    } else if (is("value_on_closed")) {
        const RecvResult<int> result = RecvError::closed;
        (void)result.value();
    } else if (is("value_on_empty")) {
        Receiver<int> receiver;
        const Sender<int> sender = *receiver.sender();
        (void)receiver.try_recv().value();
    } else if (is("void_value_on_timed_out")) {
        const RecvResult<void> result = RecvError::timed_out;
        result.value();
    } else if (is("poll_value_pending")) {
        const PollResult<int> pending;
        (void)pending.value();
    } else {
        std::printf("unknown case %s\n", which);
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::puts("usage: multishot_noexcept_misuse <case>");
        return 2;
    }
    std::signal(SIGABRT, exit_on_abort);
    if (run(argv[1])) std::printf("FAIL: %s returned instead of aborting\n", argv[1]);
    return 1;
}
