// CA budgets as token buckets (GCRA), one per issuer, limit and key, the way
// Let's Encrypt computes its own limits ("How Our Rate Limits Work": a
// bucket of `capacity` tokens refilled continuously over `period`). Pure
// functions; certs/store.cpp keeps each bucket's state in
// cert_budget_buckets and certs/renewal_job.cpp decides which buckets an order takes.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fc::certs::detail {

struct BucketLimit {
  std::int64_t capacity = 0;         // tokens when full; 0 = nothing is ever allowed
  std::int64_t period_ms = 0;        // time to refill from empty to full
  std::int64_t interval_ms() const;  // one token every period/capacity (≥ 1 ms)
};

// Let's Encrypt's published limits (letsencrypt.org/docs/rate-limits, 2025).
struct BudgetLimits {
  BucketLimit new_orders{300, 3LL * 3600 * 1000};            // per account per 3 h
  BucketLimit certs_per_domain{50, 7LL * 24 * 3600 * 1000};  // per registered domain per 7 days
  BucketLimit duplicates{5, 7LL * 24 * 3600 * 1000};         // per exact set of names per 7 days
  BucketLimit failed_validations{5, 3600LL * 1000};          // per hostname per hour
};

// GCRA: `tat` (theoretical arrival time, ms) is when the bucket would be full
// again; no state (nullopt) means full. Taking `cost` tokens moves tat by
// cost·interval; it is allowed when the new tat is at most
// capacity·interval − reserve·interval ahead of now (`reserve` tokens stay).
struct BucketCheck {
  bool allowed = false;
  std::int64_t new_tat = 0;      // the state after taking the tokens (when allowed)
  std::int64_t retry_at = 0;     // the earliest time it would be allowed (when not)
  std::int64_t tokens_left = 0;  // after taking them (when allowed), else now
};
BucketCheck gcra_take(const BucketLimit& l, std::optional<std::int64_t> tat, std::int64_t now,
                      std::int64_t cost = 1, std::int64_t reserve = 0);
// Spends a token whatever the state (failed validations happen whether or
// not budget was left); the bucket never goes more than one period in debt.
std::int64_t gcra_spend(const BucketLimit& l, std::optional<std::int64_t> tat, std::int64_t now);
// Gives one token back (an order that produced no certificate).
std::int64_t gcra_refund(const BucketLimit& l, std::int64_t tat, std::int64_t now);

// One bucket an order needs.
struct BucketUse {
  std::string bucket;  // new_orders | certs_per_domain | duplicates | failed_validations
  std::string key;     // '' | registered domain | names_key | hostname
  BucketLimit limit;
  bool spend = true;         // false: must have a token, none taken (failed validations)
  std::int64_t reserve = 0;  // tokens to leave (kept for renewals)
};
// The buckets an order for these names takes (Let's Encrypt's rules):
// every order a new-orders token (new orders leave `due_renewals` tokens for
// the renewals that are due), every name needs a failed-validations token,
// every order a duplicates token of its exact set of names, and a new
// certificate one certificates-per-domain token per registered domain
// (renewals of the same set are exempt). An ARI renewal (RFC 9773 `replaces`
// inside the CA's window) is exempt from all of them.
std::vector<BucketUse> order_buckets(const BudgetLimits& l,
                                     const std::vector<std::string>& hostnames,
                                     const std::string& names_key, bool renewal, bool ari_renewal,
                                     std::int64_t due_renewals);

struct BudgetVerdict {
  bool allowed = true;
  std::string reason;  // "budget certificates per registered domain example.co.uk exhausted: next
                       // token in 3h12m"
  std::int64_t retry_at = 0;  // when the exhausted bucket has a token again
  std::map<std::pair<std::string, std::string>, std::int64_t>
      new_tats;  // (bucket, key) → tat to store
};
using TatMap = std::map<std::pair<std::string, std::string>, std::int64_t>;
// All buckets or none: the first that has no token denies the order.
BudgetVerdict plan_budget(const std::vector<BucketUse>& uses, const TatMap& tats, std::int64_t now);

// "3h12m", "2d4h", "45s", "0s" (rounded up to the unit shown last).
std::string format_wait(std::int64_t ms);
// Human name of a bucket for the reason text.
std::string bucket_title(const std::string& bucket);

// The registered domain by the Public Suffix List (libpsl with the system's
// list, /usr/share/publicsuffix): "a.b.example.co.uk" → "example.co.uk";
// a leading "*." is ignored, a public suffix itself stays as it is.
std::string registered_domain(const std::string& name);

}  // namespace fc::certs::detail
