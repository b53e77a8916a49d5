// Token buckets (GCRA over the shared common/token_bucket.hpp) for CA budgets
// and the registered domain by the Public Suffix List. Pure apart from
// libpsl's list, loaded once.
#include <libpsl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "certs/detail/budget.hpp"
#include "common/token_bucket.hpp"

namespace fc::certs::detail {

std::int64_t BucketLimit::interval_ms() const {
  if (capacity <= 0) return period_ms > 0 ? period_ms : 1;
  return std::max<std::int64_t>(1, period_ms / capacity);
}

namespace {

// A GCRA state is the shared token bucket (common/token_bucket.hpp) seen
// from its end: tat is when the bucket is full again. With one credit per ms
// and one token per interval, credit = capacity·interval − (tat − now), exactly.
BucketRate as_rate(const BucketLimit& l, std::int64_t min_capacity = 0) {
  return BucketRate{1, l.interval_ms(), std::max(min_capacity, l.capacity)};
}

BucketState at_tat(const BucketRate& r, std::optional<std::int64_t> tat, std::int64_t now) {
  return BucketState{r.full() - std::max<std::int64_t>(0, tat.value_or(now) - now), now};
}

std::int64_t to_tat(const BucketRate& r, const BucketState& s) {
  return s.at_ms + r.full() - s.credit;
}

}  // namespace

BucketCheck gcra_take(const BucketLimit& l, std::optional<std::int64_t> tat, std::int64_t now,
                      std::int64_t cost, std::int64_t reserve) {
  const auto rate = as_rate(l);
  BucketCheck out;
  if (l.capacity <= 0) {
    out.retry_at = now + rate.period_ms;  // a zero budget: look again after one period
    return out;
  }
  const auto taken =
      bucket_take(rate, at_tat(rate, tat, now), now, cost, std::max<std::int64_t>(0, reserve));
  if (!taken.allowed) {
    out.retry_at = now + taken.wait_ms;
    return out;
  }
  out.allowed = true;
  out.new_tat = to_tat(rate, taken.state);
  out.tokens_left = taken.state.credit / rate.period_ms;
  return out;
}

std::int64_t gcra_spend(const BucketLimit& l, std::optional<std::int64_t> tat, std::int64_t now) {
  const auto rate = as_rate(l, 1);  // at most one full bucket in debt
  return to_tat(rate, bucket_spend(rate, at_tat(rate, tat, now), now, 1, rate.burst));
}

std::int64_t gcra_refund(const BucketLimit& l, std::int64_t tat, std::int64_t now) {
  const auto rate = as_rate(l);
  return to_tat(rate, bucket_refund(rate, at_tat(rate, tat, now), now));
}

std::vector<BucketUse> order_buckets(const BudgetLimits& l,
                                     const std::vector<std::string>& hostnames,
                                     const std::string& names_key, bool renewal, bool ari_renewal,
                                     std::int64_t due_renewals) {
  std::vector<BucketUse> out;
  if (ari_renewal) return out;
  out.push_back(BucketUse{"new_orders", "", l.new_orders, true, renewal ? 0 : due_renewals});
  std::set<std::string> names, domains;
  for (const auto& h : hostnames) {
    std::string n = h;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names.insert(n);
    domains.insert(registered_domain(n));
  }
  for (const auto& n : names)
    out.push_back(BucketUse{"failed_validations", n, l.failed_validations, false, 0});
  out.push_back(BucketUse{"duplicates", names_key, l.duplicates, true, 0});
  if (!renewal)
    for (const auto& d : domains)
      out.push_back(BucketUse{"certs_per_domain", d, l.certs_per_domain, true, 0});
  return out;
}

BudgetVerdict plan_budget(const std::vector<BucketUse>& uses, const TatMap& tats,
                          std::int64_t now) {
  BudgetVerdict v;
  for (const auto& u : uses) {
    const auto k = std::make_pair(u.bucket, u.key);
    std::optional<std::int64_t> tat;
    if (auto it = v.new_tats.find(k); it != v.new_tats.end())
      tat = it->second;
    else if (auto jt = tats.find(k); jt != tats.end())
      tat = jt->second;
    const auto c = gcra_take(u.limit, tat, now, 1, u.reserve);
    if (!c.allowed) {
      const std::string who =
          u.key.empty() ? "" : (u.bucket == "duplicates" ? " for " : " ") + u.key;
      v = BudgetVerdict{false,
                        "budget " + bucket_title(u.bucket) + who + " exhausted: next token in " +
                            format_wait(c.retry_at - now),
                        c.retry_at,
                        {}};
      if (u.reserve > 0 && gcra_take(u.limit, tat, now).allowed)
        v.reason += " (" + std::to_string(u.reserve) + " kept for due renewals)";
      return v;
    }
    if (u.spend) v.new_tats[k] = c.new_tat;
  }
  return v;
}

std::string format_wait(std::int64_t ms) {
  std::int64_t s = std::max<std::int64_t>(0, (ms + 999) / 1000);
  if (s < 60) return std::to_string(s) + "s";
  std::int64_t m = (s + 59) / 60;
  if (m < 60) return std::to_string(m) + "m";
  if (m < 24 * 60) return std::to_string(m / 60) + "h" + std::to_string(m % 60) + "m";
  const std::int64_t h = (m + 59) / 60;
  return std::to_string(h / 24) + "d" + std::to_string(h % 24) + "h";
}

std::string bucket_title(const std::string& bucket) {
  if (bucket == "new_orders") return "new orders per account";
  if (bucket == "certs_per_domain") return "certificates per registered domain";
  if (bucket == "duplicates") return "duplicate certificates";
  if (bucket == "failed_validations") return "failed validations per hostname";
  return bucket;
}

namespace {

struct PslFree {
  void operator()(psl_ctx_t* p) const noexcept { psl_free(p); }
};

const psl_ctx_t* psl() {
  // The newer of the system's list file and the library's built-in copy.
  static const std::unique_ptr<psl_ctx_t, PslFree> ctx(psl_latest(nullptr));
  return ctx ? ctx.get() : psl_builtin();
}

}  // namespace

std::string registered_domain(const std::string& name) {
  std::string n = name.rfind("*.", 0) == 0 ? name.substr(2) : name;
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!n.empty() && n.back() == '.') n.pop_back();
  const psl_ctx_t* ctx = psl();
  if (ctx == nullptr || n.empty()) return n;
  const char* rd = psl_registrable_domain(ctx, n.c_str());
  return rd == nullptr ? n : std::string(rd);
}

}  // namespace fc::certs::detail
