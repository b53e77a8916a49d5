// Lifecycle events (docs/events.md): the durable outbox. Every component
// appends its events inside the write transaction of the change that caused
// them (the Conn given to a storage::Database::write fn), so an event never
// exists for a change that rolled back and no change commits without its
// event. Readers (the /v1/events feed, webhooks/) page through them by the
// global sequence. Light on purpose: no Asio, Beast or JSON headers.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace fc::storage {
class Conn;
}  // namespace fc::storage

namespace fc::events {

struct NewEvent {
  std::string type;          // "workspace.created", "domain.verified", "region.unhealthy", …
  std::string workspace_id;  // "" when the event has no workspace (region.*, webhook.*)
  std::string subject;       // the resource's id: workspace id, hostname, certificate id, region id
  std::string data_json;     // the resource's view (a serialized JSON object, as the API shows it)
};

// Appends inside the caller's open write transaction (the Conn given to a
// storage::Database::write fn), so the event commits or rolls back with the change.
// Assigns a stable id ("evt_…"), the time, a global sequence and, when workspace_id
// is set, the next per-workspace sequence.
Status append(storage::Conn& c, const NewEvent& e, std::int64_t now_ms);
// The first events of a workspace created in the same transaction (ids are
// never reused, so it has none yet): per-workspace sequences 1, 2, … without
// reading the events table, all in one INSERT when there are at most two (a
// create's workspace.created and .placed). Fields as in append; data_json as
// a view of the caller's text (both events of a create carry the same view).
struct FirstEvent {
  const char* type;
  std::string_view data_json;
};
Status append_first(storage::Conn& c, const std::string& workspace_id,
                    std::initializer_list<FirstEvent> evs, std::int64_t now_ms);

// A stored event.
struct Event {
  std::int64_t seq = 0;  // global sequence (the feed's cursor)
  std::string id;        // "evt_…"
  std::string type;
  std::string workspace_id;        // "" when none
  std::int64_t workspace_seq = 0;  // 1, 2, … per workspace; 0 when none
  std::string subject;
  std::string data_json;
  std::int64_t created_at = 0;  // ms since the epoch
};

struct Query {
  std::int64_t after = 0;      // events with seq > after
  std::string type{};          // exact type, or a family "workspace.*"; "" = all
  std::string workspace_id{};  // "" = all
  int limit = 100;
  std::int64_t since_ms = 0;  // events created at or after (0 = all)
  bool latest = false;        // the newest `limit` matches (still returned in seq order)
  bool data = true;           // false: data_json is left empty, not read (the dispatcher)
};

// Events in global sequence order.
Result<std::vector<Event>> list(storage::Conn& c, const Query& q);
// The highest sequence written so far (0 when none).
Result<std::int64_t> last_seq(storage::Conn& c);
// For each of `subjects`, its newest event whose type is one of `types`
// (exact types), keyed by subject; a subject with none is absent. One
// query on the type's index (events_type) for any number of subjects: it
// reads those types' events, never the whole table (the certificate
// expiring check at 10,000 certificates).
Result<std::map<std::string, Event>> newest_about(storage::Conn& c,
                                                  const std::vector<std::string>& subjects,
                                                  const std::vector<std::string>& types);
// For every subject with an event of exactly `type`, the sequence of its
// newest one, for all subjects at once: one query on the type's
// index (events_type), however many subjects there are.
Result<std::vector<std::pair<std::string, std::int64_t>>> newest_by_subject(
    storage::Conn& c, const std::string& type);
// One event by id.
Result<std::optional<Event>> get(storage::Conn& c, const std::string& id);
// The events with these sequence numbers, in one query, in sequence order;
// those already pruned are absent (a webhook lane reads a round's events so).
Result<std::vector<Event>> by_seqs(storage::Conn& c, const std::vector<std::int64_t>& seqs);

// The events after `after` whose type passes `filters` (exact types or
// families "family.*", as a webhook endpoint's event_types; [] or "*" = all):
// how many, and the oldest one's created_at (0 when none). The webhook
// backlog gauge.
struct Count {
  std::int64_t n = 0;
  std::int64_t oldest_created_at = 0;
};
Result<Count> count_after(storage::Conn& c, std::int64_t after,
                          const std::vector<std::string>& filters);

// Retention (docs/events.md "Retention"): deletes up to `limit` events
// created before `before_ms` with seq ≤ `max_seq` (the caller's bound: what
// every reader is done with), oldest first; returns how many. The newest event
// of each workspace and the newest event overall are always kept, so the
// per-workspace and global sequences continue from them and never restart.
Result<int> prune(storage::Conn& c, std::int64_t before_ms, std::int64_t max_seq, int limit);

// True when `type` is a well-formed event type or family filter:
// lower-case dotted words ("workspace.created"), optionally "family.*" or "*".
bool valid_type_filter(const std::string& type);

}  // namespace fc::events
