// The retry schedule of a failed delivery (issue #12 §3): exponential from
// webhooks.retry_base_ms, doubling per attempt, capped at retry_max_ms, then
// scaled by a jitter factor the caller draws from [0.8, 1.2] (so deliveries
// that failed together do not come back together). Pure: tested in
// tests/webhooks/backoff_test.cpp.
#pragma once
#include <algorithm>
#include <cstdint>

namespace fc::webhooks {

inline constexpr double kJitterLow = 0.8;
inline constexpr double kJitterHigh = 1.2;

// base × 2^(attempts-1), capped at max_ms, × jitter (attempts ≥ 1).
inline std::int64_t backoff_ms(std::int64_t base_ms, std::int64_t max_ms, std::int64_t attempts,
                               double jitter) {
  double d = static_cast<double>(base_ms);
  for (std::int64_t k = 1; k < attempts && d < static_cast<double>(max_ms); ++k) d *= 2;
  d = std::min(d, static_cast<double>(max_ms));
  return static_cast<std::int64_t>(d * jitter);
}

}  // namespace fc::webhooks
