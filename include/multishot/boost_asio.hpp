// multishot/boost_asio.hpp: multishot::boost_asio::async_recv, the adapter of
// <multishot/asio.hpp> for Boost.Asio (Boost 1.79 or later: asio 1.22), with
// the same semantics and rules (read them there); boost::asio in place of
// asio.
//
// SPDX-License-Identifier: MIT OR Apache-2.0
//
//   namespace net = boost::asio;
//   auto r = co_await multishot::boost_asio::async_recv(receiver, net::use_awaitable);
//
// With clang++ 14 and libstdc++, define BOOST_ASIO_HAS_CO_AWAIT=1 to enable
// boost::asio::awaitable (g++ needs nothing).
#ifndef MULTISHOT_BOOST_ASIO_HPP_INCLUDED
#define MULTISHOT_BOOST_ASIO_HPP_INCLUDED

// Boost.Asio first, as <multishot/asio.hpp> does with asio.
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/version.hpp>

#include <multishot.hpp>

#include <atomic>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#if BOOST_ASIO_VERSION < 102200
#error "multishot/boost_asio.hpp needs Boost.Asio 1.22 (Boost 1.79) or later"
#endif

#define MULTISHOT_DETAIL_NET ::boost::asio
#define MULTISHOT_DETAIL_NET_NAME boost_asio
#include <multishot/detail/asio_impl.hpp>
#undef MULTISHOT_DETAIL_NET_NAME
#undef MULTISHOT_DETAIL_NET

#endif
