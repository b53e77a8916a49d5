// Claims, reads, deletion, the API view and the periodic sweep.
#include "domains/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "domains/detail/impl.hpp"
#include "domains/detail/store.hpp"
#include "events/events.hpp"

namespace fc::domains {

using nlohmann::json;

namespace {
// Collects the workspaces whose row the scheduler removed, for the sweep.
class RemovedWorkspaces final : public scheduler::ScopeListener {
 public:
  explicit RemovedWorkspaces(std::shared_ptr<std::vector<std::string>> out)
      : out_(std::move(out)) {}
  Status removing(storage::Conn&, const std::string&, const std::string&) override { return ok(); }
  void removed(const std::string& region, const std::string& workspace_id) override {
    if (region.empty() && !workspace_id.empty()) out_->push_back(workspace_id);
  }

 private:
  std::shared_ptr<std::vector<std::string>> out_;
};
}  // namespace

Service::Service(asio::io_context& io, storage::Database& db, const Clock& clock,
                 scheduler::Service& sched, Options o)
    : impl_(std::make_unique<Impl>(io, db, clock, sched, std::move(o))) {
  sched.add_scope_listener(std::make_unique<RemovedWorkspaces>(impl_->removed_workspaces));
}
Service::~Service() = default;

void Service::set_certs(certs::Service* certs) {
  impl_->certs = certs == nullptr ? CertPort{} : cert_port(*certs);
  if (certs != nullptr) certs->add_issued_listener(*this);
}

void Service::start() {
  auto* i = impl_.get();
  if (i->started) return;
  i->started = true;
  asio::co_spawn(i->io, i->check_loop(), [](std::exception_ptr e) {
    if (e) logger()->critical("domain verifier loop stopped reason=exception");
  });
}

void Service::set_pacing(const Pacing& p) {
  auto& i = *impl_;
  i.o.recheck_interval_s = p.recheck_interval_s;
  i.o.verify_base_s = p.verify_base_s;
  i.o.max_concurrent_checks = p.max_concurrent_checks;
  if (p.queries_per_second != i.o.queries_per_second) {
    i.o.queries_per_second = p.queries_per_second;
    std::fill(i.buckets.begin(), i.buckets.end(), TokenBucket(query_rate(p.queries_per_second)));
  }
  i.wake.cancel();  // the loop recomputes its room and its sleep at once
}

void Service::stop() {
  impl_->stopping = true;
  impl_->wake.cancel();
}

std::string Service::Impl::new_token() {
  std::random_device rd;  // /dev/urandom on Linux
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return std::string("fc-verify=") + buf;
}

std::string Service::Impl::delegate_name(const Domain& d) const {
  std::string id = d.id;
  for (auto& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id + "._acme." + o.zone;
}

Status Service::Impl::enqueue_check(storage::Conn& c, const Domain& d, std::int64_t run_at) {
  return store::check_by(c, d.id, run_at);
}

void Service::Impl::poke() { wake.cancel(); }

Result<Domain> Service::Impl::visible(const std::string& hostname, const std::string& viewer_ws) {
  auto name = normalize_hostname(hostname, "");
  if (!name) return make_error(Code::kNotFound, "no domain " + hostname);
  BOOST_OUTCOME_TRY(live, store::live_for_host(db.read(), name.value()));
  const Domain* pick = nullptr;
  for (const auto& d : live) {
    if (!viewer_ws.empty() && d.workspace_id != viewer_ws) continue;  // a tenant sees only its own
    if (!pick || d.verified_at) pick = &d;  // admins: the verified claim wins
  }
  if (!pick) return make_error(Code::kNotFound, "no domain " + name.value());
  return *pick;
}

awaitable<void> Service::Impl::save_logged(std::string id, std::string step,
                                           std::function<void(Domain&)> fn) {
  auto saved = co_await save(id, std::move(fn));
  if (saved) co_return;
  logger()->warn("domain save failed id={} step={} reason={}", id, step, saved.error().detail);
}

awaitable<Result<bool>> Service::Impl::save(std::string id, std::function<void(Domain&)> fn) {
  bool live = false;
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(cur, store::find_by_id(c, id));
    live = cur && !cur->deleted_at;
    if (!live) return ok();
    const Domain before = *cur;
    fn(*cur);
    cur->updated_at = now();
    BOOST_OUTCOME_TRY(store::update(c, *cur));
    return emit_transitions(c, before, *cur);
  });
  if (!st) co_return st.error();
  co_return live;
}

// Lifecycle events (docs/events.md) of a domain change, in its transaction:
// domain.verified when ownership is first proven, then domain.active, .failed
// and .moved as the state enters them. The view is built from the row alone
// (this runs on the writer thread, which must not read other components).
Status Service::Impl::emit_transitions(storage::Conn& c, const Domain& before,
                                       const Domain& after) {
  auto emit = [&](const char* type) {
    auto opt_time = [](const std::optional<std::int64_t>& t) {
      return t ? json(format_rfc3339(*t)) : json(nullptr);
    };
    json view = {
        {"hostname", after.hostname},
        {"workspace_id", after.workspace_id},
        {"status", state_name(after.state)},
        {"verified_at", opt_time(after.verified_at)},
        {"certificate_id", after.certificate_id ? json(*after.certificate_id) : json(nullptr)},
        {"moved_at", opt_time(after.moved_at)},
        {"error", after.last_error ? json(*after.last_error) : json(nullptr)}};
    return events::append(c, {type, after.workspace_id, after.hostname, view.dump()}, now());
  };
  if (!before.verified_at && after.verified_at) {
    BOOST_OUTCOME_TRY(emit("domain.verified"));
  }
  if (before.state == after.state) return ok();
  switch (after.state) {
    case State::kActive: return emit("domain.active");
    case State::kFailed: return emit("domain.failed");
    case State::kMoved: return emit("domain.moved");
    default: return ok();
  }
}

awaitable<void> Service::Impl::refresh(std::string workspace_id) {
  auto st = co_await sched.refresh_assignment(workspace_id);
  if (!st)
    logger()->warn("refresh_assignment failed workspace={} reason={}", workspace_id,
                   st.error().detail);
}

namespace {

Status claim_rules(storage::Conn& c, const std::string& host, const std::string& ws,
                   std::int64_t now, std::int64_t max_per_ws, std::optional<Domain>& existing) {
  BOOST_OUTCOME_TRY(live, store::live_for_host(c, host));
  for (const auto& d : live) {
    if (d.workspace_id == ws)
      existing = d;
    else if (d.verified_at)
      return make_error(Errc::kTaken, host + " is already verified by another workspace");
  }
  if (existing) return ok();
  BOOST_OUTCOME_TRY(reserved, store::reservations(c, host, now));
  for (const auto& d : reserved) {
    if (d.workspace_id != ws)
      return make_error(Errc::kReserved, host + " is reserved for its previous workspace until " +
                                             format_rfc3339(*d.reserved_until));
  }
  BOOST_OUTCOME_TRY(mine, store::live_for_workspace(c, ws));
  if (static_cast<std::int64_t>(mine.size()) >= max_per_ws)
    return make_error(Errc::kQuotaExceeded, "a workspace may claim at most " +
                                                std::to_string(max_per_ws) + " custom domains");
  return ok();
}

// The workspace's plan limit (max_custom_domains), checked in the same
// transaction as the insert so concurrent claims cannot pass it together.
Status plan_rule(const Options& o, storage::Conn& c, const std::string& ws) {
  if (!o.workspace_limit) return ok();
  BOOST_OUTCOME_TRY(limit, o.workspace_limit(c, ws));
  if (!limit) return ok();
  BOOST_OUTCOME_TRY(mine, store::live_for_workspace(c, ws));
  if (static_cast<std::int64_t>(mine.size()) >= *limit)
    return make_error(Errc::kQuotaExceeded, "max_custom_domains " + std::to_string(*limit) +
                                                " of the workspace's plan reached");
  return ok();
}

}  // namespace

awaitable<Result<Domain>> Service::claim(std::string workspace_id, std::string hostname,
                                         std::string viewer_ws) {
  auto& i = *impl_;
  BOOST_OUTCOME_CO_TRY(host, normalize_hostname(hostname, i.o.zone));
  auto w = i.sched.get_workspace(workspace_id);
  if (!w || (!viewer_ws.empty() && w.value().id != viewer_ws))
    co_return make_error(Code::kNotFound, "no workspace " + workspace_id);
  if (w.value().state == "deleting")
    co_return make_error(Errc::kWorkspaceDeleting, "the workspace is being deleted");
  Domain d;
  d.id = i.ids.next("dom_", i.now());
  d.hostname = host;
  d.workspace_id = w.value().id;
  d.token = i.new_token();
  d.created_at = d.updated_at = i.now();
  std::optional<Domain> existing;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    existing.reset();
    BOOST_OUTCOME_TRY(
        claim_rules(c, host, d.workspace_id, i.now(), i.o.max_per_workspace, existing));
    if (existing) return ok();
    BOOST_OUTCOME_TRY(plan_rule(i.o, c, d.workspace_id));
    BOOST_OUTCOME_TRY(store::insert(c, d));
    return i.enqueue_check(c, d, i.now());
  });
  if (!st) co_return st.error();
  if (existing) co_return *existing;
  i.poke();
  logger()->info("domain claimed id={} hostname={} workspace={}", d.id, d.hostname, d.workspace_id);
  co_return d;
}

Result<std::int64_t> Service::in_use(storage::Conn& c, const std::string& workspace_id) {
  BOOST_OUTCOME_TRY(mine, store::live_for_workspace(c, workspace_id));
  return static_cast<std::int64_t>(mine.size());
}

Result<std::vector<Domain>> Service::list(const std::string& workspace_id,
                                          const std::string& viewer_ws) {
  auto w = impl_->sched.get_workspace(workspace_id);
  if (!w || (!viewer_ws.empty() && w.value().id != viewer_ws))
    return make_error(Code::kNotFound, "no workspace " + workspace_id);
  return store::live_for_workspace(impl_->db.read(), w.value().id);
}

Result<std::vector<Domain>> Service::list_all(const std::string& status, const std::string& q,
                                              int limit, const std::string& after) {
  return store::page(impl_->db.read(), status, q, limit, after);
}

Result<std::vector<std::pair<std::string, std::string>>> Service::active_hostnames(
    storage::Conn& c) {
  return store::active_hostnames(c);
}

Result<Domain> Service::get(const std::string& hostname, const std::string& viewer_ws) {
  return impl_->visible(hostname, viewer_ws);
}

awaitable<Status> Service::check_now(std::string hostname, std::string viewer_ws) {
  auto& i = *impl_;
  BOOST_OUTCOME_CO_TRY(d, i.visible(hostname, viewer_ws));
  auto now = i.now();
  auto st = co_await i.db.write([&](storage::Conn& c) { return i.enqueue_check(c, d, now); });
  // A check asked for while one runs must not be lost when that one reschedules.
  if (st && i.in_flight.count(d.id) > 0) i.asked_again.insert(d.id);
  if (st) i.poke();
  co_return st;
}

awaitable<Status> Service::remove(std::string hostname, std::string viewer_ws) {
  auto& i = *impl_;
  BOOST_OUTCOME_CO_TRY(d, i.visible(hostname, viewer_ws));
  auto now = i.now();
  auto saved = co_await i.save(d.id, [&](Domain& x) {
    x.state = State::kDeleted;
    x.deleted_at = now;
    // Only a name that was proven ours stays reserved (a dangling CNAME).
    if (x.verified_at) x.reserved_until = now + i.o.reservation_s * 1000;
    x.routed = false;
  });
  if (!saved) co_return saved.error();
  if (d.routed) co_await i.refresh(d.workspace_id);
  if (d.certificate_id && i.certs.remove) {
    auto st = co_await i.certs.remove(*d.certificate_id);
    if (!st)
      logger()->warn("removing certificate failed id={} cert={} reason={}", d.id, *d.certificate_id,
                     st.error().detail);
  }
  logger()->info("domain deleted id={} hostname={} workspace={}", d.id, d.hostname, d.workspace_id);
  co_return ok();
}

json Service::view(const Domain& d) const {
  auto opt_time = [](const std::optional<std::int64_t>& t) {
    return t ? json(format_rfc3339(*t)) : json(nullptr);
  };
  json cert = nullptr;
  if (d.certificate_id) {
    cert = {{"id", *d.certificate_id}, {"status", "pending"}, {"not_after", nullptr}};
    if (impl_->certs.get) {
      auto c = impl_->certs.get(*d.certificate_id);
      if (c)
        cert = {{"id", c.value().id},
                {"status", c.value().status},
                {"not_after", opt_time(c.value().not_after_ms)}};
    }
  }
  auto w = impl_->sched.get_workspace(d.workspace_id);
  std::string target = w ? impl_->sched.hostname_of(w.value()) : "";
  return {{"hostname", d.hostname},
          {"workspace_id", d.workspace_id},
          {"status", state_name(d.state)},
          {"verification",
           {{"type", "TXT"},
            {"name", txt_name(d.hostname)},
            {"value", d.token},
            {"verified_at", opt_time(d.verified_at)}}},
          {"routing",
           {{"type", d.routing_type},
            {"name", d.hostname},
            {"target", target},
            {"ok", d.routing_ok},
            {"found", d.routing_found.empty() ? json(nullptr) : json(d.routing_found)}}},
          {"acme_challenge_delegation",
           {{"name", "_acme-challenge." + d.hostname}, {"target", impl_->delegate_name(d)}}},
          {"certificate", cert},
          {"last_error", d.last_error ? json(*d.last_error) : json(nullptr)},
          {"last_checked_at", opt_time(d.last_checked_at)},
          {"created_at", format_rfc3339(d.created_at)}};
}

Status Service::assignment_extras(storage::Conn& c, const std::string& workspace_id,
                                  std::vector<std::string>& hostnames,
                                  std::vector<std::string>& withheld_cert_ids) {
  BOOST_OUTCOME_TRY(mine, store::routes_for_workspace(c, workspace_id));
  // A set, not a search of the list per domain: 10,000 domains took 0.5 s.
  std::unordered_set<std::string> seen(hostnames.begin(), hostnames.end());
  for (const auto& d : mine) {
    if (!d.routed) {
      if (d.certificate_id) withheld_cert_ids.push_back(*d.certificate_id);
      continue;
    }
    if (seen.insert(d.hostname).second) hostnames.push_back(d.hostname);
  }
  return ok();
}

}  // namespace fc::domains
