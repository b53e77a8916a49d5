// Reads of the scheduler's tables for other components (DNS, domains) and for
// fsck. Plain rows out; the callers decide what they mean.
#include "scheduler/detail/store.hpp"

#include <map>

#include "storage/json_rows.hpp"

namespace fc::scheduler::store {

using nlohmann::json;

namespace {

using IdPairs = std::vector<std::pair<std::string, std::string>>;

Result<IdPairs> id_pairs(storage::Conn& c, std::string_view sql) {
  BOOST_OUTCOME_TRY(s, c.prepare(sql));
  IdPairs out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.emplace_back(s.col_text(0), s.col_text(1));
  }
}

}  // namespace

namespace {

Result<std::vector<Service::Published>> published_rows(storage::Stmt& s) {
  std::vector<Service::Published> out;
  // A region's ingress is parsed once, not once per workspace (1M rows, ~100 regions).
  std::map<std::string, Ingress, std::less<>> ingress_of;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    std::string region = s.col_text(3);
    auto it = ingress_of.find(region);
    if (it == ingress_of.end())
      it = ingress_of.emplace(region, ingress_from(json::parse(s.col_text(1), nullptr, false)))
               .first;
    out.push_back(Service::Published{s.col_text(0), it->second, s.col_text(2), std::move(region)});
  }
}

}  // namespace

Result<std::vector<Service::Published>> published(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT w.name, r.ingress, w.id, r.id FROM workspaces w"
                                 " JOIN regions r ON r.id = w.dns_region"
                                 " WHERE w.dns_region IS NOT NULL"));  // any order: a table scan
  return published_rows(s);
}

// The regions first (~100 rows, each ingress parsed once), then the names by
// the partial covering index workspaces_dns (dns_region, name): ~40 bytes a
// row instead of the table's ~700, grouped by region.
Status published_names(storage::Conn& c, const std::function<void(const Ingress&)>& region,
                       const std::function<void(std::string_view, std::size_t)>& name) {
  std::map<std::string, std::size_t, std::less<>> index;
  {
    BOOST_OUTCOME_TRY(s, c.prepare("SELECT id, ingress FROM regions ORDER BY id"));
    for (;;) {
      BOOST_OUTCOME_TRY(row, s.step());
      if (!row) break;
      index.emplace(s.col_text(0), index.size());
      region(ingress_from(json::parse(s.col_text(1), nullptr, false)));
    }
  }
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT name, dns_region FROM workspaces"
                                 " WHERE dns_region IS NOT NULL ORDER BY dns_region"));
  std::string last;
  auto at = index.end();
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return ok();
    std::string r = s.col_text(1);
    if (at == index.end() || r != last) {
      at = index.find(r);
      last = std::move(r);
    }
    if (at != index.end()) name(s.col_text(0), at->second);  // as the join: a known region
  }
}

// One statement for any number of names (the ids of workspace_statuses'
// comment below), by the unique index on workspaces.name.
Result<std::vector<Service::Published>> published(storage::Conn& c,
                                                  const std::vector<std::string>& names) {
  if (names.empty()) return std::vector<Service::Published>{};
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT w.name, r.ingress, w.id, r.id FROM workspaces w"
                                 " JOIN regions r ON r.id = w.dns_region"
                                 " WHERE w.name IN (SELECT value FROM " +
                                 storage::json_rows(c) + "(?1)) ORDER BY w.name"));
  s.bind(1, json(names).dump());
  return published_rows(s);
}

// The ids travel as one JSON array parameter, so a batch of any size is one
// statement; its elements are a per-driver spelling (docs/storage.md "Two
// backends").
Result<std::vector<WorkspaceStatus>> workspace_statuses(storage::Conn& c,
                                                        const std::vector<std::string>& ids) {
  std::vector<WorkspaceStatus> out;
  if (ids.empty()) return out;
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT id, state, observed_generation, observed_phase, region, generation,"
                   " observed_message FROM workspaces WHERE id IN (SELECT value FROM " +
                   storage::json_rows(c) + "(?1))"));
  s.bind(1, json(ids).dump());
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(WorkspaceStatus{s.col_text(0), s.col_text(1), s.col_int(2), s.col_text(3),
                                  s.col_text(4), s.col_int(5), s.col_text(6)});
  }
}

Result<std::vector<LedgerSums>> ledger_sums(storage::Conn& c) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT r.id, r.alloc_memory_mib, r.alloc_cpu_millis, r.alloc_workspaces,"
                   " coalesce(sum(p.memory_mib), 0), coalesce(sum(p.cpu_millis), 0),"
                   " count(p.workspace_id)"
                   " FROM regions r LEFT JOIN placements p ON p.region = r.id"
                   " GROUP BY r.id ORDER BY r.id"));
  return s.collect([](storage::Stmt& s) {
    return LedgerSums{s.col_text(0),
                      {s.col_int(1), s.col_int(2), s.col_int(3)},
                      {s.col_int(4), s.col_int(5), s.col_int(6)}};
  });
}

Result<IdPairs> unplaced_workspaces(storage::Conn& c) {
  return id_pairs(c,
                  "SELECT w.id, w.region FROM workspaces w WHERE w.state <> 'deleting'"
                  " AND NOT EXISTS (SELECT 1 FROM placements p"
                  " WHERE p.workspace_id = w.id AND p.region = w.region)");
}

Result<IdPairs> unassigned_workspaces(storage::Conn& c) {
  return id_pairs(c,
                  "SELECT w.id, w.region FROM workspaces w WHERE w.state <> 'deleting'"
                  " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = w.id"
                  " AND a.region = w.region AND a.action = 'apply')");
}

}  // namespace fc::scheduler::store
