#include "agent/detail/engine.hpp"

#include <algorithm>
#include <set>

namespace fc::agent {
namespace {

using proto::Phase;

proto::WorkspaceStatus status_of(const proto::Assignment& a, Phase p, std::string msg = {}) {
  return proto::WorkspaceStatus{a.workspace_id, a.generation, p, std::move(msg)};
}

std::vector<ObjectRef> refs(const std::vector<RenderedObject>& objs) {
  std::vector<ObjectRef> out;
  for (const auto& o : objs) out.push_back(o.ref);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// An apply or delete that failed; a failed rollout of applied objects is not
// retried (it is observed until a new generation arrives).
bool needs_retry(const WorkspaceRecord& rec) {
  if (rec.observed.phase != Phase::kFailed) return false;
  return rec.assignment.action == proto::Action::kDelete ||
         rec.applied_generation != rec.assignment.generation;
}

int severity(Phase p) {
  switch (p) {
    case Phase::kFailed: return 4;
    case Phase::kDegraded: return 3;
    case Phase::kProgressing:
    case Phase::kProvisioning: return 2;
    case Phase::kSuspended: return 1;
    default: return 0;
  }
}

}  // namespace

std::vector<proto::CertificateRef> Engine::missing_certificates(const proto::AssignmentsResponse& r,
                                                                const CertCache& certs) {
  std::vector<proto::CertificateRef> out;
  std::set<std::string> seen;
  for (const auto& a : r.assignments) {
    if (a.action != proto::Action::kApply) continue;
    for (const auto& c : a.certificates) {
      auto it = certs.find(c.id);
      if (it != certs.end() && it->second.version == c.version) continue;
      if (seen.insert(c.id).second) out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> Engine::referenced_certificates(const AgentState& st) {
  std::set<std::string> ids;
  for (const auto& [id, rec] : st.workspaces) {
    for (const auto& c : rec.assignment.certificates) ids.insert(c.id);
  }
  return {ids.begin(), ids.end()};
}

std::vector<proto::WorkspaceStatus> Engine::sync(AgentState& st,
                                                 const proto::AssignmentsResponse& r,
                                                 const CertCache& certs) {
  std::vector<proto::WorkspaceStatus> out;
  if (r.complete) {
    std::set<std::string> live;
    for (const auto& a : r.assignments) live.insert(a.workspace_id);
    for (auto it = st.workspaces.begin(); it != st.workspaces.end();) {
      // Gone from the control plane: remove its objects; nothing to report.
      if (live.count(it->first) != 0 || !sink_.remove(it->second.objects)) {
        ++it;
        continue;
      }
      it = st.workspaces.erase(it);
    }
  }
  for (const auto& a : r.assignments) {
    out.push_back(a.action == proto::Action::kApply ? apply_one(st, a, certs) : delete_one(st, a));
  }
  st.region = r.region;
  st.revision = r.revision;
  return out;
}

std::vector<proto::WorkspaceStatus> Engine::retry_failed(AgentState& st, const CertCache& certs) {
  std::vector<proto::Assignment> todo;
  for (const auto& [id, rec] : st.workspaces) {
    if (needs_retry(rec)) todo.push_back(rec.assignment);
  }
  std::vector<proto::WorkspaceStatus> out;
  for (const auto& a : todo) {
    out.push_back(a.action == proto::Action::kApply ? apply_one(st, a, certs) : delete_one(st, a));
  }
  return out;
}

proto::WorkspaceStatus Engine::apply_one(AgentState& st, const proto::Assignment& a,
                                         const CertCache& certs) {
  WorkspaceRecord& rec = st.workspaces[a.workspace_id];
  // Idempotent: the same generation already applied needs no work.
  if (rec.assignment == a && rec.applied_generation == a.generation) return rec.observed;
  rec.assignment = a;
  CertLookup lookup = [&certs](const std::string& id) -> const proto::CertificateBundle* {
    auto it = certs.find(id);
    return it == certs.end() ? nullptr : &it->second;
  };
  auto fail = [&](const std::string& msg) {
    return rec.observed = status_of(a, Phase::kFailed, msg);
  };
  auto scope = workspace_scope(a, tmpl_, settings_, lookup);
  if (!scope) return fail("render: " + scope.error().detail);
  auto objs = render(tmpl_, scope.value());
  if (!objs) return fail("render: " + objs.error().detail);
  if (auto st_apply = sink_.apply(objs.value()); !st_apply) {
    return fail("apply: " + st_apply.error().detail);
  }
  std::vector<ObjectRef> now = refs(objs.value());
  std::vector<ObjectRef> before = rec.objects;
  std::sort(before.begin(), before.end());
  std::vector<ObjectRef> stale;
  std::set_difference(before.begin(), before.end(), now.begin(), now.end(),
                      std::back_inserter(stale));
  if (auto st_rm = sink_.remove(stale); !st_rm) return fail("delete: " + st_rm.error().detail);
  rec.objects = std::move(now);
  rec.applied_generation = a.generation;
  if (mode_.observing) return rec.observed = status_of(a, Phase::kProgressing, "applied");
  // Unobserved: what was written is what runs; a suspended assignment
  // wrote zero replicas, which is the `suspended` phase.
  if (a.suspended) return rec.observed = status_of(a, Phase::kSuspended, mode_.unobserved_note);
  return rec.observed = status_of(a, Phase::kRunning, mode_.unobserved_note);
}

// Every Deployment applied for the workspace decides; the worst phase wins
// (failed > degraded > progressing > suspended > running).
proto::WorkspaceStatus Engine::observe_one(const WorkspaceRecord& rec,
                                           const observe::ClusterView& view,
                                           observe::SysTime now) const {
  const proto::Assignment& a = rec.assignment;
  bool same_gen = rec.observed.generation == a.generation;
  bool was_running =
      same_gen && (rec.observed.phase == Phase::kRunning || rec.observed.phase == Phase::kDegraded);
  std::optional<observe::Decision> worst;
  for (const auto& ref : rec.objects) {
    if (ref.kind != "Deployment") continue;
    observe::Input in;
    in.generation = a.generation;
    in.deployment_name = ref.name_space + "/" + ref.name;
    in.deployment = view.deployment(ref.name_space, ref.name);
    in.pods = view.pods_of(ref.name_space, ref.name);
    in.was_running = was_running;
    in.now = now;
    in.failure_grace = mode_.failure_grace;
    observe::Decision d = observe::decide(in);
    if (!worst || severity(d.phase) > severity(worst->phase)) worst = std::move(d);
  }
  if (!worst) return status_of(a, Phase::kRunning, "no Deployment to observe");
  return status_of(a, worst->phase, worst->message);
}

std::vector<proto::WorkspaceStatus> Engine::observe(AgentState& st,
                                                    const observe::ClusterView& view,
                                                    observe::SysTime now) const {
  std::vector<proto::WorkspaceStatus> out;
  for (auto& [id, rec] : st.workspaces) {
    if (rec.assignment.action != proto::Action::kApply ||
        rec.applied_generation != rec.assignment.generation) {
      continue;  // not applied yet (or its apply failed): nothing of it to observe
    }
    proto::WorkspaceStatus s = observe_one(rec, view, now);
    if (s == rec.observed) continue;
    rec.observed = s;
    out.push_back(std::move(s));
  }
  return out;
}

// Objects an assignment would create; certificate contents do not matter for
// names, so a placeholder bundle of the right version stands in.
std::vector<ObjectRef> Engine::refs_of(const proto::Assignment& a) const {
  if (a.name.empty()) return {};
  std::map<std::string, proto::CertificateBundle> fake;
  for (const auto& c : a.certificates)
    fake[c.id] = proto::CertificateBundle{c.id, c.version, {}, "", "", ""};
  CertLookup lookup = [&fake](const std::string& id) { return &fake[id]; };
  auto scope = workspace_scope(a, tmpl_, settings_, lookup);
  if (!scope) return {};
  auto objs = render(tmpl_, scope.value());
  if (!objs) return {};
  return refs(objs.value());
}

proto::WorkspaceStatus Engine::delete_one(AgentState& st, const proto::Assignment& a) {
  std::vector<ObjectRef> targets = refs_of(a);
  auto it = st.workspaces.find(a.workspace_id);
  if (it != st.workspaces.end()) {
    targets.insert(targets.end(), it->second.objects.begin(), it->second.objects.end());
    // A delete carries no name: derive names from the last applied assignment too.
    auto prev = refs_of(it->second.assignment);
    targets.insert(targets.end(), prev.begin(), prev.end());
  }
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  if (auto rm = sink_.remove(targets); !rm) {
    WorkspaceRecord& rec = st.workspaces[a.workspace_id];
    rec.assignment = a;
    return rec.observed = status_of(a, Phase::kFailed, "delete: " + rm.error().detail);
  }
  if (it != st.workspaces.end()) st.workspaces.erase(it);
  return status_of(a, Phase::kDeleted);
}

}  // namespace fc::agent
