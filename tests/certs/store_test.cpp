// The certificates store: name keys, rows, and the budget buckets' state
// (on a migrated SQLite file). Bucket maths: budget_test.cpp.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "certs/detail/store.hpp"
#include "certs/test_util.hpp"
#include "events/events.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

namespace {

using namespace fc;
using namespace fc::certs::detail;

using fc::certs::test::kNow;
constexpr std::int64_t kHour = 3'600'000;

// A migrated database file in a private directory.
struct TempDb {
  storage::test::TempDir dir;
  std::unique_ptr<storage::Conn> conn = storage::test::open_migrated(dir.file("t.db"));
};

CertRow row(const std::string& id, std::vector<std::string> names) {
  CertRow r;
  r.id = id;
  r.hostnames = names;
  r.names_key = names_key(names);
  return r;
}

}  // namespace

TEST_SUITE("certs") {
  TEST_CASE("names_key") {
    CHECK(names_key({"B.example.com", "a.example.com", "b.example.com"}) ==
          "a.example.com,b.example.com");
  }

  TEST_CASE("certificate row round trip, view never carries a key") {
    TempDb db;
    auto r = row("crt_1", {"a.example.com"});
    REQUIRE(insert_cert(*db.conn, r, kNow));
    r.status = CertStatus::kValid;
    r.version = 3;
    r.key_sealed = "sealed";
    r.renew = false;
    r.renew_after = kNow + 5;
    r.ari_check_at = kNow + 6;
    r.ari_window_start = kNow + 7;
    r.ari_window_end = kNow + 8;
    REQUIRE(update_cert(*db.conn, r, kNow));
    auto back = load_cert(*db.conn, "crt_1");
    REQUIRE(back);
    REQUIRE(back.value());
    CHECK(back.value()->version == 3);
    CHECK(back.value()->ari_check_at == kNow + 6);
    CHECK(back.value()->ari_window_start == kNow + 7);
    CHECK(back.value()->ari_window_end == kNow + 8);
    CHECK(back.value()->hostnames == std::vector<std::string>{"a.example.com"});
    auto v = to_view(*back.value());
    CHECK(v.status == "valid");
    CHECK_FALSE(v.renew_after_ms);  // never renewed: no renewal time shown
    auto found = find_by_names(*db.conn, "a.example.com");
    REQUIRE(found);
    CHECK(found.value() == std::optional<std::string>("crt_1"));
    auto other = row("crt_2", {"zzz.example.com"});
    CHECK(update_cert(*db.conn, other, kNow).error().code == Code::kNotFound);
  }

  TEST_CASE("budget buckets persist per issuer; reservations are all or nothing") {
    TempDb db;
    BudgetLimits l;
    l.certs_per_domain = {2, 7 * 24 * kHour};
    auto take = [&](const std::string& issuer, const std::vector<std::string>& names,
                    std::int64_t now) {
      auto uses = order_buckets(l, names, names_key(names), false, false, 0);
      auto tats = load_tats(*db.conn, issuer, uses);
      REQUIRE(tats);
      auto v = plan_budget(uses, tats.value(), now);
      if (v.allowed) REQUIRE(save_tats(*db.conn, issuer, v.new_tats));
      return v;
    };
    CHECK(take("acme:x", {"a.example.co.uk"}, kNow).allowed);
    CHECK(take("acme:x", {"b.example.co.uk"}, kNow).allowed);
    auto third = take("acme:x", {"c.example.co.uk", "other.example.org"}, kNow);
    CHECK_FALSE(third.allowed);
    CHECK(third.reason ==
          "budget certificates per registered domain example.co.uk exhausted: next token in 3d12h");
    CHECK(third.retry_at == kNow + 7 * 24 * kHour / 2);
    // nothing of the denied order was taken: other.example.org is still full
    auto org = take("acme:x", {"x.example.org"}, kNow);
    CHECK(org.allowed);
    CHECK(take("acme:x", {"y.example.org"}, kNow).allowed);
    // another issuer has its own buckets
    CHECK(take("acme:other", {"c.example.co.uk"}, kNow).allowed);
    // refilled continuously: one token after period/capacity
    CHECK(take("acme:x", {"c.example.co.uk"}, kNow + 7 * 24 * kHour / 2).allowed);
  }

  TEST_CASE("due renewals are counted for the new-orders reserve") {
    TempDb db;
    auto a = row("crt_a", {"a.example.com"});
    REQUIRE(insert_cert(*db.conn, a, kNow));
    a.version = 1;
    a.status = CertStatus::kValid;
    a.renew_after = kNow - 1;
    REQUIRE(update_cert(*db.conn, a, kNow));
    auto b = row("crt_b", {"b.example.com"});
    REQUIRE(insert_cert(*db.conn, b, kNow));
    b.version = 1;
    b.status = CertStatus::kValid;
    b.renew_after = kNow + kHour;
    REQUIRE(update_cert(*db.conn, b, kNow));
    auto n = count_due_renewals(*db.conn, kNow);
    REQUIRE(n);
    CHECK(n.value() == 1);
  }

  TEST_CASE("certificate.expiring: every expiring version once, however many, in pages") {
    TempDb db;
    constexpr int kCerts = 1'201;  // more than two pages of 500
    auto& c = *db.conn;
    REQUIRE(c.begin(true));
    for (int k = 0; k < kCerts; ++k) {
      auto r = row("crt_" + std::to_string(10'000 + k), {std::to_string(k) + ".example.com"});
      REQUIRE(insert_cert(c, r, kNow));
      r.version = 1;
      r.status = CertStatus::kValid;
      r.workspace_id = "ws_" + std::to_string(k);
      r.not_after = kNow + kHour * (1 + k % 7);  // ties in not_after: the id orders them
      REQUIRE(update_cert(c, r, kNow));
      REQUIRE(
          events::append(c, {"certificate.issued", r.workspace_id, r.id, "{\"version\":1}"}, kNow));
    }
    REQUIRE(c.commit());
    // The service's walk (Service::Impl::announce_expiring): pages until done.
    const auto check = [&](std::int64_t now) {
      ExpiringCursor from;
      int announced = 0, pages = 0;
      for (bool done = false; !done; ++pages) {
        auto n = announce_expiring_page(c, kNow + 10 * kHour, now, 500, from, done);
        REQUIRE(n);
        announced += n.value();
      }
      return std::pair{announced, pages};
    };
    auto [first, pages] = check(kNow + 1);
    CHECK(first == kCerts);
    CHECK(pages == 3);
    CHECK(check(kNow + 2).first == 0);  // each version once
    // A renewal (a new version and its .renewed) expires again; the others not.
    auto renewed = load_cert(c, "crt_10700").value().value();
    renewed.version = 2;
    REQUIRE(update_cert(c, renewed, kNow + 3));
    REQUIRE(events::append(
        c, {"certificate.renewed", renewed.workspace_id, renewed.id, "{\"version\":2}"}, kNow + 3));
    CHECK(check(kNow + 4).first == 1);
    auto last = events::list(c, {.type = "certificate.expiring", .limit = 1, .latest = true});
    REQUIRE(last);
    REQUIRE(last.value().size() == 1);
    CHECK(last.value()[0].subject == "crt_10700");
    CHECK(last.value()[0].data_json.find("\"version\":2") != std::string::npos);
  }
}
