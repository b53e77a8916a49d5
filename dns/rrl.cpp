#include "dns/detail/rrl.hpp"

#include <algorithm>

namespace fc::dns::detail {

PrefixKey prefix_key(std::span<const std::uint8_t> addr) {
  PrefixKey k{};
  if (addr.size() == 4) {
    std::copy_n(addr.begin(), 3, k.begin());  // /24
    k[7] = 4;
  } else {
    std::copy_n(addr.begin(), std::min<std::size_t>(7, addr.size()), k.begin());  // /56
    k[7] = 6;
  }
  return k;
}

std::size_t RateLimiter::KeyHash::operator()(const PrefixKey& k) const noexcept {
  std::uint64_t v = 0;
  for (auto b : k) v = (v << 8) | b;
  return std::hash<std::uint64_t>{}(v);
}

RateLimiter::RateLimiter(std::uint32_t responses_per_second, std::size_t max_entries)
    : rate_(responses_per_second), max_entries_(std::max<std::size_t>(max_entries, 1)) {}

void RateLimiter::make_room(std::int64_t now_ms) {
  // Forget prefixes idle for over a second (their bucket would be full again).
  std::erase_if(table_, [now_ms](const auto& kv) { return now_ms - kv.second.level.at_ms > 1000; });
  if (table_.size() >= max_entries_) table_.clear();  // under a flood: start over, stay bounded
}

RrlVerdict RateLimiter::check(const PrefixKey& key, std::int64_t now_ms) {
  if (rate_ == 0) return RrlVerdict::kSend;
  const auto rate = BucketRate::per_second(rate_, rate_);  // a burst of one second
  auto it = table_.find(key);
  if (it == table_.end()) {
    if (table_.size() >= max_entries_) make_room(now_ms);
    it = table_.emplace(key, Bucket{bucket_full(rate, now_ms), 0}).first;
  }
  Bucket& b = it->second;
  const auto taken = bucket_take(rate, b.level, now_ms);
  b.level = taken.state;
  if (taken.allowed) return RrlVerdict::kSend;
  ++b.dropped;
  return b.dropped % 2 == 0 ? RrlVerdict::kSlip : RrlVerdict::kDrop;
}

}  // namespace fc::dns::detail
