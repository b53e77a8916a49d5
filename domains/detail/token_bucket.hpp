// A token bucket (pure: time is a parameter) capping the verifier's DNS
// query rate so that many pending domains never flood a resolver.
#pragma once
#include <algorithm>
#include <cstdint>

namespace fc::domains::detail {

class TokenBucket {
 public:
  TokenBucket(double rate_per_s, double burst) : rate_(std::max(rate_per_s, 0.001)), burst_(std::max(burst, 1.0)), tokens_(burst_) {}
  // Takes one token, or returns how many ms to wait before one is available.
  std::int64_t take(std::int64_t now_ms) {
    refill(now_ms);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return 0;
    }
    return static_cast<std::int64_t>((1.0 - tokens_) * 1000.0 / rate_) + 1;
  }
  // Reserves the next slot: takes a token even when none is left (the count
  // goes negative) and returns how many ms the caller must wait before using
  // it. Callers are served in order and never contend; in any window of T
  // seconds at most burst + rate × T slots start.
  std::int64_t reserve(std::int64_t now_ms) {
    refill(now_ms);
    tokens_ -= 1.0;
    if (tokens_ >= 0.0) return 0;
    return static_cast<std::int64_t>(-tokens_ * 1000.0 / rate_ + 0.999);
  }
  double tokens(std::int64_t now_ms) {
    refill(now_ms);
    return tokens_;
  }

 private:
  void refill(std::int64_t now_ms) {
    if (last_ms_ == 0) last_ms_ = now_ms;
    if (now_ms > last_ms_) tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_ / 1000.0);
    last_ms_ = std::max(last_ms_, now_ms);
  }
  double rate_, burst_, tokens_;
  std::int64_t last_ms_ = 0;
};

}  // namespace fc::domains::detail
