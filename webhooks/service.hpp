// Webhooks (docs/webhooks.md): endpoints that subscribe to lifecycle events
// (events/), and their delivery per the Standard Webhooks specification —
// signed, at least once, in order per workspace, retried with exponential
// backoff and jitter until the endpoint has failed for retry_window_s, then
// disabled. Each endpoint has its own lanes (coroutines), a workspace always
// maps to the same lane, so one slow or dead endpoint never delays another.
// Beast and OpenSSL stay in the .cpp files.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace fc::storage {
class Conn;
class Database;
}  // namespace fc::storage

namespace fc::webhooks {

// webhooks.priority: the CPU priority of the delivery thread. kIdle is
// Linux SCHED_IDLE (runs only on CPU nothing else wants), kLow nice 19,
// kNormal the daemon's own.
enum class Priority { kIdle, kLow, kNormal };
std::optional<Priority> parse_priority(std::string_view s);

struct Options {
  bool allow_private = false;         // webhooks.allow_private
  std::int64_t timeout_ms = 10000;    // one attempt: connect, send, reply
  std::int64_t retry_base_ms = 5000;  // first retry delay; doubles, ±20 % jitter
  std::int64_t retry_max_ms = 3600000;
  std::int64_t retry_window_s = 259200;  // failing this long disables the endpoint
  int lanes = 4;                         // per endpoint
  std::int64_t rotation_grace_s = 86400;
  std::int64_t poll_ms = 50;  // how often the outbox is checked for new events
  // Delivered outcomes are written together this often, in a transaction of
  // their own (a failure is written at once: its lane waits for it).
  std::int64_t record_ms = 250;
  Priority priority = Priority::kLow;  // webhooks.priority
  // Opens the delivery thread's own read connection (a connection is used by
  // one thread): the daemon's read-only SQLite or PostgreSQL opener. Required
  // by start().
  std::function<Result<std::unique_ptr<storage::Conn>>()> open_reader;
  // events.retention_s: delivered deliveries, and events every endpoint is
  // done with, are deleted once older than this (0 = kept forever); the job
  // runs every min(1 h, retention_s / 4), at least every second.
  std::int64_t retention_s = 2592000;
};

// Secrets are sealed at rest with the key-encryption key (certs/, the same
// sealing as private keys); the daemon passes these two in.
struct Sealer {
  std::function<Result<std::string>(std::string_view)> seal;
  std::function<Result<std::string>(const std::string&)> open;
};

struct Endpoint {
  std::string id;  // "whk_…"
  std::string url;
  std::vector<std::string> event_types;  // [] = every event
  std::string description;
  std::string state = "enabled";  // enabled | disabled
  std::optional<std::string> disabled_reason;
  std::optional<std::int64_t> failing_since;     // ms
  std::optional<std::int64_t> old_secret_until;  // ms, during a rotation's grace period
  std::int64_t cursor = 0;                       // events.seq dispatched up to
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// An endpoint with its secret, which the API shows once (create, rotate).
struct WithSecret {
  Endpoint endpoint;
  std::string secret;
};

struct Delivery {
  // A row's id; in the delivery log (Service::deliveries) the event's
  // sequence, the log's order and page key (the row's id is delivery_id).
  std::int64_t id = 0;
  std::string endpoint_id;
  std::int64_t event_seq = 0;
  std::string event_id;  // the webhook-id of every attempt
  std::string event_type;
  std::string workspace_id;
  int lane = 0;
  std::string state = "pending";  // pending | delivered
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::optional<std::int64_t> last_status;
  std::optional<std::string> last_error;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> delivered_at;
  // The delivery log only: the webhook_deliveries row, when there is one
  // (a delivery that failed at least once, a replay); recorded = false for
  // a success at the first attempt, shown from the in-memory recent log.
  std::optional<std::int64_t> delivery_id;
  bool recorded = true;
};

// Why an endpoint URL is not accepted (nullopt: acceptable): http(s) only,
// a host, no user info or fragment, ≤ 2048 characters; an IP-literal host
// that is loopback, private or link-local unless allow_private (a name is
// checked on every connect, against the address actually connected to).
std::optional<std::string> check_url(std::string_view url, bool allow_private);
// Why an address may not be connected to ("loopback", "private", …), or
// nullopt for a public unicast address. v4 and v6 (v4-mapped included).
std::optional<std::string> refused_address(std::string_view ip);

// The dispatcher, the lanes and the retention job run on the service's own
// thread and io_context (its own read connection; writes through the one
// writer), at Options::priority, so delivery never takes the API's thread.
// The methods below are called from the API's thread: what they change in
// the running lanes is handed to the delivery thread.
class Service {
 public:
  // `io`: the caller's (API) context; unused since delivery has its own.
  Service(asio::io_context& io, storage::Database& db, const Clock& clock, Options o, Sealer s);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts the delivery thread: the dispatcher and the lanes of every
  // enabled endpoint.
  void start();
  // Stops them and joins the thread, after writing the outcomes not yet
  // written (waits at most ~2 s for that write); an attempt in flight is
  // abandoned (redelivered after a restart). Call before the database closes.
  void stop();

  awaitable<Result<WithSecret>> create(std::string url, std::vector<std::string> event_types,
                                       std::string description);
  Result<std::vector<Endpoint>> list();
  Result<Endpoint> get(const std::string& id);
  awaitable<Status> remove(std::string id);
  // A new secret; the old one keeps signing for rotation_grace_s.
  awaitable<Result<WithSecret>> rotate(std::string id);
  // Re-enables a disabled endpoint; its pending deliveries resume.
  awaitable<Result<Endpoint>> enable(std::string id);
  // The endpoint's delivery log by event sequence, oldest first, sequences >
  // after: its rows (deliveries that failed at least once, replays) merged
  // with the recent first-attempt successes kept in memory (docs/webhooks.md
  // "Delivery log").
  Result<std::vector<Delivery>> deliveries(const std::string& id, std::int64_t after, int limit);
  // Queues again every event since `since_ms` that the endpoint subscribes to
  // (at most 10,000); the number queued.
  awaitable<Result<std::int64_t>> replay(std::string id, std::int64_t since_ms);

  struct Stats {
    std::uint64_t attempts = 0, delivered = 0, failed = 0;
  };
  Stats stats() const;

  // One retention pass (what the periodic job runs): deletes delivered
  // deliveries older than retention_s, and events older than that which no
  // endpoint still needs (events::prune keeps each workspace's newest).
  struct Pruned {
    std::int64_t deliveries = 0, events = 0;
  };
  awaitable<Result<Pruned>> prune();

  // The fleetcommand_webhook_* series of /metrics (docs/webhooks.md "Metrics").
  std::string metrics_text();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::webhooks
