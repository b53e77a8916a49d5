// Outbox retention (events.retention_s, docs/events.md "Retention") and the
// webhook /metrics series, on webhooks::Service over a real SQLite file with
// a ManualClock: delivered deliveries older than the retention go, events go
// only once every endpoint is done with them, and each workspace's sequence
// continues after its old events are gone.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/asio.hpp"
#include "events/events.hpp"
#include "storage/db.hpp"
#include "storage/service_rig.hpp"
#include "storage/test_util.hpp"
#include "webhooks/detail/store.hpp"
#include "webhooks/service.hpp"

using namespace fc;
using namespace std::chrono_literals;
using fc::storage::test::scalar;

namespace {

constexpr std::int64_t kRetentionS = 3600;

struct Rig {
  storage::test::TempDir dir;
  ManualClock clock;
  asio::io_context io;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<webhooks::Service> svc;

  Rig() {
    db = storage::test::open_database(dir);
    webhooks::Options o;
    o.allow_private = true;
    o.retention_s = kRetentionS;
    webhooks::Sealer s;  // sealing is certs/'; the identity is enough here
    s.seal = [](std::string_view x) -> Result<std::string> { return std::string(x); };
    s.open = [](const std::string& x) -> Result<std::string> { return x; };
    // Not started: no lanes, no dispatcher; prune() is what the job runs.
    svc = std::make_unique<webhooks::Service>(io, *db, clock, o, s);
  }
  ~Rig() {
    svc.reset();
    db->close();
  }

  template <class T>
  T run(awaitable<T> a) {
    return storage::test::run_io(io, std::move(a));
  }

  void emit(const std::string& type, const std::string& ws) {
    REQUIRE(db->write_sync([&](storage::Conn& c) {
      return events::append(c, {type, ws, ws.empty() ? "eu-1" : ws, "{}"}, clock.now_ms());
    }));
  }
  std::int64_t count(const std::string& sql) { return scalar(db->read(), sql); }
  std::string endpoint() {
    auto e = run(svc->create("http://127.0.0.1:9/hook", {}, ""));
    REQUIRE(e);
    return e.value().endpoint.id;
  }
  // A delivery row for event `seq`, delivered (at `delivered_at`) or pending.
  void delivery(const std::string& ep, std::int64_t seq, std::optional<std::int64_t> delivered_at) {
    REQUIRE(db->write_sync([&](storage::Conn& c) -> Status {
      auto ev = events::list(c, events::Query{seq - 1, "", "", 1, 0});
      if (!ev || ev.value().empty()) return make_error(Code::kNotFound, "no event");
      webhooks::Delivery d;
      d.endpoint_id = ep;
      d.event_seq = seq;
      d.event_id = ev.value()[0].id;
      d.event_type = ev.value()[0].type;
      d.workspace_id = ev.value()[0].workspace_id;
      d.next_attempt_at = d.created_at = clock.now_ms();
      BOOST_OUTCOME_TRY(webhooks::store::insert_delivery(c, d));
      if (!delivered_at) return ok();
      const std::int64_t id = scalar(c, "SELECT max(id) FROM webhook_deliveries");
      return webhooks::store::mark_delivered(c, id, 200, *delivered_at);
    }));
  }
};

}  // namespace

TEST_SUITE("webhooks") {
  TEST_CASE("retention: old events go, each workspace's newest stays and its sequence goes on") {
    Rig r;
    for (const char* ws : {"ws_a", "ws_b", "ws_a", "", "ws_a", ""}) r.emit("workspace.placed", ws);
    // Nothing is old enough yet.
    auto none = r.run(r.svc->prune());
    REQUIRE(none);
    CHECK(none.value().events == 0);
    CHECK(r.count("SELECT count(*) FROM events") == 6);

    r.clock.advance(std::chrono::seconds(kRetentionS + 1));
    r.emit("workspace.running", "ws_b");  // a young one: kept whatever
    auto p = r.run(r.svc->prune());
    REQUIRE(p);
    // Gone: ws_a's first two, ws_b's old one (its young one is newer) and both
    // region events (the newest overall is ws_b's young one).
    CHECK(p.value().events == 5);
    CHECK(r.count("SELECT count(*) FROM events WHERE workspace_id = 'ws_a'") == 1);
    CHECK(r.count("SELECT max(workspace_seq) FROM events WHERE workspace_id = 'ws_a'") == 3);
    CHECK(r.count("SELECT count(*) FROM events WHERE workspace_id = 'ws_b'") == 1);
    CHECK(r.count("SELECT max(workspace_seq) FROM events WHERE workspace_id = 'ws_b'") == 2);
    CHECK(r.count("SELECT count(*) FROM events WHERE workspace_id = ''") == 0);
    // The sequences continue from what was kept, never restart.
    const std::int64_t last = r.count("SELECT max(seq) FROM events");
    r.emit("workspace.suspended", "ws_a");
    CHECK(r.count("SELECT max(workspace_seq) FROM events WHERE workspace_id = 'ws_a'") == 4);
    CHECK(r.count("SELECT max(seq) FROM events") == last + 1);
    // The next pass takes ws_a's old newest (superseded now), nothing else.
    auto again = r.run(r.svc->prune());
    REQUIRE(again);
    CHECK(again.value().events == 1);
    CHECK(r.count("SELECT count(*) FROM events WHERE workspace_id = 'ws_a'") == 1);
    again = r.run(r.svc->prune());
    REQUIRE(again);
    CHECK(again.value().events == 0);
  }

  TEST_CASE("retention: an event an endpoint has not been sent, or still retries, stays") {
    Rig r;
    r.emit("workspace.created", "ws_a");  // seq 1
    const std::string ep = r.endpoint();  // cursor 1: it never needs seq 1
    for (int k = 0; k < 5; ++k) r.emit("workspace.placed", "ws_a");  // seq 2..6
    r.emit("workspace.created", "ws_z");                             // seq 7
    r.delivery(ep, 2, r.clock.now_ms());                             // delivered
    r.delivery(ep, 3, std::nullopt);                                 // pending: holds 3 and later
    r.clock.advance(std::chrono::seconds(kRetentionS + 1));
    auto p = r.run(r.svc->prune());
    REQUIRE(p);
    // Held by the endpoint's cursor (1): nothing after it goes.
    CHECK(p.value().events == 1);
    CHECK(p.value().deliveries == 1);  // the delivered row, not the pending one
    CHECK(r.count("SELECT min(seq) FROM events") == 2);
    CHECK(r.count("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'") == 1);

    // The cursor moved past everything: the pending delivery still holds 3.
    REQUIRE(r.db->write_sync(
        [&](storage::Conn& c) -> Status { return webhooks::store::set_cursor(c, ep, 7); }));
    p = r.run(r.svc->prune());
    REQUIRE(p);
    CHECK(p.value().events == 1);  // seq 2
    CHECK(r.count("SELECT min(seq) FROM events") == 3);
    // Once delivered (and old), it and the events it held go.
    REQUIRE(r.db->write_sync([&](storage::Conn& c) {
      return webhooks::store::mark_delivered(
          c, scalar(c, "SELECT id FROM webhook_deliveries WHERE state = 'pending'"), 200,
          r.clock.now_ms() - kRetentionS * 1000 - 1);
    }));
    p = r.run(r.svc->prune());
    REQUIRE(p);
    CHECK(p.value().deliveries == 1);
    CHECK(p.value().events == 3);  // 3, 4, 5; 6 is ws_a's newest, 7 ws_z's
    CHECK(r.count("SELECT count(*) FROM events") == 2);
    CHECK(r.count("SELECT count(*) FROM webhook_deliveries") == 0);
    const std::string m = r.svc->metrics_text();
    CHECK(m.find("fleetcommand_retention_pruned_total{table=\"events\"} 5\n") != std::string::npos);
    CHECK(m.find("fleetcommand_retention_pruned_total{table=\"webhook_deliveries\"} 2\n") !=
          std::string::npos);
  }

  TEST_CASE("metrics: backlog and oldest pending age per endpoint, endpoints by state") {
    Rig r;
    const std::string ep = r.endpoint();
    r.emit("workspace.created", "ws_a");
    r.emit("workspace.placed", "ws_a");
    r.delivery(ep, 1, std::nullopt);
    r.delivery(ep, 2, std::nullopt);
    r.clock.advance(90s);
    const std::string m = r.svc->metrics_text();
    CHECK(m.find("fleetcommand_webhook_pending_deliveries{endpoint=\"" + ep + "\"} 2\n") !=
          std::string::npos);
    CHECK(m.find("fleetcommand_webhook_oldest_pending_age_seconds{endpoint=\"" + ep +
                 "\"} 90.000000\n") != std::string::npos);
    CHECK(m.find("fleetcommand_webhook_endpoints{state=\"enabled\"} 1\n") != std::string::npos);
    CHECK(m.find("fleetcommand_webhook_endpoints{state=\"disabled\"} 0\n") != std::string::npos);
    CHECK(m.find("fleetcommand_webhook_attempts_total{endpoint=\"" + ep +
                 "\",outcome=\"delivered\"} 0\n") != std::string::npos);
  }
}

TEST_SUITE("webhooks") {
  TEST_CASE(
      "metrics: the queue counts only the events an endpoint subscribes to, after its cursor") {
    Rig r;
    auto make = [&](std::vector<std::string> types) {
      auto e = r.run(r.svc->create("http://127.0.0.1:9/hook", std::move(types), ""));
      REQUIRE(e);
      return e.value().endpoint.id;
    };
    const std::string exact = make({"workspace.placed"});
    const std::string family = make({"workspace.*"});
    const std::string other = make({"region.*", "usage.hourly"});
    const std::string all = make({"*"});
    r.emit("workspace.created", "ws_a");
    r.emit("workspace.placed", "ws_a");
    r.emit("workspace_x.placed", "ws_a");  // no family match: "workspace." is the prefix
    r.clock.advance(5s);
    const std::string m = r.svc->metrics_text();
    auto pending = [&](const std::string& id, int n) {
      return m.find("fleetcommand_webhook_pending_deliveries{endpoint=\"" + id + "\"} " +
                    std::to_string(n) + "\n") != std::string::npos;
    };
    CHECK(pending(exact, 1));
    CHECK(pending(family, 2));
    CHECK(pending(other, 0));
    CHECK(pending(all, 3));
    CHECK(m.find("fleetcommand_webhook_oldest_pending_age_seconds{endpoint=\"" + other +
                 "\"} 0.000000\n") != std::string::npos);
    CHECK(m.find("fleetcommand_webhook_oldest_pending_age_seconds{endpoint=\"" + exact +
                 "\"} 5.000000\n") != std::string::npos);
  }
}
