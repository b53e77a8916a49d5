// The dns component's tables (dns/detail/store.hpp) on an in-memory database
// with every migration applied: the serial, challenges and provider records.
#include <doctest/doctest.h>

#include "dns/detail/store.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

using namespace fc;
using namespace fc::dns;

namespace {

// A migrated in-memory database (the storage tests' helper).
std::unique_ptr<storage::Conn> fresh_db() { return storage::test::open_migrated(":memory:"); }

}  // namespace

TEST_SUITE("dns") {
  TEST_CASE("store: the SOA serial starts at 1 and strictly increases") {
    auto c = fresh_db();
    auto a = detail::next_serial(*c);
    auto b = detail::next_serial(*c);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a.value() == 1);
    CHECK(b.value() == 2);
  }

  TEST_CASE("store: challenges are read until they expire, the earliest expiry reported") {
    auto c = fresh_db();
    REQUIRE(detail::put_challenge(*c, "_acme-challenge.a.test", "v1", 0, 5000));
    REQUIRE(detail::put_challenge(*c, "_acme-challenge.a.test", "v1", 0, 9000));  // replaced
    REQUIRE(detail::put_challenge(*c, "_acme-challenge.b.test", "v2", 0, 7000));
    std::optional<std::int64_t> next;
    auto rows = detail::read_challenges(*c, 6000, &next);
    REQUIRE(rows);
    CHECK(rows.value().size() == 2);
    CHECK(next == 7000);
    REQUIRE(detail::remove_challenge(*c, "_acme-challenge.a.test", "v1"));
    next.reset();
    rows = detail::read_challenges(*c, 6000, &next);
    REQUIRE(rows);
    REQUIRE(rows.value().size() == 1);
    CHECK(rows.value()[0].name == "_acme-challenge.b.test");
  }

  TEST_CASE("store: provider records go pending, then synced once pushed") {
    auto c = fresh_db();
    const RrKey k{"www.c.test", "A"};
    REQUIRE(detail::upsert_provider_record(*c, "p", k, 60, std::string(R"(["192.0.2.1"])"), 1));
    auto stored = detail::provider_records(*c, "p");
    REQUIRE(stored);
    CHECK(stored.value().unsynced);
    CHECK(stored.value().desired.at(k).data == std::vector<std::string>{"192.0.2.1"});
    auto rows = detail::unsynced_rows(*c, "p", 10);
    REQUIRE(rows);
    REQUIRE(rows.value().size() == 1);
    REQUIRE(detail::mark_synced(*c, "p", rows.value(), 2));
    stored = detail::provider_records(*c, "p");
    REQUIRE(stored);
    CHECK_FALSE(stored.value().unsynced);
    rows = detail::unsynced_rows(*c, "p", 10);
    REQUIRE(rows);
    CHECK(rows.value().empty());
  }
}
