// The usage meter on a real SQLite file with every migration applied: a
// month of simulated transitions (ManualClock-style time as data, a fixed
// seed) reconciles to the second with an independent model, across a
// restart (the database closed and reopened), skipped hour ticks (the
// daemon down) and a clock jump backwards (docs/tenants.md "Usage metering").
// usage.hourly: once per closed hour, also for each hour the daemon was down.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "events/events.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"
#include "tenants/detail/events.hpp"
#include "tenants/service.hpp"

using namespace fc;
using namespace fc::tenants;

namespace {

constexpr std::int64_t kStart = 1'761'955'200;  // 2025-11-01T00:00:00Z
constexpr std::int64_t kMonth = 30 * kDay;

// The independent model: what each workspace is, since when (real seconds,
// the rule being that a workspace's time is counted once, in the state it
// had when the meter first passed it).
struct Model {
  struct Ws {
    UsageKey key;
    std::int64_t since = 0;
  };
  std::map<std::string, Ws> live;
  std::map<std::string, std::int64_t> by_state;                           // state -> seconds
  std::map<std::string, std::int64_t> by_ws;                              // workspace -> seconds
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> lifetime;  // created, deleted
  void close(const std::string& ws, std::int64_t now) {
    auto& w = live.at(ws);
    std::int64_t t = std::max(now, w.since);
    by_state[w.key.state] += t - w.since;
    by_ws[ws] += t - w.since;
    w.since = t;
  }
};

std::int64_t total_seconds(const std::vector<UsageRow>& rows, const std::string& state) {
  std::int64_t s = 0;
  for (const auto& r : rows)
    if (state.empty() || r.key.state == state) s += r.seconds;
  return s;
}

}  // namespace

TEST_SUITE("tenants") {
  TEST_CASE("meter: a month of transitions reconciles to the second") {
    storage::test::TempDir dir;
    const std::string path = dir.file("fc.db");
    auto c = storage::test::open_migrated(path);
    std::mt19937_64 rng(12);
    Model m;
    ManualClock clock(from_ms(kStart * 1000));
    auto now = [&] { return clock.now_ms() / 1000; };
    auto write = [&](const std::function<Status(storage::Conn&)>& fn) {
      storage::Tx tx(*c);
      REQUIRE(tx.begin_status());
      REQUIRE(fn(*c));
      REQUIRE(tx.commit());
    };
    const std::vector<std::string> plans = {"small", "large"};
    int created = 0, restarts = 0, jumps = 0, ticks = 0;
    while (now() < kStart + kMonth) {
      // Mostly short steps; sometimes several hours (no tick: the daemon was down).
      std::int64_t step_ms = static_cast<std::int64_t>(rng() % 5'400'000) + 1;
      if (rng() % 50 == 0) step_ms = 5 * 3'600'000 + 17;
      clock.advance(std::chrono::milliseconds(step_ms));
      const int action = static_cast<int>(rng() % 100);
      if (action < 30) {  // the hourly tick
        write([&](storage::Conn& cc) -> Status {
          auto n = roll_hours(cc, now());
          if (!n) return n.error();
          return ok();
        });
        ++ticks;
      } else if (action < 40 || m.live.empty()) {  // create
        std::string ws = "ws_" + std::to_string(created++);
        UsageKey k{ws, "ten_1", plans[rng() % 2], "running", 512, 250};
        write([&](storage::Conn& cc) { return meter(cc, ws, k, now()); });
        m.live[ws] = {k, now()};
        m.lifetime[ws] = {now(), 0};
      } else {
        auto it = m.live.begin();
        std::advance(it, static_cast<long>(rng() % m.live.size()));
        const std::string ws = it->first;
        UsageKey next = it->second.key;
        if (action < 45) {  // delete
          write([&](storage::Conn& cc) { return meter(cc, ws, std::nullopt, now()); });
          m.close(ws, now());
          m.lifetime[ws].second = m.live[ws].since;
          m.live.erase(ws);
          continue;
        }
        if (action < 80) {
          next.state = next.state == "running" ? "suspended" : "running";
        } else {  // a plan change: other resources
          next.plan = next.plan == "small" ? "large" : "small";
          next.memory_mib = next.plan == "small" ? 512 : 1024;
        }
        write([&](storage::Conn& cc) { return meter(cc, ws, next, now()); });
        m.close(ws, now());
        m.live[ws].key = next;
      }
      if (rng() % 200 == 0) {  // restart: everything reloads from the file
        c.reset();
        c = storage::test::open_migrated(path);
        ++restarts;
      }
      if (rng() % 300 == 0) {  // the clock jumps back up to 40 minutes
        clock.advance(-std::chrono::milliseconds(static_cast<std::int64_t>(rng() % 2'400'000)));
        ++jumps;
      }
    }
    // End of the month: every workspace is deleted (its last interval closed).
    for (auto& [ws, w] : std::map<std::string, Model::Ws>(m.live)) {
      write([&](storage::Conn& cc) { return meter(cc, ws, std::nullopt, now()); });
      m.close(ws, now());
      m.lifetime[ws].second = m.live[ws].since;
    }
    m.live.clear();
    CHECK(restarts > 0);
    CHECK(jumps > 0);
    CHECK(ticks > 100);
    CHECK(created > 20);

    const std::int64_t to = hour_floor(now()) + kDay;
    auto hourly = usage(*c, "", kStart - kDay, to, kHour, now());
    auto daily = usage(*c, "ten_1", kStart - kDay, to, kDay, now());
    REQUIRE(hourly);
    REQUIRE(daily);
    for (const char* state : {"running", "suspended"}) {
      CHECK(total_seconds(hourly.value(), state) == m.by_state[state]);
      CHECK(total_seconds(daily.value(), state) == m.by_state[state]);
    }
    // No second lost, none counted twice: each workspace's seconds are its
    // lifetime on the meter's (never backwards) clock.
    std::map<std::string, std::int64_t> got_ws;
    for (const auto& r : hourly.value()) {
      got_ws[r.key.workspace_id] += r.seconds;
      CHECK(r.seconds > 0);
      CHECK(r.seconds <= kHour);
    }
    for (const auto& [ws, life] : m.lifetime) {
      CHECK_MESSAGE(got_ws[ws] == m.by_ws[ws], ws);
      CHECK_MESSAGE(m.by_ws[ws] == life.second - life.first, ws);
    }
    // Every stored interval is positive and inside one hour.
    CHECK(storage::test::scalar(*c,
                                "SELECT count(*) FROM usage_intervals WHERE end_s <= start_s"
                                " OR start_s / 3600 <> (end_s - 1) / 3600") == 0);
    CHECK(storage::test::scalar(*c, "SELECT count(*) FROM usage_open") == 0);
  }

  TEST_CASE("meter: roll_hours closes open intervals at the hour, never backwards") {
    auto c = storage::test::open_migrated(":memory:");
    UsageKey k{"ws_1", "", "", "running", 1, 1};
    REQUIRE(meter(*c, "ws_1", k, kStart + 600));
    auto n = roll_hours(*c, kStart + 3 * kHour + 5);
    REQUIRE(n);
    CHECK(n.value() == 3);  // [600,3600) [3600,7200) [7200,10800)
    auto again = roll_hours(*c, kStart + 3 * kHour + 9);
    REQUIRE(again);
    CHECK(again.value() == 0);
    auto back = roll_hours(*c, kStart + kHour);  // the clock went back two hours
    REQUIRE(back);
    CHECK(back.value() == 0);
    auto rows = usage(*c, "", kStart, kStart + 4 * kHour, kHour, kStart + 3 * kHour + 5);
    REQUIRE(rows);
    CHECK(total_seconds(rows.value(), "running") == 3 * kHour - 600 + 5);
    // Usage asked with a clock behind the open interval's start counts nothing extra.
    auto early = usage(*c, "", kStart, kStart + 4 * kHour, kHour, kStart);
    REQUIRE(early);
    CHECK(total_seconds(early.value(), "running") == 3 * kHour - 600);
  }

  TEST_CASE("usage.hourly: each closed hour once, the hours the daemon was down too") {
    auto c = storage::test::open_migrated(":memory:");
    UsageKey k{"ws_1", "ten_1", "small", "running", 256, 100};
    REQUIRE(meter(*c, "ws_1", k, kStart + 600));
    auto tick = [&](std::int64_t now) {  // what Service::tick does at the first tick of an hour
      REQUIRE(roll_hours(*c, now));
      REQUIRE(append_hourly_until(*c, now - now % kHour, now * 1000));
    };
    auto hourly = [&] {
      auto ev = events::list(*c, {.type = "usage.hourly", .limit = 1000});
      REQUIRE(ev);
      std::vector<std::pair<std::string, std::int64_t>> out;  // (hour, seconds)
      for (const auto& e : ev.value()) {
        auto d = nlohmann::json::parse(e.data_json);
        CHECK(e.subject == "ten_1");
        CHECK(d["tenant"] == "ten_1");
        REQUIRE(d["items"].size() == 1);
        CHECK(d["items"][0]["workspace_id"] == "ws_1");
        CHECK(d["items"][0]["plan"] == "small");
        CHECK(d["items"][0]["state"] == "running");
        out.emplace_back(d["hour"].get<std::string>(),
                         d["items"][0]["seconds"].get<std::int64_t>());
      }
      return out;
    };
    tick(kStart + kHour + 5);
    CHECK(hourly() ==
          std::vector<std::pair<std::string, std::int64_t>>{{"2025-11-01T00:00:00.000Z", 3000}});
    // Down from 01:00:05 to 04:00:07: hours 01, 02 and 03 are reported when it is back.
    tick(kStart + 4 * kHour + 7);
    auto after_down = hourly();
    REQUIRE(after_down.size() == 4);
    CHECK(after_down[1] == std::pair<std::string, std::int64_t>{"2025-11-01T01:00:00.000Z", 3600});
    CHECK(after_down[2] == std::pair<std::string, std::int64_t>{"2025-11-01T02:00:00.000Z", 3600});
    CHECK(after_down[3] == std::pair<std::string, std::int64_t>{"2025-11-01T03:00:00.000Z", 3600});
    // A restart within the hour, and a clock gone back an hour: nothing again.
    tick(kStart + 4 * kHour + 9);
    tick(kStart + 3 * kHour + 1);
    CHECK(hourly().size() == 4);
    // Down for longer than the catch-up: only the last kHourlyCatchUp hours.
    tick(kStart + (5 + kHourlyCatchUp + 10) * kHour);
    CHECK(hourly().size() == static_cast<std::size_t>(4 + kHourlyCatchUp));
  }
}
