// multishot_asio.hpp: receive from a multishot channel with any asio
// completion token. Copy this file into your project.
//
//   co_await multishot_asio::async_recv(receiver, asio::use_awaitable);
//   multishot_asio::async_recv(receiver, asio::bind_executor(strand, callback));
//   std::future<multishot::RecvResult<T>> f =
//       multishot_asio::async_recv(receiver, asio::use_future);
//
// The completion signature is void(multishot::RecvResult<T>): the value, or
// RecvError::closed if the sender was destroyed without sending.
//
// The handler always runs on its associated executor (for a callback without
// one, asio's system executor: bind it to your io_context or strand with
// asio::bind_executor), never inline inside the sender's send() or ~Sender,
// and never inside async_recv itself. While the receive is pending it counts
// as outstanding work, so io_context::run() does not return early.
//
// Rules, as for multishot::Receiver: one receive at a time per receiver, and
// the receiver must outlive the operation. Each operation allocates a small
// record (with new) for its handler. Cancellation is not supported.
//
// With clang++ 14 and libstdc++, define ASIO_HAS_CO_AWAIT=1 to enable
// asio::awaitable.
#ifndef MULTISHOT_ASIO_HPP
#define MULTISHOT_ASIO_HPP

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <multishot.hpp>

#include <type_traits>
#include <utility>

namespace multishot_asio {

namespace detail {

// One pending receive. It owns the handler, and keeps the handler's executor
// busy, until it completes; then it frees itself and calls the handler.
template <class T, class Handler>
class RecvOperation {
public:
    static void start(multishot::Receiver<T>& receiver, Handler handler) {
        (new RecvOperation(receiver, std::move(handler)))->schedule_poll();
    }

private:
    RecvOperation(multishot::Receiver<T>& receiver, Handler handler)
        : receiver_(receiver),
          handler_(std::move(handler)),
          work_(asio::make_work_guard(asio::get_associated_executor(handler_))) {}

    // Polls on the handler's executor, never inline. Touches nothing of this
    // operation after posting: the poll may run (and free it) at once.
    void schedule_poll() {
        asio::post(work_.get_executor(), [this] { poll(); });
    }

    // The waker's target, called once by the sender's thread.
    static void wake(void* self) noexcept { static_cast<RecvOperation*>(self)->schedule_poll(); }

    void poll() {
        multishot::PollResult<T> result = receiver_.poll_recv(multishot::Waker(&wake, this));
        if (!result) return;  // pending: the sender will call wake()
        Handler handler = std::move(handler_);
        delete this;  // free the operation before the up-call, as asio does
        std::move(handler)(std::move(*result));
    }

    multishot::Receiver<T>& receiver_;
    Handler handler_;
    asio::executor_work_guard<asio::associated_executor_t<Handler>> work_;
};

}  // namespace detail

/// Receives from `receiver` and completes `token` with the RecvResult<T>.
template <class T, class CompletionToken>
auto async_recv(multishot::Receiver<T>& receiver, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(multishot::RecvResult<T>)>(
        [](auto handler, multishot::Receiver<T>* target) {
            using Handler = std::decay_t<decltype(handler)>;
            detail::RecvOperation<T, Handler>::start(*target, std::move(handler));
        },
        token, &receiver);
}

}  // namespace multishot_asio

#endif
