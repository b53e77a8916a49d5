// Per-token request rate limit (api.rate_limit.requests_per_second): one
// shared token bucket (common/token_bucket.hpp) per token, holding one second
// of requests. Time is a parameter.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/token_bucket.hpp"

namespace fc::api::detail {

class RequestRateLimiter {
 public:
  explicit RequestRateLimiter(std::int64_t requests_per_second) : rps_(requests_per_second) {}
  // nullopt when the request may go, else the seconds to wait (Retry-After).
  std::optional<int> check(const std::string& token_id, std::int64_t now_ms);
  // A new rate (SIGHUP reload): buckets restart full at the new size.
  void set_rate(std::int64_t requests_per_second);

 private:
  std::int64_t rps_;  // 0: off
  std::unordered_map<std::string, TokenBucket> buckets_;
};

}  // namespace fc::api::detail
