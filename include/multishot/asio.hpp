// multishot/asio.hpp: receive from a multishot channel with any asio
// completion token, cancellable per operation. Standalone asio (1.22 or
// later); <multishot/boost_asio.hpp> is the same for Boost.Asio.
//
// SPDX-License-Identifier: MIT OR Apache-2.0
//
//   RecvResult<T> r = co_await multishot::asio::async_recv(receiver, asio::use_awaitable);
//   auto v = co_await (multishot::asio::async_recv(receiver, asio::use_awaitable) ||
//                      timer.async_wait(asio::use_awaitable));   // a timeout
//   multishot::asio::async_recv(receiver, asio::bind_executor(strand, callback));
//   std::future<RecvResult<T>> f = multishot::asio::async_recv(receiver, asio::use_future);
//
// Completion signature: void(multishot::RecvResult<T>): the value,
// RecvError::closed if the sender was destroyed without sending, or
// RecvError::cancelled.
//
// The handler runs on its associated executor (for a callback without one,
// asio's system executor: bind it to your io_context or strand with
// asio::bind_executor), posted there: never inline inside async_recv, nor on
// the sender's thread inside send() or ~Sender. While the receive is pending
// it counts as outstanding work, so io_context::run() does not return.
//
// Per-operation cancellation: if the handler's cancellation slot is connected
// (asio's || and parallel_group, bind_cancellation_slot), an emit() of
// terminal, partial or total cancellation completes the receive with
// RecvError::cancelled. A cancelled receive changes nothing in the channel:
// a value sent later, or at the same moment, stays there and the next
// receive (async_recv again, or try_recv) gets it. Even a cancellation that
// arrives after the value did but before the handler ran wins, and leaves the
// value in the channel; a receive that found the value already there when it
// started completes with it, as an asio operation that completed at once
// does. A cancellation requested before async_recv is called is not
// seen by it (a slot keeps no memory of an emit); inside an asio::awaitable,
// asio checks the coroutine's cancellation state before initiating and
// throws operation_aborted instead, without starting the receive.
//
// The operation record is allocated with the handler's associated allocator
// (asio's recycling allocator when it names none, as asio's own operations
// do).
//
// Rules, as for multishot::Receiver: one receive at a time per receiver; the
// receiver must outlive the operation, and stay where it is (not be moved)
// while it is pending; a pending receive must complete (or be cancelled)
// before its io_context is destroyed; and the executor's context (the
// io_context, and a strand) must outlive every send() or ~Sender() that may
// complete a pending receive, since the sender's thread posts to it: join the
// sending threads first. That post is made by the receive's Waker, which is
// noexcept: if it fails (out of memory), std::terminate is called. A
// cancelled receive must be followed by another receive before
// receiver.sender() if the value matters (sender() destroys an unread value).
//
// Emit a cancellation where the handler runs: on its executor, or its strand
// when several threads run the io_context.
//
// With clang++ 14 and libstdc++, define ASIO_HAS_CO_AWAIT=1 to enable
// asio::awaitable (g++ needs nothing).
#ifndef MULTISHOT_ASIO_HPP_INCLUDED
#define MULTISHOT_ASIO_HPP_INCLUDED

// asio first: asio 1.22 reads part of its configuration (how it allocates
// aligned memory) from macros that only a standard header included before it
// defines, so a file that begins with this header configures asio as one
// that begins with <asio.hpp> does (two files of a program that disagree
// break the one definition rule inside asio).
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/version.hpp>

#include <multishot.hpp>

#include <atomic>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#if ASIO_VERSION < 102200
#error \
    "multishot/asio.hpp needs asio 1.22 or later (per-operation cancellation, recycling_allocator)"
#endif

#define MULTISHOT_DETAIL_NET ::asio
#define MULTISHOT_DETAIL_NET_NAME asio
#include <multishot/detail/asio_impl.hpp>
#undef MULTISHOT_DETAIL_NET_NAME
#undef MULTISHOT_DETAIL_NET

#endif
