#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fixtures.hpp"
#include "scheduler/placement.hpp"

using namespace fc::scheduler;
using fc::scheduler::test::region;

namespace {

DrainCandidate ws(std::string id, std::int64_t mem, PlacementConstraints pc = {}) {
  return DrainCandidate{std::move(id), WorkspaceRequest{{mem, 100}, std::move(pc)}};
}

// "old" is draining; "x" has 1000 MiB free, "y" 400 MiB free.
std::vector<RegionView> fleet() {
  std::vector<RegionView> v = {region("old", {4000, 4000, 40}, {3000, 300, 3}),
                               region("x", {1000, 1000, 10}),
                               region("y", {1000, 1000, 10}, {600, 0, 1})};
  v[0].state = RegionState::kDraining;
  return v;
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("an empty draining region is done") {
    const DrainPlan p = plan_drain("old", {}, fleet(), Policy::kSpread);
    CHECK(p.status == DrainStatus::kDone);
    CHECK_FALSE(p.move);
    CHECK(p.blocked.empty());
  }

  TEST_CASE("moves the smallest id first, whatever the input order") {
    const std::vector<DrainCandidate> wss = {ws("ws_c", 100), ws("ws_a", 100), ws("ws_b", 100)};
    const DrainPlan p = plan_drain("old", wss, fleet(), Policy::kSpread);
    REQUIRE(p.status == DrainStatus::kMove);
    REQUIRE(p.move);
    CHECK(p.move->workspace_id == "ws_a");
    CHECK(*p.move->placement.chosen == "x");  // spread: x is emptier
    CHECK(p.blocked.empty());
    const DrainPlan bp = plan_drain("old", wss, fleet(), Policy::kBinpack);
    CHECK(*bp.move->placement.chosen == "y");  // binpack: y is fuller and still fits
  }

  TEST_CASE("skips workspaces that cannot move now and says why") {
    const std::vector<DrainCandidate> wss = {ws("ws_a", 2000), ws("ws_b", 500), ws("ws_c", 100)};
    const DrainPlan p = plan_drain("old", wss, fleet(), Policy::kBinpack);
    REQUIRE(p.status == DrainStatus::kMove);
    CHECK(p.move->workspace_id == "ws_b");
    CHECK(*p.move->placement.chosen == "x");  // 500 MiB does not fit in y
    REQUIRE(p.blocked.size() == 1);
    CHECK(p.blocked[0].workspace_id == "ws_a");
    CHECK(rejection_reasons(p.blocked[0].placement) ==
          std::vector<RegionReason>{{"old", "source region of the move"},
                                    {"x", "memory_mib: 1000 free < 2000 requested"},
                                    {"y", "memory_mib: 400 free < 2000 requested"}});
  }

  TEST_CASE("blocked when nothing can move; constraints are kept") {
    const std::vector<DrainCandidate> wss = {ws("ws_a", 2000), ws("ws_b", 10, {{"old"}, {}, {}}),
                                             ws("ws_c", 10, {{}, {{"jurisdiction", "eu"}}, {}})};
    const DrainPlan p = plan_drain("old", wss, fleet(), Policy::kSpread);
    CHECK(p.status == DrainStatus::kBlocked);
    CHECK_FALSE(p.move);
    REQUIRE(p.blocked.size() == 3);
    CHECK(p.blocked[1].placement.regions[1].fit.reason == "not in placement.regions");
    CHECK(p.blocked[2].placement.regions[2].fit.reason ==
          "label jurisdiction=eu not matched (region has no jurisdiction)");
  }

  TEST_CASE("the draining region is excluded by id even if it looks active") {
    auto regions = fleet();
    regions[0].state = RegionState::kActive;
    regions[0].allocated = {};  // would be the best spread target
    const DrainPlan p =
        plan_drain("old", std::vector<DrainCandidate>{ws("ws_a", 100)}, regions, Policy::kSpread);
    REQUIRE(p.move);
    CHECK(*p.move->placement.chosen == "x");
    CHECK(p.move->placement.regions[0].fit.reject == Reject::kExcluded);
  }

  TEST_CASE("prefer still applies to the target of a drain move") {
    const std::vector<DrainCandidate> wss = {ws("ws_a", 100, {{}, {}, {"old", "y"}})};
    const DrainPlan p = plan_drain("old", wss, fleet(), Policy::kSpread);
    REQUIRE(p.move);
    CHECK(*p.move->placement.chosen == "y");
    CHECK(p.move->placement.by_preference);
  }
}
