// The capacity ledger and the assignment log.
#include "scheduler/detail/store.hpp"
#include "storage/deferred.hpp"

namespace fc::scheduler::store {

using nlohmann::json;

namespace {
// A new workspace's placement and assignment: rows nothing reads back in the
// create's transaction, so a set-based create defers them (storage/deferred.hpp).
constexpr storage::SetInsert kPlacementRow{
    "placements", "INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis)", 4, "",
    "e->>0, e->>1, (e->>2)::bigint, (e->>3)::bigint"};
constexpr storage::SetInsert kAssignmentRow{
    "assignments",
    "INSERT INTO assignments(region, workspace_id, revision, action, body, written_at)", 6,
    " ON CONFLICT(region, workspace_id) DO UPDATE SET revision = excluded.revision,"
    " action = excluded.action, body = excluded.body, written_at = excluded.written_at",
    "e->>0, e->>1, (e->>2)::bigint, e->>3, e->>4, (e->>5)::bigint"};
// A create's: its workspace is new, so is its assignment (no ON CONFLICT).
constexpr storage::SetInsert kNewAssignmentRow{
    "assignments",
    "INSERT INTO assignments(region, workspace_id, revision, action, body, written_at)", 6, "",
    "e->>0, e->>1, (e->>2)::bigint, e->>3, e->>4, (e->>5)::bigint"};
// A set-based run's creates in one region (storage::SetSum): their summed
// resources reserved and the region's revision moved past all of them in one
// guarded update; no row: the run no longer fits (a concurrent daemon, or
// more creates than the in-memory index saw room for), it is replayed.
constexpr storage::SetSum kReserveSum{
    "regions",
    "UPDATE regions SET alloc_memory_mib = alloc_memory_mib + ?2, alloc_cpu_millis ="
    " alloc_cpu_millis + ?3, alloc_workspaces = alloc_workspaces + ?4,"
    " revision = revision + ?4, updated_at = ?5 WHERE id = ?1"
    " AND alloc_memory_mib + ?2 <= cap_memory_mib AND alloc_cpu_millis + ?3 <="
    " cap_cpu_millis AND alloc_workspaces + ?4 <= cap_workspaces RETURNING revision",
    2};
}  // namespace

Result<bool> reserve(storage::Conn& c, const std::string& region, const std::string& ws,
                     const Resources& r, bool check_fit) {
  BOOST_OUTCOME_TRY(
      s, c.prepare(
             "UPDATE regions SET alloc_memory_mib = alloc_memory_mib + ?2, alloc_cpu_millis = "
             "alloc_cpu_millis + ?3,"
             " alloc_workspaces = alloc_workspaces + 1 WHERE id = ?1 AND (?4 = 0 OR ("
             " alloc_memory_mib + ?2 <= cap_memory_mib AND alloc_cpu_millis + ?3 <= cap_cpu_millis"
             " AND alloc_workspaces + 1 <= cap_workspaces))"));
  BOOST_OUTCOME_TRY(s.bind_all(region, r.memory_mib, r.cpu_millis, check_fit ? 1 : 0).run());
  if (c.changes() == 0) return false;
  BOOST_OUTCOME_TRY(
      p,
      c.prepare(
          "INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis) VALUES(?,?,?,?)"));
  BOOST_OUTCOME_TRY(p.bind_all(ws, region, r.memory_mib, r.cpu_millis).run());
  return true;
}

Result<std::optional<storage::Later>> reserve_new(storage::Conn& c, const std::string& region,
                                                  const std::string& ws, const Resources& r,
                                                  std::int64_t now, std::int64_t* out) {
  if (storage::DeferredRows* d = c.deferred()) {
    const storage::Later rev =
        d->add_sum(kReserveSum, region, {r.memory_mib, r.cpu_millis}, now, out);
    BOOST_OUTCOME_TRY(
        storage::insert_row(c, kPlacementRow, ws, region, r.memory_mib, r.cpu_millis));
    return std::optional<storage::Later>(rev);
  }
  BOOST_OUTCOME_TRY(
      s,
      c.prepare("UPDATE regions SET alloc_memory_mib = alloc_memory_mib + ?2, alloc_cpu_millis = "
                "alloc_cpu_millis + ?3, alloc_workspaces = alloc_workspaces + 1,"
                " revision = revision + 1, updated_at = ?4 WHERE id = ?1"
                " AND alloc_memory_mib + ?2 <= cap_memory_mib AND alloc_cpu_millis + ?3 <="
                " cap_cpu_millis AND alloc_workspaces + 1 <= cap_workspaces RETURNING revision"));
  s.bind_all(region, r.memory_mib, r.cpu_millis, now);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<storage::Later>();
  const std::int64_t rev = s.col_int(0);
  BOOST_OUTCOME_TRY(s.run());
  BOOST_OUTCOME_TRY(storage::insert_row(c, kPlacementRow, ws, region, r.memory_mib, r.cpu_millis));
  if (out) *out = rev;
  return std::optional<storage::Later>(storage::Later{rev});
}

Result<bool> resize(storage::Conn& c, const std::string& region, const std::string& ws,
                    const Resources& from, const Resources& to) {
  std::int64_t dm = to.memory_mib - from.memory_mib;
  std::int64_t dc = to.cpu_millis - from.cpu_millis;
  // A resource that does not grow always passes (capacity may be below allocation).
  BOOST_OUTCOME_TRY(
      s, c.prepare("UPDATE regions SET alloc_memory_mib = alloc_memory_mib + ?2, alloc_cpu_millis "
                   "= alloc_cpu_millis + ?3"
                   " WHERE id = ?1 AND (?2 <= 0 OR alloc_memory_mib + ?2 <= cap_memory_mib)"
                   " AND (?3 <= 0 OR alloc_cpu_millis + ?3 <= cap_cpu_millis)"));
  BOOST_OUTCOME_TRY(s.bind_all(region, dm, dc).run());
  if (c.changes() == 0) return false;
  BOOST_OUTCOME_TRY(p, c.prepare("UPDATE placements SET memory_mib = ?3, cpu_millis = ?4 WHERE "
                                 "workspace_id = ?1 AND region = ?2"));
  BOOST_OUTCOME_TRY(p.bind_all(ws, region, to.memory_mib, to.cpu_millis).run());
  return true;
}

Status mark_releasing(storage::Conn& c, const std::string& region, const std::string& ws) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("UPDATE placements SET releasing = 1 WHERE workspace_id = ? AND region = ?"));
  return s.bind_all(ws, region).run();
}

Result<std::optional<Resources>> release(storage::Conn& c, const std::string& region,
                                         const std::string& ws) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM placements WHERE workspace_id = ? AND region = ? "
                                 "RETURNING memory_mib, cpu_millis"));
  s.bind_all(ws, region);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<Resources>();
  Resources r{s.col_int(0), s.col_int(1)};
  BOOST_OUTCOME_TRY(s.run());
  BOOST_OUTCOME_TRY(u, c.prepare("UPDATE regions SET alloc_memory_mib = alloc_memory_mib - ?2, "
                                 "alloc_cpu_millis = alloc_cpu_millis - ?3,"
                                 " alloc_workspaces = alloc_workspaces - 1 WHERE id = ?1"));
  BOOST_OUTCOME_TRY(u.bind_all(region, r.memory_mib, r.cpu_millis).run());
  return std::optional<Resources>(r);
}

Result<std::vector<std::string>> placement_regions(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT region FROM placements WHERE workspace_id = ? ORDER BY region"));
  s.bind_all(ws);
  return s.collect([](storage::Stmt& s) { return s.col_text(0); });
}

Result<bool> has_placement(storage::Conn& c, const std::string& region, const std::string& ws,
                           bool releasing) {
  BOOST_OUTCOME_TRY(
      s, c.prepare(
             "SELECT 1 FROM placements WHERE workspace_id = ? AND region = ? AND releasing = ?"));
  s.bind_all(ws, region, releasing ? 1 : 0);
  BOOST_OUTCOME_TRY(row, s.step());
  return row;
}

Result<std::int64_t> append(storage::Conn& c, const std::string& region, const std::string& ws,
                            const std::string& action, const json& body, std::int64_t now) {
  BOOST_OUTCOME_TRY(u, c.prepare("UPDATE regions SET revision = revision + 1, updated_at = ?2 "
                                 "WHERE id = ?1 RETURNING revision"));
  u.bind_all(region, now);
  BOOST_OUTCOME_TRY(row, u.step());
  if (!row) return make_error(Code::kNotFound, "no region " + region);
  std::int64_t rev = u.col_int(0);
  BOOST_OUTCOME_TRY(u.run());
  BOOST_OUTCOME_TRY(put_assignment(c, region, ws, rev, action, body, now));
  return rev;
}

Status put_assignment(storage::Conn& c, const std::string& region, const std::string& ws,
                      storage::Later rev, const std::string& action, const json& body,
                      std::int64_t now) {
  return storage::insert_row(c, kAssignmentRow, region, ws, rev, action, body.dump(), now);
}

Status put_new_assignment(storage::Conn& c, const std::string& region, const std::string& ws,
                          storage::Later rev, const std::string& action, std::string body,
                          std::int64_t now) {
  return storage::insert_row(c, kNewAssignmentRow, region, ws, rev, action, std::move(body), now);
}

Result<std::vector<json>> assignments_after(storage::Conn& c, const std::string& region,
                                            std::int64_t since, bool live_only) {
  // A pending delete (its agent has not confirmed yet) is still live.
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT body FROM assignments a WHERE region = ?1 AND revision > "
                                 "?2 AND (?3 = 0 OR action = 'apply'"
                                 " OR EXISTS (SELECT 1 FROM placements p WHERE p.workspace_id = "
                                 "a.workspace_id AND p.region = a.region"
                                 " AND p.releasing = 1)) ORDER BY revision"));
  s.bind_all(region, since, live_only ? 1 : 0);
  std::vector<json> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    json j = json::parse(s.col_text(0), nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
}

Result<int> compact(storage::Conn& c, const std::string& region, const Retention& keep, int limit) {
  // Tombstones whose workspace holds no capacity in the region any more (its
  // agent confirmed `deleted`, or it was forced) and that fell out of the
  // retained window, by count and by time. Bounded: at most `limit` rows per call.
  BOOST_OUTCOME_TRY(
      s,
      c.prepare(
          "SELECT a.workspace_id, a.revision FROM assignments a JOIN regions r ON r.id = a.region"
          " WHERE a.region = ?1 AND a.action = 'delete' AND a.revision <= r.revision - ?2"
          " AND a.written_at <= ?4"
          " AND NOT EXISTS (SELECT 1 FROM placements p WHERE p.workspace_id = a.workspace_id AND "
          "p.region = a.region)"
          " ORDER BY a.revision LIMIT ?3"));
  s.bind_all(region, keep.revisions, limit, keep.written_before_ms);
  std::vector<std::string> ids;
  std::int64_t max_rev = 0;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    ids.push_back(s.col_text(0));
    max_rev = std::max(max_rev, s.col_int(1));
  }
  for (const auto& id : ids) {
    BOOST_OUTCOME_TRY(d,
                      c.prepare("DELETE FROM assignments WHERE region = ? AND workspace_id = ?"));
    BOOST_OUTCOME_TRY(d.bind_all(region, id).run());
  }
  if (ids.empty()) return 0;
  BOOST_OUTCOME_TRY(u,
                    c.prepare("UPDATE regions SET min_revision = CASE WHEN min_revision > ?2 THEN"
                              " min_revision ELSE ?2 END WHERE id = ?1"));
  BOOST_OUTCOME_TRY(u.bind_all(region, max_rev).run());
  return static_cast<int>(ids.size());
}

Result<bool> compactable(storage::Conn& c, const std::string& region, const Retention& keep) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT 1 FROM assignments a JOIN regions r ON r.id = a.region"
                   " WHERE a.region = ?1 AND a.action = 'delete' AND a.revision <= r.revision - ?2"
                   " AND a.written_at <= ?3"
                   " AND NOT EXISTS (SELECT 1 FROM placements p WHERE p.workspace_id = "
                   "a.workspace_id AND p.region = a.region)"
                   " LIMIT 1"));
  s.bind_all(region, keep.revisions, keep.written_before_ms);
  BOOST_OUTCOME_TRY(row, s.step());
  return row;
}

Result<std::vector<std::string>> tombstoned_regions(storage::Conn& c) {
  BOOST_OUTCOME_TRY(
      s,
      c.prepare("SELECT DISTINCT region FROM assignments WHERE action = 'delete' ORDER BY region"));
  return s.collect([](storage::Stmt& r) { return r.col_text(0); });
}

Result<bool> has_tombstones(storage::Conn& c, const std::string& region) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT 1 FROM assignments WHERE region = ?1 AND action = 'delete' LIMIT 1"));
  s.bind(1, region);
  return s.step();
}

Result<std::int64_t> min_revision(storage::Conn& c, const std::string& region) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT min_revision FROM regions WHERE id = ?"));
  s.bind(1, region);
  BOOST_OUTCOME_TRY(row, s.step());
  return row ? s.col_int(0) : 0;
}

Status set_heartbeat(storage::Conn& c, const std::string& region, std::int64_t at) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE regions SET last_heartbeat_at = CASE WHEN"
                                 " last_heartbeat_at > ?2 THEN last_heartbeat_at ELSE ?2 END"
                                 " WHERE id = ?1"));
  return s.bind_all(region, at).run();
}

Status set_delivered_revision(storage::Conn& c, const std::string& region, std::int64_t rev) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE regions SET delivered_revision = CASE WHEN"
                                 " delivered_revision > ?2 THEN delivered_revision ELSE ?2 END"
                                 " WHERE id = ?1"));
  return s.bind_all(region, rev).run();
}

Result<std::vector<std::pair<std::string, std::int64_t>>> delivered_revisions(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT id, delivered_revision FROM regions"));
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    out.emplace_back(s.col_text(0), s.col_int(1));
  }
  return out;
}

Result<std::optional<AssignmentRow>> assignment_row(storage::Conn& c, const std::string& region,
                                                    const std::string& workspace_id) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT revision, action, written_at FROM assignments "
                                 "WHERE region = ?1 AND workspace_id = ?2"));
  s.bind_all(region, workspace_id);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<AssignmentRow>{};
  return std::optional<AssignmentRow>{AssignmentRow{s.col_int(0), s.col_text(1), s.col_int(2)}};
}

}  // namespace fc::scheduler::store
