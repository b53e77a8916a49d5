// The placement decision without visiting every region (issue #16 item 3):
// regions grouped into classes of identical (state, labels, capacity,
// allocated) — every member of a class filters and scores the same except
// for health and its id — and the classes ordered by an upper bound of their
// score that does not depend on the request. A pick walks the classes from
// the best bound down and stops once no class left can beat (or tie with a
// smaller id) the best found; a class is scored once and yields its smallest
// healthy id. Requests naming regions (placement.regions, prefer) look those
// up by id instead. Same decision as pick() over views() (a randomized test
// compares them, tests/scheduler/pick_index_test.cpp).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/clock.hpp"
#include "scheduler/detail/types.hpp"

namespace fc::scheduler {

// Index into the region list (sorted by id) and whether `prefer` decided.
struct Pick {
  std::size_t index = 0;
  bool by_preference = false;
};

class PickIndex {
 public:
  // Every region again (after load, add or remove: positions moved).
  void rebuild(std::span<const RegionView> views);
  // Around a change of region `i`'s state, labels, capacity or allocation:
  // leave() with the view before it, join() with the view after it.
  void leave(std::size_t i, const RegionView& v);
  void join(std::size_t i, const RegionView& v);

  std::optional<Pick> pick(const WorkspaceRequest& req, Policy policy,
                           std::span<const RegionView> views,
                           std::span<const std::optional<SysTime>> heartbeats, SysTime now,
                           std::int64_t heartbeat_timeout_s, std::string_view exclude) const;

  std::size_t classes() const { return classes_.size(); }

 private:
  struct Key {
    RegionState state;
    Labels labels;
    Quantities capacity;
    Quantities allocated;
    friend bool operator<(const Key& a, const Key& b) {
      const auto t = [](const Key& k) {
        const Quantities& c = k.capacity;
        const Quantities& u = k.allocated;
        return std::tie(k.state, c.memory_mib, c.cpu_millis, c.workspaces, u.memory_mib,
                        u.cpu_millis, u.workspaces, k.labels);
      };
      return t(a) < t(b);
    }
  };
  struct Class {
    std::set<std::size_t> members;  // positions in the id-sorted list = id order
    double free_key = 0;            // Σ free/capacity × 100: spread's bound
    double used_key = 0;            // Σ (capacity − free)/capacity × 100: binpack's
  };
  using Node = std::map<Key, Class>::value_type;
  using Entry = std::pair<double, const Node*>;  // best bound first
  using Order = std::set<Entry, std::greater<>>;

  struct Best {
    int score = -1;
    std::optional<std::size_t> index;
  };
  void scan(const WorkspaceRequest& req, Policy policy, std::span<const RegionView> views,
            std::span<const std::optional<SysTime>> heartbeats, SysTime now, std::int64_t timeout,
            std::string_view exclude, Best& best) const;

  std::map<Key, Class> classes_;
  Order by_free_, by_used_;
  // Positive capacities → how many regions have each (memory, cpu, workspaces):
  // a count per distinct value, not a node per region (10,000 regions of one
  // size are one entry; issue #16 item 3).
  std::array<std::map<std::int64_t, std::size_t>, 3> positive_caps_;
};

}  // namespace fc::scheduler
