// webhook_endpoints and webhook_deliveries (migration 0021).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events/events.hpp"
#include "storage/db.hpp"
#include "webhooks/service.hpp"

namespace fc::webhooks::store {

struct EndpointRow {
  Endpoint e;
  std::string secret_sealed;
  std::optional<std::string> old_secret_sealed;
};

Status insert_endpoint(storage::Conn& c, const EndpointRow& r);
Result<std::optional<EndpointRow>> find_endpoint(storage::Conn& c, const std::string& id);
Result<std::vector<EndpointRow>> list_endpoints(storage::Conn& c);
Status update_endpoint(storage::Conn& c, const EndpointRow& r);
// false when there was none.
Result<bool> delete_endpoint(storage::Conn& c, const std::string& id);

// Sets the endpoint's delivered-up-to cursor, never backwards.
Status set_cursor(storage::Conn& c, const std::string& id, std::int64_t to);

// A row with its attempts, last status and error as given (a delivery that
// just failed its first attempt is written with attempts = 1).
Status insert_delivery(storage::Conn& c, const Delivery& d);
// Per lane with pending rows: the newest pending row's event sequence.
Result<std::map<int, std::int64_t>> pending_lanes(storage::Conn& c, const std::string& endpoint);
// The endpoint's rows by event sequence (> after), oldest first, each
// sequence's rows in id order.
Result<std::vector<Delivery>> rows_by_seq(storage::Conn& c, const std::string& endpoint,
                                          std::int64_t after, int limit);
// The oldest pending deliveries of one lane.
Result<std::vector<Delivery>> pending(storage::Conn& c, const std::string& endpoint, int lane,
                                      int limit);
// What a lane sends: the oldest pending deliveries of one lane with ids
// > after (the lane's own cursor: rows it sent whose outcome is not written
// yet are skipped), each with its event, in one query (not one events::get
// per delivery).
struct Due {
  std::int64_t id = 0;  // the delivery's
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::string event_id;
  std::optional<events::Event> event;  // nullopt: the event no longer exists
};
Result<std::vector<Due>> due(storage::Conn& c, const std::string& endpoint, int lane,
                             std::int64_t after, int limit);
Status mark_delivered(storage::Conn& c, std::int64_t id, int status, std::int64_t at);
Status mark_failed(storage::Conn& c, std::int64_t id, std::optional<int> status,
                   const std::string& error, std::int64_t next_at);
// Pending rows of a lane ≥ lanes (the lane count was lowered) move to
// lane % lanes; a workspace's rows stay together and in id order.
Status fold_lanes(storage::Conn& c, int lanes);
// Delivered rows older than `before`, at most `limit` (the log's retention).
Result<int> prune_delivered(storage::Conn& c, std::int64_t before, int limit);

// The highest event sequence no endpoint still needs: below every endpoint's
// cursor (whatever its state) and below every pending delivery's event.
// `last` when there is no endpoint and nothing pending.
Result<std::int64_t> released_seq(storage::Conn& c, std::int64_t last);

// One endpoint's queue (metrics): its pending rows of events at or below
// `upto` (its delivered-up-to cursor) plus the events after `upto` it
// subscribes to; the oldest one's created_at.
struct Backlog {
  std::int64_t pending = 0;
  std::int64_t oldest_created_at = 0;  // ms; 0 when nothing is pending
};
Result<Backlog> backlog(storage::Conn& c, const std::string& endpoint,
                        const std::vector<std::string>& filters, std::int64_t upto);

}  // namespace fc::webhooks::store
