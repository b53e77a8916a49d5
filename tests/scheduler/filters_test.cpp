#include "scheduler/plugins/filters.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "fixtures.hpp"

using namespace fc::scheduler;
using fc::scheduler::test::big_region;
using fc::scheduler::test::region;
using fc::scheduler::test::request;

TEST_SUITE("scheduler") {
  TEST_CASE("filter_state admits only active regions") {
    struct Case {
      RegionState state;
      Reject reject;
      std::string reason;
    };
    const std::vector<Case> cases = {
        {RegionState::kActive, Reject::kNone, ""},
        {RegionState::kCordoned, Reject::kCordoned, "cordoned"},
        {RegionState::kDraining, Reject::kDraining, "draining"},
    };
    for (const Case& c : cases) {
      RegionView r = big_region("r");
      r.state = c.state;
      const Fit f = filter_state(request(1, 1), r);
      CHECK(f.reject == c.reject);
      CHECK(f.reason == c.reason);
    }
  }

  TEST_CASE("filter_health admits only healthy regions, with the seconds in the reason") {
    struct Case {
      HealthStatus health;
      Reject reject;
      std::string reason;
    };
    const std::vector<Case> cases = {
        {{Health::kHealthy, 3}, Reject::kNone, ""},
        {{Health::kUnhealthy, 95}, Reject::kUnhealthy, "unhealthy: no heartbeat for 95 s"},
        {{Health::kUnhealthy, 31}, Reject::kUnhealthy, "unhealthy: no heartbeat for 31 s"},
        {{Health::kUnknown, std::nullopt},
         Reject::kHealthUnknown,
         "health unknown: no agent has sent a heartbeat"},
    };
    for (const Case& c : cases) {
      RegionView r = big_region("r");
      r.health = c.health;
      const Fit f = filter_health(request(1, 1), r);
      CHECK(f.reject == c.reject);
      CHECK(f.reason == c.reason);
    }
  }

  TEST_CASE("filter_allowed: empty list allows all, otherwise membership") {
    const RegionView r = big_region("eu-west-1");
    CHECK(filter_allowed(request(1, 1), r).fits());
    CHECK(filter_allowed(request(1, 1, {{"us-east-1", "eu-west-1"}, {}, {}}), r).fits());
    const Fit f = filter_allowed(request(1, 1, {{"us-east-1"}, {}, {}}), r);
    CHECK(f.reject == Reject::kNotAllowed);
    CHECK(f.reason == "not in placement.regions");
  }

  TEST_CASE("filter_labels: every requested label must match exactly") {
    struct Case {
      Labels region_labels;
      Labels wanted;
      std::string reason;  // "" = fits
    };
    const std::vector<Case> cases = {
        {{}, {}, ""},
        {{{"jurisdiction", "eu"}}, {}, ""},
        {{{"jurisdiction", "eu"}, {"tier", "gold"}}, {{"jurisdiction", "eu"}}, ""},
        {{{"jurisdiction", "eu"}, {"tier", "gold"}},
         {{"jurisdiction", "eu"}, {"tier", "gold"}},
         ""},
        {{{"jurisdiction", "us"}},
         {{"jurisdiction", "eu"}},
         "label jurisdiction=eu not matched (region has jurisdiction=us)"},
        {{},
         {{"jurisdiction", "eu"}},
         "label jurisdiction=eu not matched (region has no jurisdiction)"},
        // The first mismatch in key order is the reason.
        {{{"a", "1"}, {"b", "2"}},
         {{"b", "3"}, {"a", "9"}},
         "label a=9 not matched (region has a=1)"},
        // Values are case-sensitive.
        {{{"jurisdiction", "EU"}},
         {{"jurisdiction", "eu"}},
         "label jurisdiction=eu not matched (region has jurisdiction=EU)"},
    };
    for (const Case& c : cases) {
      RegionView r = big_region("r");
      r.labels = c.region_labels;
      const Fit f = filter_labels(request(1, 1, {{}, c.wanted, {}}), r);
      CHECK(f.fits() == c.reason.empty());
      CHECK(f.reason == c.reason);
      if (!f.fits()) CHECK(f.reject == Reject::kLabel);
    }
  }

  TEST_CASE("filter_resources: memory, cpu and one workspace slot, in that order") {
    struct Case {
      Quantities capacity;
      Quantities allocated;
      Resources want;
      Reject reject;
      std::string reason;
    };
    const std::int64_t max = INT64_MAX;
    const std::vector<Case> cases = {
        {{1000, 1000, 10}, {0, 0, 0}, {1000, 1000}, Reject::kNone, ""},  // exact fit
        {{1000, 1000, 10},
         {700, 0, 0},
         {600, 10},
         Reject::kMemory,
         "memory_mib: 300 free < 600 requested"},
        {{1000, 1000, 10},
         {0, 900, 0},
         {10, 250},
         Reject::kCpu,
         "cpu_millis: 100 free < 250 requested"},
        {{1000, 1000, 10},
         {0, 0, 10},
         {10, 10},
         Reject::kWorkspaces,
         "workspaces: 0 free < 1 requested"},
        // Memory is reported before cpu when both are short.
        {{100, 100, 1}, {100, 100, 1}, {1, 1}, Reject::kMemory, "memory_mib: 0 free < 1 requested"},
        // Capacity cut below the allocation: free is 0, never negative.
        {{500, 1000, 10}, {800, 0, 0}, {1, 1}, Reject::kMemory, "memory_mib: 0 free < 1 requested"},
        {{1000, 1000, 3},
         {0, 0, 5},
         {1, 1},
         Reject::kWorkspaces,
         "workspaces: 0 free < 1 requested"},
        // Zero capacity fits nothing.
        {{0, 0, 0}, {0, 0, 0}, {1, 1}, Reject::kMemory, "memory_mib: 0 free < 1 requested"},
        {{100, 100, 0}, {0, 0, 0}, {1, 1}, Reject::kWorkspaces, "workspaces: 0 free < 1 requested"},
        // int64 extremes do not overflow.
        {{max, max, max}, {max - 1, 0, 0}, {1, max}, Reject::kNone, ""},
        {{max, max, max},
         {max, 0, 0},
         {max, 1},
         Reject::kMemory,
         "memory_mib: 0 free < 9223372036854775807 requested"},
        {{max, max, max}, {INT64_MIN, 0, 0}, {max, 1}, Reject::kNone, ""},  // negative alloc = 0
    };
    for (const Case& c : cases) {
      CAPTURE(c.reason);
      const RegionView r = region("r", c.capacity, c.allocated);
      const Fit f = filter_resources(WorkspaceRequest{c.want, {}}, r);
      CHECK(f.reject == c.reject);
      CHECK(f.reason == c.reason);
    }
  }

  TEST_CASE("run_filters reports the first failing filter in pipeline order") {
    RegionView r = region("r", {100, 100, 1}, {100, 100, 1});
    r.state = RegionState::kCordoned;
    r.health = HealthStatus{Health::kUnknown, std::nullopt};
    r.labels = {{"jurisdiction", "us"}};
    const WorkspaceRequest req = request(1, 1, {{"other"}, {{"jurisdiction", "eu"}}, {}});
    CHECK(run_filters(req, r).reason == "cordoned");
    r.state = RegionState::kActive;
    CHECK(run_filters(req, r).reason == "health unknown: no agent has sent a heartbeat");
    r.health = HealthStatus{Health::kHealthy, 0};
    CHECK(run_filters(req, r).reason == "not in placement.regions");
    r.id = "other";
    CHECK(run_filters(req, r).reason ==
          "label jurisdiction=eu not matched (region has jurisdiction=us)");
    r.labels["jurisdiction"] = "eu";
    CHECK(run_filters(req, r).reason == "memory_mib: 0 free < 1 requested");
    r.capacity = {200, 200, 2};
    CHECK(run_filters(req, r).fits());
  }

  TEST_CASE("free_amount clamps to [0, capacity]") {
    CHECK(free_amount(100, 30) == 70);
    CHECK(free_amount(100, 130) == 0);
    CHECK(free_amount(-5, 0) == 0);
    CHECK(free_amount(100, -5) == 100);
    CHECK(free_amount(INT64_MAX, INT64_MIN) == INT64_MAX);
    CHECK(free_amount(INT64_MIN, INT64_MAX) == 0);
  }

  TEST_CASE("passes_filters() agrees with run_filters() on random regions and requests") {
    std::mt19937 rng(4242);
    auto n = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const std::vector<std::string> ids = {"a", "b", "c"};
    for (int round = 0; round < 2000; ++round) {
      RegionView r = region(ids[static_cast<std::size_t>(n(0, 2))], {n(0, 500), n(0, 500), n(0, 5)},
                            {n(0, 600), n(0, 600), n(0, 6)});
      r.state = static_cast<RegionState>(n(0, 2));
      r.health = HealthStatus{static_cast<Health>(n(0, 2)), 5};
      if (n(0, 1)) r.labels["tier"] = n(0, 1) ? "gold" : "silver";
      WorkspaceRequest req = request(n(1, 300), n(1, 300));
      for (int k = n(0, 2); k > 0; --k)
        req.placement.regions.push_back(ids[static_cast<std::size_t>(n(0, 2))]);
      if (n(0, 2) == 0) req.placement.labels["tier"] = "gold";
      CAPTURE(round);
      CHECK(passes_filters(req, r) == run_filters(req, r).fits());
    }
  }
}
