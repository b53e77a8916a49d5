// The domains table and what the assignment gets from it, on an in-memory
// database with every migration applied.
#include <doctest/doctest.h>

#include <algorithm>

#include "domains/detail/store.hpp"
#include "domains/detail/sweep.hpp"
#include "domains/service.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

using namespace fc;
using namespace fc::domains;

namespace {

// A migrated in-memory database (the storage tests' helper).
std::unique_ptr<storage::Conn> fresh_db() { return storage::test::open_migrated(":memory:"); }

Domain make(const std::string& id, const std::string& host, const std::string& ws) {
  Domain d;
  d.id = id;
  d.hostname = host;
  d.workspace_id = ws;
  d.token = "fc-verify=" + id;
  d.created_at = d.updated_at = 1000;
  return d;
}

void add_workspace(storage::Conn& c, const std::string& id, const std::string& state,
                   std::int64_t observed_gen, const std::string& phase) {
  REQUIRE(c.exec(
      "INSERT OR IGNORE INTO regions(id, name, cap_memory_mib, cap_cpu_millis, cap_workspaces,"
      " created_at, updated_at) VALUES('r1', 'r1', 100, 100, 10, 0, 0)"));
  auto s = c.prepare(
      "INSERT INTO workspaces(id, name, region, state, memory_mib, cpu_millis, observed_generation,"
      " observed_phase, created_at, updated_at) VALUES(?1, ?1, 'r1', ?2, 1, 1, ?3, ?4, 0, 0)");
  REQUIRE(s);
  REQUIRE(s.value().bind_all(id, state, observed_gen, phase).run());
}

// dom_1 of a live workspace, dom_2 of a deleting one, dom_3 of one that is gone.
void add_sweep_claims(storage::Conn& c) {
  add_workspace(c, "ws_live", "scheduled", 1, "running");
  add_workspace(c, "ws_dying", "deleting", 1, "running");
  REQUIRE(store::insert(c, make("dom_1", "a.example", "ws_live")));
  REQUIRE(store::insert(c, make("dom_2", "b.example", "ws_dying")));
  REQUIRE(store::insert(c, make("dom_3", "c.example", "ws_gone")));
}

}  // namespace

TEST_SUITE("domains") {
  TEST_CASE("store round-trips a domain and lists live claims") {
    auto c = fresh_db();
    auto d = make("dom_1", "a.example", "ws_1");
    d.verified_at = 2000;
    d.certificate_id = "crt_1";
    d.last_error = "x";
    REQUIRE(store::insert(*c, d));
    auto back = store::find_by_id(*c, "dom_1");
    REQUIRE(back);
    REQUIRE(back.value());
    CHECK(back.value()->hostname == "a.example");
    CHECK(back.value()->verified_at == 2000);
    CHECK(back.value()->certificate_id == std::optional<std::string>("crt_1"));
    CHECK(back.value()->state == State::kPendingVerification);
    // Pending claims of several workspaces coexist; a second verified one does not.
    REQUIRE(store::insert(*c, make("dom_2", "a.example", "ws_2")));
    auto v3 = make("dom_3", "a.example", "ws_3");
    v3.verified_at = 3000;
    auto dup = store::insert(*c, v3);
    REQUIRE_FALSE(dup);
    CHECK(dup.error().code == Code::kConflict);
    CHECK(dup.error().is(fc::storage::Errc::kConstraint));
    // One live claim per workspace and hostname.
    CHECK_FALSE(store::insert(*c, make("dom_4", "a.example", "ws_2")));
    CHECK(store::live_for_host(*c, "a.example").value().size() == 2);
  }

  TEST_CASE("reservations outlive deletion until reserved_until") {
    auto c = fresh_db();
    auto d = make("dom_1", "a.example", "ws_1");
    d.verified_at = 1500;
    d.deleted_at = 2000;
    d.state = State::kDeleted;
    d.reserved_until = 5000;
    REQUIRE(store::insert(*c, d));
    CHECK(store::live_for_host(*c, "a.example").value().empty());
    CHECK(store::reservations(*c, "a.example", 4999).value().size() == 1);
    CHECK(store::reservations(*c, "a.example", 5000).value().empty());
    // A deleted verified row no longer blocks a new verified claim.
    auto n = make("dom_2", "a.example", "ws_2");
    n.verified_at = 6000;
    CHECK(store::insert(*c, n));
    REQUIRE(store::purge_reservations(*c, 5000));
    CHECK_FALSE(store::find_by_id(*c, "dom_1").value());
  }

  TEST_CASE("assignment extras: routed hostnames in, unrouted certificates withheld") {
    auto c = fresh_db();
    auto a = make("dom_1", "a.example", "ws_1");
    a.routed = true;
    a.certificate_id = "crt_a";
    auto b = make("dom_2", "b.example", "ws_1");
    b.routed = false;  // moved past the grace period
    b.certificate_id = "crt_b";
    auto other = make("dom_3", "c.example", "ws_2");
    other.routed = true;
    for (const auto& d : {a, b, other}) REQUIRE(store::insert(*c, d));
    std::vector<std::string> hosts{"ws1.fleet.test"}, withheld;
    REQUIRE(Service::assignment_extras(*c, "ws_1", hosts, withheld));
    CHECK(hosts == std::vector<std::string>{"ws1.fleet.test", "a.example"});
    CHECK(withheld == std::vector<std::string>{"crt_b"});
  }

  TEST_CASE("issuing domains become due for active once their generation runs") {
    auto c = fresh_db();
    add_workspace(*c, "ws_1", "scheduled", 4, "running");
    add_workspace(*c, "ws_2", "scheduled", 2, "running");
    auto ready = make("dom_1", "a.example", "ws_1");
    ready.state = State::kIssuing;
    ready.cert_generation = 4;
    auto early = make("dom_2", "b.example", "ws_2");
    early.state = State::kIssuing;
    early.cert_generation = 3;  // the agent runs generation 2 only
    auto no_cert = make("dom_3", "c.example", "ws_1");
    no_cert.state = State::kIssuing;
    for (const auto& d : {ready, early, no_cert}) REQUIRE(store::insert(*c, d));
    auto due = sweep::issuing_running(*c);
    REQUIRE(due);
    REQUIRE(due.value().size() == 1);
    CHECK(due.value()[0].id == "dom_1");
  }

  TEST_CASE("a domain is not due for active while its generation is not running (issue #18)") {
    auto c = fresh_db();
    const char* phases[] = {"provisioning", "progressing", "failed",
                            "degraded",     "suspended",   "running"};
    for (int i = 0; i < 6; ++i) {
      std::string ws = "ws_" + std::to_string(i);
      add_workspace(*c, ws, "scheduled", 4, phases[i]);
      auto d = make("dom_" + std::to_string(i), "p" + std::to_string(i) + ".example", ws);
      d.state = State::kIssuing;
      d.cert_generation = 4;
      REQUIRE(store::insert(*c, d));
    }
    auto due = sweep::issuing_running(*c);
    REQUIRE(due);
    REQUIRE(due.value().size() == 1);
    CHECK(due.value()[0].id == "dom_5");  // only the running one
  }

  TEST_CASE("claims of missing or deleting workspaces are orphaned") {
    auto c = fresh_db();
    add_sweep_claims(*c);
    auto o = sweep::orphaned(*c);
    REQUIRE(o);
    std::vector<std::string> ids;
    for (const auto& d : o.value()) ids.push_back(d.id);
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::string>{"dom_2", "dom_3"});
  }

  TEST_CASE("the incremental sweep: deleting workspaces and the removed ones that are gone") {
    // After the one full sweep at start, the 5 s sweep reads only the claims
    // of workspaces being deleted and of those whose row the scheduler
    // removed since (BENCHMARKS.md "Scale"): a claim of a workspace that
    // vanished without being reported is left to the next start's full sweep.
    auto c = fresh_db();
    add_sweep_claims(*c);
    REQUIRE(store::insert(*c, make("dom_4", "d.example", "ws_unreported")));
    auto ids_of = [](const std::vector<Domain>& ds) {
      std::vector<std::string> ids;
      for (const auto& d : ds) ids.push_back(d.id);
      std::sort(ids.begin(), ids.end());
      return ids;
    };
    auto r = sweep::released(*c, {});
    REQUIRE(r);
    CHECK(ids_of(r.value()) == std::vector<std::string>{"dom_2"});
    // ws_live "removed" but still there (a region's scope, a race): kept.
    r = sweep::released(*c, {"ws_gone", "ws_live", "ws_gone"});
    REQUIRE(r);
    CHECK(ids_of(r.value()) == std::vector<std::string>{"dom_2", "dom_3"});
    auto all = sweep::orphaned(*c);
    REQUIRE(all);
    CHECK(ids_of(all.value()) == std::vector<std::string>{"dom_2", "dom_3", "dom_4"});
  }

  TEST_CASE("the sweep asks the scheduler once for many workspaces") {
    auto c = fresh_db();
    // 300 live workspaces (every third deleting), 600 claims, plus claims of
    // 50 workspaces that never existed; half the claims issuing generation 2.
    for (int w = 0; w < 300; ++w) {
      add_workspace(*c, "ws_" + std::to_string(w), w % 3 == 0 ? "deleting" : "scheduled",
                    w % 2 == 0 ? 2 : 1, "running");
    }
    std::size_t expect_orphaned = 0, expect_running = 0;
    for (int i = 0; i < 700; ++i) {
      int w = i < 600 ? i % 300 : 300 + i % 50;
      auto d = make("dom_" + std::to_string(i), "h" + std::to_string(i) + ".example",
                    "ws_" + std::to_string(w));
      if (i % 2 == 0) {
        d.state = State::kIssuing;
        d.cert_generation = 2;
      }
      REQUIRE(store::insert(*c, d));
      bool exists = w < 300;
      if (!exists || w % 3 == 0) ++expect_orphaned;
      if (exists && i % 2 == 0 && w % 2 == 0) ++expect_running;
    }
    auto gone = sweep::orphaned(*c);
    REQUIRE(gone);
    CHECK(gone.value().size() == expect_orphaned);
    // The start-up sweep's slices (7 workspaces each, as the daemon's 500)
    // find the same claims, each once, and end with an empty `last`.
    std::vector<std::string> whole, sliced;
    for (const auto& d : gone.value()) whole.push_back(d.id);
    std::string after, last;
    int slices = 0;
    do {
      auto part = sweep::orphaned_slice(*c, after, 7, &last);
      REQUIRE(part);
      for (const auto& d : part.value()) sliced.push_back(d.id);
      after = last;
      ++slices;
    } while (!last.empty());
    std::sort(whole.begin(), whole.end());
    std::sort(sliced.begin(), sliced.end());
    CHECK(sliced == whole);
    CHECK(slices == (350 + 6) / 7 + 1);  // 350 workspaces with a claim, then the empty one
    auto running = sweep::issuing_running(*c);
    REQUIRE(running);
    CHECK(running.value().size() == expect_running);
  }

  TEST_CASE("verifier schedule: earliest live domains first, deleted ones never") {
    auto c = fresh_db();
    for (int i = 1; i <= 4; ++i) {
      auto id = "dom_" + std::to_string(i);
      REQUIRE(store::insert(*c, make(id, "h" + std::to_string(i) + ".example", "ws_1")));
    }
    CHECK(store::earliest(*c, 10).value().empty());  // never scheduled: not due
    REQUIRE(store::check_at(*c, "dom_1", 300));
    REQUIRE(store::check_at(*c, "dom_2", 100));
    REQUIRE(store::check_at(*c, "dom_3", 200));
    REQUIRE(store::check_at(*c, "dom_4", 50));
    // check_by only moves a check earlier (POST …/check, a claim).
    REQUIRE(store::check_by(*c, "dom_1", 400));
    REQUIRE(store::check_by(*c, "dom_3", 10));
    auto e = store::earliest(*c, 3).value();
    REQUIRE(e.size() == 3);
    CHECK(e[0] == std::make_pair(std::string("dom_3"), std::int64_t{10}));
    CHECK(e[1] == std::make_pair(std::string("dom_4"), std::int64_t{50}));
    CHECK(e[2] == std::make_pair(std::string("dom_2"), std::int64_t{100}));
    // A deleted domain leaves the schedule and cannot be put back on it.
    auto d4 = store::find_by_id(*c, "dom_4").value().value();
    d4.deleted_at = 60;
    d4.state = State::kDeleted;
    REQUIRE(store::update(*c, d4));
    REQUIRE(store::check_at(*c, "dom_4", 1));
    e = store::earliest(*c, 10).value();
    REQUIRE(e.size() == 3);
    CHECK(e[1].first == "dom_2");
    CHECK(e[2] == std::make_pair(std::string("dom_1"), std::int64_t{300}));
  }

}  // TEST_SUITE
