// Regions, agents and the assignment log.
#include "scheduler/service.hpp"

#include "scheduler/detail/impl.hpp"
#include "scheduler/detail/log.hpp"
#include "scheduler/detail/view_text.hpp"

namespace fc::scheduler {

using nlohmann::json;

namespace {
RegionRecord to_record(const Region& r) {
  RegionRecord rec;
  rec.id = r.id;
  rec.state = r.state;
  rec.labels = r.labels;
  rec.capacity = r.capacity;
  rec.allocated = r.allocated;
  if (r.last_heartbeat_ms)
    rec.last_heartbeat = SysTime{std::chrono::milliseconds(*r.last_heartbeat_ms)};
  return rec;
}
}  // namespace

Service::Service(asio::io_context& io, storage::Database& db, const Clock& clock, Options o)
    : impl_(std::make_unique<Impl>(*this, io, db, clock)), o_(std::move(o)) {}

Service::~Service() = default;

Status Service::load() {
  BOOST_OUTCOME_TRY(regions, store::all_regions(impl_->db.read()));
  std::vector<RegionRecord> recs;
  for (const auto& r : regions) {
    recs.push_back(to_record(r));
    impl_->revisions[r.id] = r.revision;
  }
  impl_->announced_loaded = false;  // both read again at the next tick
  impl_->tombstones_loaded = false;
  BOOST_OUTCOME_TRY(fetched, store::delivered_revisions(impl_->db.read()));
  for (const auto& [region, rev] : fetched) impl_->delivered[region] = rev;
  return impl_->index.load(std::move(recs));
}

void Service::Impl::index_updated(const Status& st, std::string_view op,
                                  std::string_view region) const {
  if (st) return;
  detail::logger()->warn("capacity index update failed op={} region={} reason={}", op, region,
                         st.error().detail);
}

void Service::Impl::committed(const std::map<std::string, std::int64_t>& revs) {
  ++change_epoch;
  for (const auto& [region, rev] : revs) {
    auto& cur = revisions[region];
    cur = std::max(cur, rev);
    auto it = waiters.find(region);
    if (it == waiters.end()) continue;
    for (auto* t : it->second) t->cancel();
  }
}

std::uint64_t Service::change_epoch() const { return impl_->change_epoch; }

// The agent's wire shape (agent/protocol.hpp); `spec` passes through as the
// tenant wrote it (API.md: an agent ignores fields it does not know). The
// custom domains' hostnames and certificates are not stored with it: they are
// attached when it is served (attach_extras), so publishing costs the same
// with 1 or 10,000 domains (issue #16).
json Service::Impl::assignment_body(const Workspace& w, const std::string& action) {
  namespace proto = agent::proto;
  proto::Assignment a;
  a.workspace_id = w.id;
  a.name = w.name;
  a.generation = w.generation;
  a.action = action == "apply" ? proto::Action::kApply : proto::Action::kDelete;
  a.resources = proto::Resources{w.resources.memory_mib, w.resources.cpu_millis};
  a.hostnames.push_back(svc.hostname_of(w));
  a.suspended = w.suspended && action == "apply";
  json j = a;
  j["spec"] = w.spec;
  return j;
}

std::string Service::Impl::apply_assignment_text(const Workspace& w) const {
  const std::string spec = w.spec.dump();
  const std::string hostname = svc.hostname_of(w);
  std::string out;
  out.reserve(224 + spec.size() + 2 * hostname.size());
  detail::append_apply_assignment(
      out, {w.id, w.name, hostname, w.generation, w.resources.memory_mib, w.resources.cpu_millis,
            w.suspended, spec});
  return out;
}

// An `apply` gets the routed hostnames and the certificate refs its
// workspace has now; every change to them published a new generation.
void Service::Impl::attach_extras(storage::Conn& c, json& j) const {
  namespace proto = agent::proto;
  if (svc.extras_ == nullptr || !j.is_object() || j.value("action", "") != "apply") return;
  std::vector<std::string> hostnames;
  for (const auto& h : j.value("hostnames", json::array()))
    if (h.is_string()) hostnames.push_back(h.get<std::string>());
  json certs = json::array();
  svc.extras_->add_to_assignment(c, j.value("workspace_id", ""), hostnames, certs);
  std::vector<proto::CertificateRef> refs;
  for (const auto& r : certs) {
    auto ref = proto::decode<proto::CertificateRef>(r);
    if (ref) refs.push_back(std::move(ref).value());
  }
  j["hostnames"] = std::move(hostnames);
  j["certificates"] = refs;
}

Status Service::Impl::publish(storage::Conn& c, const Workspace& w, const std::string& region,
                              const std::string& action,
                              std::map<std::string, std::int64_t>& revs) {
  BOOST_OUTCOME_TRY(rev, store::append(c, region, w.id, action, assignment_body(w, action), now()));
  revs[region] = rev;
  return ok();
}

// ---- regions ----
awaitable<Result<Region>> Service::create_region(RegionInput in) {
  Region r;
  r.id = in.id;
  r.name = in.name.empty() ? in.id : in.name;
  r.labels = in.labels;
  r.ingress = in.ingress;
  r.capacity = in.capacity;
  r.created_at = r.updated_at = impl_->now();
  auto st = co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(existing, store::find_region(c, r.id));
    if (existing) return make_error(Errc::kRegionExists, "region " + r.id + " already exists");
    return store::insert_region(c, r);
  });
  if (!st) co_return st.error();
  impl_->index_updated(impl_->index.add_region(to_record(r)), "add_region", r.id);
  r.revision = 1;  // so that an agent's first long-poll (since=1) can wait
  impl_->revisions[r.id] = 1;
  co_return r;
}

Result<Region> Service::get_region(const std::string& id) {
  BOOST_OUTCOME_TRY(r, store::find_region(impl_->db.read(), id));
  if (!r) return make_error(Code::kNotFound, "no region " + id);
  impl_->overlay_heartbeat(*r);
  return *r;
}

Result<std::vector<Region>> Service::list_regions() {
  BOOST_OUTCOME_TRY(all, store::all_regions(impl_->db.read()));
  for (auto& r : all) impl_->overlay_heartbeat(r);
  return all;
}

HealthStatus Service::health(const Region& r) const {
  return evaluate_health(impl_->index.last_heartbeat(r.id), impl_->clock.now(),
                         o_.heartbeat_timeout_s);
}

DrainProgress Service::drain_progress(const std::string& region) {
  auto it = impl_->drains.find(region);
  DrainProgress p = it == impl_->drains.end() ? DrainProgress{} : it->second;
  // What is moving right now is read fresh; `blocked` is from the last pass.
  p.moving.reset();
  p.remaining = 0;
  auto ws = store::workspaces_in(impl_->db.read(), region);
  if (!ws) return p;
  p.remaining = static_cast<std::int64_t>(ws.value().size());
  for (const auto& w : ws.value()) {
    if (w.state == "migrating") p.moving = w.id;
  }
  return p;
}

awaitable<Result<Region>> Service::patch_region(std::string id, RegionPatch p) {
  Region r;
  bool ingress_changed = false;
  auto st = co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_region(c, id));
    if (!found) return make_error(Code::kNotFound, "no region " + id);
    r = *found;
    if (p.name) r.name = *p.name;
    if (p.labels) r.labels = *p.labels;
    if (p.ingress) {
      ingress_changed = true;
      r.ingress = *p.ingress;
    }
    if (p.capacity) r.capacity = *p.capacity;
    if (p.state) r.state = *p.state;
    r.updated_at = impl_->now();
    return store::update_region(c, r);
  });
  if (!st) co_return st.error();
  impl_->index_updated(impl_->index.set_state(id, r.state), "set_state", id);
  impl_->index_updated(impl_->index.set_labels(id, r.labels), "set_labels", id);
  impl_->index_updated(impl_->index.set_capacity(id, r.capacity), "set_capacity", id);
  if (r.state != RegionState::kDraining) impl_->drains.erase(id);
  if (ingress_changed) impl_->dns_changed();
  co_return get_region(id);
}

awaitable<Status> Service::delete_region(std::string id) {
  auto st = co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_region(c, id));
    if (!found) return make_error(Code::kNotFound, "no region " + id);
    BOOST_OUTCOME_TRY(n, store::count_placements(c, id));
    if (n > 0)
      return make_error(Errc::kRegionNotEmpty, "region " + id + " still holds " +
                                                   std::to_string(n) +
                                                   " workspace(s); migrate or delete them first");
    BOOST_OUTCOME_TRY(impl_->scope_removing(c, id, ""));
    return store::delete_region(c, id);
  });
  if (!st) co_return st;
  impl_->index_updated(impl_->index.remove_region(id), "remove_region", id);
  impl_->revisions.erase(id);
  impl_->agents.erase(id);
  impl_->delivered.erase(id);
  impl_->delivered_dirty.erase(id);
  impl_->tombstoned.erase(id);
  impl_->committed({{id, 0}});
  impl_->scope_removed(id, "");
  impl_->dns_changed();  // a full pass: no name stays published through a deleted region
  co_return ok();
}

// ---- agents ----
Result<AssignmentsPage> Service::assignments(const std::string& region, std::int64_t since) {
  auto& c = impl_->db.read();
  BOOST_OUTCOME_TRY(r, store::find_region(c, region));
  if (!r) return make_error(Code::kNotFound, "no region " + region);
  AssignmentsPage page;
  page.region = region;
  page.revision = r->revision;
  if (since > 0) {
    BOOST_OUTCOME_TRY(min_rev, store::min_revision(c, region));
    if (since < min_rev || since > r->revision)
      return make_error(Errc::kRevisionGone,
                        "revision " + std::to_string(since) + " is outside the retained log [" +
                            std::to_string(min_rev) + ", " + std::to_string(r->revision) +
                            "]; list again from 0");
    BOOST_OUTCOME_TRY(items, store::assignments_after(c, region, since, false));
    page.assignments = std::move(items);
  } else {
    page.complete = true;
    BOOST_OUTCOME_TRY(items, store::assignments_after(c, region, 0, true));
    page.assignments = std::move(items);
  }
  for (auto& j : page.assignments) impl_->attach_extras(c, j);
  return page;
}

awaitable<void> Service::wait_for_change(std::string region, std::int64_t since,
                                         std::chrono::milliseconds wait) {
  auto& i = *impl_;
  if (i.shutting_down || wait.count() <= 0) co_return;
  auto it = i.revisions.find(region);
  if (it == i.revisions.end() || it->second > since) co_return;
  asio::steady_timer t(i.io);
  t.expires_after(wait);
  i.waiters[region].insert(&t);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
  auto w = i.waiters.find(region);
  if (w != i.waiters.end()) {
    w->second.erase(&t);
    if (w->second.empty()) i.waiters.erase(w);
  }
}

void Service::shutdown() {
  impl_->shutting_down = true;
  for (auto& [region, timers] : impl_->waiters) {
    for (auto* t : timers) t->cancel();
  }
}

void Service::heartbeat(const std::string& region, const std::string& agent_id,
                        const std::string& version) {
  auto now = impl_->clock.now();
  impl_->index_updated(impl_->index.record_heartbeat(region, now), "heartbeat", region);
  impl_->heartbeats_dirty[region] = impl_->now();
  impl_->agents[region][agent_id] = AgentSeen{agent_id, version, impl_->now()};
}

void Service::fetched(const std::string& region, std::int64_t revision) {
  auto& cur = impl_->delivered[region];
  if (revision <= cur) return;
  cur = revision;
  impl_->delivered_dirty[region] = revision;
}

Result<Delivery> Service::delivery(const std::string& region, const std::string& workspace_id) {
  Delivery d;
  BOOST_OUTCOME_TRY(row, store::assignment_row(impl_->db.read(), region, workspace_id));
  if (row) {
    d.assigned = true;
    d.action = row->action;
    d.revision = row->revision;
    d.written_at = row->written_at;
  }
  auto it = impl_->delivered.find(region);
  if (it != impl_->delivered.end()) d.delivered_revision = it->second;
  return d;
}

const std::map<std::string, std::int64_t>& Service::phase_transitions() const {
  return impl_->transitions;
}

std::vector<Service::AgentSeen> Service::agents(const std::string& region) const {
  std::vector<AgentSeen> out;
  auto it = impl_->agents.find(region);
  if (it == impl_->agents.end()) return out;
  for (const auto& [id, a] : it->second) out.push_back(a);
  return out;
}

Result<std::vector<Service::Published>> Service::published(storage::Conn& c) {
  return store::published(c);
}

Status Service::published_names(storage::Conn& c, const std::function<void(const Ingress&)>& region,
                                const std::function<void(std::string_view, std::size_t)>& name) {
  return store::published_names(c, region, name);
}

Result<std::vector<std::string>> Service::workspace_ids_in_state(storage::Conn& c,
                                                                 const std::string& state) {
  return store::workspace_ids_in_state(c, state);
}

Result<std::vector<Service::Published>> Service::published(storage::Conn& c,
                                                           const std::vector<std::string>& names) {
  return store::published(c, names);
}

Result<std::vector<WorkspaceStatus>> Service::workspace_statuses(
    storage::Conn& c, const std::vector<std::string>& ids) {
  return store::workspace_statuses(c, ids);
}

}  // namespace fc::scheduler
