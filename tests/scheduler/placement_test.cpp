#include "scheduler/placement.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "fixtures.hpp"

using namespace fc::scheduler;
using fc::scheduler::test::big_region;
using fc::scheduler::test::region;
using fc::scheduler::test::request;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

using fc::scheduler::test::kNow;

// Three regions on {1000 MiB, 1000 millis, 10 slots}: a half full, b empty,
// c almost full (room for exactly one 100/100 workspace).
std::vector<RegionView> abc() {
  return {region("a", {1000, 1000, 10}, {500, 500, 5}), region("b", {1000, 1000, 10}),
          region("c", {1000, 1000, 10}, {900, 900, 9})};
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("evaluate_health: unknown, healthy within the timeout, unhealthy after") {
    struct Case {
      const char* name;
      std::optional<fc::SysTime> last;
      std::int64_t timeout_s;
      HealthStatus want;
    };
    const std::vector<Case> cases = {
        {"never", std::nullopt, 30, {Health::kUnknown, std::nullopt}},
        {"just now", kNow, 30, {Health::kHealthy, 0}},
        {"at the timeout", kNow - seconds(30), 30, {Health::kHealthy, 30}},
        {"1 ms past the timeout",
         kNow - seconds(30) - milliseconds(1),
         30,
         {Health::kUnhealthy, 30}},
        {"95 s", kNow - seconds(95), 30, {Health::kUnhealthy, 95}},
        {"95.9 s floors", kNow - milliseconds(95'900), 30, {Health::kUnhealthy, 95}},
        {"clock skew: future heartbeat", kNow + seconds(5), 30, {Health::kHealthy, 0}},
        {"timeout 0, same instant", kNow, 0, {Health::kHealthy, 0}},
        {"timeout 0, 1 ms old", kNow - milliseconds(1), 0, {Health::kUnhealthy, 0}},
        {"huge timeout", kNow - seconds(86400), INT64_MAX, {Health::kHealthy, 86400}},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      CHECK(evaluate_health(c.last, kNow, c.timeout_s) == c.want);
    }
  }

  TEST_CASE("spread picks the least allocated region, binpack the most allocated that fits") {
    const auto regions = abc();
    const WorkspaceRequest req = request(100, 100);
    const PlacementResult spread = place(req, regions, Policy::kSpread);
    REQUIRE(spread.chosen);
    CHECK(*spread.chosen == "b");
    CHECK_FALSE(spread.by_preference);
    const PlacementResult binpack = place(req, regions, Policy::kBinpack);
    REQUIRE(binpack.chosen);
    CHECK(*binpack.chosen == "c");  // fills c exactly: score 100
    // One byte more and c no longer fits: binpack takes the next most allocated.
    const PlacementResult bigger = place(request(101, 100), regions, Policy::kBinpack);
    REQUIRE(bigger.chosen);
    CHECK(*bigger.chosen == "a");
    CHECK(bigger.regions[2].fit.reason == "memory_mib: 100 free < 101 requested");
  }

  TEST_CASE("outcomes keep every region in input order with its score or reason") {
    auto regions = abc();
    regions[0].state = RegionState::kCordoned;
    const PlacementResult r = place(request(100, 100), regions, Policy::kSpread);
    REQUIRE(r.regions.size() == 3);
    CHECK(r.regions[0].region_id == "a");
    CHECK(r.regions[0].fit.reason == "cordoned");
    CHECK_FALSE(r.regions[0].score);
    CHECK(r.regions[1].region_id == "b");
    CHECK(r.regions[1].score == 90);  // (90 + 90 + 90) / 3
    CHECK(r.regions[2].score == 0);   // fills c
    CHECK(*r.chosen == "b");
    CHECK(rejection_reasons(r) == std::vector<RegionReason>{{"a", "cordoned"}});
  }

  TEST_CASE("ties are broken by the smaller region id, whatever the input order") {
    const std::vector<RegionView> regions = {big_region("us-east-1"), big_region("eu-west-1"),
                                             big_region("eu-central-1"), big_region("ap-south-1")};
    for (const Policy p : {Policy::kSpread, Policy::kBinpack}) {
      const PlacementResult r = place(request(600, 250), regions, p);
      REQUIRE(r.chosen);
      CHECK(*r.chosen == "ap-south-1");
    }
    const std::vector<RegionView> reversed(regions.rbegin(), regions.rend());
    CHECK(*place(request(600, 250), reversed, Policy::kSpread).chosen == "ap-south-1");
  }

  TEST_CASE("the first region of prefer that passes every filter wins, even with a worse score") {
    const auto regions = abc();
    struct Case {
      const char* name;
      PlacementConstraints placement;
      Policy policy;
      std::string want;
      bool by_preference;
    };
    const std::vector<Case> cases = {
        {"worse spread score", {{}, {}, {"c"}}, Policy::kSpread, "c", true},
        {"worse binpack score", {{}, {}, {"b"}}, Policy::kBinpack, "b", true},
        {"order of prefer, not score", {{}, {}, {"a", "b"}}, Policy::kSpread, "a", true},
        {"unknown region skipped", {{}, {}, {"zz", "c"}}, Policy::kSpread, "c", true},
        {"preferred but not allowed", {{"a", "b"}, {}, {"c"}}, Policy::kSpread, "b", false},
        {"no preferred fits: best score", {{}, {}, {"zz"}}, Policy::kSpread, "b", false},
        {"allowed list only", {{"a", "c"}, {}, {}}, Policy::kSpread, "a", false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      const PlacementResult r = place(WorkspaceRequest{{100, 100}, c.placement}, regions, c.policy);
      REQUIRE(r.chosen);
      CHECK(*r.chosen == c.want);
      CHECK(r.by_preference == c.by_preference);
    }
  }

  TEST_CASE("a preferred region that fails a filter is passed over for the next one") {
    auto regions = abc();
    const WorkspaceRequest req = request(100, 100, {{}, {}, {"c", "a"}});
    regions[2].health = HealthStatus{Health::kUnhealthy, 40};
    PlacementResult r = place(req, regions, Policy::kSpread);
    CHECK(*r.chosen == "a");
    CHECK(r.by_preference);
    regions[0].allocated = regions[0].capacity;  // a is full too
    r = place(req, regions, Policy::kSpread);
    CHECK(*r.chosen == "b");
    CHECK_FALSE(r.by_preference);
  }

  TEST_CASE("labels must all match") {
    std::vector<RegionView> regions = {big_region("eu-1"), big_region("eu-2"), big_region("us-1")};
    regions[0].labels = {{"jurisdiction", "eu"}, {"tier", "standard"}};
    regions[1].labels = {{"jurisdiction", "eu"}, {"tier", "gold"}};
    regions[2].labels = {{"jurisdiction", "us"}, {"tier", "gold"}};
    regions[0].allocated = {1000, 1000, 1};  // eu-1 scores lower under spread
    const PlacementResult eu =
        place(request(1, 1, {{}, {{"jurisdiction", "eu"}}, {}}), regions, Policy::kSpread);
    CHECK(*eu.chosen == "eu-2");
    const PlacementResult gold_eu =
        place(request(1, 1, {{}, {{"jurisdiction", "eu"}, {"tier", "standard"}}, {}}), regions,
              Policy::kSpread);
    CHECK(*gold_eu.chosen == "eu-1");
    const PlacementResult none =
        place(request(1, 1, {{}, {{"jurisdiction", "ch"}}, {}}), regions, Policy::kSpread);
    CHECK_FALSE(none.chosen);
    CHECK(none.regions[2].fit.reason ==
          "label jurisdiction=ch not matched (region has jurisdiction=us)");
  }

  TEST_CASE("no region fits: one human reason per region, exactly") {
    std::vector<RegionView> regions;
    RegionView r = big_region("r1");
    r.state = RegionState::kCordoned;
    regions.push_back(r);
    r = big_region("r2");
    r.state = RegionState::kDraining;
    regions.push_back(r);
    r = big_region("r3");
    r.health = HealthStatus{Health::kUnhealthy, 95};
    regions.push_back(r);
    r = big_region("r4");
    r.health = HealthStatus{Health::kUnknown, std::nullopt};
    regions.push_back(r);
    regions.push_back(big_region("r5"));  // not allowed
    r = big_region("r6");
    r.labels = {{"jurisdiction", "us"}};
    regions.push_back(r);
    regions.push_back(region("r7", {1000, 1000, 10}, {700, 0, 0}));
    regions.push_back(region("r8", {1000, 1000, 10}, {0, 900, 0}));
    regions.push_back(region("r9", {1000, 1000, 10}, {0, 0, 10}));
    for (auto& v : regions) {
      if (v.id != "r6") v.labels = {{"jurisdiction", "eu"}};
    }
    PlacementConstraints pc;
    for (const auto& v : regions) {
      if (v.id != "r5") pc.regions.push_back(v.id);
    }
    pc.labels = {{"jurisdiction", "eu"}};
    const PlacementResult res = place(request(600, 250, pc), regions, Policy::kSpread);
    CHECK_FALSE(res.chosen);
    const std::vector<RegionReason> want = {
        {"r1", "cordoned"},
        {"r2", "draining"},
        {"r3", "unhealthy: no heartbeat for 95 s"},
        {"r4", "health unknown: no agent has sent a heartbeat"},
        {"r5", "not in placement.regions"},
        {"r6", "label jurisdiction=eu not matched (region has jurisdiction=us)"},
        {"r7", "memory_mib: 300 free < 600 requested"},
        {"r8", "cpu_millis: 100 free < 250 requested"},
        {"r9", "workspaces: 0 free < 1 requested"},
    };
    CHECK(rejection_reasons(res) == want);
  }

  TEST_CASE("edge cases: no regions, zero capacity, capacity below allocated, exclusion") {
    CHECK_FALSE(place(request(1, 1), {}, Policy::kSpread).chosen);
    CHECK(place(request(1, 1), {}, Policy::kSpread).regions.empty());
    const std::vector<RegionView> zero = {region("z", {0, 0, 0})};
    CHECK(rejection_reasons(place(request(1, 1), zero, Policy::kBinpack)) ==
          std::vector<RegionReason>{{"z", "memory_mib: 0 free < 1 requested"}});
    const std::vector<RegionView> cut = {region("c", {500, 500, 5}, {800, 100, 1})};
    CHECK(place(request(1, 1), cut, Policy::kSpread).regions[0].fit.reason ==
          "memory_mib: 0 free < 1 requested");
    const auto regions = abc();
    const PlacementResult ex = place(request(100, 100), regions, Policy::kSpread, "b");
    CHECK(*ex.chosen == "a");
    CHECK(ex.regions[1].fit.reject == Reject::kExcluded);
    CHECK(ex.regions[1].fit.reason == "source region of the move");
  }

  TEST_CASE("evaluate checks one explicit target with every filter") {
    RegionView r = big_region("eu-west-1");
    CHECK(evaluate(request(1, 1), r).fits());
    r.state = RegionState::kCordoned;
    CHECK(evaluate(request(1, 1), r).reason == "cordoned");
  }

  TEST_CASE("evaluate_resize gives the current resources back first") {
    const RegionView r = region("r", {1000, 1000, 2}, {900, 500, 2});
    CHECK(evaluate_resize(r, {400, 100}, {500, 600}).fits());  // 100+400 free memory
    CHECK(evaluate_resize(r, {400, 100}, {501, 100}).reason ==
          "memory_mib: 500 free < 501 requested");
    CHECK(evaluate_resize(r, {400, 100}, {100, 601}).reason ==
          "cpu_millis: 600 free < 601 requested");
    // The region's state does not matter for a workspace already there.
    RegionView draining = r;
    draining.state = RegionState::kDraining;
    CHECK(evaluate_resize(draining, {400, 100}, {400, 100}).fits());
    // A capacity cut below the allocation refuses growth but allows shrinking
    // or keeping a resource, even with the slots over-committed.
    const RegionView cut = region("r", {500, 1000, 1}, {900, 500, 3});
    CHECK(evaluate_resize(cut, {400, 100}, {401, 100}).reason ==
          "memory_mib: 0 free < 401 requested");
    CHECK(evaluate_resize(cut, {400, 100}, {1, 100}).fits());
    CHECK(evaluate_resize(cut, {400, 100}, {400, 600}).fits());  // cpu 500 + 100 back = 600 free
    CHECK(evaluate_resize(cut, {400, 100}, {300, 601}).reason ==
          "cpu_millis: 600 free < 601 requested");
  }

  TEST_CASE("names round-trip") {
    for (const RegionState s :
         {RegionState::kActive, RegionState::kCordoned, RegionState::kDraining}) {
      CHECK(parse_region_state(region_state_name(s)) == s);
    }
    for (const Policy p : {Policy::kSpread, Policy::kBinpack}) {
      CHECK(parse_policy(policy_name(p)) == p);
    }
    CHECK_FALSE(parse_policy("Spread"));
    CHECK_FALSE(parse_region_state(""));
    CHECK(health_name(Health::kUnknown) == "unknown");
    CHECK(health_name(Health::kHealthy) == "healthy");
    CHECK(health_name(Health::kUnhealthy) == "unhealthy");
  }

  TEST_CASE("pick() chooses what a brute-force reading of place()'s outcomes chooses") {
    // Seeded pseudo-random regions (some full, cordoned or unhealthy) and
    // requests; the reference takes the first fitting `prefer` entry, else
    // the highest score with ties to the smaller id.
    std::mt19937 rng(20261125);
    auto n = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int round = 0; round < 300; ++round) {
      std::vector<RegionView> regions;
      for (int k = n(0, 12); k > 0; --k) {
        RegionView r = region("r" + std::to_string(n(0, 20)), {n(1, 1000), n(1, 1000), n(1, 10)},
                              {n(0, 1000), n(0, 1000), n(0, 10)});
        if (n(0, 9) == 0) r.state = RegionState::kCordoned;
        if (n(0, 9) == 0) r.health = HealthStatus{Health::kUnhealthy, 99};
        regions.push_back(std::move(r));
      }
      WorkspaceRequest req = request(n(1, 300), n(1, 300));
      for (int k = n(0, 3); k > 0; --k)
        req.placement.prefer.push_back("r" + std::to_string(n(0, 20)));
      const Policy policy = n(0, 1) ? Policy::kSpread : Policy::kBinpack;
      const PlacementResult full = place(req, regions, policy);
      std::optional<std::string> want;
      for (const std::string& p : req.placement.prefer) {
        for (const RegionOutcome& o : full.regions)
          if (!want && o.region_id == p && o.fit.fits()) want = p;
      }
      if (!want) {
        std::optional<std::pair<int, std::string>> best;
        for (const RegionOutcome& o : full.regions) {
          if (!o.score) continue;
          if (!best || *o.score > best->first ||
              (*o.score == best->first && o.region_id < best->second))
            best = std::pair{*o.score, o.region_id};
        }
        if (best) want = best->second;
      }
      const std::optional<Pick> got = pick(req, regions, policy);
      CAPTURE(round);
      REQUIRE(got.has_value() == want.has_value());
      if (got) CHECK(regions[got->index].id == *want);
      CHECK(full.chosen == want);
    }
  }
}
