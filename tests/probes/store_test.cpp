// probe_results on an in-memory database with every migration applied:
// save/load, the read other components use (`latest`), forgetting names no
// longer probed, and the counts behind /metrics.
#include <doctest/doctest.h>

#include "probes/detail/store.hpp"
#include "probes/probe.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

using namespace fc;
using namespace fc::probes;

namespace {

LiveResult probe_row(const std::string& host, LiveStatus s) {
  LiveResult r;
  r.hostname = host;
  r.workspace_id = "ws_1";
  r.status = s;
  r.step = s == LiveStatus::kLive ? Step::kHttp : Step::kCertificate;
  r.detail = "detail of " + host;
  r.failures = s == LiveStatus::kLive ? 0 : 2;
  r.fingerprint = "ab12";
  r.checked_at = 1700000000123;
  return r;
}

}  // namespace

TEST_SUITE("probes") {
  TEST_CASE("store: save, load and latest") {
    auto c = storage::test::open_migrated(":memory:");
    auto none = latest(*c, "acme.fleet.test");
    REQUIRE(none);
    CHECK_FALSE(none.value());

    REQUIRE(store::save(*c, probe_row("Acme.Fleet.Test", LiveStatus::kLive)));
    auto got = latest(*c, "ACME.fleet.test");
    REQUIRE(got);
    REQUIRE(got.value());
    CHECK(got.value()->hostname == "acme.fleet.test");
    CHECK(got.value()->status == LiveStatus::kLive);
    CHECK(got.value()->step == Step::kHttp);
    CHECK(got.value()->checked_at == 1700000000123);
    CHECK(got.value()->fingerprint == "ab12");

    // A second save replaces the row.
    REQUIRE(store::save(*c, probe_row("acme.fleet.test", LiveStatus::kFailing)));
    got = latest(*c, "acme.fleet.test");
    REQUIRE(got.value());
    CHECK(got.value()->status == LiveStatus::kFailing);
    CHECK(got.value()->failures == 2);
  }

  TEST_CASE("store: forget_except and count_by_status") {
    auto c = storage::test::open_migrated(":memory:");
    REQUIRE(store::save(*c, probe_row("a.fleet.test", LiveStatus::kLive)));
    REQUIRE(store::save(*c, probe_row("b.fleet.test", LiveStatus::kLive)));
    REQUIRE(store::save(*c, probe_row("chat.customer.test", LiveStatus::kFailing)));
    auto counts = store::count_by_status(*c);
    REQUIRE(counts);
    CHECK(counts.value().at("live") == 2);
    CHECK(counts.value().at("failing") == 1);

    REQUIRE(store::forget_except(*c, {"A.fleet.test", "chat.customer.test"}));
    CHECK(latest(*c, "a.fleet.test").value());
    CHECK_FALSE(latest(*c, "b.fleet.test").value());
    CHECK(latest(*c, "chat.customer.test").value());
    REQUIRE(store::forget_except(*c, {}));
    CHECK_FALSE(latest(*c, "a.fleet.test").value());
  }
}
