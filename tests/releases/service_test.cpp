// releases::Service on a real SQLite file with the real scheduler service:
// agents are stood in for by scheduler::Service::report (the same call the
// agent endpoint makes), time by a ManualClock. Each pass is
// Service::reconcile(); the rollout's guarantees are checked between passes.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/asio.hpp"
#include "releases/detail/store.hpp"
#include "releases/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"
#include "tenants/service.hpp"

using namespace fc;
using namespace std::chrono_literals;
namespace sch = fc::scheduler;
namespace rel = fc::releases;
using nlohmann::json;

namespace {

struct RelRig {
  storage::test::TempDir dir;
  ManualClock clock;
  asio::io_context io;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<sch::Service> sched;
  std::unique_ptr<rel::Service> svc;
  std::vector<std::string> ws;  // workspace ids

  RelRig() {
    storage::test::open_migrated(dir.file("fc.db")).reset();
    auto d = storage::Database::open({dir.file("fc.db")});
    REQUIRE(d);
    db = std::move(d).value();
    sched = std::make_unique<sch::Service>(io, *db, clock, sch::Service::Options{});
    REQUIRE(sched->load());
    svc = std::make_unique<rel::Service>(io, *db, *sched, clock);
  }
  ~RelRig() { db->close(); }

  // A daemon restart of the releases component: a new service on the same database.
  void restart() { svc = std::make_unique<rel::Service>(io, *db, *sched, clock); }

  template <class T>
  static awaitable<void> keep(awaitable<T> a, std::optional<T>* out) {
    out->emplace(co_await std::move(a));
  }
  template <class T>
  T run(awaitable<T> a) {
    std::optional<T> out;
    asio::co_spawn(io, keep(std::move(a), &out), [&](std::exception_ptr) { io.stop(); });
    io.restart();
    io.run_for(30s);
    REQUIRE(out.has_value());
    return std::move(*out);
  }
  void pass() {
    asio::co_spawn(io, svc->reconcile(), [&](std::exception_ptr) { io.stop(); });
    io.restart();
    io.run_for(30s);
  }
  void heartbeats() {
    for (const char* r : {"eu", "us"}) sched->heartbeat(r, "a", "test");
  }

  void release(const std::string& name, const std::string& image) {
    rel::Release r;
    r.name = name;
    r.image = image;
    r.env = {{"MODE", name}};
    bool created = false;
    rel::FieldErrors f;
    auto out = run(svc->create_release(r, created, f));
    REQUIRE(out);
    CHECK(created);
  }

  void setup(int per_region) {
    for (const char* r : {"eu", "us"}) {
      sch::RegionInput in;
      in.id = r;
      in.name = r;
      in.ingress.ipv4 = {"192.0.2.1"};
      in.capacity = {100000, 100000, 1000};
      REQUIRE(run(sched->create_region(in)));
    }
    heartbeats();
    release("v1", "chat:1");
    release("v2", "chat:2");
    rel::FieldErrors f;
    REQUIRE(run(svc->put_channel("stable", "v1", f)));
    for (int i = 0; i < 2 * per_region; ++i) {
      sch::PlacementConstraints p;
      p.regions = {i % 2 == 0 ? "eu" : "us"};
      ws.push_back(add("w" + std::to_string(i), p));
    }
    CHECK(report_all(agent::proto::Phase::kRunning) == 2 * per_region);  // the fleet runs v1
  }

  // A workspace following `stable`; `extra` runs in its create transaction.
  std::string add(const std::string& name, const sch::PlacementConstraints& placement,
                  std::function<Status(storage::Conn&, const sch::Workspace&)> extra = {}) {
    rel::FieldErrors f;
    sch::WorkspaceInput in;
    in.name = name;
    in.request.resources = {1, 1};
    in.request.placement = placement;
    auto resolved = svc->resolve(std::string("stable"), std::nullopt, f);
    REQUIRE(resolved);
    auto spec = svc->spec_for(json::object(), std::nullopt, resolved.value().release);
    REQUIRE(spec);
    in.spec = spec.value();
    const rel::Binding b = resolved.value().binding;
    auto hook = [&](storage::Conn& c, const sch::Workspace& w, sch::CreatedView&) -> Status {
      BOOST_OUTCOME_TRY(rel::Service::bind(c, w.id, b, clock.now_ms()));
      return extra ? extra(c, w) : ok();
    };
    auto w = run(sched->create_workspace(in, hook, nullptr));
    REQUIRE(w);
    return w.value().id;
  }

  sch::Workspace get(const std::string& id) {
    auto w = sched->get_workspace(id);
    REQUIRE(w);
    return w.value();
  }

  // Every workspace of `region` whose current generation is not observed
  // yet reports `phase` for it (an agent that applies instantly).
  int report_all(agent::proto::Phase phase, const std::string& message = "") {
    int n = 0;
    for (const auto& id : ws) {
      auto w = get(id);
      if (w.observed_generation == w.generation) continue;
      std::vector<sch::ReportItem> items{{id, w.generation, phase, message}};
      REQUIRE(run(sched->report(w.region, items)));
      ++n;
    }
    return n;
  }

  json view(const std::string& id) {
    auto v = svc->rollout_json(id);
    REQUIRE(v);
    return v.value();
  }

  // Workspaces in flight per region right now (generation not yet running).
  std::map<std::string, int> in_flight() {
    std::map<std::string, int> out;
    for (const auto& id : ws) {
      auto w = get(id);
      if (w.generation > 1 && w.observed_generation < w.generation) ++out[w.region];
    }
    return out;
  }

  json start(json body) {
    rel::FieldErrors f;
    auto r = run(svc->start_rollout(body, f));
    if (!r) {
      for (const auto& e : f) MESSAGE(e.field << ": " << e.message);
      FAIL("rollout refused: " << r.error().detail);
    }
    return r.value();
  }
};

json rollout_body() {
  return {{"channel", "stable"},
          {"to_release", "v2"},
          {"waves", {{"regions", {"us"}}, {"percentages", {25, 100}}}},
          {"max_unavailable", 1},
          {"gate", {{"deadline_s", 60}, {"max_failed", 0}}}};
}

}  // namespace

TEST_SUITE("releases") {
  TEST_CASE("releases are immutable: same body 200, another body 409") {
    RelRig rig;
    rig.release("v1", "chat:1");
    rel::Release r;
    r.name = "v1";
    r.image = "chat:1";
    r.env = {{"MODE", "v1"}};
    bool created = true;
    rel::FieldErrors f;
    auto again = rig.run(rig.svc->create_release(r, created, f));
    REQUIRE(again);
    CHECK_FALSE(created);
    r.image = "chat:other";
    auto other = rig.run(rig.svc->create_release(r, created, f));
    REQUIRE_FALSE(other);
    CHECK(other.error().code == Code::kConflict);
    r.name = "v3";
    r.min_from = "nope";
    auto bad = rig.run(rig.svc->create_release(r, created, f));
    REQUIRE_FALSE(bad);
    REQUIRE(f.size() == 1);
    CHECK(f[0].field == "min_from");
  }

  TEST_CASE("a full rollout: waves in region order, max_unavailable, channel moved, once each") {
    RelRig rig;
    rig.setup(4);  // 8 workspaces, 4 per region
    json v = rig.start(rollout_body());
    const std::string id = v["id"];
    CHECK(v["state"] == "running");
    REQUIRE(v["waves_progress"].size() == 2);
    CHECK(v["waves_progress"][0]["total"] == 2);  // ceil(25 % of 8), both in us
    CHECK(v["waves_progress"][1]["total"] == 6);
    for (int pass = 0; pass < 200 && rig.view(id)["state"] == "running"; ++pass) {
      rig.pass();
      for (const auto& [region, n] : rig.in_flight()) CHECK(n <= 1);
      if (rig.view(id)["current_wave"] == 0)
        for (const auto& id2 : rig.ws)
          if (rig.get(id2).region == "eu") CHECK(rig.get(id2).generation == 1);
      rig.report_all(agent::proto::Phase::kRunning);
    }
    v = rig.view(id);
    CHECK(v["state"] == "completed");
    CHECK(v["waves_progress"][1]["done"] == 6);
    for (const auto& w : rig.ws) {
      CHECK(rig.get(w).generation == 2);  // upgraded exactly once
      CHECK(rig.get(w).spec["image"] == "chat:2");
      CHECK(rig.get(w).spec["env"]["MODE"] == "v2");
      CHECK(rig.svc->binding_json(w)["current"] == "v2");
    }
    auto ch = rig.svc->list_channels();
    REQUIRE(ch);
    CHECK(ch.value()["items"][0]["release"] == "v2");
  }

  TEST_CASE("a rollout waiting on its agents is re-read only when something changed") {
    // The reconciler's quiet passes (BENCHMARKS.md "Releases"): with thousands
    // of members in flight, re-reading them every 200 ms while no agent
    // reports was most of a wave's cost. A report, a region going down and a
    // member's deadline each end the quiet.
    RelRig rig;
    rig.setup(2);
    const std::string id = rig.start(rollout_body())["id"];
    rig.pass();  // starts the first member
    REQUIRE(rig.in_flight()["us"] == 1);
    rig.pass();  // observes it: nothing reported yet, so "wait"
    const auto before = rig.svc->pass_counts();
    for (int i = 0; i < 5; ++i) rig.pass();
    auto after = rig.svc->pass_counts();
    CHECK(after.full == before.full);
    CHECK(after.quiet == before.quiet + 5);
    CHECK(rig.view(id)["waves_progress"][0]["in_flight"] == 1);
    // A report ends the quiet: the member is done on the very next pass.
    rig.report_all(agent::proto::Phase::kRunning);
    rig.pass();
    CHECK(rig.svc->pass_counts().full == after.full + 1);
    CHECK(rig.view(id)["waves_progress"][0]["done"] == 1);
    // The next member starts and waits; its deadline (60 s) ends the quiet
    // even though nothing else changes.
    for (int i = 0; i < 3; ++i) rig.pass();
    after = rig.svc->pass_counts();
    rig.clock.advance(61s);
    rig.sched->heartbeat("us", "a", "test");
    rig.sched->heartbeat("eu", "a", "test");
    rig.pass();
    CHECK(rig.svc->pass_counts().full == after.full + 1);
    json v = rig.view(id);
    CHECK(v["state"] == "paused");  // max_failed 0: the late member failed the gate
    CHECK(v["failed"][0]["message"].get<std::string>().find("within 60 s") != std::string::npos);
    // /metrics carries the counts.
    CHECK(rig.svc->metrics_text().find("fleetcommand_rollout_passes_total{result=\"quiet\"}") !=
          std::string::npos);
  }

  TEST_CASE("bad input is a 422 naming the field; an overlapping rollout is 409") {
    RelRig rig;
    rig.setup(1);
    struct Case {
      json patch;
      const char* field;
    };
    for (const auto& c :
         std::vector<Case>{{{{"to_release", "v9"}}, "to_release"},
                           {{{"to_release", "v1"}}, "to_release"},
                           {{{"channel", nullptr}}, "selector"},
                           {{{"waves", {{"percentages", {50, 10, 100}}}}}, "waves.percentages"},
                           {{{"channel", "beta"}}, "channel"}}) {
      json body = rollout_body();
      body.merge_patch(c.patch);
      rel::FieldErrors f;
      auto r = rig.run(rig.svc->start_rollout(body, f));
      REQUIRE_FALSE(r);
      REQUIRE(!f.empty());
      CHECK(f[0].field == c.field);
    }
    rig.start(rollout_body());
    json sel = rollout_body();
    sel.erase("channel");
    sel["selector"] = {{"regions", {"eu"}}};
    rel::FieldErrors f;
    auto r = rig.run(rig.svc->start_rollout(sel, f));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kConflict);
    CHECK(f.empty());
  }

  TEST_CASE("a failed canary pauses with the agent's message; resume continues") {
    RelRig rig;
    rig.setup(2);
    const std::string id = rig.start(rollout_body())["id"];
    rig.pass();  // starts the canary (1 member in us)
    CHECK(rig.report_all(agent::proto::Phase::kFailed, "container app: ImagePullBackOff: x") == 1);
    rig.pass();
    json v = rig.view(id);
    CHECK(v["state"] == "paused");
    REQUIRE(v["failed"].size() == 1);
    CHECK(v["failed"][0]["message"] == "container app: ImagePullBackOff: x");
    CHECK(v["conditions"][0]["reason"] == "GateFailed");
    CHECK(v["conditions"][0]["since"].is_string());
    for (int i = 0; i < 5; ++i) rig.pass();
    CHECK(rig.in_flight().empty());  // paused: nothing new starts
    auto res = rig.run(rig.svc->act(id, "resume"));
    REQUIRE(res);
    for (int pass = 0; pass < 100 && rig.view(id)["state"] == "running"; ++pass) {
      rig.pass();
      rig.report_all(agent::proto::Phase::kRunning);
    }
    CHECK(rig.view(id)["state"] == "completed");
  }

  TEST_CASE("on_failure rollback restores every upgraded workspace's spec") {
    RelRig rig;
    rig.setup(2);
    json body = rollout_body();
    body["on_failure"] = "rollback";
    body["waves"]["percentages"] = {50, 100};
    const std::string id = rig.start(body)["id"];
    rig.pass();
    rig.report_all(agent::proto::Phase::kRunning);
    rig.pass();  // the first member done; the second of us starts
    rig.pass();
    rig.report_all(agent::proto::Phase::kFailed, "crash");
    for (int i = 0; i < 5; ++i) rig.pass();
    json v = rig.view(id);
    CHECK(v["state"] == "rolled_back");
    for (const auto& w : rig.ws) {
      CHECK(rig.get(w).spec["image"] == "chat:1");
      CHECK(rig.svc->binding_json(w)["current"] == "v1");
    }
    auto ch = rig.svc->list_channels();
    CHECK(ch.value()["items"][0]["release"] == "v1");
  }

  TEST_CASE("a restart mid-wave resumes: nobody upgraded twice or skipped") {
    RelRig rig;
    rig.setup(3);
    json body = rollout_body();
    body["max_unavailable"] = 2;
    const std::string id = rig.start(body)["id"];
    rig.pass();
    rig.pass();
    rig.restart();  // in-flight members, the plan, the wave: all from the database
    for (int pass = 0; pass < 200 && rig.view(id)["state"] == "running"; ++pass) {
      rig.pass();
      if (pass % 3 == 1) rig.restart();
      rig.report_all(agent::proto::Phase::kRunning);
    }
    CHECK(rig.view(id)["state"] == "completed");
    for (const auto& w : rig.ws) CHECK(rig.get(w).generation == 2);
  }

  TEST_CASE("a down region's members are skipped and reported; bake waits for the clock") {
    RelRig rig;
    rig.setup(2);
    json body = rollout_body();
    body["bake_s"] = 600;
    body["waves"]["percentages"] = {50, 100};
    const std::string id = rig.start(body)["id"];
    for (int i = 0; i < 6; ++i) {
      rig.pass();
      rig.report_all(agent::proto::Phase::kRunning);
    }
    json v = rig.view(id);
    CHECK(v["current_wave"] == 0);
    CHECK(v["waves_progress"][0]["status"] == "baking");
    rig.clock.advance(601s);  // eu's heartbeat is now too old: the region is down
    rig.sched->heartbeat("us", "a", "test");
    for (int i = 0; i < 10; ++i) rig.pass();
    v = rig.view(id);
    CHECK(v["state"] == "completed");
    CHECK(v["skipped"].size() == 2);
    CHECK(v["skipped"][0]["state"] == "skipped_region_down");
    CHECK(rig.view(id)["waves_progress"][1]["skipped_region_down"] == 2);
  }

  TEST_CASE("a member's channel or release cannot change while its rollout is active (409)") {
    RelRig rig;
    rig.setup(1);
    const std::string id = rig.start(rollout_body())["id"];
    auto rebind = [&](const std::string& ws) {
      rel::Binding b;
      b.pinned = b.release = "v1";
      return rig.run(rig.db->write(
          [&](storage::Conn& c) { return rel::Service::bind(c, ws, b, rig.clock.now_ms()); }));
    };
    for (const auto& ws : rig.ws) {
      auto st = rebind(ws);
      REQUIRE_FALSE(st);
      CHECK(st.error().code == Code::kConflict);
      CHECK(st.error().detail.find(id) != std::string::npos);
      CHECK(rig.svc->binding_json(ws)["channel"] == "stable");  // nothing written
    }
    REQUIRE(rig.run(rig.svc->act(id, "pause")));
    CHECK_FALSE(rebind(rig.ws[0]));  // paused is still active
    REQUIRE(rig.run(rig.svc->act(id, "abort")));
    for (int i = 0; i < 5 && rig.view(id)["state"] != "aborted"; ++i) rig.pass();
    REQUIRE(rig.view(id)["state"] == "aborted");
    CHECK(rebind(rig.ws[0]));  // finished: the binding is the operator's again
    CHECK(rig.svc->binding_json(rig.ws[0])["pinned"] == "v1");
  }

  TEST_CASE("selectors by label, plan and tenant narrow the selection; bad ones are 422") {
    RelRig rig;
    rig.setup(0);
    sch::RegionInput gold;
    gold.id = gold.name = "gold";
    gold.labels = {{"tier", "gold"}};
    gold.ingress.ipv4 = {"192.0.2.2"};
    gold.capacity = {100000, 100000, 1000};
    REQUIRE(rig.run(rig.sched->create_region(gold)));
    rig.sched->heartbeat("gold", "a", "test");
    tenants::Plans plans;
    for (const char* name : {"small", "big"}) {
      plans[name].name = name;
      plans[name].resources = {1, 1};
    }
    tenants::Service ten(*rig.db, rig.clock, *rig.sched, plans);
    auto acme = rig.run(ten.create_tenant("acme"));
    auto other = rig.run(ten.create_tenant("other"));
    REQUIRE(acme);
    REQUIRE(other);
    struct Ws {
      std::string name;
      bool gold;
      std::string tenant, plan;
    };
    std::map<std::string, std::string> name_of;
    for (const auto& w : std::vector<Ws>{{"a-gold-small", true, acme.value().id, "small"},
                                         {"a-big", false, acme.value().id, "big"},
                                         {"o-gold-small", true, other.value().id, "small"},
                                         {"none-gold", true, "", ""},
                                         {"none", false, "", ""}}) {
      sch::PlacementConstraints p;
      if (w.gold) p.labels = {{"tier", "gold"}};
      const std::string id = rig.add(w.name, p, [&](storage::Conn& c, const sch::Workspace& x) {
        return ten.on_created(c, x, w.tenant, w.plan);
      });
      name_of[id] = w.name;
    }
    // The members a selector picks (the rollout is aborted again after).
    auto members = [&](const json& selector, bool with_channel) {
      json body = rollout_body();
      body["waves"] = {{"percentages", {100}}};
      if (!with_channel) body.erase("channel");
      body["selector"] = selector;
      const std::string id = rig.start(body)["id"];
      auto ms = rel::store::members(rig.db->read(), id, -1, "");
      REQUIRE(ms);
      std::set<std::string> out;
      for (const auto& m : ms.value()) out.insert(name_of[m.m.workspace_id]);
      REQUIRE(rig.run(rig.svc->act(id, "abort")));
      for (int i = 0; i < 5 && rig.view(id)["state"] != "aborted"; ++i) rig.pass();
      REQUIRE(rig.view(id)["state"] == "aborted");
      return out;
    };
    using Names = std::set<std::string>;
    CHECK(members({{"labels", {{"tier", "gold"}}}}, true) ==
          Names{"a-gold-small", "o-gold-small", "none-gold"});
    CHECK(members({{"plans", {"small"}}}, true) == Names{"a-gold-small", "o-gold-small"});
    CHECK(members({{"tenants", {"acme"}}}, true) == Names{"a-gold-small", "a-big"});
    CHECK(members({{"tenants", {other.value().id}}}, false) == Names{"o-gold-small"});
    CHECK(members({{"tenants", {"acme"}}, {"plans", {"small"}}, {"labels", {{"tier", "gold"}}}},
                  false) == Names{"a-gold-small"});
    CHECK(members({{"plans", {"big", "small"}}, {"regions", {"gold"}}}, false) ==
          Names{"a-gold-small", "o-gold-small"});
    struct Bad {
      json selector;
      const char* field;
    };
    for (const auto& b : std::vector<Bad>{{{{"tenants", {"nobody"}}}, "selector.tenants"},
                                          {{{"labels", {{"tier", 5}}}}, "selector.labels"},
                                          {{{"labels", {"tier"}}}, "selector.labels"},
                                          {{{"plans", "small"}}, "selector.plans"},
                                          {{{"colour", {"red"}}}, "selector.colour"},
                                          {{{"plans", {"enterprise"}}}, "selector"},
                                          {json::object(), "selector"}}) {
      json body = rollout_body();
      body.erase("channel");
      body["selector"] = b.selector;
      rel::FieldErrors f;
      auto r = rig.run(rig.svc->start_rollout(body, f));
      REQUIRE_FALSE(r);
      REQUIRE(!f.empty());
      CHECK(f[0].field == b.field);
    }
  }
}
