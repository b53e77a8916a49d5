// The one token bucket: pure arithmetic, time is a parameter (STYLE.md "Pure
// cores"). A bucket holds at most `burst` tokens and gains `per` tokens every
// `period_ms`. Its level is kept as an integer credit, tokens × period_ms, so
// that refill and take are exact (no float drift: a bucket of 3 per second
// gives exactly 3 tokens at once, and exactly one more after 333⅓ ms).
//
// Users keep their own keying, persistence and policy: the API limits per
// token, the DNS server per client prefix (RRL), the domains verifier paces
// its queries, and certs stores each CA budget as a GCRA time (its
// theoretical arrival time converts to and from this credit exactly).
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>

namespace fc {

struct BucketRate {
  std::int64_t per = 1;           // tokens gained every period_ms (≥ 1)
  std::int64_t period_ms = 1000;  // ≥ 1
  std::int64_t burst = 1;         // tokens when full (≥ 0)

  // `rate` tokens per second, at most `burst` stored.
  static constexpr BucketRate per_second(std::int64_t rate, std::int64_t burst) {
    return BucketRate{rate, 1000, burst};
  }
  constexpr std::int64_t full() const { return burst * period_ms; }  // credit when full
  constexpr std::int64_t credit(std::int64_t tokens) const { return tokens * period_ms; }
};

// The level at a time: tokens × period_ms. Negative while in debt (spend).
struct BucketState {
  std::int64_t credit = 0;
  std::int64_t at_ms = 0;
};

constexpr BucketState bucket_full(const BucketRate& r, std::int64_t now_ms) {
  return BucketState{r.full(), now_ms};
}

// The state at `now` (never fuller than full). A clock that steps back
// neither adds nor removes tokens.
constexpr BucketState bucket_refill(const BucketRate& r, BucketState s, std::int64_t now_ms) {
  if (now_ms <= s.at_ms) return s;
  const std::int64_t gap = r.full() - s.credit;
  const std::int64_t elapsed = now_ms - s.at_ms;
  // Compare before multiplying: an idle bucket of a long-gone client is simply full.
  if (gap <= 0 || elapsed >= (gap + r.per - 1) / r.per) return BucketState{r.full(), now_ms};
  return BucketState{s.credit + elapsed * r.per, now_ms};
}

// Milliseconds until the state has `tokens` tokens (0 when it has them now).
constexpr std::int64_t bucket_wait_ms(const BucketRate& r, const BucketState& s,
                                      std::int64_t tokens) {
  const std::int64_t missing = r.credit(tokens) - s.credit;
  return missing <= 0 ? 0 : (missing + r.per - 1) / r.per;
}

struct BucketTake {
  bool allowed = false;
  BucketState state;         // after taking (when allowed), else refilled to now
  std::int64_t wait_ms = 0;  // when not allowed: until `cost + keep` tokens are there
};

// Takes `cost` tokens when at least `cost + keep` are there (`keep` tokens
// stay for someone else, e.g. certs keeps some for due renewals).
constexpr BucketTake bucket_take(const BucketRate& r, BucketState s, std::int64_t now_ms,
                                 std::int64_t cost = 1, std::int64_t keep = 0) {
  s = bucket_refill(r, s, now_ms);
  if (s.credit - r.credit(cost) >= r.credit(keep)) {
    s.credit -= r.credit(cost);
    return BucketTake{true, s, 0};
  }
  return BucketTake{false, s, bucket_wait_ms(r, s, cost + keep)};
}

// Takes `cost` tokens whatever the level: the bucket goes into debt, by at
// most `max_debt` tokens when given. Callers served this way wait their turn
// (bucket_wait_ms(r, state, 0) after the spend is how long).
constexpr BucketState bucket_spend(const BucketRate& r, BucketState s, std::int64_t now_ms,
                                   std::int64_t cost = 1,
                                   std::optional<std::int64_t> max_debt = std::nullopt) {
  s = bucket_refill(r, s, now_ms);
  s.credit -= r.credit(cost);
  if (max_debt) s.credit = std::max(s.credit, -r.credit(*max_debt));
  return s;
}

// Gives `n` tokens back (never fuller than full).
constexpr BucketState bucket_refund(const BucketRate& r, BucketState s, std::int64_t now_ms,
                                    std::int64_t n = 1) {
  s = bucket_refill(r, s, now_ms);
  s.credit = std::min(r.full(), s.credit + r.credit(n));
  return s;
}

// Whole and fractional tokens at a state (for reports and tests).
constexpr double bucket_tokens(const BucketRate& r, const BucketState& s) {
  return static_cast<double>(s.credit) / static_cast<double>(r.period_ms);
}

// An in-memory bucket that is full at its first use.
class TokenBucket {
 public:
  explicit TokenBucket(BucketRate r) : rate_(r) {}
  // Takes one token: 0, or the milliseconds until one is there.
  std::int64_t take(std::int64_t now_ms) {
    auto t = bucket_take(rate_, state(now_ms), now_ms);
    state_ = t.state;
    return t.allowed ? 0 : t.wait_ms;
  }
  // Reserves the next slot: takes a token even when none is left and returns
  // how many ms the caller must wait before using it. Callers are served in
  // order; in any window of T ms at most burst + rate × T slots start.
  std::int64_t reserve(std::int64_t now_ms) {
    state_ = bucket_spend(rate_, state(now_ms), now_ms);
    return bucket_wait_ms(rate_, *state_, 0);
  }
  double tokens(std::int64_t now_ms) {
    state_ = bucket_refill(rate_, state(now_ms), now_ms);
    return bucket_tokens(rate_, *state_);
  }

 private:
  BucketState state(std::int64_t now_ms) const {
    return state_.value_or(bucket_full(rate_, now_ms));
  }
  BucketRate rate_;
  std::optional<BucketState> state_;
};

}  // namespace fc
