// multishot/detail/asio_impl.hpp: the asio adapter, written once for both
// flavours of asio. Not a public header: include <multishot/asio.hpp>
// (standalone asio) or <multishot/boost_asio.hpp> (Boost.Asio).
//
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Each public header includes the asio headers of its flavour, defines
//   MULTISHOT_DETAIL_NET       the asio namespace (::asio or ::boost::asio)
//   MULTISHOT_DETAIL_NET_NAME  the adapter's namespace in multishot
//                              (asio or boost_asio)
// includes this file, and undefines both. There is no include guard: a
// translation unit that includes both public headers gets this code twice,
// in two namespaces, one per flavour.
//
// How a receive runs (Receiver::start_recv and RecvCanceller do the
// concurrency; this file only schedules):
//   * initiation: a value or a closed channel already there completes at
//     once, posted to the handler's executor (never inline). Otherwise an
//     operation record is allocated, a cancellation handler is installed in
//     the handler's slot (if connected), and start_recv(target) is called.
//   * then exactly one of two things happens (start_recv's guarantee):
//       - the sender calls the target, inline in send() or ~Sender() on its
//         thread; the target only posts finish() to the handler's executor;
//       - a cancellation (terminal, partial or total) calls cancel(), which
//         returns true; the cancellation handler posts finish().
//   * finish(), on the handler's executor, clears the slot, frees the record
//     and calls the handler: with RecvError::cancelled if a cancellation was
//     requested (also one that came after the sender called the target: the
//     value then stays in the channel, for the next receive), else with what
//     try_recv() returns (the value, or RecvError::closed).

#if !defined(MULTISHOT_DETAIL_NET) || !defined(MULTISHOT_DETAIL_NET_NAME)
#error \
    "multishot/detail/asio_impl.hpp is internal: include <multishot/asio.hpp> or <multishot/boost_asio.hpp>"
#endif

namespace multishot::MULTISHOT_DETAIL_NET_NAME {

namespace detail {

namespace net = MULTISHOT_DETAIL_NET;

// The cancellation types a receive honours: all three, since a cancelled
// receive changes nothing in the channel.
inline constexpr net::cancellation_type_t honoured_cancellation = net::cancellation_type::terminal |
                                                                  net::cancellation_type::partial |
                                                                  net::cancellation_type::total;

// The allocator for the operation record: the handler's associated allocator,
// or asio's recycling allocator (thread-local caches on the io_context's
// threads) when the handler names none, as asio's own operations do.
template <class Handler>
using record_allocator_base_t =
    std::conditional_t<std::is_same_v<net::associated_allocator_t<Handler>, std::allocator<void>>,
                       net::recycling_allocator<void>, net::associated_allocator_t<Handler>>;

template <class Handler>
record_allocator_base_t<Handler> record_allocator_base(const Handler& handler) noexcept {
    if constexpr (std::is_same_v<net::associated_allocator_t<Handler>, std::allocator<void>>) {
        return net::recycling_allocator<void>();
    } else {
        return net::get_associated_allocator(handler);
    }
}

// Calls a handler with a result: what a completion posted to the handler's
// executor runs. Carries the handler's allocator, for the post's memory.
template <class Handler, class Result>
class Delivery {
public:
    using allocator_type = net::associated_allocator_t<Handler>;

    Delivery(Handler&& handler, Result&& result)
        : handler_(std::move(handler)), result_(std::move(result)) {}

    allocator_type get_allocator() const noexcept {
        return net::get_associated_allocator(handler_);
    }

    void operator()() { std::move(handler_)(std::move(result_)); }

private:
    Handler handler_;
    Result result_;
};

// Completes `handler` with `result` through the handler's associated
// executor, never inline.
template <class Handler, class Result>
void post_result(Handler&& handler, Result&& result) {
    auto executor = net::get_associated_executor(handler);
    net::post(executor, Delivery<Handler, Result>(std::move(handler), std::move(result)));
}

// A receive that start_recv() left pending. It owns the handler, keeps the
// handler's executor busy (outstanding work) and holds the cancellation
// handler's state until finish() frees it.
template <class T, class Handler>
class RecvOperation {
public:
    using Executor = net::associated_executor_t<Handler>;
    using Slot = net::associated_cancellation_slot_t<Handler>;
    using Allocator = typename std::allocator_traits<
        record_allocator_base_t<Handler>>::template rebind_alloc<RecvOperation>;
    using AllocatorTraits = std::allocator_traits<Allocator>;

    // The initiation: completes at once if it can, else starts the receive.
    static void start(Receiver<T>& receiver, Handler&& handler) {
        RecvResult<T> now = receiver.try_recv();  // throws usage_error if moved-from
        if (!(now == RecvError::empty)) {
            post_result(std::move(handler), std::move(now));
            return;
        }

        Allocator allocator(record_allocator_base(handler));
        RecvOperation* const op = AllocatorTraits::allocate(allocator, 1);
        {
            // Frees the memory if the constructor throws.
            struct Guard {
                Allocator& allocator;
                RecvOperation* memory;
                ~Guard() {
                    if (memory != nullptr) AllocatorTraits::deallocate(allocator, memory, 1);
                }
            } guard{allocator, op};
            ::new (static_cast<void*>(op)) RecvOperation(receiver, std::move(handler));
            guard.memory = nullptr;
        }

        // Before start_recv(): once it returns pending, the target may run on
        // the sender's thread and finish() on another of the executor's
        // threads at any moment, so nothing of `op` may be touched after it.
        // An emit() cannot come before start_recv() returns: asio requires
        // the signal to be emitted where the operation is initiated and
        // completed (the handler's executor, or a strand), one at a time.
        //
        // Undoes the record (slot cleared, handler dropped) if emplace() or
        // start_recv() throws.
        struct Undo {
            RecvOperation* op;
            ~Undo() {
                if (op != nullptr) (void)op->release();
            }
        } undo{op};
        if (op->slot_.is_connected()) op->slot_.template emplace<CancellationHandler>(op);
        PollResult<T> result = receiver.start_recv(Waker(&RecvOperation::on_target, op));
        undo.op = nullptr;

        // Ready after all (the sender completed since try_recv): the target is
        // never called and nothing else refers to the operation.
        if (result) op->complete_now(std::move(*result));
    }

private:
    // Called with the cancellation type by the slot's signal.
    struct CancellationHandler {
        explicit CancellationHandler(RecvOperation* operation) noexcept : op(operation) {}
        void operator()(net::cancellation_type_t type) const { op->on_cancel(type); }
        RecvOperation* op;
    };

    // Runs finish() on the handler's executor.
    struct Finish {
        RecvOperation* op;
        void operator()() const { op->finish(); }
    };

    RecvOperation(Receiver<T>& receiver, Handler&& handler)
        : receiver_(&receiver),
          canceller_(receiver.canceller()),
          handler_(std::move(handler)),
          work_(net::get_associated_executor(handler_)),
          slot_(net::get_associated_cancellation_slot(handler_)) {}

    // The target: called once by the sender (send(), emplace() or ~Sender()),
    // on its thread; noexcept. It only posts (with std::allocator: this is
    // the sender's thread, not one the handler's allocator expects), and
    // touches nothing of the operation after: finish() may free it at once.
    // If posting fails (out of memory) std::terminate is called.
    //
    // The executor copy made here is the sender thread's last use of the
    // handler's executor, and it dies after finish() may already have run and
    // released the operation's outstanding work: it must count as outstanding
    // work itself, or io_context::run() could return and the io_context (and
    // a strand's service) be destroyed under it (TSan saw a strand's copy
    // lock its destroyed service's mutex).
    static void on_target(void* self) noexcept {
        RecvOperation* const op = static_cast<RecvOperation*>(self);
        const auto executor = tracked(op->work_.get_executor());
        net::post(executor, Finish{op});
    }

    // `executor`, counting as outstanding work while it lives (a standard
    // executor: a strand's copy releases its strand before its inner
    // executor's work); a legacy executor as it is.
    static auto tracked(const Executor& executor) {
        if constexpr (net::execution::is_executor<Executor>::value) {
            return net::prefer(executor, net::execution::outstanding_work.tracked);
        } else {
            return executor;
        }
    }

    // Called by the slot's signal, on the thread that emits it.
    void on_cancel(net::cancellation_type_t type) {
        if ((type & honoured_cancellation) == net::cancellation_type::none) return;
        // Relaxed: read by finish(), which runs after this on the handler's
        // executor (asio serialises the signal with the operation's
        // completion), or on its own path below. The flag is set before
        // cancel(), so a cancellation that comes after the sender called the
        // target still ends the receive with `cancelled`, leaving the value
        // in the channel (finish() then does not take it).
        cancel_requested_.store(true, std::memory_order_relaxed);
        if (!canceller_.cancel()) return;  // the sender came first: finish() is on its way
        const Executor executor = work_.get_executor();  // finish() may free `this` once posted
        net::post(executor, Finish{this});
    }

    // A result found by start_recv() itself: clear the slot and deliver it,
    // posted. The operation's outstanding work is moved out and ends only
    // after the post: ending it first could bring the io_context's count to
    // zero before run() was called, which stops the io_context, and run()
    // would then return without calling the posted handler.
    void complete_now(RecvResult<T>&& result) {
        const net::executor_work_guard<Executor> work(std::move(work_));
        Handler handler = release();
        post_result(std::move(handler), std::move(result));
    }

    // On the handler's executor, once: frees the operation, then calls the
    // handler (inline: this already runs on its executor).
    void finish() {
        // Relaxed: see on_cancel().
        const bool cancelled = cancel_requested_.load(std::memory_order_relaxed);
        Receiver<T>& receiver = *receiver_;
        Handler handler = release();
        RecvResult<T> result =
            cancelled ? RecvResult<T>(RecvError::cancelled) : receiver.try_recv();
        std::move(handler)(std::move(result));
    }

    // Clears the slot (destroying the cancellation handler), ends the
    // outstanding work and frees the operation; returns the handler.
    Handler release() {
        if (slot_.is_connected()) slot_.clear();
        Handler handler(std::move(handler_));
        Allocator allocator(record_allocator_base(handler));
        this->~RecvOperation();
        AllocatorTraits::deallocate(allocator, this, 1);
        return handler;
    }

    Receiver<T>* receiver_;
    RecvCanceller canceller_;
    std::atomic<bool> cancel_requested_{false};
    Handler handler_;
    net::executor_work_guard<Executor> work_;
    Slot slot_;
};

// The initiation object given to async_initiate.
template <class T>
struct InitiateRecv {
    Receiver<T>* receiver;

    template <class Handler>
    void operator()(Handler&& handler) const {
        RecvOperation<T, std::decay_t<Handler>>::start(
            *receiver, std::decay_t<Handler>(std::forward<Handler>(handler)));
    }
};

}  // namespace detail

/// Receives from `receiver` and completes `token` with the result:
/// completion signature void(multishot::RecvResult<T>). See the header that
/// included this one for the rules.
template <class T, class CompletionToken>
auto async_recv(Receiver<T>& receiver, CompletionToken&& token) {
    return detail::net::async_initiate<CompletionToken, void(RecvResult<T>)>(
        detail::InitiateRecv<T>{&receiver}, token);
}

}  // namespace multishot::MULTISHOT_DETAIL_NET_NAME
