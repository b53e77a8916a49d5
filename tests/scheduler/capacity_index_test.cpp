#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "scheduler/fixtures.hpp"
#include "scheduler/placement.hpp"

using namespace fc::scheduler;
using std::chrono::seconds;

namespace {

using fc::scheduler::test::kNow;

RegionRecord record(std::string id, Quantities capacity, Quantities allocated = {}) {
  return RegionRecord{std::move(id), RegionState::kActive, {}, capacity, allocated, kNow};
}

std::vector<std::string> ids(std::span<const RegionView> views) {
  std::vector<std::string> out;
  for (const auto& v : views) out.push_back(v.id);
  return out;
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("load sorts by id and rejects bad records without changing the index") {
    CapacityIndex idx;
    REQUIRE(idx.load({record("us", {10, 10, 1}), record("eu", {10, 10, 1})}));
    CHECK(ids(idx.views(kNow, 30)) == std::vector<std::string>{"eu", "us"});

    struct Case {
      const char* name;
      std::vector<RegionRecord> records;
    };
    const std::vector<Case> bad = {
        {"duplicate", {record("a", {1, 1, 1}), record("b", {1, 1, 1}), record("a", {2, 2, 2})}},
        {"empty id", {record("", {1, 1, 1})}},
        {"negative capacity", {record("a", {-1, 1, 1})}},
        {"negative allocated", {record("a", {1, 1, 1}, {0, 0, -1})}},
    };
    for (const Case& c : bad) {
      CAPTURE(c.name);
      const auto r = idx.load(c.records);
      REQUIRE(r.has_error());
      CHECK(r.error().code == fc::Code::kInvalidArgument);
      CHECK(ids(idx.views(kNow, 30)) == std::vector<std::string>{"eu", "us"});
    }
    REQUIRE(idx.load({}));
    CHECK(idx.size() == 0);
  }

  TEST_CASE("reserve and release track allocation; reserve does not check capacity") {
    CapacityIndex idx;
    REQUIRE(idx.load({record("eu", {1000, 1000, 2})}));
    REQUIRE(idx.reserve("eu", {600, 250}));
    CHECK(idx.find("eu")->allocated == Quantities{600, 250, 1});
    REQUIRE(idx.reserve("eu", {600, 250}));  // over capacity: the commit already happened
    CHECK(idx.find("eu")->allocated == Quantities{1200, 500, 2});
    REQUIRE(idx.release("eu", {600, 250}));
    REQUIRE(idx.release("eu", {600, 250}));
    CHECK(idx.find("eu")->allocated == Quantities{0, 0, 0});

    const auto below = idx.release("eu", {1, 1});
    REQUIRE(below.has_error());
    CHECK(below.error().code == fc::Code::kInternal);
    CHECK(idx.find("eu")->allocated == Quantities{0, 0, 0});

    // Any one resource going below zero refuses the whole release.
    struct Case {
      const char* name;
      Quantities allocated;
      Resources release;
    };
    const std::vector<Case> cases = {
        {"memory", {100, 100, 1}, {101, 100}},
        {"cpu", {100, 100, 1}, {100, 101}},
        {"slots", {100, 100, 0}, {1, 1}},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      REQUIRE(idx.load({record("eu", {1000, 1000, 2}, c.allocated)}));
      CHECK(idx.release("eu", c.release).error().code == fc::Code::kInternal);
      CHECK(idx.find("eu")->allocated == c.allocated);
    }

    CHECK(idx.reserve("nope", {1, 1}).error().code == fc::Code::kNotFound);
    CHECK(idx.release("nope", {1, 1}).error().code == fc::Code::kNotFound);
    CHECK(idx.reserve("eu", {-1, 1}).error().code == fc::Code::kInvalidArgument);
    CHECK(idx.release("eu", {1, -1}).error().code == fc::Code::kInvalidArgument);
  }

  TEST_CASE("reserve refuses int64 overflow and leaves the allocation unchanged") {
    CapacityIndex idx;
    REQUIRE(idx.load({record("eu", {INT64_MAX, INT64_MAX, INT64_MAX}, {INT64_MAX - 1, 0, 0})}));
    REQUIRE(idx.reserve("eu", {1, 1}));
    const auto r = idx.reserve("eu", {1, 1});
    REQUIRE(r.has_error());
    CHECK(r.error().code == fc::Code::kInvalidArgument);
    CHECK(idx.find("eu")->allocated == Quantities{INT64_MAX, 1, 1});
  }

  TEST_CASE("region changes: add, remove, state, labels, capacity") {
    CapacityIndex idx;
    REQUIRE(idx.add_region(record("m", {10, 10, 1})));
    REQUIRE(idx.add_region(record("a", {10, 10, 1})));
    REQUIRE(idx.add_region(record("z", {10, 10, 1})));
    CHECK(ids(idx.views(kNow, 30)) == std::vector<std::string>{"a", "m", "z"});
    CHECK(idx.add_region(record("m", {1, 1, 1})).error().is(fc::scheduler::Errc::kRegionExists));
    CHECK(idx.add_region(record("x", {-1, 1, 1})).error().code == fc::Code::kInvalidArgument);
    REQUIRE(idx.remove_region("m"));
    CHECK(idx.remove_region("m").error().code == fc::Code::kNotFound);
    CHECK(ids(idx.views(kNow, 30)) == std::vector<std::string>{"a", "z"});

    REQUIRE(idx.set_state("a", RegionState::kCordoned));
    REQUIRE(idx.set_labels("a", {{"jurisdiction", "eu"}}));
    REQUIRE(idx.set_capacity("a", {1, 2, 3}));
    const RegionView* a = idx.find("a");
    REQUIRE(a);
    CHECK(a->state == RegionState::kCordoned);
    CHECK(a->labels == Labels{{"jurisdiction", "eu"}});
    CHECK(a->capacity == Quantities{1, 2, 3});
    CHECK(idx.set_capacity("a", {1, -2, 3}).error().code == fc::Code::kInvalidArgument);
    CHECK(idx.set_state("nope", RegionState::kActive).error().code == fc::Code::kNotFound);
    CHECK(idx.set_labels("nope", {}).error().code == fc::Code::kNotFound);
    CHECK(idx.set_capacity("nope", {}).error().code == fc::Code::kNotFound);
    CHECK(idx.record_heartbeat("nope", kNow).error().code == fc::Code::kNotFound);
    CHECK(idx.find("nope") == nullptr);
  }

  TEST_CASE("views evaluate health at the given instant; heartbeats keep the newest") {
    CapacityIndex idx;
    RegionRecord never = record("never", {10, 10, 1});
    never.last_heartbeat.reset();
    REQUIRE(idx.load({never, record("old", {10, 10, 1})}));
    auto views = idx.views(kNow + seconds(95), 30);
    CHECK(views[0].health == HealthStatus{Health::kUnknown, std::nullopt});
    CHECK(views[1].health == HealthStatus{Health::kUnhealthy, 95});
    REQUIRE(idx.record_heartbeat("old", kNow + seconds(90)));
    REQUIRE(idx.record_heartbeat("old", kNow + seconds(10)));  // older: ignored
    CHECK(idx.last_heartbeat("old") == kNow + seconds(90));
    CHECK_FALSE(idx.last_heartbeat("never"));
    views = idx.views(kNow + seconds(95), 30);
    CHECK(views[1].health == HealthStatus{Health::kHealthy, 5});
    const PlacementResult r = place(WorkspaceRequest{{1, 1}, {}}, views, Policy::kSpread);
    CHECK(*r.chosen == "old");
    CHECK(r.regions[0].fit.reason == "health unknown: no agent has sent a heartbeat");
    const auto later = idx.views(kNow + seconds(185), 30);
    CHECK(place(WorkspaceRequest{{1, 1}, {}}, later, Policy::kSpread).regions[1].fit.reason ==
          "unhealthy: no heartbeat for 95 s");
  }

  TEST_CASE("capacity cut below allocation: nothing new fits, nothing is evicted") {
    CapacityIndex idx;
    REQUIRE(idx.load({record("eu", {1000, 1000, 10}, {800, 100, 3})}));
    REQUIRE(idx.set_capacity("eu", {500, 1000, 10}));
    CHECK(idx.find("eu")->allocated == Quantities{800, 100, 3});
    const PlacementResult r =
        place(WorkspaceRequest{{1, 1}, {}}, idx.views(kNow, 30), Policy::kSpread);
    CHECK_FALSE(r.chosen);
    CHECK(r.regions[0].fit.reason == "memory_mib: 0 free < 1 requested");
    REQUIRE(idx.release("eu", {400, 50}));  // a workspace left: 400 of 500 used, 100 free
    CHECK(*place(WorkspaceRequest{{100, 1}, {}}, idx.views(kNow, 30), Policy::kSpread).chosen ==
          "eu");
  }

  // Placing until full through the index never over-commits any region, and the
  // two policies fill the same total.
  TEST_CASE("place + reserve until full never exceeds any capacity") {
    for (const Policy policy : {Policy::kSpread, Policy::kBinpack}) {
      CapacityIndex idx;
      std::vector<RegionRecord> recs;
      for (int i = 0; i < 100; ++i) {
        const std::int64_t k = 1 + i % 7;
        recs.push_back(record("r" + std::to_string(1000 + i), {k * 1000, k * 500, k * 4}));
      }
      REQUIRE(idx.load(recs));
      const WorkspaceRequest req{{300, 100}, {}};
      int placed = 0;
      for (int n = 0; n < 10'000; ++n) {
        const PlacementResult r = place(req, idx.views(kNow, 30), policy);
        if (!r.chosen) break;
        REQUIRE(idx.reserve(*r.chosen, req.resources));
        ++placed;
      }
      for (const RegionView& v : idx.views(kNow, 30)) {
        CHECK(v.allocated.memory_mib <= v.capacity.memory_mib);
        CHECK(v.allocated.cpu_millis <= v.capacity.cpu_millis);
        CHECK(v.allocated.workspaces <= v.capacity.workspaces);
        CHECK(v.capacity.memory_mib - v.allocated.memory_mib < 300);  // truly full
      }
      // k*1000 MiB / 300 = floor(3.33k) workspaces per region, summed over 100 regions.
      int expected = 0;
      for (int i = 0; i < 100; ++i) expected += static_cast<int>((1 + i % 7) * 1000 / 300);
      CHECK(placed == expected);
    }
  }
}
