// The scheduler's lifecycle events (docs/events.md), on the real service over
// a SQLite file with a ManualClock: region.unhealthy / region.healthy exactly
// once per transition (not again on the next tick, nor after a restart), and
// workspace.migrated exactly once, in the transaction that moves the
// workspace (the event's view is the committed one: its new region).
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/asio.hpp"
#include "events/events.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/service_rig.hpp"
#include "storage/test_util.hpp"

using namespace fc;
using namespace std::chrono_literals;
namespace sch = fc::scheduler;
using agent::proto::Phase;
using nlohmann::json;

namespace {

struct EmitRig {
  storage::test::TempDir dir;
  ManualClock clock;
  asio::io_context io;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<sch::Service> svc;

  EmitRig() {
    db = storage::test::open_database(dir);
    restart();
  }
  ~EmitRig() { db->close(); }
  void restart() {
    svc = std::make_unique<sch::Service>(io, *db, clock, sch::Service::Options{});
    REQUIRE(svc->load());
  }

  template <class T>
  T run(awaitable<T> a) {
    return storage::test::run_io(io, std::move(a));
  }
  void tick() { storage::test::run_io(io, svc->tick()); }
  void region(const std::string& id) {
    sch::RegionInput in;
    in.id = id;
    in.name = id;
    in.ingress.ipv4 = {"192.0.2.1"};
    in.capacity = {100000, 100000, 1000};
    REQUIRE(run(svc->create_region(in)));
  }
  std::vector<events::Event> of(const std::string& type) {
    events::Query q;
    q.type = type;
    q.limit = 1000;
    auto e = events::list(db->read(), q);
    REQUIRE(e);
    return e.value();
  }
  void report(const std::string& region, const std::string& ws, Phase phase) {
    auto w = svc->get_workspace(ws);
    REQUIRE(w);
    std::vector<sch::ReportItem> items{{ws, w.value().generation, phase, ""}};
    REQUIRE(run(svc->report(region, items)));
  }
};

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("events: region.healthy / region.unhealthy once per transition") {
    EmitRig r;
    r.region("eu");
    r.tick();
    CHECK(r.of("region.*").empty());  // never heard from: unknown, nothing announced
    r.svc->heartbeat("eu", "a", "test");
    r.tick();
    r.tick();
    auto h = r.of("region.*");
    REQUIRE(h.size() == 1);
    CHECK(h[0].type == "region.healthy");
    CHECK(h[0].subject == "eu");
    CHECK(h[0].workspace_id.empty());
    const json d = json::parse(h[0].data_json);
    CHECK(d["id"] == "eu");
    CHECK(d["health"] == "healthy");
    CHECK(d["last_heartbeat"].is_string());

    // Silent past the heartbeat timeout: unhealthy, once.
    r.clock.advance(std::chrono::seconds(r.svc->heartbeat_timeout_s() + 1));
    r.tick();
    r.tick();
    h = r.of("region.*");
    REQUIRE(h.size() == 2);
    CHECK(h[1].type == "region.unhealthy");
    CHECK(json::parse(h[1].data_json)["health"] == "unhealthy");
    // A restart announces nothing twice (the last region.* event is the state).
    r.restart();
    r.tick();
    CHECK(r.of("region.*").size() == 2);
    // Back: healthy again, once.
    r.svc->heartbeat("eu", "a", "test");
    r.tick();
    r.tick();
    h = r.of("region.*");
    REQUIRE(h.size() == 3);
    CHECK(h[2].type == "region.healthy");
  }

  TEST_CASE("events: after a restart each region's newest region.* event is its announced health") {
    // Read for all regions at once (newest by sequence across both types),
    // not looked up region by region: 60 regions with different histories.
    EmitRig r;
    const auto name = [](int k) { return "r" + std::to_string(100 + k); };
    for (int k = 0; k < 60; ++k) r.region(name(k));
    const auto beat = [&](int from, int to) {
      for (int k = from; k < to; ++k) r.svc->heartbeat(name(k), "a", "test");
    };
    beat(0, 40);  // 0..39 healthy, 40..59 never heard from
    r.tick();
    CHECK(r.of("region.healthy").size() == 40);
    r.clock.advance(std::chrono::seconds(r.svc->heartbeat_timeout_s() + 1));
    beat(0, 10);  // 10..39 go silent: unhealthy
    r.tick();
    CHECK(r.of("region.unhealthy").size() == 30);
    beat(10, 20);  // 10..19 back: healthy after unhealthy
    r.tick();
    REQUIRE(r.of("region.*").size() == 80);

    // Restart: nothing is announced again, whatever the order of the types.
    r.restart();
    r.tick();
    CHECK(r.of("region.*").size() == 80);
    // 20..29 come back (unhealthy -> healthy), 0..9 go silent (healthy ->
    // unhealthy), 40..44 are heard from for the first time.
    r.clock.advance(std::chrono::seconds(r.svc->heartbeat_timeout_s() + 1));
    r.restart();
    beat(10, 30);
    beat(40, 45);
    r.tick();
    r.tick();
    auto h = r.of("region.*");
    REQUIRE(h.size() == 80 + 10 + 10 + 5);
    std::map<std::string, std::string> added;
    for (std::size_t k = 80; k < h.size(); ++k) added[h[k].subject] = h[k].type;
    for (int k = 0; k < 10; ++k) CHECK(added[name(k)] == "region.unhealthy");
    for (int k = 20; k < 30; ++k) CHECK(added[name(k)] == "region.healthy");
    for (int k = 40; k < 45; ++k) CHECK(added[name(k)] == "region.healthy");
    CHECK(added.size() == 25);
  }

  TEST_CASE("events: workspace.migrated once, with the moved view, in the moving transaction") {
    EmitRig r;
    r.region("eu");
    r.region("us");
    r.svc->heartbeat("eu", "a", "test");
    r.svc->heartbeat("us", "b", "test");
    sch::WorkspaceInput in;
    in.name = "mover";
    in.request.resources = {1, 1};
    in.request.placement.regions = {"eu"};
    auto w = r.run(r.svc->create_workspace(in, nullptr, nullptr));
    REQUIRE(w);
    const std::string id = w.value().id;
    r.report("eu", id, Phase::kRunning);
    CHECK(r.of("workspace.running").size() == 1);

    auto m = r.run(r.svc->migrate_workspace(id, "us", nullptr));
    REQUIRE(m);
    CHECK(r.of("workspace.migrated").empty());  // not before it runs in the new region
    r.report("us", id, Phase::kProvisioning);
    CHECK(r.of("workspace.migrated").empty());
    r.report("us", id, Phase::kRunning);
    auto mig = r.of("workspace.migrated");
    REQUIRE(mig.size() == 1);
    const json v = json::parse(mig[0].data_json);
    CHECK(mig[0].workspace_id == id);
    CHECK(v["id"] == id);
    CHECK(v["region"] == "us");
    CHECK(v["from_region"] == "eu");
    CHECK(v["state"] == "scheduled");
    CHECK(v["dns"]["region"] == "us");
    CHECK(v["suspended"] == false);
    CHECK(v.contains("tenant"));
    // The committed workspace says the same.
    auto now = r.svc->get_workspace(id);
    REQUIRE(now);
    CHECK(now.value().region == "us");
    // The old region confirms the delete, the new one reports again: nothing more.
    r.report("eu", id, Phase::kDeleted);
    r.report("us", id, Phase::kRunning);
    r.tick();
    CHECK(r.of("workspace.migrated").size() == 1);
    // Per-workspace sequence: created, placed, running, (running of the new
    // generation if any), migrated — gap-free.
    events::Query q;
    q.workspace_id = id;
    auto all = events::list(r.db->read(), q);
    REQUIRE(all);
    for (std::size_t k = 0; k < all.value().size(); ++k)
      CHECK(all.value()[k].workspace_seq == static_cast<std::int64_t>(k + 1));
  }
}
