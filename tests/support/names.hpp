// The product's names the tests use unqualified, declared once in the
// support namespace: a test writes `using namespace multishot_test;` inside
// its anonymous namespace and sees these beside the helpers of the
// tests/support/ headers it includes (Task, Census, CountingWaker, ...).
// Not for tests/asio, where `asio` and `multishot::asio` would meet.
#pragma once

#include <multishot.hpp>

#include <chrono>

namespace multishot_test {

using multishot::bad_result_access;
using multishot::PollResult;
using multishot::Receiver;
using multishot::RecvCanceller;
using multishot::RecvError;
using multishot::RecvResult;
using multishot::Sender;
using multishot::usage_error;
using multishot::Waker;

using namespace std::chrono_literals;

}  // namespace multishot_test
