// In-memory capacity index: what placement reads instead of scanning
// workspaces (docs/scheduler.md "Capacity index"). The caller rebuilds it from
// the database at start with load() and applies each change only after its
// transaction committed, on the one I/O thread (no locking here).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "scheduler/detail/pick_index.hpp"
#include "scheduler/detail/types.hpp"

namespace fc::scheduler {

// One region as storage returns it; `allocated` is the sum over the workspaces
// placed there (including ones still migrating out), computed by the caller.
struct RegionRecord {
  std::string id;
  RegionState state = RegionState::kActive;
  Labels labels;
  Quantities capacity;
  Quantities allocated;
  std::optional<SysTime> last_heartbeat;
};

class CapacityIndex {
 public:
  // Replaces the whole index. kInvalidArgument on a duplicate id, an empty id
  // or a negative quantity; the index is unchanged then.
  Status load(std::vector<RegionRecord> records);

  Status add_region(RegionRecord record);     // kConflict when the id exists
  Status remove_region(std::string_view id);  // kNotFound
  Status set_state(std::string_view id, RegionState state);
  Status set_labels(std::string_view id, Labels labels);
  Status set_capacity(std::string_view id, Quantities capacity);  // may drop below allocated
  Status record_heartbeat(std::string_view id, SysTime at);       // keeps the newest

  // Adds one workspace's resources (and one slot) to the region. Does not
  // check capacity: the commit already happened, so the index must follow it.
  // kNotFound, or kInvalidArgument for a negative amount or int64 overflow.
  Status reserve(std::string_view id, const Resources& r);
  // Subtracts them again. kInternal when the allocation would go below zero:
  // the index and the database disagree, which is a bug in the caller.
  Status release(std::string_view id, const Resources& r);

  // Every region sorted by id, health evaluated at `now`. The span stays valid
  // until the next non-const call.
  std::span<const RegionView> views(SysTime now, std::int64_t heartbeat_timeout_s);

  // The region as of the last views() (health not re-evaluated); nullptr if absent.
  const RegionView* find(std::string_view id) const;
  std::optional<SysTime> last_heartbeat(std::string_view id) const;
  std::size_t size() const { return views_.size(); }

  // The decision of pick(req, views(now, heartbeat_timeout_s), policy, exclude)
  // without visiting every region (detail/pick_index.hpp); the index is into
  // the id-sorted region list (find_at()). Health is evaluated only for the
  // regions looked at, so views()' health may be stale afterwards.
  std::optional<Pick> pick(const WorkspaceRequest& req, Policy policy, SysTime now,
                           std::int64_t heartbeat_timeout_s, std::string_view exclude = {}) const {
    return pick_.pick(req, policy, views_, heartbeats_, now, heartbeat_timeout_s, exclude);
  }
  const RegionView& at(std::size_t i) const { return views_[i]; }
  std::size_t classes() const { return pick_.classes(); }

 private:
  std::optional<std::size_t> index_of(std::string_view id) const;

  std::vector<RegionView> views_;                   // sorted by id
  std::vector<std::optional<SysTime>> heartbeats_;  // parallel to views_
  PickIndex pick_;                                  // classes of views_, kept in step
};

}  // namespace fc::scheduler
