// The scheduler service's private state (one I/O thread, no locks).
#pragma once
#include <map>
#include <set>
#include <unordered_map>

#include "dns/server.hpp"
#include "scheduler/detail/store.hpp"
#include "scheduler/service.hpp"

namespace fc::scheduler {

// Workspaces whose assignment is re-published together: every
// refresh_assignment() that arrives while the previous batch is being written
// joins the next one, so a workspace gets one new generation per batch however
// many domain or certificate changes asked for it meanwhile.
struct RefreshBatch {
  explicit RefreshBatch(asio::io_context& io) : done(io, asio::steady_timer::time_point::max()) {}
  std::set<std::string> workspaces;
  asio::steady_timer done;  // cancelled when the batch is committed (or failed)
  bool finished = false;
  Status result = ok();
};

struct Service::Impl {
  Service& svc;
  asio::io_context& io;
  storage::Database& db;
  // A write of `rows` workspaces: from kAloneRows on, in a transaction of
  // its own (storage::Database::write_alone: no O(rows²) statement journal).
  static constexpr std::size_t kAloneRows = 64;
  awaitable<Status> write_rows(std::size_t rows, storage::WriteFn fn) {
    if (rows >= kAloneRows) co_return co_await db.write_alone(std::move(fn));
    co_return co_await db.write(std::move(fn));
  }
  const Clock& clock;
  IdGenerator ids;
  CapacityIndex index;
  // Looked up per commit and per long-poll: hashed, not 14 string compares
  // (cache misses) at 10,000 regions (issue #16 item 3). Never iterated in order.
  std::unordered_map<std::string, std::int64_t> revisions;  // committed revision per region
  std::unordered_map<std::string, std::set<asio::steady_timer*>> waiters;
  std::map<std::string, std::int64_t> heartbeats_dirty;
  std::map<std::string, std::int64_t> delivered;        // highest revision fetched, per region
  std::map<std::string, std::int64_t> delivered_dirty;  // not persisted yet
  std::map<std::string, std::map<std::string, AgentSeen>> agents;
  std::map<std::string, DrainProgress> drains;
  std::map<std::string, std::int64_t> transitions;  // by phase entered, counted after commit
  std::uint64_t change_epoch = 0;                   // Service::change_epoch
  bool shutting_down = false;
  std::shared_ptr<RefreshBatch> refresh_next;  // collecting; written by run_refreshes()
  bool refresh_running = false;
  // The region health last announced by a region.* event (docs/events.md);
  // a region without one is absent (kUnknown). Read from the events table in
  // one pass at the first tick after load() (announced_loaded), then kept here.
  std::map<std::string, Health> health_announced;
  bool announced_loaded = false;
  // Names a create of this daemon found taken (service_workspaces.cpp): the
  // next create of such a name checks it at once, outside the set-based run,
  // so that a client repeating a taken name cannot make every batch's
  // optimistic insert fail. Bounded: cleared when it reaches kTakenNames.
  static constexpr std::size_t kTakenNames = 4096;
  std::set<std::string, std::less<>> taken_names;
  // The regions whose log may hold tombstones (a delete was published there):
  // the only ones compact_logs() looks at, not every region each tick. Read
  // at the first compaction after load() (tombstones_loaded), then kept here;
  // a region leaves once it holds none.
  std::set<std::string> tombstoned;
  bool tombstones_loaded = false;
  // After the commit of a transaction whose publishes to `revs` were deletes.
  void tombstones_published(const std::map<std::string, std::int64_t>& revs) {
    for (const auto& [region, rev] : revs) tombstoned.insert(region);
  }

  Impl(Service& s, asio::io_context& i, storage::Database& d, const Clock& c)
      : svc(s), io(i), db(d), clock(c) {}

  // After commit: revisions, long-poll wake-ups.
  void committed(const std::map<std::string, std::int64_t>& revs);
  void dns_changed() {  // every published name may have changed (a region's ingress)
    if (svc.zone_ != nullptr) svc.zone_->changed();
  }
  void dns_changed(const std::vector<std::string>& workspace_names) {
    if (svc.zone_ != nullptr && !workspace_names.empty()) svc.zone_->names_changed(workspace_names);
  }
  // The in-memory index follows each commit; a failed update is logged
  // (op=… region=…), never fatal: the next load() rebuilds it from the database.
  void index_updated(const Status& st, std::string_view op, std::string_view region) const;
  // The scope listener inside the deleting transaction, and after its commit.
  Status scope_removing(storage::Conn& c, const std::string& region, const std::string& ws) {
    for (auto& l : svc.scope_listeners_) {
      BOOST_OUTCOME_TRY(l->removing(c, region, ws));
    }
    return ok();
  }
  void scope_removed(const std::string& region, const std::string& ws) {
    for (auto& l : svc.scope_listeners_) l->removed(region, ws);
  }
  nlohmann::json assignment_body(const Workspace& w, const std::string& action);
  // assignment_body(w, "apply").dump() written directly (a create's hot path).
  std::string apply_assignment_text(const Workspace& w) const;
  // Serving: the custom domains' hostnames and certificates of an `apply`.
  void attach_extras(storage::Conn& c, nlohmann::json& assignment) const;
  // Appends the workspace's assignment to `region`'s log inside the transaction.
  Status publish(storage::Conn& c, const Workspace& w, const std::string& region,
                 const std::string& action, std::map<std::string, std::int64_t>& revs);
  std::int64_t now() const { return clock.now_ms(); }
  // Heartbeats are newest in memory (persisted once a second).
  void overlay_heartbeat(Region& r) const {
    if (auto hb = index.last_heartbeat(r.id))
      r.last_heartbeat_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(hb->time_since_epoch()).count();
  }
  std::span<const RegionView> views() {
    return index.views(clock.now(), svc.o_.heartbeat_timeout_s);
  }
  awaitable<void> advance_drains();
  // Writes the collected refresh batches one after the other until none is left.
  awaitable<void> run_refreshes();
  awaitable<Status> write_refresh(const std::set<std::string>& workspaces);
  awaitable<void> compact_logs();
  // Lifecycle events (service_events.cpp): appends `type` about w, its view
  // plus `extra`'s fields, inside the transaction.
  Status emit(storage::Conn& c, const std::string& type, const Workspace& w,
              const nlohmann::json& extra = nlohmann::json::object());
  // The same with the view already serialized (several events of one change).
  Status emit_view(storage::Conn& c, const std::string& type, const Workspace& w,
                   const std::string& view_json);
  awaitable<void> emit_health_transitions();
  Status load_health_announced();
};

}  // namespace fc::scheduler
