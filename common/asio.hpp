// The one Asio include of the project. Boost 1.74's asio/awaitable.hpp uses
// std::exchange without including <utility>, which breaks under GCC 12.
#pragma once
#include <optional>
#include <utility>

#include <boost/asio.hpp>
#ifndef BOOST_ASIO_HAS_CO_AWAIT
#error "Boost.Asio coroutine support (BOOST_ASIO_HAS_CO_AWAIT) is required: build with -std=c++20"
#endif
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
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
