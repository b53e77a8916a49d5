// CapacityIndex::pick (detail/pick_index.hpp) against the plain scan, pick()
// over views(), on random fleets: same region and same by_preference every
// time — spread and binpack, labels, placement.regions, prefer, excluded,
// cordoned/draining, unhealthy and never-seen regions, capacity cuts below
// the allocation, zero capacities, and the index changed between picks by
// every mutation it has (many identical regions: ties by id are exercised).
#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "scheduler/fixtures.hpp"
#include "scheduler/placement.hpp"

using namespace fc::scheduler;
using fc::scheduler::test::kNow;

namespace {

constexpr std::int64_t kTimeout = 30;

struct Gen {
  std::mt19937_64 rng;
  std::int64_t any(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }
  bool chance(int percent) { return any(0, 99) < percent; }
  std::string id(int n) { return "r" + std::to_string(any(0, n - 1)); }
  Labels labels() {
    Labels l;
    if (chance(70)) l["zone"] = chance(50) ? "eu" : "us";
    if (chance(40)) l["tier"] = chance(50) ? "gold" : "std";
    return l;
  }
  Quantities capacity() {  // few distinct values: many identical regions
    static const std::int64_t mem[] = {0, 1024, 4096, 4096, 65536};
    static const std::int64_t cpu[] = {0, 1000, 8000, 8000, 32000};
    return {mem[any(0, 4)], cpu[any(0, 4)], any(0, 3) == 0 ? 0 : any(1, 4) * 10};
  }
  Quantities allocation(const Quantities& cap) {
    if (chance(40)) return {};
    return {any(0, cap.memory_mib + 200), any(0, cap.cpu_millis + 200), any(0, cap.workspaces + 2)};
  }
  std::optional<fc::SysTime> heartbeat() {
    const int k = static_cast<int>(any(0, 9));
    if (k == 0) return std::nullopt;                     // never seen
    if (k == 1) return kNow - std::chrono::seconds(31);  // unhealthy
    return kNow - std::chrono::seconds(any(0, 30));
  }
  RegionState state() {
    const int k = static_cast<int>(any(0, 9));
    return k == 0 ? RegionState::kCordoned : k == 1 ? RegionState::kDraining : RegionState::kActive;
  }
  RegionRecord record(std::string id) {
    RegionRecord r{std::move(id), state(), labels(), capacity(), {}, heartbeat()};
    r.allocated = allocation(r.capacity);
    return r;
  }
  WorkspaceRequest request(int n) {
    WorkspaceRequest q;
    q.resources = chance(10) ? Resources{0, 0} : Resources{any(0, 3000), any(0, 6000)};
    if (chance(30)) q.placement.labels["zone"] = chance(50) ? "eu" : "us";
    if (chance(10)) q.placement.labels["tier"] = "gold";
    if (chance(20))
      for (int k = static_cast<int>(any(1, 4)); k > 0; --k)
        q.placement.regions.push_back(id(n + 2));
    if (chance(25))
      for (int k = static_cast<int>(any(1, 3)); k > 0; --k) q.placement.prefer.push_back(id(n + 2));
    return q;
  }
};

void mutate(Gen& g, CapacityIndex& index, int n) {
  const std::string id = g.id(n + 2);
  switch (g.any(0, 7)) {
    case 0: (void)index.add_region(g.record(id)); break;
    case 1: (void)index.remove_region(id); break;
    case 2: (void)index.set_state(id, g.state()); break;
    case 3: (void)index.set_labels(id, g.labels()); break;
    case 4: (void)index.set_capacity(id, g.capacity()); break;
    case 5:
      if (auto hb = g.heartbeat()) (void)index.record_heartbeat(id, *hb);
      break;
    case 6: (void)index.reserve(id, Resources{g.any(0, 500), g.any(0, 500)}); break;
    default:
      if (const RegionView* v = index.find(id); v && v->allocated.workspaces > 0)
        (void)index.release(id, Resources{std::min<std::int64_t>(v->allocated.memory_mib, 100),
                                          std::min<std::int64_t>(v->allocated.cpu_millis, 100)});
  }
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("CapacityIndex::pick makes the plain scan's decision on random fleets") {
    Gen g{std::mt19937_64{20261206}};
    int compared = 0, chosen = 0, preferred = 0;
    for (int fleet = 0; fleet < 300; ++fleet) {
      const int n = static_cast<int>(g.any(1, fleet % 10 == 0 ? 400 : 40));
      std::vector<RegionRecord> recs;
      for (int k = 0; k < n; ++k)
        if (g.chance(90)) recs.push_back(g.record("r" + std::to_string(k)));
      CapacityIndex index;
      REQUIRE(index.load(std::move(recs)));
      for (int step = 0; step < 40; ++step) {
        const WorkspaceRequest req = g.request(n);
        const Policy policy = g.chance(50) ? Policy::kSpread : Policy::kBinpack;
        const std::string exclude = g.chance(20) ? g.id(n) : "";
        const auto fast = index.pick(req, policy, kNow, kTimeout, exclude);
        const auto views = index.views(kNow, kTimeout);
        const auto slow = pick(req, views, policy, exclude);
        REQUIRE(fast.has_value() == slow.has_value());
        if (fast) {
          INFO("fleet " << fleet << " step " << step);
          CHECK(views[fast->index].id == views[slow->index].id);
          CHECK(fast->by_preference == slow->by_preference);
          ++chosen;
          preferred += fast->by_preference;
          if (!fast->by_preference && g.chance(60))
            (void)index.reserve(views[fast->index].id, req.resources);  // as the create path does
        }
        ++compared;
        mutate(g, index, n);
      }
    }
    CHECK(compared == 12000);
    CHECK(chosen > 3000);  // the fleets are not all full: most picks choose a region
    CHECK(preferred > 100);
  }

  TEST_CASE("CapacityIndex::pick: identical regions tie to the smallest id, classes shrink") {
    std::vector<RegionRecord> recs;
    for (int k = 0; k < 1000; ++k) {
      char id[16];
      std::snprintf(id, sizeof id, "r%04d", k);
      recs.push_back(RegionRecord{id, RegionState::kActive, {}, {4096, 4000, 100}, {}, kNow});
    }
    CapacityIndex index;
    REQUIRE(index.load(std::move(recs)));
    CHECK(index.classes() == 1);
    const WorkspaceRequest req{Resources{512, 250}, {}};
    for (int k = 0; k < 3; ++k) {
      auto p = index.pick(req, Policy::kSpread, kNow, kTimeout);
      REQUIRE(p);
      CHECK(index.at(p->index).id == (k == 0 ? "r0000" : k == 1 ? "r0001" : "r0002"));
      REQUIRE(index.reserve(index.at(p->index).id, req.resources));
    }
    CHECK(index.classes() == 2);  // three regions hold one workspace each, 997 none
    auto b = index.pick(req, Policy::kBinpack, kNow, kTimeout);
    REQUIRE(b);
    CHECK(index.at(b->index).id == "r0000");  // the fullest, smallest id
    CHECK(index.pick(req, Policy::kSpread, kNow, kTimeout, "r0003"));
    CHECK(index.at(index.pick(req, Policy::kSpread, kNow, kTimeout, "r0003")->index).id == "r0004");
  }
}
