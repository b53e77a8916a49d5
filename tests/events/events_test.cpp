// The events outbox: ids, the global and per-workspace sequences, the reads
// the feed pages with, and that an event rolls back with its change (the
// group-commit writer's per-caller savepoint).
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "events/events.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

using namespace fc;
using fc::storage::test::kT0;
using fc::storage::test::scalar;

namespace {

events::NewEvent ev(const std::string& type, const std::string& ws) {
  return {type, ws, ws.empty() ? "eu-1" : ws, R"({"id":")" + ws + R"("})"};
}

}  // namespace

TEST_SUITE("events") {
  TEST_CASE("append: ids, global sequence and a gap-free sequence per workspace") {
    auto c = storage::test::open_migrated(":memory:");
    const char* order[] = {"ws_a", "ws_b", "ws_a", "", "ws_a", "ws_b"};
    for (const char* ws : order) REQUIRE(events::append(*c, ev("workspace.placed", ws), kT0));

    auto all = events::list(*c, {});
    REQUIRE(all);
    REQUIRE(all.value().size() == 6);
    std::set<std::string> ids;
    std::int64_t prev = 0;
    std::map<std::string, std::int64_t> per_ws;
    for (const auto& e : all.value()) {
      CHECK(e.seq > prev);
      prev = e.seq;
      CHECK(e.id.starts_with("evt_"));
      ids.insert(e.id);
      CHECK(e.created_at == kT0);
      if (e.workspace_id.empty()) {
        CHECK(e.workspace_seq == 0);
        continue;
      }
      CHECK(e.workspace_seq == ++per_ws[e.workspace_id]);
    }
    CHECK(ids.size() == 6);
    CHECK(per_ws["ws_a"] == 3);
    CHECK(per_ws["ws_b"] == 2);
    CHECK(events::last_seq(*c).value() == prev);
    auto one = events::get(*c, all.value()[2].id);
    REQUIRE(one.value());
    CHECK(one.value()->workspace_seq == 2);
    CHECK(one.value()->data_json == R"({"id":"ws_a"})");
  }

  TEST_CASE("append_first: a new workspace's events read as append's would") {
    auto c = storage::test::open_migrated(":memory:");
    REQUIRE(events::append(*c, ev("workspace.placed", "ws_old"), kT0));
    const std::string view = R"({"id":"ws_new"})";
    REQUIRE(events::append_first(
        *c, "ws_new", {{"workspace.created", view}, {"workspace.placed", view}}, kT0 + 1));
    REQUIRE(events::append_first(*c, "ws_one", {{"workspace.created", ""}}, kT0 + 2));
    REQUIRE(events::append_first(*c, "ws_three",
                                 {{"a.one", "{}"}, {"a.two", "{}"}, {"a.three", view}}, kT0 + 3));
    // Later events continue the per-workspace sequence from what it wrote.
    REQUIRE(events::append(*c, ev("workspace.running", "ws_new"), kT0 + 4));

    auto all = events::list(*c, {});
    REQUIRE(all);
    const auto& e = all.value();
    REQUIRE(e.size() == 8);
    for (std::size_t k = 1; k < e.size(); ++k) {
      CHECK(e[k].seq > e[k - 1].seq);
      CHECK(e[k].id > e[k - 1].id);  // ids in sequence order, also within one INSERT
    }
    CHECK(e[1].type == "workspace.created");
    CHECK(e[1].workspace_id == "ws_new");
    CHECK(e[1].subject == "ws_new");
    CHECK(e[1].workspace_seq == 1);
    CHECK(e[1].data_json == view);
    CHECK(e[1].created_at == kT0 + 1);
    CHECK(e[2].type == "workspace.placed");
    CHECK(e[2].workspace_seq == 2);
    CHECK(e[2].data_json == view);
    CHECK(e[3].workspace_seq == 1);
    CHECK(e[3].data_json == "{}");  // empty data is stored as {} (as append does)
    CHECK(e[4].type == "a.one");
    CHECK(e[6].type == "a.three");
    CHECK(e[6].workspace_seq == 3);
    CHECK(e[7].type == "workspace.running");
    CHECK(e[7].workspace_seq == 3);
  }

  TEST_CASE("list: after, type (exact and family), workspace and limit") {
    auto c = storage::test::open_migrated(":memory:");
    REQUIRE(events::append(*c, ev("workspace.created", "ws_a"), kT0));
    REQUIRE(events::append(*c, ev("domain.verified", "ws_a"), kT0));
    REQUIRE(events::append(*c, ev("workspace.placed", "ws_b"), kT0));
    REQUIRE(events::append(*c, ev("region.unhealthy", ""), kT0));
    CHECK(events::list(*c, {.type = "workspace.*"}).value().size() == 2);
    CHECK(events::list(*c, {.type = "workspace.placed"}).value().size() == 1);
    CHECK(events::list(*c, {.type = "*"}).value().size() == 4);
    CHECK(events::list(*c, {.workspace_id = "ws_a"}).value().size() == 2);
    auto first2 = events::list(*c, {.limit = 2}).value();
    REQUIRE(first2.size() == 2);
    auto rest = events::list(*c, {.after = first2.back().seq}).value();
    REQUIRE(rest.size() == 2);
    CHECK(rest.front().type == "workspace.placed");
    // latest: the newest `limit` matches, still in seq order.
    auto last2 = events::list(*c, {.limit = 2, .latest = true}).value();
    REQUIRE(last2.size() == 2);
    CHECK(last2[0].type == "workspace.placed");
    CHECK(last2[1].type == "region.unhealthy");
    CHECK(last2[0].seq < last2[1].seq);
    auto ws_a = events::list(*c, {.workspace_id = "ws_a", .limit = 1, .latest = true}).value();
    REQUIRE(ws_a.size() == 1);
    CHECK(ws_a[0].type == "domain.verified");
  }

  TEST_CASE(
      "newest_by_subject: per subject the newest event of one type, as newest_about finds it") {
    auto c = storage::test::open_migrated(":memory:");
    const auto region = [](const std::string& type, const std::string& id) {
      return events::NewEvent{type, "", id, R"({"id":")" + id + R"("})"};
    };
    REQUIRE(events::append(*c, region("region.healthy", "eu"), kT0));
    REQUIRE(events::append(*c, region("region.healthy", "us"), kT0));
    REQUIRE(events::append(*c, ev("workspace.created", "ws_a"), kT0));
    REQUIRE(events::append(*c, region("region.unhealthy", "eu"), kT0));
    REQUIRE(events::append(*c, region("region.healthy", "eu"), kT0));
    REQUIRE(events::append(*c, region("region.unhealthy", "ap"), kT0));
    auto healthy = events::newest_by_subject(*c, "region.healthy");
    REQUIRE(healthy);
    std::map<std::string, std::int64_t> h(healthy.value().begin(), healthy.value().end());
    REQUIRE(h.size() == 2);  // eu, us: not ap, not the workspace
    auto newest = events::newest_about(*c, {"eu", "us", "ap", "ws_a", "none"}, {"region.healthy"});
    REQUIRE(newest);
    REQUIRE(newest.value().size() == 2);
    for (const char* id : {"eu", "us"}) CHECK_MESSAGE(h[id] == newest.value().at(id).seq, id);
    auto unhealthy = events::newest_by_subject(*c, "region.unhealthy");
    REQUIRE(unhealthy);
    CHECK(unhealthy.value().size() == 2);  // eu (older than its healthy), ap
    CHECK(events::newest_by_subject(*c, "region.gone").value().empty());
  }

  TEST_CASE("newest_about: per subject the newest event among several types, others ignored") {
    auto c = storage::test::open_migrated(":memory:");
    const auto cert = [](const std::string& type, const std::string& id, int version) {
      return events::NewEvent{type, "ws_a", id, R"({"version":)" + std::to_string(version) + "}"};
    };
    const std::vector<std::string> types = {"certificate.issued", "certificate.renewed",
                                            "certificate.expiring"};
    REQUIRE(events::append(*c, cert("certificate.issued", "crt_1", 1), kT0));
    REQUIRE(events::append(*c, cert("certificate.issued", "crt_2", 1), kT0));
    REQUIRE(events::append(*c, cert("certificate.expiring", "crt_1", 1), kT0));
    REQUIRE(events::append(*c, cert("certificate.renewed", "crt_1", 2), kT0));
    REQUIRE(events::append(*c, cert("certificate.expiring", "crt_2", 1), kT0));
    // Another family about the same subject is not one of the types asked for.
    REQUIRE(events::append(*c, cert("domain.failed", "crt_2", 9), kT0));
    REQUIRE(events::append(*c, cert("certificate.issued", "crt_3", 1), kT0));
    auto got = events::newest_about(*c, {"crt_1", "crt_2", "crt_4"}, types);
    REQUIRE(got);
    const auto& m = got.value();
    REQUIRE(m.size() == 2);  // crt_3 not asked for, crt_4 has none
    CHECK(m.at("crt_1").type == "certificate.renewed");
    CHECK(m.at("crt_1").data_json == R"({"version":2})");
    CHECK(m.at("crt_2").type == "certificate.expiring");
    CHECK(events::newest_about(*c, {}, types).value().empty());
    CHECK(events::newest_about(*c, {"crt_1"}, {}).value().empty());
  }

  TEST_CASE("a rolled-back change leaves no event; its sequence is not skipped") {
    storage::test::TempDir dir;
    storage::test::open_migrated(dir.file("e.db"));
    auto db = storage::Database::open({dir.file("e.db")});
    REQUIRE(db);
    auto& d = *db.value();
    REQUIRE(d.write_sync(
        [](storage::Conn& c) { return events::append(c, ev("workspace.created", "ws_a"), kT0); }));
    auto failed = d.write_sync([](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(events::append(c, ev("workspace.placed", "ws_a"), kT0));
      return make_error(Code::kConflict, "the change failed after its event was appended");
    });
    CHECK_FALSE(failed);
    REQUIRE(d.write_sync(
        [](storage::Conn& c) { return events::append(c, ev("workspace.deleted", "ws_a"), kT0); }));
    auto all = events::list(d.read(), {}).value();
    REQUIRE(all.size() == 2);
    CHECK(all[0].type == "workspace.created");
    CHECK(all[1].type == "workspace.deleted");
    CHECK(all[1].workspace_seq == 2);
    CHECK(scalar(d.read(), "SELECT count(*) FROM events WHERE type = 'workspace.placed'") == 0);
    d.close();
  }

  TEST_CASE("valid_type_filter") {
    for (const char* ok : {"", "*", "workspace.created", "workspace.*", "usage.hourly", "a_b.c"})
      CHECK_MESSAGE(events::valid_type_filter(ok), ok);
    for (const char* bad : {".", "workspace.", ".created", "Workspace.created", "a..b", "a b",
                            "*.x", "workspace.**", "x;drop"})
      CHECK_FALSE_MESSAGE(events::valid_type_filter(bad), bad);
  }
}
