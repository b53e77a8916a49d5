#include "api/detail/rate_limit.hpp"

namespace fc::api::detail {

std::optional<int> RequestRateLimiter::check(const std::string& token_id, std::int64_t now_ms) {
  if (rps_ <= 0) return std::nullopt;
  auto it = buckets_.try_emplace(token_id, BucketRate::per_second(rps_, rps_)).first;
  const std::int64_t wait_ms = it->second.take(now_ms);
  if (wait_ms == 0) return std::nullopt;
  return static_cast<int>((wait_ms + 999) / 1000);  // whole seconds, rounded up
}

void RequestRateLimiter::set_rate(std::int64_t requests_per_second) {
  if (requests_per_second == rps_) return;
  rps_ = requests_per_second;
  buckets_.clear();
}

}  // namespace fc::api::detail
