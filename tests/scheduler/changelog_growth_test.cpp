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
    svc = std::make_unique<sch::Service>(io, *db, clock, o);
    REQUIRE(svc->load());
    doms = std::make_unique<domains::Service>(io, *db, clock, *svc, domains::Options{});
    svc->set_assignment_extras(doms.get());
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
    sch::Service::Options o;
    o.changelog_retention = 100;
    o.changelog_retention_s = 60;
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
}
