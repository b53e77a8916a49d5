// The retry schedule of failed deliveries (webhooks/backoff.hpp): doubling
// from the base, capped, and the jitter factor applied after the cap.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "webhooks/backoff.hpp"

using namespace fc::webhooks;

TEST_SUITE("webhooks") {
  TEST_CASE("backoff: doubles per attempt from the base, capped at the maximum") {
    std::vector<std::int64_t> got;
    for (std::int64_t a = 1; a <= 8; ++a) got.push_back(backoff_ms(1000, 30'000, a, 1.0));
    CHECK(got == std::vector<std::int64_t>{1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000});
    // The defaults (docs/webhooks.md): 5 s base, 1 h cap; attempt 1000 does not overflow.
    CHECK(backoff_ms(5000, 3'600'000, 1, 1.0) == 5000);
    CHECK(backoff_ms(5000, 3'600'000, 1000, 1.0) == 3'600'000);
  }

  TEST_CASE("backoff: the jitter spreads ±20 % around the step, also at the cap") {
    CHECK(backoff_ms(1000, 30'000, 3, kJitterLow) == 3200);
    CHECK(backoff_ms(1000, 30'000, 3, kJitterHigh) == 4800);
    CHECK(backoff_ms(1000, 30'000, 9, kJitterLow) == 24000);
    CHECK(backoff_ms(1000, 30'000, 9, kJitterHigh) == 36000);
  }
}
