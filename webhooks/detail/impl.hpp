// The webhooks service's private state. Delivery (dispatcher, lanes, outcome
// writes, retention) runs on the service's own thread and io_context; what
// the API's thread may touch is marked.
#pragma once
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "events/events.hpp"
#include "storage/db.hpp"
#include "webhooks/detail/sender.hpp"
#include "webhooks/detail/store.hpp"
#include "webhooks/service.hpp"
#include "webhooks/signature.hpp"

namespace fc::webhooks {

// True when `type` passes an endpoint's filters ([] = everything; "family.*").
bool matches(const std::vector<std::string>& filters, const std::string& type);

// /metrics: attempts by outcome since start. Written by the delivery
// thread, read by the API's (relaxed atomics: counters, not a snapshot).
struct Counters {
  std::atomic<std::uint64_t> delivered{0}, http_error{0}, network_error{0}, refused{0}, retries{0};
};

// A lane of an endpoint (a workspace always maps to the same one). It runs in
// one of two modes:
// - memory (the happy path): events come from the feeder into `mem` and go
//   out in order; a success writes nothing per event — the endpoint's
//   delivered-up-to cursor moves past it at the next record (record_ms);
// - rows: after a failure (that event and every later one of the lane become
//   webhook_deliveries rows, in order), a replay, or at start when the lane
//   has pending rows. The lane then sends its rows in id order, retrying with
//   backoff, and returns to memory once none is pending and none is waiting
//   to be written.
struct Lane {
  bool rows = false;
  bool to_rows_soon = false;      // a replay queued rows: the lane moves to rows at its next step
  std::deque<events::Event> mem;  // memory mode: events to send (with their data)
  // Rows mode: the failed first attempt and the events after it, waiting for
  // their rows (the next record); taken back into `mem` instead when the lane
  // returns to memory before that record.
  std::optional<Delivery> head_row;
  std::deque<events::Event> to_row;
  std::size_t writing = 0;  // rows of this lane in the record being written
  // At install: the newest event of the lane's pending rows; the feeder skips
  // the lane's events up to it (they are in rows, or were delivered before).
  std::int64_t rows_upto = 0;
  std::uint64_t seen_reread = 0;  // Impl::reread when the lane last read from its start
};

// A success at the first attempt, kept in memory for the delivery log
// (docs/webhooks.md "Delivery log"): no row is written for it.
struct Recent {
  std::int64_t seq = 0;
  std::string event_id, event_type, workspace_id;
  int status = 0;
  std::int64_t created_at = 0, at = 0;
};

// One endpoint being delivered to. Lanes hold a shared_ptr, so a deleted
// endpoint's lanes end on their own once `active` is false. Built on the
// caller's thread (secrets opened there), then used by the delivery thread only.
struct EndpointState {
  store::EndpointRow row;
  std::vector<std::string> secrets;      // opened: current first, then the old one in its grace
  Signer signer;                         // those secrets' keys, set up once (empty: unusable)
  std::optional<detail::Target> target;  // row.e.url split once (nullopt: unusable)
  std::vector<std::unique_ptr<asio::steady_timer>> lane_timers;
  std::shared_ptr<Counters> counters;
  std::atomic<bool> enabled{true};  // row.e.state == "enabled", for /metrics
  bool active = true;
  // Delivery thread: the lanes, the feeder's position (events read up to),
  // the events read and neither delivered nor in a row yet, and what the next
  // record writes besides rows (row.e.cursor is the cursor stored).
  std::vector<Lane> lanes;
  std::int64_t fed = 0;
  std::set<std::int64_t> unresolved;
  std::size_t queued = 0;  // events in the lanes' mem and to_row queues (the feeder's read-ahead)
  bool succeeded = false;  // a first-attempt success since the last record
  std::optional<std::int64_t> failed_at;  // a first-attempt failure since the last record
  std::string failed_error;
  // Delivered up to (seq): every matching event at or below it was delivered
  // or is in a row. For the API's thread (/metrics, the delivery log).
  std::atomic<std::int64_t> delivered_upto{0};
  std::mutex recent_mu;  // `recent`: the delivery thread appends, the API reads
  std::deque<Recent> recent;
  std::int64_t cursor() const { return unresolved.empty() ? fed : *unresolved.begin() - 1; }
};

// An io_context whose pending handlers (and suspended coroutine frames) can
// be destroyed before the rest of the service goes away.
struct WorkerIo : asio::io_context {
  using asio::io_context::io_context;
  using asio::io_context::shutdown;
};

struct Service::Impl {
  WorkerIo wio{1};  // first: destroyed last, after every timer bound to it
  storage::Database& db;
  const Clock& clock;
  Options o;
  Sealer sealer;
  IdGenerator ids;                        // API thread (create)
  std::unique_ptr<storage::Conn> reader;  // the delivery thread's read connection
  std::thread thread;                     // joinable while delivery runs
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::mt19937_64 rng{std::random_device{}()};
  std::map<std::string, std::shared_ptr<EndpointState>> endpoints;  // delivery thread
  asio::steady_timer dispatch_timer{wio};
  asio::steady_timer retention_timer{wio};
  asio::steady_timer flush_timer{wio};
  bool running = false;  // delivery thread (before start: the caller's)

  // What /metrics shows, for the API's thread: the endpoints and their
  // counters (kept across enable), under `mu`; the totals are atomics.
  std::mutex mu;
  std::map<std::string, std::shared_ptr<EndpointState>> shown;
  std::map<std::string, std::shared_ptr<Counters>> counters;
  std::atomic<std::uint64_t> attempts{0}, delivered{0}, failed{0};
  std::atomic<std::int64_t> pruned_deliveries{0}, pruned_events{0};

  // Outcomes sent but not yet written (delivery thread): written together
  // every record_ms, or at once when a lane waits for them (a failure).
  struct Outcome {
    std::int64_t delivery_id = 0;  // a row's (rows mode)
    bool ok = false;
    std::optional<int> status;
    std::string error;
    std::int64_t attempts = 0;  // after this one
    std::int64_t at = 0;
    std::int64_t retry_at = 0;  // when failed
  };
  struct Queued {
    std::shared_ptr<EndpointState> ep;
    std::vector<Outcome> outcomes;
  };
  std::vector<Queued> outbox;
  std::uint64_t queued_gen = 0;   // rounds queued so far
  std::uint64_t written_gen = 0;  // rounds whose outcomes are written (or failed to be)
  std::uint64_t reread = 0;       // bumped when a write failed: lanes read from their start
  bool flush_soon = false;
  bool flushing = false;

  Impl(storage::Database& d, const Clock& c, Options opt, Sealer s)
      : db(d), clock(c), o(std::move(opt)), sealer(std::move(s)) {}

  // On the caller's thread: an endpoint row with its secrets opened.
  std::shared_ptr<EndpointState> prepare(store::EndpointRow row);
  void load_secrets(EndpointState& ep, const store::EndpointRow& row);
  // On the delivery thread: takes a prepared endpoint and, when enabled and
  // running, starts its lanes.
  void install(std::shared_ptr<EndpointState> ep);
  // Removes an endpoint from the delivery thread and from /metrics.
  void forget(const std::string& id);
  // Runs f on the delivery thread (inline when it does not run) and resumes
  // the caller once it ran.
  awaitable<void> on_worker(std::function<void()> f);
  // Stops an endpoint's lanes (deleted or disabled).
  void halt(EndpointState& ep);
  void wake(EndpointState& ep);
  Delivery delivery_for(const std::string& endpoint, const events::Event& ev, std::int64_t now);
  int lane_of(const std::string& workspace_id) const;

  awaitable<void> dispatch_loop();
  awaitable<void> retention_loop();
  awaitable<void> flush_loop();
  awaitable<Result<Pruned>> prune_once();
  awaitable<void> dispatch(std::shared_ptr<EndpointState> ep, std::int64_t last);
  awaitable<void> lane_loop(std::shared_ptr<EndpointState> ep, int lane);
  // One signed POST of `ev` (read before the first suspension only).
  awaitable<Outcome> attempt(EndpointState& ep, detail::Sender& sender, std::int64_t delivery_id,
                             std::int64_t attempts_before, const events::Event* ev,
                             const std::string& event_id);
  // A lane's two modes (struct Lane).
  awaitable<bool> lane_rows_step(std::shared_ptr<EndpointState> ep, int lane,
                                 detail::Sender& sender, std::int64_t& after);
  awaitable<void> lane_mem_step(std::shared_ptr<EndpointState> ep, int lane,
                                detail::Sender& sender);
  // Waits until the record holding what was queued so far is written.
  awaitable<void> await_record(EndpointState& ep, asio::steady_timer& timer);
  // Loads each lane's mode from its pending rows (install).
  void load_lanes(EndpointState& ep);
  // Writes every queued outcome in one transaction of its own.
  awaitable<void> write_outbox();
  std::int64_t retry_delay_ms(std::int64_t attempts);
};

}  // namespace fc::webhooks
