// api's own tables (tokens, idempotency_keys) through their store functions,
// on an in-memory database with every migration applied.
#include <doctest/doctest.h>

#include "api/detail/idempotency_store.hpp"
#include "api/detail/token_store.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

using namespace fc;
using namespace fc::api;
using namespace fc::api::detail;

namespace {

// A migrated in-memory database (the storage tests' helper).
std::unique_ptr<storage::Conn> fresh_db() { return storage::test::open_migrated(":memory:"); }

}  // namespace

TEST_SUITE("api") {
  TEST_CASE("token store: insert, find by hash, list, last use, delete") {
    auto db = fresh_db();
    auto& c = *db;
    CHECK(count_tokens(c).value() == 0);
    REQUIRE(insert_token(c, TokenRecord{"tok_a", TokenKind::kAdmin, "h_a", "", "", 10, {}, ""}));
    REQUIRE(insert_token(c, TokenRecord{"tok_b", TokenKind::kAgent, "h_b", "eu", "", 20, {}, ""}));
    CHECK(count_tokens(c).value() == 2);

    auto b = find_token(c, "h_b");
    REQUIRE(b);
    REQUIRE(b.value());
    CHECK(b.value()->id == "tok_b");
    CHECK(b.value()->kind == TokenKind::kAgent);
    CHECK(b.value()->region == "eu");
    CHECK(b.value()->workspace_id.empty());
    CHECK_FALSE(b.value()->last_used_at);
    CHECK_FALSE(find_token(c, "h_none").value());

    REQUIRE(write_last_used(c, {{"tok_a", 500}}));
    auto all = load_tokens(c);
    REQUIRE(all);
    REQUIRE(all.value().size() == 2);
    for (const auto& t : all.value()) {
      if (t.id == "tok_a") CHECK(t.last_used_at == std::optional<std::int64_t>(500));
    }

    CHECK(delete_token(c, "tok_a").value());
    CHECK_FALSE(delete_token(c, "tok_a").value());
    CHECK(count_tokens(c).value() == 1);
  }

  TEST_CASE("idempotency store: a key per scope, stored once") {
    auto db = fresh_db();
    auto& c = *db;
    CHECK_FALSE(find_idempotency_key(c, "tok_a POST /v1/workspaces", "k1").value());
    REQUIRE(insert_idempotency_key(c, "tok_a POST /v1/workspaces", "k1",
                                   IdempotencyRecord{"sha", 201, "{\"id\":\"ws_1\"}"}, 1000));
    auto found = find_idempotency_key(c, "tok_a POST /v1/workspaces", "k1");
    REQUIRE(found);
    REQUIRE(found.value());
    CHECK(found.value()->body_sha256 == "sha");
    CHECK(found.value()->status == 201);
    CHECK(found.value()->response == "{\"id\":\"ws_1\"}");
    CHECK_FALSE(find_idempotency_key(c, "tok_b POST /v1/workspaces", "k1").value());
    CHECK_FALSE(insert_idempotency_key(c, "tok_a POST /v1/workspaces", "k1",
                                       IdempotencyRecord{"other", 201, "{}"}, 2000));
  }
}
