// Rollouts: start (the durable plan), the API view, and the operator's
// actions (docs/releases.md "Rollouts").
#include <set>

#include "releases/detail/impl.hpp"
#include "tenants/service.hpp"

namespace fc::releases {

using nlohmann::json;

namespace {

constexpr std::size_t kListedMembers = 100;  // failed/skipped members shown per rollout

// Every workspace with its binding (bounded pages of the scheduler's list).
Result<std::vector<scheduler::Workspace>> all_workspaces(scheduler::Service& sched) {
  std::vector<scheduler::Workspace> out;
  std::string after;
  for (;;) {
    BOOST_OUTCOME_TRY(page, sched.list_workspaces("", "", 1000, after));
    if (page.empty()) return out;
    after = page.back().id;
    for (auto& w : page) out.push_back(std::move(w));
    if (page.size() < 1000) return out;
  }
}

// Whether a workspace's placement labels hold every label of the selector.
bool labels_match(const scheduler::Labels& have, const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

struct Plan {
  store::RolloutRow row;
  std::vector<store::MemberRow> members;
};

}  // namespace

awaitable<Result<json>> Service::start_rollout(json body, FieldErrors& f) {
  auto& i = *impl_;
  RolloutBody in = parse_rollout_body(body, f);
  const RolloutSpec& spec = in.spec;
  const std::optional<std::string>& channel = in.channel;
  const Selector& sel = in.selector;
  const std::string& to = in.to_release;
  if (!f.empty()) co_return make_error(Code::kInvalidArgument, "invalid rollout");

  auto& rc = i.db.read();
  BOOST_OUTCOME_CO_TRY(to_row, store::find_release(rc, to));
  if (!to_row) co_return invalid(f, "to_release", "no release " + to);
  const Release& target = to_row->r;
  Path path;
  for (auto [ref, out] :
       {std::pair{&target.min_from, &path.min_seq}, {&target.max_from, &path.max_seq}}) {
    if (!*ref) continue;
    BOOST_OUTCOME_CO_TRY(r, store::find_release(rc, **ref));
    if (r) *out = r->r.seq;
  }
  std::optional<std::string> from_release;
  if (channel) {
    BOOST_OUTCOME_CO_TRY(ch, store::find_channel(rc, *channel));
    if (!ch) co_return invalid(f, "channel", "no channel " + *channel);
    if (ch->release == to)
      co_return invalid(f, "to_release", "channel " + *channel + " is already at " + to);
    BOOST_OUTCOME_CO_TRY(fr, store::find_release(rc, ch->release));
    std::string why;
    if (fr && !path_allows(fr->r.seq, target.seq, path, why))
      co_return invalid(f, "to_release", "from " + ch->release + " to " + to + ": " + why);
    from_release = ch->release;
  }

  // An active rollout of the channel is a conflict (409) whatever it has
  // already upgraded (checked again in the write below).
  if (channel) {
    BOOST_OUTCOME_CO_TRY(active, store::list_rollouts(rc, true));
    for (const auto& a : active) {
      if (a.channel == channel)
        co_return make_error(Code::kConflict,
                             "rollout " + a.id + " is already moving channel " + *channel);
    }
  }

  // Tenants and plans of the selector: tenants named by id or name (an
  // unknown one is a 422), then every workspace's tenancy.
  std::set<std::string> tenant_ids;
  for (const auto& t : sel.tenants) {
    BOOST_OUTCOME_CO_TRY(found, tenants::find_tenant(rc, t));
    if (!found) co_return invalid(f, "selector.tenants", "no tenant " + t);
    tenant_ids.insert(found->id);
  }
  std::map<std::string, tenants::Tenancy> tenancy;
  if (!sel.plans.empty() || !sel.tenants.empty()) {
    BOOST_OUTCOME_CO_TRY(all, tenants::all_tenancies(rc));
    tenancy = std::move(all);
  }
  const std::set<std::string> plan_set(sel.plans.begin(), sel.plans.end());

  // Candidates: the channel's followers (pinned workspaces never), narrowed
  // by each kind of the selector; each must be allowed to take the release.
  BOOST_OUTCOME_CO_TRY(bindings, store::all_bindings(rc));
  BOOST_OUTCOME_CO_TRY(workspaces, all_workspaces(i.sched));
  const std::set<std::string> region_set(sel.regions.begin(), sel.regions.end());
  auto selected = [&](const scheduler::Workspace& w) {
    if (!region_set.empty() && !region_set.contains(w.region)) return false;
    if (!labels_match(w.placement.labels, sel.labels)) return false;
    if (plan_set.empty() && tenant_ids.empty()) return true;
    auto t = tenancy.find(w.id);
    if (t == tenancy.end()) return false;
    return (plan_set.empty() || plan_set.contains(t->second.plan)) &&
           (tenant_ids.empty() || tenant_ids.contains(t->second.tenant_id));
  };
  std::map<std::string, std::int64_t> seq_of;
  BOOST_OUTCOME_CO_TRY(all_releases, store::list_releases(rc));
  for (const auto& r : all_releases) seq_of[r.name] = r.seq;
  Plan plan;
  std::vector<Candidate> cands;
  for (const auto& w : workspaces) {
    if (w.state == "deleting") continue;
    auto b = bindings.find(w.id);
    const store::BindingRow* bind = b == bindings.end() ? nullptr : &b->second;
    if (bind && bind->pinned) continue;
    if (channel && (!bind || bind->channel != channel)) continue;
    if (!selected(w)) continue;
    std::optional<std::string> cur = bind ? bind->release : std::nullopt;
    if (cur == to) continue;
    if (cur && seq_of.contains(*cur)) {
      std::string why;
      if (!path_allows(seq_of[*cur], target.seq, path, why))
        co_return invalid(f, "to_release", "workspace " + w.name + " runs " + *cur + ": " + why);
    }
    store::MemberRow m;
    m.m.workspace_id = w.id;
    m.m.region = w.region;
    m.from_spec = w.spec.dump();
    m.from_release = cur;
    plan.members.push_back(std::move(m));
    cands.push_back({w.id, w.region});
  }
  if (cands.empty()) co_return invalid(f, "selector", "selects no workspace to upgrade");
  int waves = 0;
  const auto wave_of = plan_waves(cands, spec, waves);
  for (std::size_t k = 0; k < cands.size(); ++k) plan.members[k].m.wave = wave_of[k];

  const std::int64_t now = i.clock.now_ms();
  auto& row = plan.row;
  row.id = i.ids.next("ro_", now);
  row.channel = channel;
  row.selector = in.selector_json;
  row.from_release = from_release;
  row.to_release = to;
  row.spec = spec_to_json(spec).dump();
  row.state = "running";
  row.waves = waves;
  row.wave_started_at = row.created_at = row.updated_at = now;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(active, store::list_rollouts(c, true));
    for (const auto& a : active) {
      if (channel && a.channel == channel)
        return make_error(Code::kConflict,
                          "rollout " + a.id + " is already moving channel " + *channel);
    }
    BOOST_OUTCOME_TRY(busy, store::active_member_ids(c));
    for (const auto& m : plan.members) {
      if (busy.contains(m.m.workspace_id))
        return make_error(Code::kConflict,
                          "workspace " + m.m.workspace_id + " is already in an active rollout");
    }
    BOOST_OUTCOME_TRY(store::insert_rollout(c, row));
    for (const auto& m : plan.members) {
      BOOST_OUTCOME_TRY(store::insert_member(c, row.id, m));
    }
    return record_event(c, "rollout.started", row.id,
                        {{"to_release", to}, {"members", plan.members.size()}, {"waves", waves}},
                        now);
  });
  if (!st) co_return st.error();
  releases_logger()->info("rollout started id={} to_release={} members={} waves={}", row.id, to,
                          plan.members.size(), waves);
  i.wake();
  co_return rollout_json(row.id);
}

namespace {

json member_json(const store::MemberRow& m) {
  return {{"workspace_id", m.m.workspace_id},
          {"region", m.m.region},
          {"wave", m.m.wave},
          {"state", member_state_name(m.m.state)},
          {"generation", m.m.generation},
          {"message", m.m.message}};
}

json view(storage::Conn& c, const store::RolloutRow& r) {
  json j = spec_to_json(spec_from_json(json::parse(r.spec, nullptr, false)));
  j["id"] = r.id;
  j["channel"] = r.channel ? json(*r.channel) : json(nullptr);
  j["selector"] = json::parse(r.selector, nullptr, false);
  j["from_release"] = r.from_release ? json(*r.from_release) : json(nullptr);
  j["to_release"] = r.to_release;
  j["state"] = r.state;
  j["current_wave"] = r.wave;
  j["conditions"] = json::parse(r.conditions, nullptr, false);
  j["created_at"] = format_rfc3339(r.created_at);
  j["updated_at"] = format_rfc3339(r.updated_at);
  j["finished_at"] = r.finished_at ? json(format_rfc3339(*r.finished_at)) : json(nullptr);
  json progress = json::array();
  auto counts = store::wave_counts(c, r.id);
  for (int w = 0; counts && w < r.waves; ++w) {
    json p = {{"wave", w}};
    std::int64_t total = 0;
    for (auto s : {"pending", "in_flight", "done", "failed", "skipped_region_down", "skipped_busy",
                   "rolled_back"}) {
      const auto& m = counts.value()[w];
      const std::int64_t n = m.contains(s) ? m.at(s) : 0;
      p[s] = n;
      total += n;
    }
    p["total"] = total;
    const bool active = r.state == "running" || r.state == "paused";
    p["status"] = w < r.wave              ? "done"
                  : w > r.wave || !active ? (w == r.wave && !active ? r.state : "waiting")
                  : r.bake_started_at     ? "baking"
                                          : "in_progress";
    if (w == r.wave && r.bake_started_at) p["bake_started_at"] = format_rfc3339(*r.bake_started_at);
    progress.push_back(p);
  }
  j["waves_progress"] = progress;
  json failed = json::array(), skipped = json::array();
  for (auto s : {"failed", "skipped_region_down", "skipped_busy"}) {
    auto ms = store::members(c, r.id, -1, s);
    if (!ms) continue;
    auto& out = std::string_view(s) == "failed" ? failed : skipped;
    for (const auto& m : ms.value()) {
      if (out.size() >= kListedMembers) break;
      out.push_back(member_json(m));
    }
  }
  j["failed"] = failed;
  j["skipped"] = skipped;
  return j;
}

}  // namespace

Result<json> Service::rollout_json(const std::string& id) {
  auto& c = impl_->db.read();
  BOOST_OUTCOME_TRY(r, store::find_rollout(c, id));
  if (!r) return make_error(Code::kNotFound, "no rollout " + id);
  return view(c, *r);
}

Result<json> Service::list_rollouts() {
  auto& c = impl_->db.read();
  BOOST_OUTCOME_TRY(rows, store::list_rollouts(c, false));
  json items = json::array();
  for (const auto& r : rows) items.push_back(view(c, r));
  return json{{"items", items}};
}

namespace {

json conditions_without(const std::string& text, const std::string& reason) {
  json out = json::array();
  auto j = json::parse(text, nullptr, false);
  for (const auto& c : j.is_array() ? j : json::array())
    if (c.value("reason", "") != reason) out.push_back(c);
  return out;
}

}  // namespace

// Argo Rollouts' pause.go: an action adds or removes a pause condition (with
// its start time) and the status is written in one place, here.
awaitable<Result<json>> Service::act(std::string id, std::string action) {
  auto& i = *impl_;
  const std::int64_t now = i.clock.now_ms();
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_rollout(c, id));
    if (!found) return make_error(Code::kNotFound, "no rollout " + id);
    auto r = *found;
    const bool active = r.state == "running" || r.state == "paused";
    if (!active) return make_error(Code::kConflict, "rollout " + id + " is " + r.state);
    std::string type = "rollout." + action + (action == "abort" ? "" : "d");
    json conds = json::parse(r.conditions, nullptr, false);
    if (!conds.is_array()) conds = json::array();
    if (action == "pause") {
      if (r.state == "paused") return ok();  // idempotent
      conds = conditions_without(r.conditions, "Manual");
      conds.push_back({{"reason", "Manual"},
                       {"message", "paused by an operator"},
                       {"since", format_rfc3339(now)}});
      r.state = "paused";
    } else if (action == "resume") {
      if (r.state == "running") return ok();
      for (const auto& cond : conds)
        if (cond.value("reason", "") == "GateFailed") r.acked_wave = r.wave;
      conds = json::array();
      r.state = "running";
    } else if (action == "promote") {
      if (r.state != "running")
        return make_error(Code::kConflict, "rollout " + id + " is paused; resume it first");
      r.promoted_wave = r.wave;
    } else if (action == "abort") {
      // The reconciler rolls the upgraded members back (it is the one
      // writer of member states), then the rollout is `aborted`.
      r.state = "aborting";
      conds.push_back({{"reason", "Aborted"},
                       {"message", "aborted by an operator; rolling back"},
                       {"since", format_rfc3339(now)}});
      type = "rollout.aborting";
    } else {
      return make_error(Code::kNotFound, "no action " + action);
    }
    r.conditions = conds.dump();
    r.updated_at = now;
    BOOST_OUTCOME_TRY(store::update_rollout(c, r));
    if (action == "abort") return ok();  // rollout.aborted once rolled back
    return record_event(c, type, id, {{"reason", "Manual"}, {"wave", r.wave}}, now);
  });
  if (!st) co_return st.error();
  releases_logger()->info("rollout action id={} action={}", id, action);
  i.wake();
  co_return rollout_json(id);
}

}  // namespace fc::releases
