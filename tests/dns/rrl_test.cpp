#include "dns/detail/rrl.hpp"

#include <doctest/doctest.h>

using namespace fc::dns::detail;

TEST_SUITE("dns") {
  TEST_CASE("rrl: prefixes group /24 and /56") {
    const std::uint8_t a[] = {192, 0, 2, 1}, b[] = {192, 0, 2, 200}, c[] = {192, 0, 3, 1};
    CHECK(prefix_key(a) == prefix_key(b));
    CHECK(prefix_key(a) != prefix_key(c));
    std::uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4},
                 v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 5};
    std::uint8_t v6c[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 4, 4};
    CHECK(prefix_key(v6a) == prefix_key(v6b));  // differ after /56
    CHECK(prefix_key(v6a) != prefix_key(v6c));
  }

  TEST_CASE("rrl: token bucket with slip, refill over time") {
    RateLimiter rl(5, 100);
    const std::uint8_t a[] = {10, 0, 0, 1};
    const auto k = prefix_key(a);
    for (int i = 0; i < 5; ++i) CHECK(rl.check(k, 1000) == RrlVerdict::kSend);
    CHECK(rl.check(k, 1000) == RrlVerdict::kDrop);
    CHECK(rl.check(k, 1000) == RrlVerdict::kSlip);  // every 2nd dropped goes out truncated
    CHECK(rl.check(k, 1000) == RrlVerdict::kDrop);
    CHECK(rl.check(k, 1000) == RrlVerdict::kSlip);
    CHECK(rl.check(k, 1200) == RrlVerdict::kSend);  // 0.2 s refills one token at 5/s
    CHECK(rl.check(k, 1200) != RrlVerdict::kSend);
    const std::uint8_t other[] = {10, 0, 1, 1};
    CHECK(rl.check(prefix_key(other), 1200) == RrlVerdict::kSend);  // independent bucket
  }

  TEST_CASE("rrl: off at 0, table stays bounded") {
    RateLimiter off(0, 4);
    const std::uint8_t a[] = {10, 0, 0, 1};
    for (int i = 0; i < 100; ++i) CHECK(off.check(prefix_key(a), 0) == RrlVerdict::kSend);
    RateLimiter rl(1, 8);
    for (int i = 0; i < 1000; ++i) {
      const std::uint8_t addr[] = {10, static_cast<std::uint8_t>(i >> 8),
                                   static_cast<std::uint8_t>(i), 1};
      rl.check(prefix_key(addr), 5000);
      CHECK(rl.size() <= 8);
    }
  }

}  // TEST_SUITE
