// The one token bucket: table of take/refill steps, spend into debt, refund,
// and the exactness that integer credit buys (3 per second: 333⅓ ms a token).
#include "common/token_bucket.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace fc;

namespace {
constexpr std::int64_t kT0 = 1'700'000'000'000;  // a realistic epoch in ms
}

TEST_SUITE("common") {
  TEST_CASE("token bucket: take and refill, step by step") {
    struct Step {
      std::int64_t at;    // ms after kT0
      bool allowed;       // the take at that time
      std::int64_t wait;  // its wait when refused
    };
    struct Case {
      const char* name;
      BucketRate rate;
      std::vector<Step> steps;
    };
    const Case cases[] = {
        {"5/s burst 5: five at once, then one per 200 ms",
         BucketRate::per_second(5, 5),
         {{0, true, 0},
          {0, true, 0},
          {0, true, 0},
          {0, true, 0},
          {0, true, 0},
          {0, false, 200},
          {199, false, 1},
          {200, true, 0},
          {200, false, 200}}},
        {"3/s: exactly three at once, the fourth after 333.3 ms (rounded up)",
         BucketRate::per_second(3, 3),
         {{0, true, 0},
          {0, true, 0},
          {0, true, 0},
          {0, false, 334},
          {333, false, 1},
          {334, true, 0}}},
        {"burst 1 at 400/s: one slot every 2.5 ms",
         BucketRate::per_second(400, 1),
         {{0, true, 0}, {0, false, 3}, {2, false, 1}, {3, true, 0}, {5, false, 1}}},
        {"idle refills only to the burst",
         BucketRate::per_second(2, 2),
         {{0, true, 0},
          {0, true, 0},
          {100'000, true, 0},
          {100'000, true, 0},
          {100'000, false, 500}}},
        {"a clock stepping back neither adds nor removes",
         BucketRate::per_second(1, 1),
         {{1000, true, 0}, {0, false, 1000}, {1999, false, 1}, {2000, true, 0}}},
        {"one per hour, burst 5 (a CA budget)",
         BucketRate{1, 720'000, 5},  // one token per 12 min
         {{0, true, 0},
          {0, true, 0},
          {0, true, 0},
          {0, true, 0},
          {0, true, 0},
          {0, false, 720'000}}},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      BucketState s = bucket_full(c.rate, kT0);
      for (const auto& step : c.steps) {
        CAPTURE(step.at);
        auto t = bucket_take(c.rate, s, kT0 + step.at);
        CHECK(t.allowed == step.allowed);
        CHECK(t.wait_ms == step.wait);
        s = t.state;
      }
    }
  }

  TEST_CASE("token bucket: cost and keep") {
    const auto r = BucketRate::per_second(10, 10);
    auto s = bucket_full(r, kT0);
    auto t = bucket_take(r, s, kT0, 3, 5);  // 10 - 3 ≥ 5
    REQUIRE(t.allowed);
    CHECK(bucket_tokens(r, t.state) == doctest::Approx(7));
    auto refused = bucket_take(r, t.state, kT0, 3, 5);  // 7 - 3 < 5
    CHECK_FALSE(refused.allowed);
    CHECK(refused.wait_ms == 100);  // one token more at 10/s
    CHECK(bucket_take(r, t.state, kT0, 3, 0).allowed);
  }

  TEST_CASE("token bucket: spend goes into debt, bounded when asked; refund") {
    const auto r = BucketRate::per_second(1, 2);
    auto s = bucket_full(r, kT0);
    for (int i = 0; i < 10; ++i) s = bucket_spend(r, s, kT0);
    CHECK(bucket_tokens(r, s) == doctest::Approx(-8));
    CHECK(bucket_wait_ms(r, s, 0) == 8000);
    auto bounded = bucket_full(r, kT0);
    for (int i = 0; i < 10; ++i) bounded = bucket_spend(r, bounded, kT0, 1, 2);
    CHECK(bucket_tokens(r, bounded) == doctest::Approx(-2));
    CHECK(bucket_tokens(r, bucket_refund(r, bounded, kT0)) == doctest::Approx(-1));
    CHECK(bucket_tokens(r, bucket_refund(r, bucket_full(r, kT0), kT0)) == doctest::Approx(2));
    // a deep debt refills back to full, never beyond
    CHECK(bucket_refill(r, s, kT0 + 1'000'000).credit == r.full());
  }

  TEST_CASE("token bucket: the in-memory bucket is full at first use and paces reservations") {
    TokenBucket b(BucketRate::per_second(4, 2));
    CHECK(b.take(kT0) == 0);
    CHECK(b.take(kT0) == 0);
    CHECK(b.take(kT0) == 250);
    CHECK(b.reserve(kT0) == 250);
    CHECK(b.reserve(kT0) == 500);
    CHECK(b.tokens(kT0 + 500) == doctest::Approx(0));
    CHECK(b.tokens(kT0 + 60'000) == doctest::Approx(2));
  }
}
