// Workspaces: create (placement + reservation in one transaction), patch,
// migrate, delete.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "events/events.hpp"
#include "scheduler/detail/impl.hpp"

namespace fc::scheduler {

using nlohmann::json;

namespace {
// A reservation that lost a race with a concurrent commit: place again.
constexpr int kPlacementAttempts = 4;
Workspace new_workspace(Service::Impl& i, const WorkspaceInput& in, const std::string& region) {
  Workspace w;
  w.id = i.ids.next("ws_", i.now());
  w.name = in.name;
  w.region = region;
  w.resources = in.request.resources;
  w.placement = in.request.placement;
  w.spec = in.spec;
  w.created_at = w.updated_at = i.now();
  return w;
}

}  // namespace

awaitable<Result<Workspace>> Service::create_workspace(WorkspaceInput in, CreateHook hook,
                                                       std::vector<RegionReason>* reasons,
                                                       ViewHook on_view) {
  auto& i = *impl_;
  for (int attempt = 0; attempt < kPlacementAttempts; ++attempt) {
    // Not linear in regions (detail/pick_index.hpp); the same decision as
    // pick() over i.views() (tests/scheduler/pick_index_test.cpp).
    const std::optional<Pick> picked =
        i.index.pick(in.request, o_.policy, i.clock.now(), o_.heartbeat_timeout_s);
    if (!picked) {  // only now build the per-region explanation for the 503
      if (reasons) *reasons = rejection_reasons(place(in.request, i.views(), o_.policy));
      co_return make_error(Errc::kNoCapacity, "no region can take this workspace");
    }
    Workspace w = new_workspace(i, in, i.index.at(picked->index).id);
    bool lost_race = false;
    std::int64_t rev = 0;
    // Set-based (docs/storage.md "Set-based group commit"): no statement of
    // its own in the common case. The workspace's row is an optimistic insert
    // of the batch (a taken name fails this create alone at the flush, with
    // the error given here), the reservation and the assignment's revision
    // one update per region of the batch (`rev` filled in by the flush), the
    // placement, assignment, usage interval, events and idempotent answer
    // rows inserted once per table. The hook hands the view what it wrote
    // (no read back). The writer may run this again (a replay in the
    // per-statement shape): it starts afresh. A name this daemon saw taken
    // goes the per-statement way at once (a plain write: 409 before writing).
    const bool suspect = i.taken_names.contains(w.name);
    const Error taken =
        make_error(Errc::kNameTaken, "a workspace named " + w.name + " already exists");
    auto fn = [&](storage::Conn& c) -> Status {
      lost_race = false;
      rev = 0;
      BOOST_OUTCOME_TRY(inserted, store::insert_workspace(c, w, taken));
      if (!inserted) return taken;
      const std::int64_t at = i.now();
      BOOST_OUTCOME_TRY(reserved, store::reserve_new(c, w.region, w.id, w.resources, at, &rev));
      if (!reserved) {
        lost_race = true;
        return make_error(Errc::kConcurrentChange, "capacity changed");
      }
      BOOST_OUTCOME_TRY(store::put_new_assignment(c, w.region, w.id, *reserved, "apply",
                                                  i.apply_assignment_text(w), at));
      CreatedView known;
      if (hook) {
        BOOST_OUTCOME_TRY(hook(c, w, known));
      }
      // After the hook: the view carries the tenancy and release it wrote.
      // Built once for both events and the caller (the placement's hot path).
      BOOST_OUTCOME_TRY(body, workspace_view_json(c, w, &known));
      BOOST_OUTCOME_TRY(events::append_first(
          c, w.id, {{"workspace.created", body}, {"workspace.placed", body}}, at));
      if (on_view) {
        BOOST_OUTCOME_TRY(on_view(c, w, body));
      }
      return ok();
    };
    Status st = ok();  // not one `?:` of two co_awaits (GCC 12 frees its result twice)
    if (suspect)
      st = co_await i.db.write(fn);
    else
      st = co_await i.db.write_set(fn);
    if (lost_race) continue;
    if (!st) {
      if (st.error().is(Errc::kNameTaken)) {
        if (i.taken_names.size() >= Impl::kTakenNames) i.taken_names.clear();
        i.taken_names.insert(w.name);
      }
      co_return st.error();
    }
    if (suspect) i.taken_names.erase(w.name);
    i.index_updated(i.index.reserve(w.region, w.resources), "reserve", w.region);
    std::map<std::string, std::int64_t> revs{{w.region, rev}};
    i.committed(revs);
    co_return w;
  }
  co_return make_error(Code::kUnavailable,
                       "placement kept losing races with concurrent creates; retry");
}

Result<Workspace> Service::get_workspace(const std::string& id_or_name) {
  BOOST_OUTCOME_TRY(w, store::find_workspace(impl_->db.read(), id_or_name));
  if (!w) return make_error(Code::kNotFound, "no workspace " + id_or_name);
  return *w;
}

Result<std::vector<Workspace>> Service::list_workspaces(const std::string& region,
                                                        const std::string& state, int limit,
                                                        const std::string& after_id,
                                                        const std::string& name_prefix) {
  store::NameRange names;
  if (!name_prefix.empty()) {
    // [prefix, prefix with its last byte + 1): every name that starts with it.
    names.lo = name_prefix;
    names.hi = name_prefix;
    names.hi.back() = static_cast<char>(names.hi.back() + 1);
  }
  return store::list_workspaces(impl_->db.read(), region, state, limit, after_id, names);
}

awaitable<Result<Workspace>> Service::patch_workspace(std::string id,
                                                      std::optional<Resources> resources,
                                                      std::optional<json> spec, PatchHook hook) {
  auto& i = *impl_;
  Workspace w;
  Resources before;
  std::map<std::string, std::int64_t> revs;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_workspace(c, id));
    if (!found) return make_error(Code::kNotFound, "no workspace " + id);
    w = *found;
    before = w.resources;
    if (w.state != "scheduled")
      return make_error(Errc::kWorkspaceBusy,
                        "workspace " + w.name + " is " + w.state + "; try again when it is done");
    if (resources && *resources != w.resources) {
      BOOST_OUTCOME_TRY(fits, store::resize(c, w.region, w.id, w.resources, *resources));
      if (!fits)
        return make_error(Errc::kDoesNotFit, "the new resources do not fit in region " + w.region);
      w.resources = *resources;
    }
    if (spec) w.spec = *spec;
    w.generation += 1;
    w.updated_at = i.now();
    BOOST_OUTCOME_TRY(store::update_workspace(c, w));
    if (hook) {
      BOOST_OUTCOME_TRY(hook(c, w));
    }
    return i.publish(c, w, w.region, "apply", revs);
  });
  if (!st) co_return st.error();
  if (before != w.resources) {
    i.index_updated(i.index.release(w.region, before), "release", w.region);
    i.index_updated(i.index.reserve(w.region, w.resources), "reserve", w.region);
  }
  i.committed(revs);
  co_return w;
}

awaitable<Result<Workspace>> Service::set_suspended(std::string id, bool suspended,
                                                    PatchHook hook) {
  auto& i = *impl_;
  Workspace w;
  std::map<std::string, std::int64_t> revs;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_workspace(c, id));
    if (!found) return make_error(Code::kNotFound, "no workspace " + id);
    w = *found;
    if (w.state != "scheduled")
      return make_error(Errc::kWorkspaceBusy,
                        "workspace " + w.name + " is " + w.state + "; try again when it is done");
    if (w.suspended == suspended)
      return make_error(Code::kConflict, "workspace " + w.name + " is already " +
                                             (suspended ? "suspended" : "not suspended"));
    w.suspended = suspended;
    w.generation += 1;
    w.updated_at = i.now();
    BOOST_OUTCOME_TRY(store::update_workspace(c, w));
    if (hook) {
      BOOST_OUTCOME_TRY(hook(c, w));
    }
    return i.publish(c, w, w.region, "apply", revs);
  });
  if (!st) co_return st.error();
  i.committed(revs);
  co_return w;
}

awaitable<Result<std::vector<Workspace>>> Service::set_specs(std::vector<SpecChange> changes,
                                                             SpecsHook hook) {
  auto& i = *impl_;
  std::vector<Workspace> changed;
  std::vector<LeftOut> left_out;
  std::map<std::string, std::int64_t> revs;
  auto st = co_await i.write_rows(changes.size(), [&](storage::Conn& c) -> Status {
    changed.clear();
    left_out.clear();
    revs.clear();
    for (auto& ch : changes) {
      BOOST_OUTCOME_TRY(found, store::find_workspace(c, ch.workspace_id));
      if (!found || found->state != "scheduled") {
        left_out.push_back({ch.workspace_id, found ? "busy" : "gone"});
        continue;
      }
      if (ch.expect_generation > 0 && found->generation != ch.expect_generation) {
        left_out.push_back({ch.workspace_id, "changed"});
        continue;
      }
      Workspace w = *found;
      w.spec = ch.spec;
      w.generation += 1;
      w.updated_at = i.now();
      BOOST_OUTCOME_TRY(store::update_workspace(c, w));
      BOOST_OUTCOME_TRY(i.publish(c, w, w.region, "apply", revs));
      changed.push_back(std::move(w));
    }
    return hook ? hook(c, changed, left_out) : ok();
  });
  if (!st) co_return st.error();
  i.committed(revs);
  co_return changed;
}

awaitable<Result<Workspace>> Service::migrate_workspace(std::string id, std::string region,
                                                        std::vector<RegionReason>* reasons) {
  auto& i = *impl_;
  BOOST_OUTCOME_CO_TRY(current, get_workspace(id));
  if (current.state != "scheduled")
    co_return make_error(Errc::kWorkspaceBusy,
                         "workspace " + current.name + " is " + current.state);
  if (current.suspended)  // a suspended workspace never reports running in the target
    co_return make_error(Errc::kWorkspaceBusy,
                         "workspace " + current.name + " is suspended; resume it first");
  if (current.region == region)
    co_return make_error(Errc::kWorkspaceBusy,
                         "workspace " + current.name + " already runs in " + region);
  const RegionView* target = nullptr;
  for (const auto& v : i.views()) {
    if (v.id == region) target = &v;
  }
  if (!target) co_return make_error(Code::kNotFound, "no region " + region);
  // An explicit target overrides the workspace's placement constraints; it
  // must still be active, healthy and have room.
  WorkspaceRequest req{current.resources, {}};
  Fit fit = evaluate(req, *target);
  if (!fit.fits()) {
    if (reasons) *reasons = {{region, fit.reason}};
    co_return make_error(Errc::kNoCapacity, "region " + region + " cannot take the workspace");
  }
  Workspace w;
  std::map<std::string, std::int64_t> revs;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_workspace(c, id));
    if (!found || found->state != "scheduled")
      return make_error(Errc::kConcurrentChange, "workspace changed; retry");
    w = *found;
    BOOST_OUTCOME_TRY(fits, store::reserve(c, region, w.id, w.resources, true));
    if (!fits) return make_error(Errc::kDoesNotFit, "region " + region + " no longer has room");
    w.state = "migrating";
    w.target_region = region;
    w.generation += 1;
    w.updated_at = i.now();
    BOOST_OUTCOME_TRY(store::update_workspace(c, w));
    return i.publish(c, w, region, "apply", revs);
  });
  if (!st) co_return st.error();
  i.index_updated(i.index.reserve(region, w.resources), "reserve", region);
  i.committed(revs);
  co_return w;
}

awaitable<Result<Workspace>> Service::delete_workspace(std::string id, bool force) {
  auto& i = *impl_;
  Workspace w;
  std::vector<std::pair<std::string, Resources>> freed;
  std::map<std::string, std::int64_t> revs;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_workspace(c, id));
    if (!found) return make_error(Code::kNotFound, "no workspace " + id);
    w = *found;
    std::vector<std::string> regions{w.region};
    if (w.target_region) regions.push_back(*w.target_region);
    // A force delete frees every region it holds (a finished migration's old
    // region too), so the cascade of the workspace row removes no placement.
    if (force) {
      BOOST_OUTCOME_TRY(held, store::placement_regions(c, w.id));
      for (auto& r : held)
        if (std::find(regions.begin(), regions.end(), r) == regions.end()) regions.push_back(r);
    }
    if (w.state != "deleting" || force) w.generation += 1;
    w.state = "deleting";
    w.updated_at = i.now();
    for (const auto& r : regions) {
      BOOST_OUTCOME_TRY(i.publish(c, w, r, "delete", revs));
      if (force) {
        BOOST_OUTCOME_TRY(rel, store::release(c, r, w.id));
        if (rel) freed.emplace_back(r, *rel);
      } else {
        BOOST_OUTCOME_TRY(store::mark_releasing(c, r, w.id));
      }
    }
    if (!force) return store::update_workspace(c, w);
    // Before the listeners drop what they keep (the tenancy is in the view).
    BOOST_OUTCOME_TRY(i.emit(c, "workspace.deleted", w));
    BOOST_OUTCOME_TRY(i.scope_removing(c, "", w.id));
    return store::delete_workspace(c, w.id);
  });
  if (!st) co_return st.error();
  for (const auto& [r, res] : freed) i.index_updated(i.index.release(r, res), "release", r);
  i.tombstones_published(revs);  // every publish above was a delete
  i.committed(revs);
  if (force) {
    i.dns_changed(std::vector<std::string>{w.name});
    i.scope_removed("", w.id);
  }
  co_return w;
}

// Joins the batch being collected; the caller resumes once that batch is
// committed, so what it changed before calling is in the new generation.
awaitable<Status> Service::refresh_assignment(std::string workspace_id) {
  auto& i = *impl_;
  if (!i.refresh_next) i.refresh_next = std::make_shared<RefreshBatch>(i.io);
  auto batch = i.refresh_next;
  batch->workspaces.insert(std::move(workspace_id));
  if (!i.refresh_running) {
    i.refresh_running = true;
    asio::co_spawn(i.io, i.run_refreshes(), [](std::exception_ptr e) {
      if (e) spdlog::critical("assignment refresh loop stopped reason=exception");
    });
  }
  while (!batch->finished) {
    boost::system::error_code ec;
    co_await batch->done.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  co_return batch->result;
}

awaitable<void> Service::Impl::run_refreshes() {
  while (refresh_next) {
    auto batch = std::move(refresh_next);
    refresh_next.reset();
    batch->result = co_await write_refresh(batch->workspaces);
    if (!batch->result)
      spdlog::warn("assignment refresh failed workspaces={} reason={}", batch->workspaces.size(),
                   batch->result.error().detail);
    batch->finished = true;
    batch->done.cancel();
  }
  refresh_running = false;
}

// One new generation per workspace of the batch, in one transaction.
awaitable<Status> Service::Impl::write_refresh(const std::set<std::string>& workspaces) {
  std::map<std::string, std::int64_t> revs;
  auto st = co_await write_rows(workspaces.size(), [&](storage::Conn& c) -> Status {
    revs.clear();
    for (const auto& id : workspaces) {
      BOOST_OUTCOME_TRY(found, store::find_workspace(c, id));
      if (!found || found->state == "deleting") continue;
      Workspace w = *found;
      w.generation += 1;
      w.updated_at = now();
      BOOST_OUTCOME_TRY(store::update_workspace(c, w));
      BOOST_OUTCOME_TRY(publish(c, w, w.region, "apply", revs));
      if (w.target_region) {
        BOOST_OUTCOME_TRY(publish(c, w, *w.target_region, "apply", revs));
      }
    }
    return ok();
  });
  if (st) committed(revs);
  co_return st;
}

}  // namespace fc::scheduler
