// Two receives outstanding on one receiver at once is a contract violation
// that debug builds catch: this program starts two coroutines co_awaiting
// recv() on the same receiver. The second must trip MULTISHOT_ASSERT, which
// prints "multishot: ... two receives outstanding at once ..." and aborts.
// ctest passes only if that message appears (PASS_REGULAR_EXPRESSION); if
// the assertion does not fire, this prints a different message and fails.

#include "support/task.hpp"

#include <multishot.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {

multishot_test::Task<> receive(multishot::Receiver<int>& receiver) {
    (void)co_await receiver.recv();
}

// The assertion aborts. CTest counts a death by signal as a failure even
// when the output matches, so the expected abort exits normally instead; the
// verdict is left to the output check.
extern "C" void exit_on_abort(int) { std::_Exit(0); }

}  // namespace

int main() {
    std::signal(SIGABRT, exit_on_abort);
    multishot::Receiver<int> receiver;
    auto sender = receiver.sender();
    const multishot_test::Task<> first = receive(receiver);
    const multishot_test::Task<> second = receive(receiver);
    sender.reset();  // resumes one of them; the other never will
    std::puts("no assertion: the second co_await recv() was accepted");
    return 1;
}
