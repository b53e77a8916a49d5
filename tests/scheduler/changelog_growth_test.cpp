// The assignment changelog under custom-domain churn (issue #16 item 4): the
// real scheduler service with the real domains service as its assignment
// extras, on an SQLite file (group-committed writer, fsync), driven on one
// io_context. Time that matters to retention is a ManualClock.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/asio.hpp"
#include "domains/detail/store.hpp"
#include "domains/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"

using namespace fc;
using namespace std::chrono_literals;
namespace sch = fc::scheduler;
using nlohmann::json;

namespace {

constexpr const char* kGrowthRegion = "r1";

// One database file, the scheduler and the domains service wired as in the daemon.
struct GrowthRig {
  storage::test::TempDir dir;
  ManualClock clock;
  asio::io_context io;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<sch::Service> svc;
  std::unique_ptr<domains::Service> doms;

  explicit GrowthRig(sch::Service::Options o) {
    storage::test::open_migrated(dir.file("fc.db")).reset();
    auto d = storage::Database::open({dir.file("fc.db")});
    REQUIRE(d);
    db = std::move(d).value();
    start(o);
  }
  void start(sch::Service::Options o) {
    svc = std::make_unique<sch::Service>(io, *db, clock, o);
    REQUIRE(svc->load());
    doms = std::make_unique<domains::Service>(io, *db, clock, *svc, domains::Options{});
    svc->set_assignment_extras(doms.get());
  }
  // A new service on the same database, as after a daemon restart.
  void restart(sch::Service::Options o) {
    svc->set_assignment_extras(nullptr);
    doms.reset();
    svc.reset();
    start(o);
  }
  ~GrowthRig() {
    svc->set_assignment_extras(nullptr);
    db->close();
  }
};

// Runs `a` to completion on the rig's io_context (bounded by `limit`).
template <class T>
awaitable<void> growth_store_result(awaitable<T> a, std::optional<T>* out) {
  out->emplace(co_await std::move(a));
}
template <class T>
T growth_run(GrowthRig& rig, awaitable<T> a, std::chrono::seconds limit = 60s) {
  std::optional<T> out;
  asio::co_spawn(rig.io, growth_store_result(std::move(a), &out),
                 [&](std::exception_ptr) { rig.io.stop(); });
  rig.io.restart();
  rig.io.run_for(limit);
  REQUIRE(out.has_value());
  return std::move(*out);
}

sch::Workspace growth_workspace(GrowthRig& rig, const std::string& name) {
  rig.svc->heartbeat(kGrowthRegion, "agent-1", "test");
  sch::WorkspaceInput in;
  in.name = name;
  in.request.resources = {1, 1};
  auto w = growth_run(rig, rig.svc->create_workspace(in, nullptr, nullptr));
  REQUIRE(w);
  return w.value();
}

void growth_region(GrowthRig& rig) {
  sch::RegionInput r;
  r.id = kGrowthRegion;
  r.capacity = {1'000'000, 1'000'000, 100'000};
  REQUIRE(growth_run(rig, rig.svc->create_region(r)));
}

// `n` verified, routed claims on `ws`, inserted in one transaction.
void growth_domains(GrowthRig& rig, const std::string& ws, int n) {
  auto st = rig.db->write_sync([&](storage::Conn& c) -> Status {
    for (int k = 0; k < n; ++k) {
      domains::Domain d;
      d.id = "dom_" + std::to_string(100000 + k);
      d.hostname = "h" + std::to_string(k) + ".customer.example";
      d.workspace_id = ws;
      d.state = domains::State::kActive;
      d.token = "fc-verify=" + d.id;
      d.verified_at = d.created_at = d.updated_at = rig.clock.now_ms();
      d.routing_ok = d.routed = true;
      BOOST_OUTCOME_TRY(domains::store::insert(c, d));
    }
    return ok();
  });
  REQUIRE(st);
}

awaitable<void> growth_refresh_one(GrowthRig* rig, std::string ws, int* pending,
                                   asio::steady_timer* all_done) {
  auto st = co_await rig->svc->refresh_assignment(ws);
  REQUIRE(st);
  if (--*pending == 0) all_done->cancel();
}

struct ChurnCounts {
  int refreshes = 0;               // refresh_assignment calls (what domains asks for)
  int polls = 0;                   // slow agent polls
  int gone = 0;                    // 410s it got
  std::size_t most_hostnames = 0;  // in one served assignment
  bool done = false;
};

// A slow agent: long-polls the region like GET /v1/agent/assignments?wait=,
// then spends `nap` (manual-clock time: applying 10,000 hostnames) before the
// next poll; a 410 makes it re-list from 0.
awaitable<void> growth_slow_agent(GrowthRig* rig, std::chrono::milliseconds nap, ChurnCounts* n) {
  std::int64_t since = 0;
  asio::steady_timer t(rig->io);
  while (!n->done) {
    auto page = rig->svc->assignments(kGrowthRegion, since);
    ++n->polls;
    if (!page && page.error().code == Code::kGone) {
      ++n->gone;
      since = 0;
      continue;
    }
    REQUIRE(page);
    since = page.value().revision;
    for (const auto& a : page.value().assignments)
      n->most_hostnames = std::max(n->most_hostnames, a.value("hostnames", json()).size());
    if (page.value().assignments.empty())
      co_await rig->svc->wait_for_change(kGrowthRegion, since, 5ms);
    const auto wake = rig->clock.now() + nap;
    while (!n->done && rig->clock.now() < wake) {
      t.expires_after(1ms);
      co_await t.async_wait(use_awaitable);
    }
  }
}

// What domains does for 10,000 claims: a verification and then a certificate
// delivery for each, `concurrency` at a time (domains.max_concurrent_checks),
// each wave taking `wave` of manual-clock time; every `tomb_every` calls a
// short-lived workspace is force-deleted (a tombstone in the log). Stops early
// once the agent got a 410 (the test has failed then).
awaitable<void> growth_churn(GrowthRig* rig, std::string ws, int calls, int concurrency,
                             std::chrono::milliseconds wave, int tomb_every, ChurnCounts* n) {
  asio::steady_timer all_done(rig->io, asio::steady_timer::time_point::max());
  for (int k = 0; k < calls && n->gone == 0; k += concurrency) {
    int pending = concurrency;
    for (int j = 0; j < concurrency; ++j)
      asio::co_spawn(rig->io, growth_refresh_one(rig, ws, &pending, &all_done), asio::detached);
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(use_awaitable, ec));
    n->refreshes += concurrency;
    rig->clock.advance(wave);
    if (k % tomb_every == 0) {
      rig->svc->heartbeat(kGrowthRegion, "agent-1", "test");
      sch::WorkspaceInput in;
      in.name = "t" + std::to_string(k);
      in.request.resources = {1, 1};
      auto t = co_await rig->svc->create_workspace(in, nullptr, nullptr);
      REQUIRE(t);
      auto gone = co_await rig->svc->delete_workspace(t.value().id, true);
      REQUIRE(gone);
    }
    if ((k / concurrency) % 25 == 0) co_await rig->svc->tick();  // the daemon's 1 s tick
  }
  n->done = true;
}

awaitable<Status> growth_scenario(GrowthRig* rig, std::string ws, ChurnCounts* n) {
  asio::co_spawn(rig->io, growth_slow_agent(rig, 60s, n), asio::detached);
  co_await growth_churn(rig, ws, 20'000, 8, 40ms, 400, n);
  co_return ok();
}

awaitable<Status> growth_concurrent_refreshes(GrowthRig* rig, std::string ws, int calls) {
  asio::steady_timer all_done(rig->io, asio::steady_timer::time_point::max());
  int pending = calls;
  for (int j = 0; j < calls; ++j)
    asio::co_spawn(rig->io, growth_refresh_one(rig, ws, &pending, &all_done), asio::detached);
  boost::system::error_code ec;
  if (pending > 0) co_await all_done.async_wait(asio::redirect_error(use_awaitable, ec));
  co_return ok();
}

awaitable<Status> growth_force_delete(GrowthRig* rig, std::string id) {
  auto w = co_await rig->svc->delete_workspace(id, true);
  if (!w) co_return w.error();
  co_return ok();
}

// Tombstones kept for 100 revisions and 60 s.
sch::Service::Options growth_short_retention() {
  sch::Service::Options o;
  o.changelog_retention = 100;
  o.changelog_retention_s = 60;
  return o;
}

awaitable<Status> growth_tick(GrowthRig* rig) {
  co_await rig->svc->tick();
  co_return ok();
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("refresh_assignment: calls that arrive together make one new generation") {
    GrowthRig rig(sch::Service::Options{});
    growth_region(rig);
    auto w = growth_workspace(rig, "busy");
    growth_domains(rig, w.id, 3);
    const auto rev0 = rig.svc->get_region(kGrowthRegion).value().revision;
    REQUIRE(growth_run(rig, growth_concurrent_refreshes(&rig, w.id, 50)));
    CHECK(rig.svc->get_workspace(w.id).value().generation == w.generation + 1);
    CHECK(rig.svc->get_region(kGrowthRegion).value().revision == rev0 + 1);
    // The served assignment carries the new generation.
    auto page = rig.svc->assignments(kGrowthRegion, rev0);
    REQUIRE(page);
    REQUIRE(page.value().assignments.size() == 1);
    CHECK(page.value().assignments[0]["generation"] == w.generation + 1);
    CHECK(page.value().assignments[0]["hostnames"].size() == 1 + 3);  // its own + 3 custom
    // A later call is a new batch: one more generation, not lost.
    REQUIRE(growth_run(rig, growth_concurrent_refreshes(&rig, w.id, 1)));
    CHECK(rig.svc->get_workspace(w.id).value().generation == w.generation + 2);
  }

  TEST_CASE("a tombstone is compacted only once it is past both the count and the time window") {
    const sch::Service::Options o = growth_short_retention();
    GrowthRig rig(o);
    growth_region(rig);
    auto gone = growth_workspace(rig, "gone");
    REQUIRE(growth_run(rig, growth_force_delete(&rig, gone.id)));
    const auto tomb = rig.svc->get_region(kGrowthRegion).value().revision;
    for (int k = 0; k < 105; ++k) growth_workspace(rig, "w" + std::to_string(k));
    REQUIRE(growth_run(rig, growth_tick(&rig)));
    // 105 revisions later but 0 s old: kept, an agent behind it is served.
    auto behind = rig.svc->assignments(kGrowthRegion, tomb - 1);
    REQUIRE(behind);
    CHECK(behind.value().assignments.size() == 106);
    CHECK(behind.value().assignments[0]["action"] == "delete");
    rig.clock.advance(59s);
    REQUIRE(growth_run(rig, growth_tick(&rig)));
    CHECK(rig.svc->assignments(kGrowthRegion, tomb - 1));
    // Past both windows: compacted, and an agent that fell behind it gets 410.
    rig.clock.advance(2s);
    REQUIRE(growth_run(rig, growth_tick(&rig)));
    auto late = rig.svc->assignments(kGrowthRegion, tomb - 1);
    REQUIRE_FALSE(late);
    CHECK(late.error().code == Code::kGone);
    CHECK(rig.svc->assignments(kGrowthRegion, tomb).value().assignments.size() == 105);
  }

  TEST_CASE("tombstones from before a restart and from a finished migration are compacted") {
    // Compaction looks only at regions that may hold tombstones: those read
    // from the log after a load() and those a delete was published to since.
    const sch::Service::Options o = growth_short_retention();
    GrowthRig rig(o);
    growth_region(rig);
    sch::RegionInput other;
    other.id = "r2";
    other.capacity = {1'000'000, 1'000'000, 100'000};
    REQUIRE(growth_run(rig, rig.svc->create_region(other)));
    rig.svc->heartbeat("r2", "agent-2", "test");
    auto gone = growth_workspace(rig, "gone");  // r1 (ties go to the smaller id)
    REQUIRE(gone.region == kGrowthRegion);
    REQUIRE(growth_run(rig, growth_force_delete(&rig, gone.id)));
    const auto tomb = rig.svc->get_region(kGrowthRegion).value().revision;
    // Moved from r1 to r2: its `delete` in r1 is a tombstone once r1's agent confirms.
    auto mover = growth_workspace(rig, "mover");
    REQUIRE(mover.region == kGrowthRegion);
    REQUIRE(growth_run(rig, rig.svc->migrate_workspace(mover.id, "r2", nullptr)));
    const auto report = [&](const std::string& region, agent::proto::Phase phase) {
      auto w = rig.svc->get_workspace(mover.id);
      REQUIRE(w);
      std::vector<sch::ReportItem> items{{mover.id, w.value().generation, phase, ""}};
      REQUIRE(growth_run(rig, rig.svc->report(region, items)));
    };
    report("r2", agent::proto::Phase::kRunning);
    report(kGrowthRegion, agent::proto::Phase::kDeleted);
    const auto moved = rig.svc->get_region(kGrowthRegion).value().revision;
    for (int k = 0; k < 105; ++k) {
      sch::WorkspaceInput in;
      in.name = "w" + std::to_string(k);
      in.request.resources = {1, 1};
      in.request.placement.regions = {kGrowthRegion};
      rig.svc->heartbeat(kGrowthRegion, "agent-1", "test");
      REQUIRE(growth_run(rig, rig.svc->create_workspace(in, nullptr, nullptr)));
    }
    const auto tombstones = [&] {
      auto s = rig.db->read().prepare("SELECT count(*) FROM assignments WHERE action = 'delete'");
      REQUIRE(s);
      REQUIRE(s.value().step().value());
      return s.value().col_int(0);
    };
    REQUIRE(tombstones() == 2);
    rig.clock.advance(61s);
    // The migration's tombstone, without a restart: compacted at the next tick,
    // the force delete's too (an agent behind it gets 410).
    REQUIRE(growth_run(rig, growth_tick(&rig)));
    CHECK(tombstones() == 0);
    CHECK(rig.svc->assignments(kGrowthRegion, moved).value().assignments.size() == 105);
    CHECK_FALSE(rig.svc->assignments(kGrowthRegion, tomb - 1));
    // A tombstone written before a restart: found by the restarted service.
    auto late = growth_workspace(rig, "late");
    REQUIRE(growth_run(rig, growth_force_delete(&rig, late.id)));
    const auto tomb2 = rig.svc->get_region(late.region).value().revision;
    rig.restart(o);
    for (int k = 0; k < 105; ++k) growth_workspace(rig, "x" + std::to_string(k));
    REQUIRE(growth_run(rig, growth_tick(&rig)));
    CHECK(tombstones() == 1);  // young: kept
    CHECK(rig.svc->assignments(late.region, tomb2 - 1));
    rig.clock.advance(61s);
    REQUIRE(growth_run(rig, growth_tick(&rig)));
    CHECK(tombstones() == 0);
    auto after = rig.svc->assignments(late.region, tomb2 - 1);
    REQUIRE_FALSE(after);
    CHECK(after.error().code == Code::kGone);
  }

  TEST_CASE("10,000 domains of one workspace: churn does not push a slow agent into 410") {
    GrowthRig rig(sch::Service::Options{});  // default retention: 10,000 revisions, 3600 s
    growth_region(rig);
    auto big = growth_workspace(rig, "big");
    growth_domains(rig, big.id, 10'000);
    const auto before = rig.svc->get_region(kGrowthRegion).value().revision;
    ChurnCounts n;
    REQUIRE(growth_run(rig, growth_scenario(&rig, big.id, &n), 120s));
    const auto after = rig.svc->get_region(kGrowthRegion).value().revision;
    MESSAGE("refresh calls=" << n.refreshes << " revisions=" << (after - before)
                             << " agent polls=" << n.polls << " 410s=" << n.gone);
    CHECK(n.refreshes == 20'000);
    CHECK(n.gone == 0);
    CHECK(n.polls >= 2);
    CHECK(n.most_hostnames == 1 + 10'000);  // its own name + every custom domain
    // Coalesced: the 8 concurrent calls of a wave make one new generation.
    CHECK(after - before < 20'000 / 4);
    auto w = rig.svc->get_workspace(big.id);
    REQUIRE(w);
    CHECK(w.value().generation < 1 + 20'000 / 4);
  }
}
