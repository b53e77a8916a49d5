#include "scheduler/detail/store.hpp"
#include "scheduler/detail/view_text.hpp"
#include "storage/deferred.hpp"

namespace fc::scheduler::store {

using nlohmann::json;

namespace {

constexpr const char* kRegionCols =
    "id, name, labels, ingress, cap_memory_mib, cap_cpu_millis, cap_workspaces, alloc_memory_mib,"
    " alloc_cpu_millis, alloc_workspaces, state, revision, last_heartbeat_at, created_at, "
    "updated_at";

Region region_row(storage::Stmt& s) {
  Region r;
  r.id = s.col_text(0);
  r.name = s.col_text(1);
  r.labels = labels_from(json::parse(s.col_text(2), nullptr, false));
  r.ingress = ingress_from(json::parse(s.col_text(3), nullptr, false));
  r.capacity = {s.col_int(4), s.col_int(5), s.col_int(6)};
  r.allocated = {s.col_int(7), s.col_int(8), s.col_int(9)};
  r.state = parse_region_state(s.col_text(10)).value_or(RegionState::kActive);
  r.revision = s.col_int(11);
  r.last_heartbeat_ms = s.col_opt_int(12);
  r.created_at = s.col_int(13);
  r.updated_at = s.col_int(14);
  return r;
}

constexpr const char* kWsCols =
    "id, name, region, target_region, state, generation, memory_mib, cpu_millis, placement, spec,"
    " observed_generation, observed_phase, observed_message, dns_region, created_at, updated_at,"
    " observed_since, suspended";

Workspace ws_row(storage::Stmt& s) {
  Workspace w;
  w.id = s.col_text(0);
  w.name = s.col_text(1);
  w.region = s.col_text(2);
  w.target_region = s.col_opt_text(3);
  w.state = s.col_text(4);
  w.generation = s.col_int(5);
  w.resources = {s.col_int(6), s.col_int(7)};
  // Most rows have no placement constraints and an empty spec: no parse for
  // those (a list page reads 1,001 rows; what the parse of "{}" gives).
  if (std::string text = s.col_text(8); text != "{}")
    w.placement = placement_from(json::parse(text, nullptr, false));
  if (std::string text = s.col_text(9); text != "{}") {
    w.spec = json::parse(text, nullptr, false);
    if (w.spec.is_discarded()) w.spec = json::object();
  } else {
    w.spec = json::object();
  }
  w.observed_generation = s.col_int(10);
  w.observed_phase = s.col_text(11);
  w.observed_message = s.col_text(12);
  w.dns_region = s.col_opt_text(13);
  w.created_at = s.col_int(14);
  w.updated_at = s.col_int(15);
  w.observed_since = s.col_int(16);
  w.suspended = s.col_int(17) != 0;
  return w;
}

}  // namespace

Status insert_region(storage::Conn& c, const Region& r) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO regions(id, name, labels, ingress, cap_memory_mib, "
                   "cap_cpu_millis, cap_workspaces,"
                   " state, revision, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,1,?,?)"));
  return s
      .bind_all(r.id, r.name, labels_json(r.labels).dump(), ingress_json(r.ingress).dump(),
                r.capacity.memory_mib, r.capacity.cpu_millis, r.capacity.workspaces,
                std::string(region_state_name(r.state)), r.created_at, r.updated_at)
      .run();
}

Result<std::optional<Region>> find_region(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(s,
                    c.prepare(std::string("SELECT ") + kRegionCols + " FROM regions WHERE id = ?"));
  s.bind(1, id);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<Region>();
  return std::optional<Region>(region_row(s));
}

Result<std::vector<Region>> all_regions(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s,
                    c.prepare(std::string("SELECT ") + kRegionCols + " FROM regions ORDER BY id"));
  return s.collect(region_row);
}

Status update_region(storage::Conn& c, const Region& r) {
  BOOST_OUTCOME_TRY(s,
                    c.prepare("UPDATE regions SET name = ?2, labels = ?3, ingress = ?4, "
                              "cap_memory_mib = ?5, cap_cpu_millis = ?6,"
                              " cap_workspaces = ?7, state = ?8, updated_at = ?9 WHERE id = ?1"));
  return s
      .bind_all(r.id, r.name, labels_json(r.labels).dump(), ingress_json(r.ingress).dump(),
                r.capacity.memory_mib, r.capacity.cpu_millis, r.capacity.workspaces,
                std::string(region_state_name(r.state)), r.updated_at)
      .run();
}

Status delete_region(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(a, c.prepare("DELETE FROM assignments WHERE region = ?"));
  BOOST_OUTCOME_TRY(a.bind(1, id).run());
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM regions WHERE id = ?"));
  return s.bind(1, id).run();
}

Result<std::int64_t> count_placements(storage::Conn& c, const std::string& region) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT count(*) FROM placements WHERE region = ?"));
  s.bind(1, region);
  BOOST_OUTCOME_TRY(row, s.step());
  return row ? s.col_int(0) : 0;
}

namespace {
// A create's workspace row (storage::insert_unique): the name's UNIQUE index
// decides; inside a set-based run the batch's rows are one INSERT … ON
// CONFLICT DO NOTHING RETURNING id, and a create whose name was taken fails.
constexpr storage::SetInsert kWorkspaceRow{
    "workspaces",
    "INSERT INTO workspaces(id, name, region, target_region, state, generation, memory_mib,"
    " cpu_millis, placement, spec, observed_generation, observed_phase, observed_message,"
    " dns_region, created_at, updated_at, observed_since, suspended)",
    18,
    " ON CONFLICT DO NOTHING",
    "e->>0, e->>1, e->>2, e->>3, e->>4, (e->>5)::bigint, (e->>6)::bigint, (e->>7)::bigint,"
    " e->>8, e->>9, (e->>10)::bigint, e->>11, e->>12, e->>13, (e->>14)::bigint,"
    " (e->>15)::bigint, (e->>16)::bigint, (e->>17)::bigint",
    "id"};
}  // namespace

Result<bool> insert_workspace(storage::Conn& c, const Workspace& w, Error taken) {
  return storage::insert_unique(
      c, kWorkspaceRow, std::move(taken), w.id, w.name, w.region, w.target_region, w.state,
      w.generation, w.resources.memory_mib, w.resources.cpu_millis,
      scheduler::detail::placement_text(w.placement), w.spec.dump(), w.observed_generation,
      w.observed_phase, w.observed_message, w.dns_region, w.created_at, w.updated_at,
      w.observed_since, std::int64_t{w.suspended ? 1 : 0});
}

Result<std::optional<Workspace>> find_workspace(storage::Conn& c, const std::string& key) {
  static const std::string by_id =
      std::string("SELECT ") + kWsCols + " FROM workspaces WHERE id = ?";
  static const std::string by_name =
      std::string("SELECT ") + kWsCols + " FROM workspaces WHERE name = ?";
  BOOST_OUTCOME_TRY(s, c.prepare(key.rfind("ws_", 0) == 0 ? by_id : by_name));
  s.bind(1, key);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<Workspace>();
  return std::optional<Workspace>(ws_row(s));
}

Result<std::vector<Workspace>> list_workspaces(storage::Conn& c, const std::string& region,
                                               const std::string& state, int limit,
                                               const std::string& after, const NameRange& names) {
  if (names.lo.empty()) {
    BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kWsCols +
                                   " FROM workspaces WHERE id > ?1 AND (?2 = '' OR region = ?2)"
                                   " AND (?3 = '' OR state = ?3) ORDER BY id LIMIT ?4"));
    s.bind_all(after, region, state, limit);
    return s.collect(ws_row);
  }
  // A name search reads the unique index on name in order: both the range
  // and the order come from it, so a page costs `limit` rows whether the
  // prefix matches one workspace or all of them (BENCHMARKS.md "Console").
  // The page after `after` starts past that workspace's name.
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kWsCols +
                                 " FROM workspaces WHERE name >= ?5 AND name < ?6 AND name >"
                                 " COALESCE((SELECT name FROM workspaces WHERE id = ?1), '')"
                                 " AND (?2 = '' OR region = ?2) AND (?3 = '' OR state = ?3)"
                                 " ORDER BY name LIMIT ?4"));
  s.bind_all(after, region, state, limit, names.lo, names.hi);
  return s.collect(ws_row);
}

Result<std::vector<std::string>> workspace_ids_in_state(storage::Conn& c,
                                                        const std::string& state) {
  // Only deleting workspaces are indexed (workspaces_deleting, migration
  // 0026): the literal term plans the query on that partial index; another
  // state is a scan.
  BOOST_OUTCOME_TRY(
      s, c.prepare(state == "deleting" ? "SELECT id FROM workspaces WHERE state = ?1"
                                         " AND state = 'deleting' ORDER BY id"
                                       : "SELECT id FROM workspaces WHERE state = ?1 ORDER BY id"));
  s.bind(1, state);
  return s.collect([](const storage::Stmt& st) { return st.col_text(0); });
}

Result<std::vector<Workspace>> workspaces_in(storage::Conn& c, const std::string& region) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kWsCols +
                                 " FROM workspaces WHERE region = ? ORDER BY id"));
  s.bind(1, region);
  return s.collect(ws_row);
}

Status update_workspace(storage::Conn& c, const Workspace& w) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE workspaces SET region = ?2, target_region = ?3, state = "
                                 "?4, generation = ?5, memory_mib = ?6,"
                                 " cpu_millis = ?7, spec = ?8, observed_generation = ?9, "
                                 "observed_phase = ?10, observed_message = ?11,"
                                 " dns_region = ?12, updated_at = ?13, observed_since = ?14,"
                                 " suspended = ?15"
                                 " WHERE id = ?1"));
  return s
      .bind_all(w.id, w.region, w.target_region, w.state, w.generation, w.resources.memory_mib,
                w.resources.cpu_millis, w.spec.dump(), w.observed_generation, w.observed_phase,
                w.observed_message, w.dns_region, w.updated_at, w.observed_since,
                std::int64_t{w.suspended ? 1 : 0})
      .run();
}

Status delete_workspace(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM workspaces WHERE id = ?"));
  return s.bind(1, id).run();
}

}  // namespace fc::scheduler::store
