// Helpers for the tests that drive a real service on one io_context over a
// migrated SQLite file (webhooks, tenants, scheduler events tests): open the
// database the daemon's way, and run a coroutine to completion.
#pragma once
#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>

#include "common/asio.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

namespace fc::storage::test {

// A migrated database file in `dir`, opened as the daemon opens it.
inline std::unique_ptr<Database> open_database(const TempDir& dir) {
  open_migrated(dir.file("fc.db")).reset();
  auto d = Database::open({dir.file("fc.db")});
  REQUIRE(d);
  return std::move(d).value();
}

template <class T>
awaitable<void> keep_result(awaitable<T> a, std::optional<T>* out) {
  out->emplace(co_await std::move(a));
}

// Runs `a` on `io` until it completes (at most `limit`) and returns its result.
template <class T>
T run_io(asio::io_context& io, awaitable<T> a,
         std::chrono::seconds limit = std::chrono::seconds(30)) {
  std::optional<T> out;
  asio::co_spawn(io, keep_result(std::move(a), &out), [&](std::exception_ptr) { io.stop(); });
  io.restart();
  io.run_for(limit);
  REQUIRE(out.has_value());
  return std::move(*out);
}

// The same for a coroutine without a result (a service's tick).
inline void run_io(asio::io_context& io, awaitable<void> a,
                   std::chrono::seconds limit = std::chrono::seconds(30)) {
  bool done = false;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr) {
    done = true;
    io.stop();
  });
  io.restart();
  io.run_for(limit);
  REQUIRE(done);
}

}  // namespace fc::storage::test
