// The events outbox (migration 0015). Values are bound, never formatted into SQL.
#include "events/events.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "storage/db.hpp"
#include "storage/deferred.hpp"
#include "storage/json_rows.hpp"

namespace fc::events {
namespace {

// append runs on the storage writer thread (inside Database::write); one
// generator per thread keeps ids strictly increasing without a lock.
std::string next_id(std::int64_t now_ms) {
  thread_local IdGenerator gen;
  return gen.next("evt_", now_ms);
}

Result<std::int64_t> next_workspace_seq(storage::Conn& c, const std::string& workspace_id) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT coalesce(max(workspace_seq), 0) + 1 FROM events"
                                 " WHERE workspace_id = ?1"));
  s.bind(1, workspace_id);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::int64_t{1};
  return s.col_int(0);
}

Event read_row(const storage::Stmt& s) {
  Event e;
  e.seq = s.col_int(0);
  e.id = s.col_text(1);
  e.type = s.col_text(2);
  e.workspace_id = s.col_text(3);
  e.workspace_seq = s.col_int(4);
  e.subject = s.col_text(5);
  e.data_json = s.col_text(6);
  e.created_at = s.col_int(7);
  return e;
}

constexpr const char* kColumns =
    "seq, id, type, workspace_id, workspace_seq, subject, data, created_at";
// The partial index events_type (migration 0026) holds every type but the
// workspace.* ones; a query names its condition word for word to be planned
// on it (SQLite matches a partial index's WHERE by its terms).
constexpr const char* kIndexedTypes = "substr(type, 1, 10) <> 'workspace.'";
constexpr const char* kColumnsWithoutData =
    "seq, id, type, workspace_id, workspace_seq, subject, '', created_at";

}  // namespace

Status append(storage::Conn& c, const NewEvent& e, std::int64_t now_ms) {
  std::int64_t ws_seq = 0;
  if (!e.workspace_id.empty()) {
    BOOST_OUTCOME_TRY(n, next_workspace_seq(c, e.workspace_id));
    ws_seq = n;
  }
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO events(id, type, workspace_id, workspace_seq,"
                                 " subject, data, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  return s
      .bind_all(next_id(now_ms), e.type, e.workspace_id, ws_seq, e.subject,
                e.data_json.empty() ? std::string("{}") : e.data_json, now_ms)
      .run();
}

namespace {
// A new workspace's first events, deferred by a set-based create
// (storage/deferred.hpp). `seq` is given in the rows' order (ids increase
// with it): multi-row VALUES and json_array_elements insert them in order.
constexpr storage::SetInsert kFirstEventRow{
    "events",
    "INSERT INTO events(id, type, workspace_id, workspace_seq, subject, data, created_at)", 7, "",
    "e->>0, e->>1, e->>2, (e->>3)::bigint, e->>4, e->>5, (e->>6)::bigint"};
}  // namespace

Status append_first(storage::Conn& c, const std::string& workspace_id,
                    std::initializer_list<FirstEvent> evs, std::int64_t now_ms) {
  std::int64_t ws_seq = 0;
  if (storage::DeferredRows* d = c.deferred()) {
    for (const auto& e : evs) {
      d->add(kFirstEventRow, next_id(now_ms), e.type, workspace_id, ++ws_seq, workspace_id,
             e.data_json.empty() ? std::string_view("{}") : std::string_view(e.data_json), now_ms);
    }
    return ok();
  }
  const FirstEvent* e = evs.begin();
  for (std::size_t left = evs.size(); left > 0;) {
    if (left >= 2) {
      BOOST_OUTCOME_TRY(
          s, c.prepare("INSERT INTO events(id, type, workspace_id, workspace_seq, subject, data,"
                       " created_at) VALUES(?1, ?2, ?3, ?4, ?3, ?5, ?6),"
                       " (?7, ?8, ?3, ?9, ?3, ?10, ?6)"));
      const std::string id0 = next_id(now_ms);  // in order: ids increase with seq
      const std::string id1 = next_id(now_ms);
      s.bind_all(id0, e[0].type, workspace_id, ws_seq + 1,
                 e[0].data_json.empty() ? std::string_view("{}") : e[0].data_json, now_ms, id1,
                 e[1].type, ws_seq + 2,
                 e[1].data_json.empty() ? std::string_view("{}") : e[1].data_json);
      BOOST_OUTCOME_TRY(s.run());
      e += 2, left -= 2, ws_seq += 2;
      continue;
    }
    BOOST_OUTCOME_TRY(s,
                      c.prepare("INSERT INTO events(id, type, workspace_id, workspace_seq,"
                                " subject, data, created_at) VALUES(?1, ?2, ?3, ?4, ?3, ?5, ?6)"));
    s.bind_all(next_id(now_ms), e->type, workspace_id, ws_seq + 1,
               e->data_json.empty() ? std::string_view("{}") : e->data_json, now_ms);
    BOOST_OUTCOME_TRY(s.run());
    ++e, --left, ++ws_seq;
  }
  return ok();
}

Result<std::vector<Event>> list(storage::Conn& c, const Query& q) {
  // A family filter "workspace.*" matches by prefix "workspace."; "*" or ""
  // matches every type.
  std::string exact = q.type == "*" ? std::string() : q.type;
  std::string prefix;
  if (exact.size() > 2 && exact.ends_with(".*")) {
    prefix = exact.substr(0, exact.size() - 1);
    exact.clear();
  }
  BOOST_OUTCOME_TRY(s,
                    c.prepare(std::string("SELECT ") + (q.data ? kColumns : kColumnsWithoutData) +
                              " FROM events WHERE seq > ?1"
                              " AND (type = ?2 OR ?2 = '')"
                              " AND (substr(type, 1, length(?3)) = ?3 OR ?3 = '')"
                              " AND (workspace_id = ?4 OR ?4 = '')"
                              " AND created_at >= ?6"
                              " ORDER BY seq" +
                              (q.latest ? " DESC" : "") + " LIMIT ?5"));
  s.bind_all(q.after, exact, prefix, q.workspace_id, static_cast<std::int64_t>(q.limit),
             q.since_ms);
  std::vector<Event> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    out.push_back(read_row(s));
  }
  if (q.latest) std::reverse(out.begin(), out.end());
  return out;
}

Result<std::int64_t> last_seq(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT coalesce(max(seq), 0) FROM events"));
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::int64_t{0};
  return s.col_int(0);
}

Result<std::map<std::string, Event>> newest_about(storage::Conn& c,
                                                  const std::vector<std::string>& subjects,
                                                  const std::vector<std::string>& types) {
  std::map<std::string, Event> out;
  if (subjects.empty() || types.empty()) return out;
  const std::string rows = storage::json_rows(c);
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kColumns +
                                 " FROM events WHERE seq IN (SELECT max(seq) FROM events"
                                 " WHERE type IN (SELECT value FROM " +
                                 rows + "(?2)) AND subject IN (SELECT value FROM " + rows +
                                 "(?1)) AND " + kIndexedTypes + " GROUP BY subject)"));
  s.bind_all(nlohmann::json(subjects).dump(), nlohmann::json(types).dump());
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    Event e = read_row(s);
    std::string subject = e.subject;
    out.insert_or_assign(std::move(subject), std::move(e));
  }
}

Result<std::vector<std::pair<std::string, std::int64_t>>> newest_by_subject(
    storage::Conn& c, const std::string& type) {
  BOOST_OUTCOME_TRY(
      s, c.prepare(std::string("SELECT subject, max(seq) FROM events WHERE type = ?1 AND ") +
                   kIndexedTypes + " GROUP BY subject"));
  s.bind(1, type);
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.emplace_back(s.col_text(0), s.col_int(1));
  }
}

Result<std::optional<Event>> get(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kColumns + " FROM events WHERE id = ?1"));
  s.bind(1, id);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<Event>();
  return std::optional<Event>(read_row(s));
}

Result<Count> count_after(storage::Conn& c, std::int64_t after,
                          const std::vector<std::string>& filters) {
  // The filters in SQL: an exact type by =, a family by its prefix (substr,
  // not LIKE: '_' in a type is no wildcard). Values bound, never formatted.
  std::string sql = "SELECT count(*), coalesce(min(created_at), 0) FROM events WHERE seq > ?1";
  std::vector<std::string> binds;
  bool all = filters.empty();
  std::string any;
  for (const auto& f : filters) {
    if (f == "*") all = true;
    const bool family = f.size() > 2 && f.ends_with(".*");
    binds.push_back(family ? f.substr(0, f.size() - 1) : f);
    const std::string n = "?" + std::to_string(binds.size() + 1);
    if (!any.empty()) any += " OR ";
    any += family ? "substr(type, 1, " + std::to_string(binds.back().size()) + ") = " + n
                  : "type = " + n;
  }
  if (!all) sql += " AND (" + any + ")";
  BOOST_OUTCOME_TRY(s, c.prepare(sql));
  s.bind(1, after);
  if (!all) {
    for (std::size_t k = 0; k < binds.size(); ++k) s.bind(static_cast<int>(k + 2), binds[k]);
  }
  BOOST_OUTCOME_TRY(row, s.step());
  Count out;
  if (row) {
    out.n = s.col_int(0);
    out.oldest_created_at = s.col_int(1);
  }
  return out;
}

Result<std::vector<Event>> by_seqs(storage::Conn& c, const std::vector<std::int64_t>& seqs) {
  if (seqs.empty()) return std::vector<Event>{};
  // The numbers travel as one JSON array parameter (docs/storage.md "Two backends").
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kColumns + " FROM events WHERE seq IN" +
                                 " (SELECT CAST(value AS BIGINT) FROM " + storage::json_rows(c) +
                                 "(?1)) ORDER BY seq"));
  s.bind(1, nlohmann::json(seqs).dump());
  return s.collect(read_row);
}

Result<int> prune(storage::Conn& c, std::int64_t before_ms, std::int64_t max_seq, int limit) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e"
                   " WHERE e.seq <= ?1 AND e.created_at < ?2"
                   " AND e.seq < (SELECT max(a.seq) FROM events a)"
                   " AND (e.workspace_id = '' OR e.workspace_seq < (SELECT max(w.workspace_seq)"
                   " FROM events w WHERE w.workspace_id = e.workspace_id))"
                   " ORDER BY e.seq LIMIT ?3)"));
  BOOST_OUTCOME_TRY(s.bind_all(max_seq, before_ms, static_cast<std::int64_t>(limit)).run());
  return c.changes();
}

bool valid_type_filter(const std::string& type) {
  if (type.empty() || type == "*") return true;
  if (type.size() > 64) return false;
  std::string body = type;
  if (body.size() > 2 && body.ends_with(".*")) body.resize(body.size() - 2);
  bool word_start = true;
  for (char ch : body) {
    if (ch == '.') {
      if (word_start) return false;
      word_start = true;
      continue;
    }
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
    word_start = false;
  }
  return !word_start;
}

}  // namespace fc::events
