// The scheduler service: regions, workspaces, the capacity ledger and the
// per-region assignment log, on the database (docs/scheduler.md). Runs on the
// one I/O thread; every change goes through one group-committed transaction,
// and the in-memory capacity index is updated only after the commit.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/protocol.hpp"
#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/result.hpp"
#include "scheduler/placement.hpp"
#include "storage/db.hpp"

namespace fc::dns {
class ZoneNotifier;
}

namespace fc::scheduler {

struct Region {
  std::string id;
  std::string name;
  Labels labels;
  Ingress ingress;
  Quantities capacity;
  Quantities allocated;
  RegionState state = RegionState::kActive;
  std::int64_t revision = 0;
  std::optional<std::int64_t> last_heartbeat_ms;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct Workspace {
  std::string id;
  std::string name;
  std::string region;
  std::optional<std::string> target_region;
  std::string state = "scheduled";  // scheduled | migrating | deleting
  std::int64_t generation = 1;
  Resources resources;
  PlacementConstraints placement;
  nlohmann::json spec = nlohmann::json::object();
  std::int64_t observed_generation = 0;
  std::string observed_phase = "pending";
  std::string observed_message;
  std::int64_t observed_since = 0;  // unix ms of the last phase/generation change; 0 = none
  std::optional<std::string> dns_region;
  // Suspended (docs/tenants.md): the assignment says so, the agent scales to
  // zero; the reservation, DNS records and data stay, so resume always fits.
  bool suspended = false;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct RegionInput {
  std::string id;
  std::string name;
  Labels labels;
  Ingress ingress;
  Quantities capacity;
};

struct RegionPatch {
  std::optional<std::string> name;
  std::optional<Labels> labels;
  std::optional<Ingress> ingress;
  std::optional<Quantities> capacity;
  std::optional<RegionState> state;
};

struct WorkspaceInput {
  std::string name;
  WorkspaceRequest request;
  nlohmann::json spec = nlohmann::json::object();
};

struct AssignmentsPage {
  std::string region;
  std::int64_t revision = 0;
  bool complete = false;
  std::vector<nlohmann::json> assignments;
};

struct ReportItem {
  std::string workspace_id;
  std::int64_t generation = 0;
  agent::proto::Phase phase = agent::proto::Phase::kProvisioning;
  std::string message;
};

struct ReportResult {
  std::string workspace_id;
  bool accepted = false;
  std::string error;
};

struct DrainProgress {
  std::int64_t remaining = 0;
  std::optional<std::string> moving;
  std::vector<std::pair<std::string, std::string>> blocked;  // workspace id, reason
};

// The JSON forms of labels, ingress and placement constraints, as stored and
// as the API serves them (json.cpp). The *_from functions skip what does not parse.
nlohmann::json labels_json(const Labels& l);
Labels labels_from(const nlohmann::json& j);
nlohmann::json ingress_json(const Ingress& i);
Ingress ingress_from(const nlohmann::json& j);
nlohmann::json placement_json(const PlacementConstraints& p);
PlacementConstraints placement_from(const nlohmann::json& j);

// Told about every region and workspace the scheduler deletes, so that what
// another component keeps per scope (api: agent and tenant tokens) goes with
// it. The scheduler owns no such table and runs no SQL on one. Exactly one of
// `region` and `workspace_id` is non-empty.
class ScopeListener {
 public:
  virtual ~ScopeListener() = default;
  // Inside the deleting transaction: an error rolls the delete back.
  virtual Status removing(storage::Conn& c, const std::string& region,
                          const std::string& workspace_id) = 0;
  // After the commit.
  virtual void removed(const std::string& region, const std::string& workspace_id) = 0;
};

// What other components may know of a workspace (domains: is it live, which
// generation runs).
struct WorkspaceStatus {
  std::string id;
  std::string state;  // scheduled | migrating | deleting
  std::int64_t observed_generation = 0;
  std::string observed_phase;
  // Also read by releases (rollout members): the region, the current
  // generation and the agent's message.
  std::string region;
  std::int64_t generation = 0;
  std::string observed_message;
};

// Whether an agent of a region fetched a workspace's current assignment
// (status chains, docs/status.md "AssignmentDelivered"): the revision that
// last changed the workspace's assignment row in `region`, when it was
// written, and the highest revision an agent of the region has fetched.
struct Delivery {
  bool assigned = false;        // the region's log has a row for the workspace
  std::string action;           // apply | delete
  std::int64_t revision = 0;    // of that row
  std::int64_t written_at = 0;  // unix ms; 0 for rows older than migration 0010
  std::int64_t delivered_revision = 0;
  bool delivered() const { return assigned && delivered_revision >= revision; }
};

// What a create's hook wrote that the workspace's view shows (the tenancy,
// the release binding): the fields those view decorators would read back,
// so the create's view is built without reading them (docs/storage.md
// "Set-based group commit"). `covered`: the names of the decorators
// (Service::set_view_decorator) whose fields the hook set in `fields`, byte
// for byte what they would set; the others still read.
struct CreatedView {
  nlohmann::json fields = nlohmann::json::object();
  std::vector<std::string> covered;
};
// Runs inside the create transaction (tenancy, release binding); fills
// `view` with what it wrote.
using CreateHook = std::function<Status(storage::Conn&, const Workspace&, CreatedView& view)>;
// Runs inside a patch transaction, after the workspace row is updated
// (releases: the workspace's channel or release binding commits with it).
using PatchHook = std::function<Status(storage::Conn&, const Workspace&)>;
// Given the serialized view of the workspace inside the write transaction.
using ViewHook =
    std::function<Status(storage::Conn&, const Workspace&, const std::string& view_json)>;
// One spec change of set_specs().
struct SpecChange {
  std::string workspace_id;
  nlohmann::json spec;
  std::int64_t expect_generation = 0;  // > 0: left out ("changed") unless still at it
};
// Why set_specs left a workspace out: "gone", "busy" (migrating or deleting)
// or "changed" (its generation is no longer expect_generation).
struct LeftOut {
  std::string workspace_id;
  std::string reason;
};
// Runs inside the set_specs transaction: the workspaces changed (with their
// new generation) and those left out.
using SpecsHook = std::function<Status(storage::Conn&, const std::vector<Workspace>& changed,
                                       const std::vector<LeftOut>& left_out)>;
// Extra hostnames and certificate references of a workspace's `apply`
// assignment (custom domains): implemented by domains::Service, called on the
// read connection each time the assignment is served (so a change costs one
// refresh_assignment, not a rebuild of every domain's entry). Appends to
// `hostnames` what is not in it yet.
class AssignmentExtras {
 public:
  virtual ~AssignmentExtras() = default;
  virtual void add_to_assignment(storage::Conn& c, const std::string& workspace_id,
                                 std::vector<std::string>& hostnames,
                                 nlohmann::json& certificates) = 0;
};

class Service {
 public:
  struct Options {
    Policy policy = Policy::kSpread;
    std::int64_t heartbeat_timeout_s = 30;
    std::int64_t changelog_retention = 10000;   // tombstones kept by count (revisions)...
    std::int64_t changelog_retention_s = 3600;  // ...and by age: compacted only past both
    std::string zone = "fleet.test";
  };
  Service(asio::io_context& io, storage::Database& db, const Clock& clock, Options o);
  ~Service();

  Status load();
  // Told after each commit that changed what DNS publishes (dns::Publisher).
  void set_zone_notifier(dns::ZoneNotifier* zone) { zone_ = zone; }
  void set_assignment_extras(AssignmentExtras* extras) { extras_ = extras; }

  // Regions
  awaitable<Result<Region>> create_region(RegionInput in);
  Result<Region> get_region(const std::string& id);
  Result<std::vector<Region>> list_regions();
  awaitable<Result<Region>> patch_region(std::string id, RegionPatch p);
  awaitable<Status> delete_region(std::string id);
  HealthStatus health(const Region& r) const;
  DrainProgress drain_progress(const std::string& region);

  // Workspaces. On kNoCapacity, `reasons` gets one line per region.
  // `on_view` runs in the create's transaction after `hook`, with the
  // workspace's view exactly as its workspace.created event stores it: the
  // API answers with it and keeps it for the Idempotency-Key, so one create
  // builds and serializes its view once (BENCHMARKS.md "Placement").
  awaitable<Result<Workspace>> create_workspace(WorkspaceInput in, CreateHook hook,
                                                std::vector<RegionReason>* reasons,
                                                ViewHook on_view = {});
  Result<Workspace> get_workspace(const std::string& id_or_name);
  // `name_prefix` (lower case, may be empty): only names that start with it,
  // in name order, through the unique index on name (fast at 100k
  // workspaces: BENCHMARKS.md "Console"); without it, id order.
  Result<std::vector<Workspace>> list_workspaces(const std::string& region,
                                                 const std::string& state, int limit,
                                                 const std::string& after_id,
                                                 const std::string& name_prefix = "");
  // `hook` (may be empty) runs inside the transaction with the patched
  // workspace (tenants: quota checks, usage intervals); an error rolls back.
  awaitable<Result<Workspace>> patch_workspace(std::string id, std::optional<Resources> resources,
                                               std::optional<nlohmann::json> spec,
                                               PatchHook hook = {});
  // Suspends or resumes: a new generation whose assignment carries
  // "suspended". Only a `scheduled` workspace; `hook` as for patch.
  awaitable<Result<Workspace>> set_suspended(std::string id, bool suspended, PatchHook hook);
  // Sets the spec of each workspace (generation + 1, an `apply` assignment
  // through the normal path) in one transaction with `hook`'s writes: a
  // rollout's wave step and its members' states commit together. A workspace
  // that is gone or not `scheduled` is left out (told to the hook).
  awaitable<Result<std::vector<Workspace>>> set_specs(std::vector<SpecChange> changes,
                                                      SpecsHook hook);
  awaitable<Result<Workspace>> migrate_workspace(std::string id, std::string region,
                                                 std::vector<RegionReason>* reasons);
  awaitable<Result<Workspace>> delete_workspace(std::string id, bool force);
  // Re-publishes a workspace's assignment (hostnames or certificates changed).
  awaitable<Status> refresh_assignment(std::string workspace_id);
  std::string hostname_of(const Workspace& w) const { return w.name + "." + o_.zone; }

  // The workspace's view: what GET /v1/workspaces/{id} answers and what every
  // workspace.* event carries as its data (docs/events.md), one owner for
  // both. The scheduler's fields (with `suspended`, and `tenant`/`plan` null),
  // then what each decorator adds from `c`: tenants/ the tenancy (tenant, plan,
  // trial_ends_at), releases/ the `release` binding. `c` is the caller's — the
  // read connection, or a write transaction's, so the view shows the change
  // being committed. Decorators only read `c` and capture nothing that
  // changes: any thread may build a view. A decorator is called with every
  // workspace of a batch at once (`views[i]` is `ws[i]`'s view), so a page of
  // 1,000 costs it one query, not 1,000 (BENCHMARKS.md "Scale"). It only sets
  // fields: for a page, `views[i]` holds just what the decorators set.
  using ViewDecorator = std::function<Status(storage::Conn& c, std::span<const Workspace> ws,
                                             std::span<nlohmann::json> views)>;
  // Before serving; a second one under the same name replaces the first.
  void set_view_decorator(const std::string& name, ViewDecorator d) {
    view_decorators_[name] = std::move(d);
  }
  nlohmann::json base_view(const Workspace& w) const;
  Result<nlohmann::json> workspace_view(storage::Conn& c, const Workspace& w) const;
  // A page of views as JSON text: byte for byte the dump of a JSON array of
  // workspace_view() (as json_response writes it), without a JSON tree per
  // workspace. Each decorator runs once for the page; its fields are merged
  // in key order with the scheduler's, written straight to text. When a
  // decorator fails the page has the scheduler's fields only (logged).
  std::string workspace_views_json(storage::Conn& c, std::span<const Workspace> ws) const;
  // One view as JSON text, byte for byte workspace_view()'s dump (the text of
  // a create's events and answer); a decorator's error is returned. `known`:
  // the decorators it covers do not run, their fields are taken from it.
  Result<std::string> workspace_view_json(storage::Conn& c, const Workspace& w,
                                          const CreatedView* known = nullptr) const;
  // For a decorator's batch query: the ids of `ws`, and its rows (any order,
  // each with a `workspace_id`) matched back to `ws` (nullptr: no row).
  static std::vector<std::string> ids_of(std::span<const Workspace> ws);
  template <class Row>
  static std::vector<const Row*> rows_of(std::span<const Workspace> ws,
                                         const std::vector<Row>& rows) {
    std::unordered_map<std::string_view, const Row*> by_id;
    by_id.reserve(rows.size());
    for (const auto& r : rows) by_id.emplace(r.workspace_id, &r);
    std::vector<const Row*> out(ws.size(), nullptr);
    for (std::size_t i = 0; i < ws.size(); ++i)
      if (auto it = by_id.find(ws[i].id); it != by_id.end()) out[i] = it->second;
    return out;
  }

  // Agents
  Result<AssignmentsPage> assignments(const std::string& region, std::int64_t since);
  // Waits until the region's revision passes `since`, `wait` ends, or shutdown.
  awaitable<void> wait_for_change(std::string region, std::int64_t since,
                                  std::chrono::milliseconds wait);
  void heartbeat(const std::string& region, const std::string& agent_id,
                 const std::string& version);
  // POST /v1/agent/heartbeat: heartbeat(), stored first when it makes the
  // region healthy (no heartbeat before, or a late one) — tick() stores the
  // others at most 1 s later. What the API shows healthy stays healthy after
  // a restart or a leader takeover right after it.
  awaitable<void> agent_heartbeat(std::string region, std::string agent_id, std::string version);
  // An agent of `region` holds the log up to `revision`: it asked for the
  // changes after it (the API calls this with each poll's `since`). In
  // memory; tick() persists it at most once a second.
  void fetched(const std::string& region, std::int64_t revision);
  // The delivery fact of `workspace_id`'s assignment in `region` (one read).
  Result<Delivery> delivery(const std::string& region, const std::string& workspace_id);
  std::int64_t heartbeat_timeout_s() const { return o_.heartbeat_timeout_s; }
  awaitable<Result<std::vector<ReportResult>>> report(std::string region,
                                                      std::vector<ReportItem> items);
  // Wakes every long-poll (shutdown).
  void shutdown();

  // Periodic work: persist heartbeats, advance drains, compact the log.
  awaitable<void> tick();

  // Consistency check of the ledger against workspaces (fleetcommand fsck).
  static Result<std::vector<std::string>> fsck(storage::Conn& c);

  // What DNS publishes: every workspace whose region reported it running (any order).
  struct Published {
    std::string name;  // workspace name (the label under the zone)
    Ingress ingress;   // of the region DNS points at
    std::string workspace_id;
    std::string region;  // the region DNS points at (probes pace per region)
  };
  static Result<std::vector<Published>> published(storage::Conn& c);
  // Only the workspaces with these names (dns::Publisher's narrow pass).
  static Result<std::vector<Published>> published(storage::Conn& c,
                                                  const std::vector<std::string>& names);
  // The same set streamed for the zone's build at start (dns::Publisher):
  // `region` once per region with its ingress, then `name` once per published
  // workspace with the index of its region in that order (0, 1, ...). No copy
  // of a row is kept; the rows come from the covering index workspaces_dns
  // (migration 0024), not a scan of the table.
  static Status published_names(storage::Conn& c, const std::function<void(const Ingress&)>& region,
                                const std::function<void(std::string_view, std::size_t)>& name);
  // The statuses of those of `ids` that exist (any order), in one query.
  // Counts committed workspace changes and agent reports (every write that
  // can change what workspace_statuses returns). A reader that saw the same
  // value before knows nothing it read can have changed since (the rollout
  // reconciler's quiet passes, releases/reconcile.cpp).
  std::uint64_t change_epoch() const;
  // The ids of the workspaces in `state` (through the (state, id) index: as
  // cheap as there are such workspaces, whatever the fleet's size).
  static Result<std::vector<std::string>> workspace_ids_in_state(storage::Conn& c,
                                                                 const std::string& state);
  static Result<std::vector<WorkspaceStatus>> workspace_statuses(
      storage::Conn& c, const std::vector<std::string>& ids);
  // Listeners are told in the order they were added.
  void add_scope_listener(std::unique_ptr<ScopeListener> l) {
    scope_listeners_.push_back(std::move(l));
  }
  struct AgentSeen {
    std::string agent_id;
    std::string version;
    std::int64_t last_heartbeat_ms = 0;
  };
  std::vector<AgentSeen> agents(const std::string& region) const;
  // Transitions of reported phases since start, by the phase entered
  // (/metrics fleetcommand_workspace_phase_transitions_total).
  const std::map<std::string, std::int64_t>& phase_transitions() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  Options o_;
  dns::ZoneNotifier* zone_ = nullptr;
  AssignmentExtras* extras_ = nullptr;
  std::vector<std::unique_ptr<ScopeListener>> scope_listeners_;
  // One view's text (workspace_views_json, workspace_view_json); `extra`:
  // the decorators' fields.
  void put_view(std::string& out, const Workspace& w, const nlohmann::json& extra) const;
  std::map<std::string, ViewDecorator> view_decorators_;
  friend struct Impl;
};

}  // namespace fc::scheduler
