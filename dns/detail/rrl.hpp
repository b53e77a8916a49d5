// Response rate limiting per client prefix (/24 IPv4, /56 IPv6): a token
// bucket per prefix in a bounded table, with slip (every 2nd dropped response
// goes out truncated so real clients retry over TCP). Time is a parameter.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>

#include "common/token_bucket.hpp"

namespace fc::dns::detail {

using PrefixKey = std::array<std::uint8_t, 8>;  // 7 bytes of /56 or 3 of /24, plus family
PrefixKey prefix_key(std::span<const std::uint8_t> addr);  // 4 or 16 bytes

enum class RrlVerdict { kSend, kDrop, kSlip };

class RateLimiter {
 public:
  RateLimiter(std::uint32_t responses_per_second, std::size_t max_entries);
  RrlVerdict check(const PrefixKey& key, std::int64_t now_ms);
  std::size_t size() const { return table_.size(); }

 private:
  struct Bucket {
    BucketState level;  // the shared token bucket; level.at_ms is the last use
    std::uint32_t dropped = 0;
  };
  struct KeyHash {
    std::size_t operator()(const PrefixKey& k) const noexcept;
  };
  void make_room(std::int64_t now_ms);

  std::uint32_t rate_;
  std::size_t max_entries_;
  std::unordered_map<PrefixKey, Bucket, KeyHash> table_;
};

}  // namespace fc::dns::detail
