// The rollout reconciler (docs/releases.md "Reconciler"): each pass reads
// every active rollout's stored state, records what the agents reported
// about its in-flight members, and takes one step (Argo Rollouts'
// canary.go). Every step is one transaction, so a SIGKILL between two steps
// loses nothing and repeats nothing.
#include "events/events.hpp"
#include "releases/detail/impl.hpp"

namespace fc::releases {

using nlohmann::json;

namespace {
// How often a pass runs while a rollout is active, and otherwise.
constexpr std::chrono::milliseconds kActivePeriod{200};
constexpr std::chrono::milliseconds kIdlePeriod{1000};
// A quiet rollout is still fully re-read at least this often.
constexpr std::int64_t kMaxQuietMs = 5000;

bool active_state(const std::string& s) {
  return s == "running" || s == "paused" || s == "aborting" || s == "rolling_back";
}

// Re-reads the rollout inside the transaction: a step applies only to the
// state it was decided on (an operator's action may have come in between).
Result<store::RolloutRow> expect(storage::Conn& c, const store::RolloutRow& seen) {
  BOOST_OUTCOME_TRY(now, store::find_rollout(c, seen.id));
  if (!now || now->state != seen.state || now->wave != seen.wave)
    return make_error(Code::kConflict, "rollout " + seen.id + " changed; next pass");
  return *now;
}

}  // namespace

// The one place rollout transitions become lifecycle events (docs/events.md):
// appended in the caller's transaction, subject = the rollout id, data = what
// changed plus the rollout id.
Status record_event(storage::Conn& c, const std::string& type, const std::string& rollout_id,
                    const json& data, std::int64_t now_ms) {
  json d = data;
  d["rollout_id"] = rollout_id;
  releases_logger()->info("rollout event type={} rollout={}", type, rollout_id);
  return events::append(c, {type, "", rollout_id, d.dump()}, now_ms);
}

Service::PassCounts Service::pass_counts() const { return impl_->passes; }

std::string Service::metrics_text() const {
  const PassCounts p = impl_->passes;
  return "# HELP fleetcommand_rollout_passes_total Rollout reconciler passes by result: full"
         " (read the in-flight members) or quiet (nothing changed since the last wait).\n"
         "# TYPE fleetcommand_rollout_passes_total counter\n"
         "fleetcommand_rollout_passes_total{result=\"full\"} " +
         std::to_string(p.full) + "\nfleetcommand_rollout_passes_total{result=\"quiet\"} " +
         std::to_string(p.quiet) + "\n";
}

void Service::start() {
  auto& i = *impl_;
  if (i.running) return;
  i.running = true;
  asio::co_spawn(i.io, i.loop(), [](std::exception_ptr e) {
    if (e) releases_logger()->critical("rollout reconciler stopped reason=exception");
  });
}

void Service::stop() {
  impl_->stopped = true;
  impl_->sleeper.cancel();
}

awaitable<void> Service::Impl::loop() {
  while (!stopped) {
    auto active = store::list_rollouts(db.read(), true);
    const bool busy = active && !active.value().empty();
    for (const auto& r : busy ? active.value() : std::vector<store::RolloutRow>{}) {
      if (stopped) break;
      auto st = co_await reconcile_one(r.id);
      if (!st && st.error().code != Code::kConflict)
        releases_logger()->warn("rollout step failed id={} reason={}", r.id, st.error().detail);
    }
    if (stopped) break;
    sleeper.expires_after(busy ? kActivePeriod : kIdlePeriod);
    boost::system::error_code ec;
    co_await sleeper.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> Service::reconcile() {
  auto active = store::list_rollouts(impl_->db.read(), true);
  if (!active) co_return;
  for (const auto& r : active.value()) {
    auto st = co_await impl_->reconcile_one(r.id);
    if (!st && st.error().code != Code::kConflict)
      releases_logger()->warn("rollout step failed id={} reason={}", r.id, st.error().detail);
  }
}

std::map<std::string, bool> Service::Impl::regions_up() {
  std::map<std::string, bool> out;
  auto regions = sched.list_regions();
  if (!regions) return out;
  for (const auto& r : regions.value())
    out[r.id] = sched.health(r).health == scheduler::Health::kHealthy;
  return out;
}

awaitable<Status> Service::Impl::reconcile_one(std::string id) {
  BOOST_OUTCOME_CO_TRY(found, store::find_rollout(db.read(), id));
  if (!found || !active_state(found->state)) {
    quiet.erase(id);
    co_return ok();
  }
  const store::RolloutRow r = *found;
  const RolloutSpec spec = spec_from_json(json::parse(r.spec, nullptr, false));
  if (r.state == "aborting") co_return co_await roll_back(id, "aborted", "aborted by an operator");
  if (r.state == "rolling_back") co_return co_await roll_back(id, "rolled_back", "");
  // Nothing the last "wait" was decided on changed (no agent report or
  // workspace change, no region up or down, the rollout row as it was) and
  // no deadline or bake end is due: the same "wait" again, without reading
  // thousands of members every 200 ms.
  const std::uint64_t epoch = sched.change_epoch();
  auto up = regions_up();
  if (auto q = quiet.find(id); q != quiet.end()) {
    const Quiet& was = q->second;
    const bool same_row = was.state == r.state && was.wave == r.wave &&
                          was.updated_at == r.updated_at &&
                          was.bake_started_at == r.bake_started_at &&
                          was.promoted_wave == r.promoted_wave && was.acked_wave == r.acked_wave;
    if (same_row && was.epoch == epoch && was.up == up && clock.now_ms() < was.due_ms) {
      ++passes.quiet;
      co_return ok();
    }
    quiet.erase(q);
  }
  ++passes.full;
  BOOST_OUTCOME_CO_TRY(co_await observe_in_flight(r, spec));
  if (r.state != "running") co_return ok();
  BOOST_OUTCOME_CO_TRY(wave, store::members(db.read(), id, r.wave, ""));
  std::vector<Member> ms;
  for (const auto& m : wave) ms.push_back(m.m);
  WaveState ws;
  ws.wave = r.wave;
  ws.waves = r.waves;
  ws.tally = tally(ms);
  ws.bake_started_at = r.bake_started_at;
  ws.promoted = r.promoted_wave == r.wave;
  ws.acked = r.acked_wave == r.wave;
  const std::int64_t now = clock.now_ms();
  const Step step = next_step(ws, spec, now);
  switch (step.kind) {
    case StepKind::kWait: {
      // Due again at the first in-flight member's deadline or the bake's end.
      std::int64_t due = now + kMaxQuietMs;
      if (step.wake_at) due = std::min(due, *step.wake_at);
      for (const auto& m : ms)
        if (m.state == MemberState::kInFlight)
          due = std::min(due, m.started_at + spec.gate.deadline_s * 1000 + 1);
      quiet[id] = Quiet{
          r.state, r.wave,        r.updated_at, r.bake_started_at, r.promoted_wave, r.acked_wave,
          epoch,   std::move(up), due};
      co_return ok();
    }
    case StepKind::kStartMembers: co_return co_await start_members(r, spec, std::move(wave));
    default: break;
  }
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(row, expect(c, r));
    row.updated_at = now;
    std::string event;
    json data = {{"wave", row.wave}};
    if (step.kind == StepKind::kStartBake) {
      row.bake_started_at = now;
    } else if (step.kind == StepKind::kAdvance) {
      row.wave += 1;
      row.wave_started_at = now;
      row.bake_started_at.reset();
      event = "rollout.wave_started";
      data["wave"] = row.wave;
    } else if (step.kind == StepKind::kComplete) {
      row.state = "completed";
      row.finished_at = now;
      event = "rollout.completed";
      if (row.channel) {
        BOOST_OUTCOME_TRY(store::put_channel(c, {*row.channel, row.to_release, now}));
      }
    } else {  // kGateFailed
      json conds = json::parse(row.conditions, nullptr, false);
      if (!conds.is_array()) conds = json::array();
      const std::string why = "wave " + std::to_string(row.wave) + " gate failed: " + step.why;
      conds.push_back({{"reason", "GateFailed"}, {"message", why}, {"since", format_rfc3339(now)}});
      row.conditions = conds.dump();
      const bool rb = spec.on_failure == OnFailure::kRollback;
      row.state = rb ? "rolling_back" : "paused";
      event = rb ? "rollout.rolling_back" : "rollout.paused";
      data["reason"] = "GateFailed";
      data["message"] = why;
    }
    BOOST_OUTCOME_TRY(store::update_rollout(c, row));
    return event.empty() ? ok() : record_event(c, event, row.id, data, now);
  });
  if (st) wake();
  co_return st;
}

awaitable<Status> Service::Impl::observe_in_flight(const store::RolloutRow& r,
                                                   const RolloutSpec& spec) {
  auto& rc = db.read();
  BOOST_OUTCOME_CO_TRY(flying, store::members(rc, r.id, -1, "in_flight"));
  if (flying.empty()) co_return ok();
  std::vector<std::string> ids;
  for (const auto& m : flying) ids.push_back(m.m.workspace_id);
  BOOST_OUTCOME_CO_TRY(statuses, scheduler::Service::workspace_statuses(rc, ids));
  std::map<std::string, const scheduler::WorkspaceStatus*> by_id;
  for (const auto& s : statuses) by_id[s.id] = &s;
  const auto up = regions_up();
  const std::int64_t now = clock.now_ms();
  std::vector<store::MemberRow> changed;
  for (auto& m : flying) {
    Observed o;
    auto it = by_id.find(m.m.workspace_id);
    o.exists = it != by_id.end();
    if (o.exists) {
      o.state = it->second->state;
      o.observed_generation = it->second->observed_generation;
      o.phase = it->second->observed_phase;
      o.message = it->second->observed_message;
    }
    auto u = up.find(m.m.region);
    auto t = observe(m.m, o, u != up.end() && u->second, spec.gate.deadline_s, now);
    if (!t) continue;
    m.m.state = t->state;
    m.m.message = t->message;
    changed.push_back(m);
  }
  if (changed.empty()) co_return ok();
  co_return co_await db.write([&](storage::Conn& c) -> Status {
    for (const auto& m : changed) {
      BOOST_OUTCOME_TRY(store::update_member(c, r.id, m, now));
    }
    return ok();
  });
}

awaitable<Status> Service::Impl::start_members(const store::RolloutRow& r, const RolloutSpec& spec,
                                               std::vector<store::MemberRow> wave) {
  auto& rc = db.read();
  std::vector<Member> pending;
  std::vector<store::MemberRow*> rows;
  for (auto& m : wave) {
    if (m.m.state != MemberState::kPending) continue;
    pending.push_back(m.m);
    rows.push_back(&m);
  }
  BOOST_OUTCOME_CO_TRY(flying, store::members(rc, r.id, -1, "in_flight"));
  std::map<std::string, std::int64_t> in_flight;
  for (const auto& m : flying) ++in_flight[m.m.region];
  const Starts starts = pick_starts(pending, in_flight, regions_up(), spec.max_unavailable);
  if (starts.start.empty() && starts.skip.empty()) co_return ok();
  BOOST_OUTCOME_CO_TRY(to, store::find_release(rc, r.to_release));
  if (!to) co_return make_error(Code::kInternal, "release " + r.to_release + " vanished");
  std::vector<scheduler::SpecChange> changes;
  std::map<std::string, store::MemberRow*> by_id;
  for (std::size_t k : starts.start) {
    auto* m = rows[k];
    auto w = sched.get_workspace(m->m.workspace_id);
    if (!w) continue;  // gone: set_specs reports it
    BOOST_OUTCOME_CO_TRY(b, store::find_binding(rc, m->m.workspace_id));
    std::optional<std::string> cur = b ? b->release : std::nullopt;
    Env previous;
    if (cur) {
      BOOST_OUTCOME_CO_TRY(p, store::find_release(rc, *cur));
      if (p) previous = p->r.env;
    }
    Spec now_spec;
    if (auto e = w.value().spec.find("env"); e != w.value().spec.end() && e->is_object())
      for (auto it = e->begin(); it != e->end(); ++it)
        if (it.value().is_string()) now_spec.env[it.key()] = it.value().get<std::string>();
    const Spec next = upgrade_spec(now_spec, previous, to->r);
    json spec_json = w.value().spec.is_object() ? w.value().spec : json::object();
    m->from_spec = spec_json.dump();
    m->from_release = cur;
    spec_json["image"] = next.image;
    spec_json["env"] = next.env;
    changes.push_back({m->m.workspace_id, spec_json, w.value().generation});
    by_id[m->m.workspace_id] = m;
  }
  const std::int64_t now = clock.now_ms();
  auto hook = [&](storage::Conn& c, const std::vector<scheduler::Workspace>& changed,
                  const std::vector<scheduler::LeftOut>& left) -> Status {
    BOOST_OUTCOME_TRY(expect(c, r));
    for (const auto& w : changed) {
      auto* m = by_id.at(w.id);
      m->m.state = MemberState::kInFlight;
      m->m.generation = w.generation;
      m->m.started_at = now;
      BOOST_OUTCOME_TRY(store::update_member(c, r.id, *m, now));
      BOOST_OUTCOME_TRY(store::set_binding_release(c, w.id, r.to_release, now));
    }
    for (const auto& l : left) {
      if (l.reason == "changed") continue;  // read again next pass
      auto* m = by_id.at(l.workspace_id);
      m->m.state = MemberState::kSkippedBusy;
      m->m.message =
          l.reason == "gone" ? "workspace deleted" : "workspace is migrating or deleting";
      BOOST_OUTCOME_TRY(store::update_member(c, r.id, *m, now));
    }
    for (std::size_t k : starts.skip) {
      auto* m = rows[k];
      m->m.state = MemberState::kSkippedRegionDown;
      m->m.message = "region " + m->m.region + " is down (no healthy agent); not upgraded";
      BOOST_OUTCOME_TRY(store::update_member(c, r.id, *m, now));
    }
    return ok();
  };
  auto res = co_await sched.set_specs(std::move(changes), hook);
  if (!res) co_return res.error();
  co_return ok();
}

// Restores every member that got the new release to the spec it had, through the normal assignment
// path, in one transaction with the rollout's final state.
awaitable<Status> Service::Impl::roll_back(std::string id, std::string final_state,
                                           std::string why) {
  auto& rc = db.read();
  BOOST_OUTCOME_CO_TRY(found, store::find_rollout(rc, id));
  if (!found) co_return ok();
  const store::RolloutRow r = *found;
  BOOST_OUTCOME_CO_TRY(all, store::members(rc, id, -1, ""));
  std::vector<scheduler::SpecChange> changes;
  std::map<std::string, store::MemberRow*> by_id;
  for (auto& m : all) {
    // Every member whose spec was changed (it has the generation that
    // carried the release), whatever became of it: in flight, done, failed,
    // or skipped once its region went down.
    if (m.m.generation == 0 || m.m.state == MemberState::kRolledBack) continue;
    json spec = json::parse(m.from_spec, nullptr, false);
    if (spec.is_discarded()) spec = json::object();
    changes.push_back({m.m.workspace_id, spec, 0});
    by_id[m.m.workspace_id] = &m;
  }
  const std::int64_t now = clock.now_ms();
  auto hook = [&](storage::Conn& c, const std::vector<scheduler::Workspace>& changed,
                  const std::vector<scheduler::LeftOut>& left) -> Status {
    BOOST_OUTCOME_TRY(row, expect(c, r));
    for (const auto& w : changed) {
      auto* m = by_id.at(w.id);
      m->m.state = MemberState::kRolledBack;
      if (m->m.message.empty()) m->m.message = "rolled back";
      BOOST_OUTCOME_TRY(store::update_member(c, id, *m, now));
      BOOST_OUTCOME_TRY(store::set_binding_release(c, w.id, m->from_release, now));
    }
    for (const auto& l : left) {
      auto* m = by_id.at(l.workspace_id);
      m->m.state = MemberState::kSkippedBusy;
      m->m.message = "not rolled back: workspace " + l.reason;
      BOOST_OUTCOME_TRY(store::update_member(c, id, *m, now));
    }
    row.state = final_state;
    row.finished_at = now;
    row.updated_at = now;
    BOOST_OUTCOME_TRY(store::update_rollout(c, row));
    json data = {{"wave", row.wave}, {"rolled_back", changed.size()}};
    if (!why.empty()) data["reason"] = why;
    return record_event(c, "rollout." + final_state, id, data, now);
  };
  auto res = co_await sched.set_specs(std::move(changes), hook);
  if (!res) co_return res.error();
  releases_logger()->info("rollout rolled back id={} state={} members={}", id, final_state,
                          res.value().size());
  co_return ok();
}

}  // namespace fc::releases
