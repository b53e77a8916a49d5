// CA budgets: GCRA token buckets on plain values, the buckets an order
// takes, the reason text, and registered domains by the Public Suffix List.
#include <doctest/doctest.h>

#include "certs/detail/budget.hpp"
#include "certs/test_util.hpp"

namespace {

using namespace fc::certs::detail;

using fc::certs::test::kNow;
constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kWeek = 7 * 24 * kHour;

}  // namespace

TEST_SUITE("certs") {
  TEST_CASE("GCRA: a full bucket gives capacity tokens at once, then one per period/capacity") {
    const BucketLimit l{5, 5 * kHour};  // 5 per 5 h: one token per hour
    std::optional<std::int64_t> tat;
    for (int i = 0; i < 5; ++i) {
      auto c = gcra_take(l, tat, kNow);
      REQUIRE(c.allowed);
      CHECK(c.tokens_left == 4 - i);
      tat = c.new_tat;
    }
    auto denied = gcra_take(l, tat, kNow);
    CHECK_FALSE(denied.allowed);
    CHECK(denied.retry_at == kNow + kHour);
    CHECK_FALSE(gcra_take(l, tat, kNow + kHour - 1).allowed);
    auto later = gcra_take(l, tat, kNow + kHour);
    CHECK(later.allowed);
    CHECK(later.tokens_left == 0);
    // an idle bucket is full again after one period, never fuller
    auto idle = gcra_take(l, tat, kNow + 50 * kHour);
    CHECK(idle.tokens_left == 4);
  }

  TEST_CASE("GCRA table: Let's Encrypt's limits refill at their published rates") {
    struct Case {
      const char* name;
      BucketLimit limit;
      std::int64_t refill_ms;
    };
    const BudgetLimits le;
    const Case cases[] = {
        {"300 new orders / 3 h: one per 36 s", le.new_orders, 36'000},
        {"50 certificates / domain / week: one per 3 h 21.6 min", le.certs_per_domain, 12'096'000},
        {"5 duplicates / week: one per 33.6 h", le.duplicates, 120'960'000},
        {"5 failed validations / hour: one per 12 min", le.failed_validations, 720'000},
    };
    for (const auto& tc : cases) {
      CAPTURE(tc.name);
      CHECK(tc.limit.interval_ms() == tc.refill_ms);
      std::optional<std::int64_t> tat;
      for (std::int64_t i = 0; i < tc.limit.capacity; ++i) {
        auto c = gcra_take(tc.limit, tat, kNow);
        REQUIRE(c.allowed);
        tat = c.new_tat;
      }
      auto d = gcra_take(tc.limit, tat, kNow);
      CHECK_FALSE(d.allowed);
      CHECK(d.retry_at == kNow + tc.refill_ms);
    }
  }

  TEST_CASE("GCRA: reserve, zero capacity, spend and refund") {
    const BucketLimit l{3, 3 * kHour};
    auto r = gcra_take(l, std::nullopt, kNow, 1, 2);  // keep 2 of 3: one left to take
    REQUIRE(r.allowed);
    CHECK_FALSE(gcra_take(l, r.new_tat, kNow, 1, 2).allowed);
    CHECK(gcra_take(l, r.new_tat, kNow, 1, 0).allowed);
    BucketUse use{"new_orders", "", l, true, 2};
    auto v = plan_budget({use}, TatMap{{{"new_orders", ""}, r.new_tat}}, kNow);
    CHECK(v.reason ==
          "budget new orders per account exhausted: next token in 1h0m (2 kept for due renewals)");
    CHECK_FALSE(gcra_take(l, std::nullopt, kNow, 1, 3).allowed);
    auto zero = gcra_take(BucketLimit{0, kHour}, std::nullopt, kNow);
    CHECK_FALSE(zero.allowed);
    CHECK(zero.retry_at > kNow);
    // spending goes into debt by at most two periods
    std::int64_t tat = kNow;
    for (int i = 0; i < 100; ++i) tat = gcra_spend(l, tat, kNow);
    CHECK(tat == kNow + 6 * kHour);
    CHECK(gcra_refund(l, kNow + 2 * kHour, kNow) == kNow + kHour);
    CHECK(gcra_refund(l, kNow + kHour / 2, kNow) == kNow);  // never fuller than full
  }

  TEST_CASE("the buckets an order takes") {
    BudgetLimits l;
    auto names =
        std::vector<std::string>{"www.example.co.uk", "api.example.co.uk", "Shop.Example.org"};
    auto uses = order_buckets(l, names, "k", false, false, 4);
    std::vector<std::string> got;
    for (const auto& u : uses) got.push_back(u.bucket + ":" + u.key + (u.spend ? "" : "(check)"));
    CHECK(got == std::vector<std::string>{
                     "new_orders:", "failed_validations:api.example.co.uk(check)",
                     "failed_validations:shop.example.org(check)",
                     "failed_validations:www.example.co.uk(check)", "duplicates:k",
                     "certs_per_domain:example.co.uk", "certs_per_domain:example.org"});
    CHECK(uses[0].reserve == 4);  // new orders leave tokens to due renewals
    auto renewal = order_buckets(l, names, "k", true, false, 4);
    CHECK(renewal[0].reserve == 0);
    CHECK(renewal.back().bucket == "duplicates");                // renewals: no per-domain tokens
    CHECK(order_buckets(l, names, "k", true, true, 4).empty());  // ARI renewals are exempt
  }

  TEST_CASE("plan_budget: the first empty bucket denies with its reason; nothing is taken") {
    BudgetLimits l;
    l.new_orders = {1, 3 * kHour};
    auto uses = order_buckets(l, {"a.example.com"}, "a.example.com", false, false, 0);
    auto first = plan_budget(uses, {}, kNow);
    REQUIRE(first.allowed);
    CHECK(first.new_tats.count({"failed_validations", "a.example.com"}) ==
          0);  // checked, not taken
    auto second = plan_budget(uses, first.new_tats, kNow + 1000);
    CHECK_FALSE(second.allowed);
    CHECK(second.reason == "budget new orders per account exhausted: next token in 3h0m");
    CHECK(second.new_tats.empty());
    TatMap failed{{{"failed_validations", "a.example.com"}, kNow + 5 * kHour}};
    l.new_orders = {300, 3 * kHour};
    auto f = plan_budget(order_buckets(l, {"a.example.com"}, "a.example.com", false, false, 0),
                         failed, kNow);
    CHECK_FALSE(f.allowed);
    CHECK(f.reason ==
          "budget failed validations per hostname a.example.com exhausted: next token in 4h12m");
    TatMap dups{{{"duplicates", "a.example.com"}, kNow + kWeek}};
    auto d = plan_budget(order_buckets(l, {"a.example.com"}, "a.example.com", true, false, 0), dups,
                         kNow);
    CHECK(d.reason ==
          "budget duplicate certificates for a.example.com exhausted: next token in 1d10h");
  }

  TEST_CASE("format_wait") {
    CHECK(format_wait(0) == "0s");
    CHECK(format_wait(1) == "1s");
    CHECK(format_wait(59'000) == "59s");
    CHECK(format_wait(60'000) == "1m");
    CHECK(format_wait(11'520'000) == "3h12m");
    CHECK(format_wait(3 * 86'400'000 + 12 * kHour) == "3d12h");
    CHECK(format_wait(-5) == "0s");
  }

  TEST_CASE("registered domain by the Public Suffix List") {
    CHECK(registered_domain("a.b.example.co.uk") == "example.co.uk");
    CHECK(registered_domain("new.blog.example.co.uk") ==
          "example.co.uk");  // Let's Encrypt's own example
    CHECK(registered_domain("www.example.com") == "example.com");
    CHECK(registered_domain("WWW.Example.COM.") == "example.com");
    CHECK(registered_domain("*.shop.example.com.au") == "example.com.au");
    CHECK(registered_domain("alice.github.io") == "alice.github.io");  // private section
    CHECK(registered_domain("x.y.fleet.test") == "fleet.test");        // unlisted TLD: the "*" rule
    CHECK(registered_domain("co.uk") == "co.uk");                      // a suffix stays as it is
    CHECK(registered_domain("localhost") == "localhost");
  }
}
