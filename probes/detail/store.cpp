// probe_results (migration 0014). Values are bound, never formatted into SQL.
#include "probes/detail/store.hpp"

#include <nlohmann/json.hpp>

#include "storage/json_rows.hpp"

namespace fc::probes::store {

Result<std::optional<LiveResult>> load(storage::Conn& c, const std::string& hostname) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT hostname, workspace_id, status, step, detail, failures,"
                                 " fingerprint, checked_at FROM probe_results"
                                 " WHERE hostname = lower(?1)"));
  s.bind(1, hostname);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<LiveResult>();
  LiveResult r;
  r.hostname = s.col_text(0);
  r.workspace_id = s.col_text(1);
  r.status = parse_status(s.col_text(2)).value_or(LiveStatus::kUnknown);
  r.step = parse_step(s.col_text(3)).value_or(Step::kDns);
  r.detail = s.col_text(4);
  r.failures = s.col_int(5);
  r.fingerprint = s.col_text(6);
  r.checked_at = s.col_int(7);
  return std::optional<LiveResult>(std::move(r));
}

Status save(storage::Conn& c, const LiveResult& r) {
  BOOST_OUTCOME_TRY(
      s,
      c.prepare("INSERT INTO probe_results(hostname, workspace_id, status, step, detail,"
                " failures, fingerprint, checked_at) VALUES(lower(?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                " ON CONFLICT(hostname) DO UPDATE SET workspace_id = excluded.workspace_id,"
                " status = excluded.status, step = excluded.step, detail = excluded.detail,"
                " failures = excluded.failures, fingerprint = excluded.fingerprint,"
                " checked_at = excluded.checked_at"));
  return s
      .bind_all(r.hostname, r.workspace_id, std::string(status_name(r.status)),
                std::string(step_name(r.step)), r.detail, r.failures, r.fingerprint, r.checked_at)
      .run();
}

// The kept names travel as one JSON array parameter, so any number of them is
// one statement; its elements are a per-driver spelling (docs/storage.md "Two
// backends").
Status forget_except(storage::Conn& c, const std::vector<std::string>& keep) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM probe_results WHERE hostname NOT IN"
                                 " (SELECT lower(value) FROM " +
                                 storage::json_rows(c) + "(?1))"));
  return s.bind(1, nlohmann::json(keep).dump()).run();
}

Result<std::map<std::string, std::int64_t>> count_by_status(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT status, count(*) FROM probe_results GROUP BY status"));
  std::map<std::string, std::int64_t> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out[s.col_text(0)] = s.col_int(1);
  }
}

}  // namespace fc::probes::store

namespace fc::probes {

Result<std::optional<LiveResult>> latest(storage::Conn& c, std::string_view hostname) {
  return store::load(c, std::string(hostname));
}

}  // namespace fc::probes
