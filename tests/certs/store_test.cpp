// The certificates store: name keys, registered domains, and budgets derived
// from the orders history (table-driven, on a migrated SQLite file).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "certs/detail/store.hpp"
#include "storage/db.hpp"

namespace {

using namespace fc;
using namespace fc::certs::detail;

constexpr std::int64_t kNow = 1'700'000'000'000;
constexpr std::int64_t kHour = 3'600'000;

struct TempDb {
  std::filesystem::path dir;
  std::unique_ptr<storage::Conn> conn;
  TempDb() {
    char tmpl[] = "/tmp/fc-certs-store-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto c = storage::Conn::open((dir / "t.db").string(), storage::OpenMode::kReadWrite);
    REQUIRE(c);
    conn = std::move(c).value();
    REQUIRE(storage::migrate(*conn, kNow));
  }
  ~TempDb() {
    conn.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

CertRow row(const std::string& id, std::vector<std::string> names) {
  CertRow r;
  r.id = id;
  r.hostnames = names;
  r.names_key = names_key(names);
  return r;
}

void order(storage::Conn& c, const CertRow& r, const std::string& url, std::int64_t at, const char* result) {
  REQUIRE(record_order(c, "acme:x", r, url, at));
  if (std::string(result) != "pending") REQUIRE(finish_order(c, url, result, at));
}

}  // namespace

TEST_SUITE("certs") {
  TEST_CASE("names_key and registered_domain") {
    CHECK(names_key({"B.example.com", "a.example.com", "b.example.com"}) == "a.example.com,b.example.com");
    CHECK(registered_domain("a.b.example.com") == "example.com");
    CHECK(registered_domain("*.fleet.test") == "fleet.test");
    CHECK(registered_domain("localhost") == "localhost");
  }

  TEST_CASE("certificate row round trip, view never carries a key") {
    TempDb db;
    auto r = row("crt_1", {"a.example.com"});
    REQUIRE(insert_cert(*db.conn, r, kNow));
    r.status = "valid";
    r.version = 3;
    r.key_sealed = "sealed";
    r.renew = false;
    r.renew_after = kNow + 5;
    REQUIRE(update_cert(*db.conn, r, kNow));
    auto back = load_cert(*db.conn, "crt_1");
    REQUIRE(back);
    REQUIRE(back.value());
    CHECK(back.value()->version == 3);
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

  TEST_CASE("budgets from the orders history") {
    struct Case {
      const char* name;
      BudgetLimits limits;
      int orders_before;        // other names, valid, 1 h ago
      int same_names_valid;     // duplicates, 1 day ago
      int failed_same_name;     // invalid, 10 min ago
      bool renewal;
      bool allowed;
      const char* reason_has;
    };
    const Case cases[] = {
        {"empty history", {}, 0, 0, 0, false, true, ""},
        {"orders per 3h reached", {2, 50, 5, 5}, 2, 0, 0, false, false, "orders_per_3h exhausted (2/2)"},
        {"orders per 3h not reached", {3, 50, 5, 5}, 2, 0, 0, false, true, ""},
        {"duplicates reached", {300, 50, 2, 5}, 0, 2, 0, false, false, "duplicates_per_week"},
        {"failed validations reached", {300, 50, 5, 1}, 0, 0, 1, false, false, "failed_validations_per_hour"},
        {"per domain reached", {300, 2, 5, 5}, 2, 0, 0, false, false, "certs_per_domain_per_week for example.com"},
        {"per domain does not count renewals", {300, 2, 5, 5}, 2, 0, 0, true, true, ""},
    };
    for (const auto& tc : cases) {
      CAPTURE(tc.name);
      TempDb db;
      auto me = row("crt_me", {"www.example.com"});
      int n = 0;
      for (int i = 0; i < tc.orders_before; ++i)
        order(*db.conn, row("crt_o" + std::to_string(i), {"o" + std::to_string(i) + ".example.com"}),
              "https://ca/o/" + std::to_string(++n), kNow - kHour, "valid");
      for (int i = 0; i < tc.same_names_valid; ++i)
        order(*db.conn, me, "https://ca/o/" + std::to_string(++n), kNow - 24 * kHour, "valid");
      for (int i = 0; i < tc.failed_same_name; ++i)
        order(*db.conn, me, "https://ca/o/" + std::to_string(++n), kNow - kHour / 6, "invalid");
      auto v = check_budget(*db.conn, "acme:x", tc.limits, me, tc.renewal, kNow);
      REQUIRE(v);
      CHECK(v.value().allowed == tc.allowed);
      CHECK(v.value().reason.find(tc.reason_has) != std::string::npos);
      if (!tc.allowed) CHECK(v.value().retry_at > kNow);
    }
  }

  TEST_CASE("orders outside the window and of another issuer do not count") {
    TempDb db;
    auto me = row("crt_me", {"www.example.com"});
    order(*db.conn, me, "https://ca/o/1", kNow - 4 * kHour, "valid");
    REQUIRE(record_order(*db.conn, "acme:other", me, "https://other/o/2", kNow));
    auto v = check_budget(*db.conn, "acme:x", BudgetLimits{1, 50, 5, 5}, me, false, kNow);
    REQUIRE(v);
    CHECK(v.value().allowed);
    auto w = check_budget(*db.conn, "acme:other", BudgetLimits{1, 50, 5, 5}, me, false, kNow);
    REQUIRE(w);
    CHECK_FALSE(w.value().allowed);
    CHECK(w.value().retry_at == kNow + 3 * kHour);
  }
}
