// SQL of the scheduler: plain rows in, plain rows out (no policy here).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/deferred.hpp"

namespace fc::scheduler::store {

Status insert_region(storage::Conn& c, const Region& r);
Result<std::optional<Region>> find_region(storage::Conn& c, const std::string& id);
Result<std::vector<Region>> all_regions(storage::Conn& c);
Status update_region(storage::Conn& c, const Region& r);
Status delete_region(storage::Conn& c, const std::string& id);
Result<std::int64_t> count_placements(storage::Conn& c, const std::string& region);

// A create's insert: false when the name is taken (the name's UNIQUE index
// decides, no read first; nothing is written then). Inside a set-based run
// (storage::insert_unique) always true: the flush fails the caller with
// `taken` when the name was taken.
Result<bool> insert_workspace(storage::Conn& c, const Workspace& w, Error taken);
Result<std::optional<Workspace>> find_workspace(storage::Conn& c, const std::string& id_or_name);
// `names`: only names in [lo, hi), in name order, the page after workspace
// `after` starting past its name; lo empty: every name, in id order.
struct NameRange {
  std::string lo, hi;
};
Result<std::vector<Workspace>> list_workspaces(storage::Conn& c, const std::string& region,
                                               const std::string& state, int limit,
                                               const std::string& after,
                                               const NameRange& names = {});
Result<std::vector<Workspace>> workspaces_in(storage::Conn& c, const std::string& region);
Status update_workspace(storage::Conn& c, const Workspace& w);
Status delete_workspace(storage::Conn& c, const std::string& id);

// Reserves the resources in the region when they fit (checked in SQL inside
// the transaction, so concurrent creates can never overcommit). false: no fit.
Result<bool> reserve(storage::Conn& c, const std::string& region, const std::string& ws,
                     const Resources& r, bool check_fit);
// A create's reservation and the revision of its first assignment in one
// update of the region's row (reserve with check_fit, then append's revision
// + 1): the new revision, nullopt when the resources do not fit (nothing
// written then). put_assignment writes the assignment at that revision.
// Inside a set-based run the run's creates in the region are one update at
// the flush (storage::SetSum, docs/storage.md "Set-based group commit"):
// the revision is then a storage::Later the flush fills in, never nullopt
// (a run that does not fit is replayed). `out` (may be null) gets the
// revision, at once or at the flush.
Result<std::optional<storage::Later>> reserve_new(storage::Conn& c, const std::string& region,
                                                  const std::string& ws, const Resources& r,
                                                  std::int64_t now, std::int64_t* out);
// Changes a reservation's size (PATCH); false when the new size does not fit.
Result<bool> resize(storage::Conn& c, const std::string& region, const std::string& ws,
                    const Resources& from, const Resources& to);
Status mark_releasing(storage::Conn& c, const std::string& region, const std::string& ws);
// Frees the reservation; returns what was freed (nullopt when there was none).
Result<std::optional<Resources>> release(storage::Conn& c, const std::string& region,
                                         const std::string& ws);
// Every region a workspace still holds capacity in (releasing or not): a
// migration's old region keeps its row until its agent confirms `deleted`.
Result<std::vector<std::string>> placement_regions(storage::Conn& c, const std::string& ws);
Result<bool> has_placement(storage::Conn& c, const std::string& region, const std::string& ws,
                           bool releasing);

// Appends an assignment to the region's log: revision + 1. Returns it.
Result<std::int64_t> append(storage::Conn& c, const std::string& region, const std::string& ws,
                            const std::string& action, const nlohmann::json& body,
                            std::int64_t now);
Status put_assignment(storage::Conn& c, const std::string& region, const std::string& ws,
                      storage::Later rev, const std::string& action, const nlohmann::json& body,
                      std::int64_t now);
// A new workspace's first assignment, its body already serialized (the
// create's hot path): a plain insert (no row of that workspace can exist;
// put_assignment's upsert costs PostgreSQL a speculative insertion per row).
Status put_new_assignment(storage::Conn& c, const std::string& region, const std::string& ws,
                          storage::Later rev, const std::string& action, std::string body,
                          std::int64_t now);
inline Status put_assignment(storage::Conn& c, const std::string& region, const std::string& ws,
                             std::int64_t rev, const std::string& action,
                             const nlohmann::json& body, std::int64_t now) {
  return put_assignment(c, region, ws, storage::Later{rev}, action, body, now);
}
Result<std::vector<nlohmann::json>> assignments_after(storage::Conn& c, const std::string& region,
                                                      std::int64_t since, bool live_only);
// The revision that last changed a workspace's assignment, and when.
struct AssignmentRow {
  std::int64_t revision = 0;
  std::string action;
  std::int64_t written_at = 0;
};

// What the log keeps: a tombstone goes only once it is at least `revisions`
// behind the region's revision AND was written at or before `written_before_ms`.
struct Retention {
  std::int64_t revisions = 0;
  std::int64_t written_before_ms = 0;
};
// Removes at most `limit` tombstones outside `keep`.
Result<int> compact(storage::Conn& c, const std::string& region, const Retention& keep, int limit);
// Whether the region has tombstones compact() would remove.
Result<bool> compactable(storage::Conn& c, const std::string& region, const Retention& keep);
// The regions whose log holds a tombstone, young or old (from the partial
// index assignments_tombstones: as many rows as tombstones, not regions).
Result<std::vector<std::string>> tombstoned_regions(storage::Conn& c);
// Whether the region's log holds a tombstone, young or old.
Result<bool> has_tombstones(storage::Conn& c, const std::string& region);
Result<std::int64_t> min_revision(storage::Conn& c, const std::string& region);
Status set_heartbeat(storage::Conn& c, const std::string& region, std::int64_t at);
// The highest revision an agent of the region fetched (migration 0013): only
// raised, never lowered.
Status set_delivered_revision(storage::Conn& c, const std::string& region, std::int64_t rev);
// Every region's delivered revision (Service::load).
Result<std::vector<std::pair<std::string, std::int64_t>>> delivered_revisions(storage::Conn& c);
// The workspace's assignment row in `region` (status chains): nullopt when
// the region's log has none.
Result<std::optional<AssignmentRow>> assignment_row(storage::Conn& c, const std::string& region,
                                                    const std::string& workspace_id);

// ---- store_views.cpp: what other components read, and fsck ----

// Every workspace DNS points at a region, by name, with that region's ingress.
Result<std::vector<Service::Published>> published(storage::Conn& c);
Status published_names(storage::Conn& c, const std::function<void(const Ingress&)>& region,
                       const std::function<void(std::string_view, std::size_t)>& name);
Result<std::vector<Service::Published>> published(storage::Conn& c,
                                                  const std::vector<std::string>& names);
// The ids of the workspaces in `state`, through the (state, id) index.
Result<std::vector<std::string>> workspace_ids_in_state(storage::Conn& c, const std::string& state);
// The statuses of those of `ids` that exist, in one statement.
Result<std::vector<WorkspaceStatus>> workspace_statuses(storage::Conn& c,
                                                        const std::vector<std::string>& ids);

// A region's allocation next to the sum of its placements (fsck).
struct LedgerSums {
  std::string region;
  Quantities allocated;
  Quantities placed;
};
Result<std::vector<LedgerSums>> ledger_sums(storage::Conn& c);
// {workspace id, region} of live workspaces without a placement in their region.
Result<std::vector<std::pair<std::string, std::string>>> unplaced_workspaces(storage::Conn& c);
// {workspace id, region} of live workspaces without an apply assignment there.
Result<std::vector<std::pair<std::string, std::string>>> unassigned_workspaces(storage::Conn& c);

}  // namespace fc::scheduler::store
