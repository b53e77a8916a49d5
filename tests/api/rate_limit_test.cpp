// The per-token request rate limit on the shared token bucket: a burst of one
// second per token, Retry-After in whole seconds, off at 0.
#include <doctest/doctest.h>

#include "api/detail/rate_limit.hpp"

using fc::api::detail::RequestRateLimiter;

TEST_SUITE("api") {
  TEST_CASE("rate limit: per token, a second's burst, then Retry-After") {
    RequestRateLimiter rl(2);
    const std::int64_t t = 1'700'000'000'000;
    CHECK_FALSE(rl.check("tok_a", t));
    CHECK_FALSE(rl.check("tok_a", t));
    auto wait = rl.check("tok_a", t);
    REQUIRE(wait);
    CHECK(*wait == 1);                  // 500 ms, rounded up to a second
    CHECK_FALSE(rl.check("tok_b", t));  // its own bucket
    CHECK_FALSE(rl.check("tok_a", t + 500));
    CHECK(rl.check("tok_a", t + 500));
  }

  TEST_CASE("rate limit: off at 0") {
    RequestRateLimiter off(0);
    for (int i = 0; i < 100; ++i) CHECK_FALSE(off.check("tok_a", 1000));
  }
}
