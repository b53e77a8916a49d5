// The one Asio include of the project: the core that coroutine code needs
// (io_context, awaitable, co_spawn, timers, post, thread_pool). Sockets,
// resolvers and signals are in common/asio_net.hpp, included only by the units
// that do network I/O — <boost/asio.hpp> in every unit cost ~0.8 s of parsing
// each (docs/building.md). Boost 1.74's asio/awaitable.hpp uses std::exchange
// without including <utility>, which breaks under GCC 12.
#pragma once
#include <optional>
#include <utility>

#include <boost/asio/detail/config.hpp>
#ifndef BOOST_ASIO_HAS_CO_AWAIT
#error "Boost.Asio coroutine support (BOOST_ASIO_HAS_CO_AWAIT) is required: build with -std=c++20"
#endif
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fc {
namespace asio = boost::asio;
template <class T>
using awaitable = asio::awaitable<T>;
using asio::use_awaitable;

// Runs fn() on `pool` and resumes the caller on its own executor. The result
// travels in std::optional because Boost 1.74 needs a default-constructible T.
template <class Fn>
auto offload(asio::thread_pool& pool, Fn fn) -> awaitable<std::optional<decltype(fn())>> {
  using T = decltype(fn());
  auto job = [fn = std::move(fn)]() mutable -> awaitable<std::optional<T>> {
    co_return std::optional<T>(fn());
  };
  auto r = co_await asio::co_spawn(pool, std::move(job), use_awaitable);
  co_return r;
}
}  // namespace fc
