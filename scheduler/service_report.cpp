// Agent status reports (DNS follows readiness, migrations, deletes), and the
// periodic work: heartbeats to disk, drains, log compaction; plus fsck.

#include "scheduler/detail/impl.hpp"
#include "scheduler/detail/log.hpp"

namespace fc::scheduler {

using agent::proto::Phase;
using nlohmann::json;

namespace {

struct ReportEffects {
  std::map<std::string, std::int64_t> revs;
  std::vector<std::pair<std::string, Resources>> freed;
  std::vector<std::string> deleted_workspaces;
  std::vector<std::string> transitions;  // phases entered, counted after the commit
  std::vector<std::string> dns_names;    // workspaces whose published records may have changed
};

}  // namespace

// The agent confirms a delete in a region the workspace is leaving: the
// reservation there is freed, and a deleting workspace that holds no region
// any more is gone (with what its scope listener keeps for it).
static Status confirm_release(Service::Impl& i, storage::Conn& c, const std::string& region,
                              const Workspace& w, ReportEffects& fx) {
  BOOST_OUTCOME_TRY(rel, store::release(c, region, w.id));
  if (rel) fx.freed.emplace_back(region, *rel);
  if (w.state != "deleting") return ok();
  // Gone only when no region holds it any more: not only its region and
  // target, but also a finished migration's old region whose agent has not
  // confirmed yet (deleting the row would cascade that placement away and
  // leave the old region's allocation behind).
  BOOST_OUTCOME_TRY(left, store::placement_regions(c, w.id));
  if (!left.empty()) return ok();
  // Before the listeners drop what they keep (the tenancy is in the view).
  BOOST_OUTCOME_TRY(i.emit(c, "workspace.deleted", w));
  BOOST_OUTCOME_TRY(i.scope_removing(c, "", w.id));
  BOOST_OUTCOME_TRY(store::delete_workspace(c, w.id));
  fx.deleted_workspaces.push_back(w.id);
  if (w.dns_region) fx.dns_names.push_back(w.name);
  return ok();
}

// Records what the agent of `region` observed. DNS follows readiness: it
// points at the region once the current generation runs there (an agent that
// observes rollouts says `running` only when every replica is available); a
// later generation that is progressing, failed or degraded keeps the records.
static Status record_observed(Service::Impl& i, storage::Conn& c, const std::string& region,
                              Workspace w, const ReportItem& it, ReportEffects& fx) {
  std::string phase(agent::proto::to_string(it.phase));
  // workspace.running once per generation: the first running report of the
  // current generation (a repeated report changes nothing).
  const bool first_running =
      it.phase == Phase::kRunning && it.generation == w.generation &&
      !(w.observed_phase == "running" && w.observed_generation == it.generation);
  if (phase != w.observed_phase || it.generation != w.observed_generation) {
    // `observed.since`: the last transition, not the last (idempotent) report.
    w.observed_since = i.now();
    fx.transitions.push_back(phase);
    if (it.phase == Phase::kDegraded || it.phase == Phase::kFailed) {
      spdlog::warn("workspace {} id={} region={} generation={} message=\"{}\"", phase, w.id, region,
                   it.generation, it.message);
    } else if (w.observed_phase == "degraded" && it.phase == Phase::kRunning) {
      spdlog::info("workspace recovered id={} region={} generation={}", w.id, region,
                   it.generation);
    }
  }
  w.observed_generation = it.generation;
  w.observed_phase = std::move(phase);
  w.observed_message = it.message;
  w.updated_at = i.now();
  bool running_now = it.phase == Phase::kRunning && it.generation == w.generation;
  bool is_target = w.state == "migrating" && w.target_region == region;
  if (!is_target && running_now && w.dns_region != region) {
    w.dns_region = region;
    fx.dns_names.push_back(w.name);
  }
  std::string migrated_from;
  if (is_target && running_now) {
    // DESIGN.md "Migrate": DNS flips to the new region, then the old one gets `delete`.
    std::string old = w.region;
    w.dns_region = region;
    w.region = region;
    w.target_region.reset();
    w.state = "scheduled";
    fx.dns_names.push_back(w.name);
    BOOST_OUTCOME_TRY(store::mark_releasing(c, old, w.id));
    BOOST_OUTCOME_TRY(i.publish(c, w, old, "delete", fx.revs));
    migrated_from = old;
  }
  if (first_running) {
    BOOST_OUTCOME_TRY(i.emit(c, "workspace.running", w));
  }
  if (!migrated_from.empty()) {
    BOOST_OUTCOME_TRY(i.emit(c, "workspace.migrated", w, {{"from_region", migrated_from}}));
  }
  return store::update_workspace(c, w);
}

// One report item inside the transaction. Returns "" when accepted, else why not.
static Result<std::string> apply_item(Service::Impl& i, storage::Conn& c, const std::string& region,
                                      const ReportItem& it, ReportEffects& fx) {
  auto not_here = [&](const std::string& id) {
    return "workspace " + id + " is not assigned to region " + region;
  };
  BOOST_OUTCOME_TRY(found, store::find_workspace(c, it.workspace_id));
  if (!found) return not_here(it.workspace_id);
  const Workspace& w = *found;
  BOOST_OUTCOME_TRY(releasing, store::has_placement(c, region, w.id, true));
  if (releasing) {
    if (it.phase != Phase::kDeleted) return std::string();  // still tearing down; nothing to record
    BOOST_OUTCOME_TRY(confirm_release(i, c, region, w, fx));
    return std::string();
  }
  bool is_home = w.state == "scheduled" && w.region == region;
  bool is_target = w.state == "migrating" && w.target_region == region;
  if (!is_home && !is_target) return not_here(w.id);
  if (it.generation > w.generation)
    return "generation " + std::to_string(it.generation) + " is newer than the assignment's " +
           std::to_string(w.generation);
  if (it.phase == Phase::kDeleted)
    return "workspace " + w.id + " was not deleted from region " + region;
  BOOST_OUTCOME_TRY(record_observed(i, c, region, w, it, fx));
  return std::string();
}

awaitable<Result<std::vector<ReportResult>>> Service::report(std::string region,
                                                             std::vector<ReportItem> items) {
  auto& i = *impl_;
  std::vector<ReportResult> results;
  ReportEffects fx;
  auto st = co_await i.write_rows(items.size(), [&](storage::Conn& c) -> Status {
    results.clear();
    fx = ReportEffects{};
    for (const auto& it : items) {
      BOOST_OUTCOME_TRY(why, apply_item(i, c, region, it, fx));
      results.push_back(ReportResult{it.workspace_id, why.empty(), why});
    }
    return ok();
  });
  if (!st) co_return st.error();
  for (const auto& [r, res] : fx.freed) i.index_updated(i.index.release(r, res), "release", r);
  i.dns_changed(fx.dns_names);
  for (const auto& p : fx.transitions) ++i.transitions[p];
  i.tombstones_published(fx.revs);  // a report publishes only the moved-out deletes
  i.committed(fx.revs);
  for (const auto& ws : fx.deleted_workspaces) {
    i.scope_removed("", ws);
  }
  co_return results;
}

awaitable<void> Service::Impl::advance_drains() {
  // The draining regions' ids, not a copy of every region's view each tick.
  std::vector<std::string> draining;
  for (std::size_t r = 0; r < index.size(); ++r)
    if (index.at(r).state == RegionState::kDraining) draining.push_back(index.at(r).id);
  for (const auto& id : draining) {
    auto in_region = store::workspaces_in(db.read(), id);
    if (!in_region) continue;
    std::vector<DrainCandidate> candidates;
    DrainProgress progress;
    progress.remaining = static_cast<std::int64_t>(in_region.value().size());
    for (const auto& w : in_region.value()) {
      if (w.state == "migrating") progress.moving = w.id;
      if (w.state == "scheduled" && w.suspended) {  // never reports running in a target
        progress.blocked.emplace_back(w.id, "suspended; resume or delete it");
        continue;
      }
      if (w.state == "scheduled") candidates.push_back({w.id, {w.resources, w.placement}});
    }
    if (!progress.moving) {
      auto all = views();
      DrainPlan plan = plan_drain(id, candidates, all, svc.o_.policy);
      for (const auto& b : plan.blocked) {
        auto reasons = rejection_reasons(b.placement);
        std::string why;
        for (const auto& r : reasons) {
          if (r.id != id) why += (why.empty() ? "" : "; ") + r.id + ": " + r.reason;
        }
        progress.blocked.emplace_back(b.workspace_id, why.empty() ? "no other region" : why);
      }
      if (plan.status == DrainStatus::kMove && plan.move) {
        auto moved = co_await svc.migrate_workspace(plan.move->workspace_id,
                                                    *plan.move->placement.chosen, nullptr);
        if (moved) {
          progress.moving = plan.move->workspace_id;
          detail::logger()->info("drain region={} moving workspace={} to={}", id,
                                 plan.move->workspace_id, *plan.move->placement.chosen);
        }
      }
    }
    drains[id] = progress;
  }
}

awaitable<void> Service::Impl::compact_logs() {
  // Cheap check on the read connection first; a write transaction only for
  // regions that have tombstones to drop. Bounded: 1000 rows per region a pass.
  // A tombstone is kept while it is young OR recent by count (retention by
  // time and count): churn alone never pushes a polling agent into 410.
  // Only the regions that may hold tombstones are looked at: a fleet of
  // 10,000 regions without deletes costs no query a tick (issue #16 item 3).
  if (!tombstones_loaded) {
    auto regions = store::tombstoned_regions(db.read());
    if (!regions) {
      detail::logger()->warn("reading the tombstoned regions failed reason={}",
                             regions.error().detail);
      co_return;
    }
    tombstoned.insert(regions.value().begin(), regions.value().end());
    tombstones_loaded = true;
  }
  const store::Retention keep{svc.o_.changelog_retention,
                              now() - svc.o_.changelog_retention_s * 1000};
  std::vector<std::string> due;
  for (auto it = tombstoned.begin(); it != tombstoned.end();) {
    auto n = store::compactable(db.read(), *it, keep);
    if (n && n.value()) due.push_back(*it);
    auto left = n && !n.value() ? store::has_tombstones(db.read(), *it) : Result<bool>(true);
    it = left && !left.value() ? tombstoned.erase(it) : std::next(it);
  }
  for (const auto& id : due) {
    auto st = co_await db.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(n, store::compact(c, id, keep, 1000));
      if (n > 0) detail::logger()->debug("compacted region={} tombstones={}", id, n);
      return ok();
    });
    if (!st) detail::logger()->warn("compaction failed region={} reason={}", id, st.error().detail);
  }
}

awaitable<void> Service::agent_heartbeat(std::string region, std::string agent_id,
                                         std::string version) {
  auto& i = *impl_;
  const auto now = i.clock.now();
  if (evaluate_health(i.index.last_heartbeat(region), now, o_.heartbeat_timeout_s).health ==
      Health::kHealthy) {
    heartbeat(region, agent_id, version);
    co_return;
  }
  // Recorded in memory with the time that was stored: the API shows no
  // heartbeat a restart would not find.
  const std::int64_t at =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto st = co_await i.db.write(
      [&](storage::Conn& c) -> Status { return store::set_heartbeat(c, region, at); });
  if (!st)
    detail::logger()->warn("storing a heartbeat failed region={} reason={}", region,
                           st.error().detail);
  i.index_updated(i.index.record_heartbeat(region, now), "heartbeat", region);
  i.heartbeats_dirty[region] = at;
  i.agents[region][agent_id] = AgentSeen{agent_id, version, at};
}

awaitable<void> Service::tick() {
  auto& i = *impl_;
  if (!i.heartbeats_dirty.empty() || !i.delivered_dirty.empty()) {
    auto dirty = std::move(i.heartbeats_dirty);
    auto fetched = std::move(i.delivered_dirty);
    i.heartbeats_dirty.clear();
    i.delivered_dirty.clear();
    auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
      for (const auto& [r, at] : dirty) {
        BOOST_OUTCOME_TRY(store::set_heartbeat(c, r, at));
      }
      for (const auto& [r, rev] : fetched) {
        BOOST_OUTCOME_TRY(store::set_delivered_revision(c, r, rev));
      }
      return ok();
    });
    if (!st) {
      detail::logger()->warn("persisting heartbeats failed regions={} delivered={} reason={}",
                             dirty.size(), fetched.size(), st.error().detail);
    }
  }
  co_await i.emit_health_transitions();
  co_await i.advance_drains();
  co_await i.compact_logs();
}

Result<std::vector<std::string>> Service::fsck(storage::Conn& c) {
  std::vector<std::string> problems;
  BOOST_OUTCOME_TRY(sums, store::ledger_sums(c));
  for (const auto& l : sums) {
    const Quantities& a = l.allocated;
    const Quantities& p = l.placed;
    if (a == p) continue;
    problems.push_back("region " + l.region +
                       ": allocated memory_mib=" + std::to_string(a.memory_mib) +
                       " cpu_millis=" + std::to_string(a.cpu_millis) +
                       " workspaces=" + std::to_string(a.workspaces) +
                       " but its placements sum to " + std::to_string(p.memory_mib) + "/" +
                       std::to_string(p.cpu_millis) + "/" + std::to_string(p.workspaces));
  }
  BOOST_OUTCOME_TRY(unplaced, store::unplaced_workspaces(c));
  for (const auto& [ws, region] : unplaced)
    problems.push_back("workspace " + ws + " holds no capacity in its region " + region);
  BOOST_OUTCOME_TRY(unassigned, store::unassigned_workspaces(c));
  for (const auto& [ws, region] : unassigned)
    problems.push_back("workspace " + ws + " has no apply assignment in region " + region);
  return problems;
}

}  // namespace fc::scheduler
