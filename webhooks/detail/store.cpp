// webhook_endpoints and webhook_deliveries (migration 0021). Values are bound,
// never formatted into SQL.
#include "webhooks/detail/store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_map>

namespace fc::webhooks::store {

namespace {

constexpr const char* kEndpointCols =
    "id, url, event_types, description, secret_sealed, old_secret_sealed, old_secret_until,"
    " state, disabled_reason, cursor, failing_since, created_at, updated_at";

std::vector<std::string> types_from(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& t : j) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  }
  return out;
}

EndpointRow endpoint_row(const storage::Stmt& s) {
  EndpointRow r;
  r.e.id = s.col_text(0);
  r.e.url = s.col_text(1);
  r.e.event_types = types_from(s.col_text(2));
  r.e.description = s.col_text(3);
  r.secret_sealed = s.col_text(4);
  r.old_secret_sealed = s.col_opt_text(5);
  r.e.old_secret_until = s.col_opt_int(6);
  r.e.state = s.col_text(7);
  r.e.disabled_reason = s.col_opt_text(8);
  r.e.cursor = s.col_int(9);
  r.e.failing_since = s.col_opt_int(10);
  r.e.created_at = s.col_int(11);
  r.e.updated_at = s.col_int(12);
  return r;
}

constexpr const char* kDeliveryCols =
    "id, endpoint_id, event_seq, event_id, event_type, workspace_id, lane, state, attempts,"
    " next_attempt_at, last_status, last_error, created_at, delivered_at";

Delivery delivery_row(const storage::Stmt& s) {
  Delivery d;
  d.id = s.col_int(0);
  d.endpoint_id = s.col_text(1);
  d.event_seq = s.col_int(2);
  d.event_id = s.col_text(3);
  d.event_type = s.col_text(4);
  d.workspace_id = s.col_text(5);
  d.lane = static_cast<int>(s.col_int(6));
  d.state = s.col_text(7);
  d.attempts = s.col_int(8);
  d.next_attempt_at = s.col_int(9);
  d.last_status = s.col_opt_int(10);
  d.last_error = s.col_opt_text(11);
  d.created_at = s.col_int(12);
  d.delivered_at = s.col_opt_int(13);
  return d;
}

Result<std::vector<Delivery>> collect_deliveries(storage::Stmt& s) {
  std::vector<Delivery> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(delivery_row(s));
  }
}

}  // namespace

Status insert_endpoint(storage::Conn& c, const EndpointRow& r) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO webhook_endpoints(id, url, event_types, description,"
                   " secret_sealed, old_secret_sealed, old_secret_until, state, disabled_reason,"
                   " cursor, failing_since, created_at, updated_at)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
  return s
      .bind_all(r.e.id, r.e.url, nlohmann::json(r.e.event_types).dump(), r.e.description,
                r.secret_sealed, r.old_secret_sealed, r.e.old_secret_until, r.e.state,
                r.e.disabled_reason, r.e.cursor, r.e.failing_since, r.e.created_at, r.e.updated_at)
      .run();
}

Result<std::optional<EndpointRow>> find_endpoint(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kEndpointCols +
                                 " FROM webhook_endpoints WHERE id = ?1"));
  s.bind(1, id);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<EndpointRow>();
  return std::optional<EndpointRow>(endpoint_row(s));
}

Result<std::vector<EndpointRow>> list_endpoints(storage::Conn& c) {
  BOOST_OUTCOME_TRY(
      s, c.prepare(std::string("SELECT ") + kEndpointCols + " FROM webhook_endpoints ORDER BY id"));
  std::vector<EndpointRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(endpoint_row(s));
  }
}

Status update_endpoint(storage::Conn& c, const EndpointRow& r) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("UPDATE webhook_endpoints SET url = ?2, event_types = ?3, description = ?4,"
                   " secret_sealed = ?5, old_secret_sealed = ?6, old_secret_until = ?7,"
                   " state = ?8, disabled_reason = ?9, failing_since = ?10, updated_at = ?11"
                   " WHERE id = ?1"));
  return s
      .bind_all(r.e.id, r.e.url, nlohmann::json(r.e.event_types).dump(), r.e.description,
                r.secret_sealed, r.old_secret_sealed, r.e.old_secret_until, r.e.state,
                r.e.disabled_reason, r.e.failing_since, r.e.updated_at)
      .run();
}

Result<bool> delete_endpoint(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(d, c.prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1"));
  BOOST_OUTCOME_TRY(d.bind(1, id).run());
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM webhook_endpoints WHERE id = ?1"));
  BOOST_OUTCOME_TRY(s.bind(1, id).run());
  return c.changes() > 0;
}

Status set_cursor(storage::Conn& c, const std::string& id, std::int64_t to) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE webhook_endpoints SET cursor = ?2"
                                 " WHERE id = ?1 AND cursor < ?2"));
  return s.bind_all(id, to).run();
}

Status insert_delivery(storage::Conn& c, const Delivery& d) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO webhook_deliveries(endpoint_id, event_seq, event_id, event_type,"
                   " workspace_id, lane, state, attempts, next_attempt_at, last_status,"
                   " last_error, created_at)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8, ?9, ?10, ?11)"));
  std::optional<std::int64_t> status;
  if (d.last_status) status = *d.last_status;
  return s
      .bind_all(d.endpoint_id, d.event_seq, d.event_id, d.event_type, d.workspace_id,
                static_cast<std::int64_t>(d.lane), d.attempts, d.next_attempt_at, status,
                d.last_error, d.created_at)
      .run();
}

Result<std::map<int, std::int64_t>> pending_lanes(storage::Conn& c, const std::string& endpoint) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT lane, max(event_seq) FROM webhook_deliveries"
                                 " WHERE endpoint_id = ?1 AND state = 'pending' GROUP BY lane"));
  s.bind(1, endpoint);
  std::map<int, std::int64_t> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out[static_cast<int>(s.col_int(0))] = s.col_int(1);
  }
}

Result<std::vector<Delivery>> rows_by_seq(storage::Conn& c, const std::string& endpoint,
                                          std::int64_t after, int limit) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kDeliveryCols +
                                 " FROM webhook_deliveries WHERE endpoint_id = ?1"
                                 " AND event_seq > ?2 ORDER BY event_seq, id LIMIT ?3"));
  s.bind_all(endpoint, after, static_cast<std::int64_t>(limit));
  return collect_deliveries(s);
}

Result<std::vector<Due>> due(storage::Conn& c, const std::string& endpoint, int lane,
                             std::int64_t after, int limit) {
  // The round's deliveries, then their events by primary key in one read
  // (events/ owns that table); a delivery whose event is gone still comes
  // (and is let go).
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT id, attempts, next_attempt_at, event_id, event_seq"
                                 " FROM webhook_deliveries"
                                 " WHERE endpoint_id = ?1 AND state = 'pending' AND lane = ?2"
                                 " AND id > ?3 ORDER BY id LIMIT ?4"));
  s.bind_all(endpoint, static_cast<std::int64_t>(lane), after, static_cast<std::int64_t>(limit));
  std::vector<Due> out;
  std::vector<std::int64_t> seqs;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    Due& d = out.emplace_back();
    d.id = s.col_int(0);
    d.attempts = s.col_int(1);
    d.next_attempt_at = s.col_int(2);
    d.event_id = s.col_text(3);
    seqs.push_back(s.col_int(4));
  }
  BOOST_OUTCOME_TRY(found, events::by_seqs(c, seqs));
  // Copied, not moved: a replay can put two pending deliveries of one event
  // in the same round.
  std::unordered_map<std::int64_t, const events::Event*> by_seq;
  by_seq.reserve(found.size());
  for (const auto& e : found) by_seq.emplace(e.seq, &e);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (auto it = by_seq.find(seqs[i]); it != by_seq.end()) out[i].event = *it->second;
  return out;
}

Result<std::vector<Delivery>> pending(storage::Conn& c, const std::string& endpoint, int lane,
                                      int limit) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kDeliveryCols +
                                 " FROM webhook_deliveries WHERE endpoint_id = ?1"
                                 " AND state = 'pending' AND lane = ?2 ORDER BY id LIMIT ?3"));
  s.bind_all(endpoint, static_cast<std::int64_t>(lane), static_cast<std::int64_t>(limit));
  return collect_deliveries(s);
}

Status mark_delivered(storage::Conn& c, std::int64_t id, int status, std::int64_t at) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE webhook_deliveries SET state = 'delivered',"
                                 " attempts = attempts + 1, last_status = ?2, last_error = NULL,"
                                 " delivered_at = ?3 WHERE id = ?1"));
  return s.bind_all(id, static_cast<std::int64_t>(status), at).run();
}

Status mark_failed(storage::Conn& c, std::int64_t id, std::optional<int> status,
                   const std::string& error, std::int64_t next_at) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE webhook_deliveries SET attempts = attempts + 1,"
                                 " last_status = ?2, last_error = ?3, next_attempt_at = ?4"
                                 " WHERE id = ?1"));
  std::optional<std::int64_t> st;
  if (status) st = *status;
  return s.bind_all(id, st, error, next_at).run();
}

Status fold_lanes(storage::Conn& c, int lanes) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE webhook_deliveries SET lane = lane % ?1"
                                 " WHERE state = 'pending' AND lane >= ?1"));
  return s.bind(1, static_cast<std::int64_t>(lanes)).run();
}

Result<int> prune_delivered(storage::Conn& c, std::int64_t before, int limit) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM"
                                 " webhook_deliveries WHERE state = 'delivered'"
                                 " AND delivered_at < ?1 LIMIT ?2)"));
  BOOST_OUTCOME_TRY(s.bind_all(before, static_cast<std::int64_t>(limit)).run());
  return c.changes();
}

Result<std::int64_t> released_seq(storage::Conn& c, std::int64_t last) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT coalesce((SELECT min(cursor) FROM webhook_endpoints), ?1),"
                                 " coalesce((SELECT min(event_seq) - 1 FROM webhook_deliveries"
                                 " WHERE state = 'pending'), ?1)"));
  s.bind(1, last);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return last;
  return std::min({last, s.col_int(0), s.col_int(1)});
}

Result<Backlog> backlog(storage::Conn& c, const std::string& endpoint,
                        const std::vector<std::string>& filters, std::int64_t upto) {
  Backlog b;
  BOOST_OUTCOME_TRY(r, c.prepare("SELECT count(*), coalesce(min(created_at), 0) FROM"
                                 " webhook_deliveries WHERE endpoint_id = ?1 AND state = 'pending'"
                                 " AND event_seq <= ?2"));
  r.bind_all(endpoint, upto);
  BOOST_OUTCOME_TRY(row, r.step());
  if (row) {
    b.pending = r.col_int(0);
    b.oldest_created_at = r.col_int(1);
  }
  // The events after the cursor that pass the endpoint's filters.
  BOOST_OUTCOME_TRY(after, events::count_after(c, upto, filters));
  if (after.n > 0) {
    b.pending += after.n;
    if (b.oldest_created_at == 0 || after.oldest_created_at < b.oldest_created_at)
      b.oldest_created_at = after.oldest_created_at;
  }
  return b;
}

}  // namespace fc::webhooks::store
