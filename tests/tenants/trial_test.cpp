// Trials (docs/tenants.md "Trials") on the real scheduler and tenants
// services over a SQLite file, time from a ManualClock: a workspace created on
// a plan with trial_days has trial_ends_at in its view; when it passes,
// workspace.trial_ended is appended exactly once (not before, not twice, not
// again after a restart), and a suspend_after_trial plan suspends the
// workspace in the same transaction.
#include <doctest/doctest.h>

#include <chrono>
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
#include "tenants/service.hpp"

using namespace fc;
using namespace std::chrono_literals;
namespace sch = fc::scheduler;
using nlohmann::json;

namespace {

constexpr std::int64_t kTrialStart = 1'761'955'200;  // 2025-11-01T00:00:00Z

struct TrialRig {
  storage::test::TempDir dir;
  ManualClock clock{from_ms(kTrialStart * 1000)};
  asio::io_context io;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<sch::Service> sched;
  std::unique_ptr<tenants::Service> svc;

  TrialRig() {
    db = storage::test::open_database(dir);
    sched = std::make_unique<sch::Service>(io, *db, clock, sch::Service::Options{});
    REQUIRE(sched->load());
    restart();
    sch::RegionInput in;
    in.id = "eu";
    in.name = "eu";
    in.ingress.ipv4 = {"192.0.2.1"};
    in.capacity = {100000, 100000, 1000};
    REQUIRE(run(sched->create_region(in)));
    sched->heartbeat("eu", "a", "test");
  }
  ~TrialRig() { db->close(); }

  // The tenants component as a daemon start makes it: a new service, same database.
  void restart() {
    const json plans = {
        {"paid-trial",
         {{"resources", {{"memory_mib", 1}, {"cpu_millis", 1}}},
          {"trial_days", 14},
          {"suspend_after_trial", true}}},
        {"free-trial", {{"resources", {{"memory_mib", 1}, {"cpu_millis", 1}}}, {"trial_days", 7}}},
        {"paid", {{"resources", {{"memory_mib", 1}, {"cpu_millis", 1}}}}}};
    svc = std::make_unique<tenants::Service>(*db, clock, *sched, tenants::parse_plans(plans));
  }

  template <class T>
  T run(awaitable<T> a) {
    return storage::test::run_io(io, std::move(a));
  }

  std::string create(const std::string& name, const std::string& plan) {
    sch::WorkspaceInput in;
    in.name = name;
    in.request.resources = {1, 1};
    auto hook = [&](storage::Conn& c, const sch::Workspace& w, sch::CreatedView&) {
      return svc->on_created(c, w, "", plan);
    };
    auto w = run(sched->create_workspace(in, hook, nullptr));
    REQUIRE(w);
    return w.value().id;
  }
  json view(const std::string& id) {
    auto w = sched->get_workspace(id);
    REQUIRE(w);
    auto v = sched->workspace_view(db->read(), w.value());
    REQUIRE(v);
    return v.value();
  }
  std::vector<events::Event> events_of(const std::string& ws) {
    events::Query q;
    q.workspace_id = ws;
    q.limit = 1000;
    auto e = events::list(db->read(), q);
    REQUIRE(e);
    return e.value();
  }
  int count(const std::string& ws, const std::string& type) {
    int n = 0;
    for (const auto& e : events_of(ws)) n += e.type == type;
    return n;
  }
};

}  // namespace

TEST_SUITE("tenants") {
  TEST_CASE(
      "trial: trial_ends_at in the view; at its end trial_ended once, suspended if the plan says") {
    TrialRig r;
    const std::string paid = r.create("paid-one", "paid-trial");
    const std::string free = r.create("free-one", "free-trial");
    const std::string none = r.create("no-trial", "paid");
    CHECK(r.view(paid)["trial_ends_at"] == format_rfc3339((kTrialStart + 14 * 86400) * 1000));
    CHECK(r.view(free)["trial_ends_at"] == format_rfc3339((kTrialStart + 7 * 86400) * 1000));
    CHECK_FALSE(r.view(none).contains("trial_ends_at"));
    CHECK(r.view(paid)["plan"] == "paid-trial");
    // The created event carries the same view as GET (tenancy included).
    auto created = r.events_of(paid).front();
    CHECK(created.type == "workspace.created");
    CHECK(json::parse(created.data_json)["trial_ends_at"] == r.view(paid)["trial_ends_at"]);
    CHECK(json::parse(created.data_json)["plan"] == "paid-trial");

    // A second before the free trial ends: nothing.
    r.clock.advance(std::chrono::seconds(7 * 86400 - 1));
    CHECK(r.run(r.svc->end_trials()) == 0);
    CHECK(r.count(free, "workspace.trial_ended") == 0);
    // At its end: trial_ended, not suspended (the plan does not say so).
    r.clock.advance(1s);
    CHECK(r.run(r.svc->end_trials()) == 1);
    CHECK(r.count(free, "workspace.trial_ended") == 1);
    CHECK(r.count(free, "workspace.suspended") == 0);
    CHECK(r.view(free)["suspended"] == false);
    const auto ended = r.events_of(free).back();
    CHECK(ended.type == "workspace.trial_ended");
    CHECK(json::parse(ended.data_json)["id"] == free);
    CHECK(json::parse(ended.data_json)["plan"] == "free-trial");
    CHECK(r.count(paid, "workspace.trial_ended") == 0);

    // The paid trial ends a week later: trial_ended and suspended, one transaction.
    r.clock.advance(std::chrono::seconds(7 * 86400 + 30));
    CHECK(r.run(r.svc->end_trials()) == 1);
    auto evs = r.events_of(paid);
    REQUIRE(evs.size() >= 2);
    const auto& a = evs[evs.size() - 2];
    const auto& b = evs.back();
    CHECK(a.type == "workspace.trial_ended");
    CHECK(b.type == "workspace.suspended");
    CHECK(b.seq == a.seq + 1);
    CHECK(b.workspace_seq == a.workspace_seq + 1);
    CHECK(a.created_at == b.created_at);
    CHECK(json::parse(a.data_json)["suspended"] == true);
    CHECK(r.view(paid)["suspended"] == true);
    auto w = r.sched->get_workspace(paid);
    REQUIRE(w);
    CHECK(w.value().suspended);

    // Exactly once: again, after a restart, and a day later — nothing new.
    CHECK(r.run(r.svc->end_trials()) == 0);
    r.restart();
    r.clock.advance(std::chrono::seconds(86400));
    CHECK(r.run(r.svc->end_trials()) == 0);
    storage::test::run_io(r.io, r.svc->tick());  // the daemon's 1 s tick
    CHECK(r.count(paid, "workspace.trial_ended") == 1);
    CHECK(r.count(free, "workspace.trial_ended") == 1);
    CHECK(r.count(none, "workspace.trial_ended") == 0);
    CHECK(r.count(paid, "workspace.suspended") == 1);
  }
  TEST_CASE("a page of views as text is byte for byte the dump of workspace_view of each") {
    TrialRig r;
    const std::string paid = r.create("paid-one", "paid-trial");
    const std::string none = r.create("no-tenant", "paid");
    std::vector<sch::Workspace> ws;
    for (const auto& id : {paid, none}) {
      auto w = r.sched->get_workspace(id);
      REQUIRE(w);
      ws.push_back(w.value());
    }
    // Every field shape the writer has a path for: strings that need escapes
    // or are not UTF-8, a target region, a DNS region, placement, a nested spec.
    sch::Workspace odd = ws[1];  // the same id twice in a page: both get its rows
    odd.observed_message = "line\n\"quoted\" \\ tab\t \x01 caf\xc3\xa9 bad\xff end";
    odd.observed_since = 1'761'955'200'123;
    odd.observed_phase = "running";
    odd.target_region = "us";
    odd.dns_region = "eu";
    odd.state = "migrating";
    odd.suspended = true;
    odd.generation = -3;
    odd.placement.regions = {"eu", "us"};
    odd.placement.labels = {{"tier", "gold"}, {"z", "\u00e9"}};
    odd.placement.prefer = {"us"};
    odd.spec = {{"image", "nginx:1"}, {"env", {{"B", "2"}, {"A", "1\n"}}}, {"n", 1.5}};
    ws.push_back(odd);
    sch::Workspace plain;  // not in the database: the decorators find no row
    plain.id = "ws_00000000000000000000000000";
    plain.name = "plain";
    plain.region = "eu";
    ws.push_back(plain);

    auto expect = [&] {
      json a = json::array();
      for (const auto& w : ws) {
        auto v = r.sched->workspace_view(r.db->read(), w);
        REQUIRE(v);
        a.push_back(v.value());
      }
      return a.dump(-1, ' ', false, json::error_handler_t::replace);
    };
    // One view (a create's events and answer): the same text, view by view.
    auto each_alone = [&] {
      for (const auto& w : ws) {
        auto v = r.sched->workspace_view(r.db->read(), w);
        auto text = r.sched->workspace_view_json(r.db->read(), w);
        REQUIRE(v);
        REQUIRE(text);
        CHECK(text.value() == v.value().dump(-1, ' ', false, json::error_handler_t::replace));
      }
    };
    each_alone();
    CHECK(r.sched->workspace_views_json(r.db->read(), ws) == expect());
    CHECK(r.sched->workspace_views_json(r.db->read(), std::span(ws).subspan(0, 1)) ==
          json::array({r.view(paid)}).dump(-1, ' ', false, json::error_handler_t::replace));
    CHECK(r.sched->workspace_views_json(r.db->read(), {}) == "[]");

    // A decorator's fields go in key order: before every field, replacing
    // one of the scheduler's, between two and after all of them.
    r.sched->set_view_decorator(
        "test", [](storage::Conn&, std::span<const sch::Workspace> page, std::span<json> views) {
          for (std::size_t i = 0; i < page.size(); ++i) {
            views[i]["aaa"] = {{"k", page[i].name}};
            views[i]["state"] = "replaced";
            views[i]["release"] = {{"channel", nullptr}, {"current", "r-" + page[i].name}};
            views[i]["zzz"] = json::array({1, "two"});
          }
          return ok();
        });
    CHECK(r.sched->workspace_views_json(r.db->read(), ws) == expect());
    each_alone();

    // A failing decorator: the scheduler's fields only, still valid JSON.
    r.sched->set_view_decorator(
        "test", [](storage::Conn&, std::span<const sch::Workspace>, std::span<json>) -> Status {
          return make_error(Code::kInternal, "broken");
        });
    const json page = json::parse(r.sched->workspace_views_json(r.db->read(), ws));
    REQUIRE(page.size() == ws.size());
    CHECK(page[0] == r.sched->base_view(ws[0]));
    // One view: the decorator's error (a create fails rather than store a
    // view without its tenancy).
    auto alone = r.sched->workspace_view_json(r.db->read(), ws[0]);
    REQUIRE_FALSE(alone);
    CHECK(alone.error().detail == "broken");
  }
}
