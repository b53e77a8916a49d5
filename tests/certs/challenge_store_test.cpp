// Challenge answers in the database (certs/challenge_store.cpp) on a migrated
// SQLite file: HTTP-01 tokens, external DNS-01 TXT bookkeeping, dns_challenges.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "certs/detail/store.hpp"
#include "certs/test_util.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

namespace {

using namespace fc;
using namespace fc::certs::detail;

using fc::certs::test::kNow;

// A migrated database file in a private directory.
struct TempDb {
  storage::test::TempDir dir;
  std::unique_ptr<storage::Conn> conn = storage::test::open_migrated(dir.file("t.db"));
};

std::int64_t count(storage::Conn& c, const char* sql) {
  auto s = c.prepare(sql);
  REQUIRE(s);
  auto row = s.value().step();
  REQUIRE(row);
  return s.value().col_int(0);
}

}  // namespace

TEST_SUITE("certs") {
  TEST_CASE("HTTP-01 tokens: put, answer, replace, delete by token / certificate / expiry") {
    TempDb db;
    auto& c = *db.conn;
    REQUIRE(put_http_token(c, "t1", "t1.ka", "crt_1", kNow + 1000));
    REQUIRE(put_http_token(c, "t1", "t1.ka2", "crt_1", kNow + 1000));  // same token: replaced
    REQUIRE(put_http_token(c, "t2", "t2.ka", "crt_2", kNow - 1));      // already expired
    REQUIRE(put_http_token(c, "t3", "t3.ka", "crt_3", kNow + 1000));
    CHECK(http_token_answer(c, "t1").value() == std::optional<std::string>("t1.ka2"));
    CHECK_FALSE(http_token_answer(c, "nope").value());
    REQUIRE(delete_http_token(c, "t3"));
    CHECK_FALSE(http_token_answer(c, "t3").value());
    REQUIRE(delete_http_tokens(c, "crt_1", kNow));  // crt_1's and the expired t2
    CHECK(count(c, "SELECT count(*) FROM acme_http_tokens") == 0);
  }

  TEST_CASE("external DNS-01 TXT: remembered, expired oldest first, forgotten") {
    TempDb db;
    auto& c = *db.conn;
    const ExternalTxt a{"127.0.0.1:53", "customer.test", "_acme-challenge.a.customer.test", "v1"};
    const ExternalTxt b{"127.0.0.1:53", "customer.test", "_acme-challenge.b.customer.test", "v2"};
    REQUIRE(remember_external_txt(c, a, kNow + 10));
    REQUIRE(remember_external_txt(c, b, kNow + 5));
    REQUIRE(remember_external_txt(c, a, kNow + 1));  // same value again: new expiry
    CHECK(expired_external_txt(c, kNow, 50).value().empty());
    auto due = expired_external_txt(c, kNow + 5, 50);
    REQUIRE(due);
    REQUIRE(due.value().size() == 2);
    CHECK(due.value()[0].name == a.name);
    CHECK(due.value()[1].value == "v2");
    CHECK(expired_external_txt(c, kNow + 5, 1).value().size() == 1);
    REQUIRE(forget_external_txt(c, a));
    CHECK(count(c, "SELECT count(*) FROM cert_dns01_external") == 1);
  }
}
