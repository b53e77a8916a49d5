#include "agent/detail/observe.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace fc::agent::observe {
namespace {

using proto::Phase;

// Waiting reasons that do not resolve on their own (Kubernetes "Debug Pods";
// kubelet's images/types.go and kuberuntime's container reasons).
constexpr std::array<std::string_view, 5> kFatalWaiting = {
    "ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError",
    "InvalidImageName"};
constexpr std::size_t kMaxMessage = 300;

const json* child(const json* j, const char* key) {
  if (j == nullptr || !j->is_object()) return nullptr;
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}

std::int64_t int_at(const json* j, const char* key, std::int64_t dflt = 0) {
  const json* v = child(j, key);
  return v != nullptr && v->is_number_integer() ? v->get<std::int64_t>() : dflt;
}

std::string str_at(const json* j, const char* key) {
  const json* v = child(j, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string clip(std::string s) {
  // The control plane refuses a NUL in a status message (PostgreSQL's text cannot hold it).
  s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
  if (s.size() > kMaxMessage) s = s.substr(0, kMaxMessage) + "…";
  return s;
}

// status.conditions[type == t], or nullptr.
const json* condition(const json* obj, std::string_view t) {
  const json* conds = child(child(obj, "status"), "conditions");
  if (conds == nullptr || !conds->is_array()) return nullptr;
  for (const auto& c : *conds) {
    if (str_at(&c, "type") == t) return &c;
  }
  return nullptr;
}

// The ReplicaSet owning a pod (ownerReferences, kind ReplicaSet), or "".
std::string owner_rs(const json& pod) {
  const json* refs = child(child(&pod, "metadata"), "ownerReferences");
  if (refs == nullptr || !refs->is_array()) return {};
  for (const auto& r : *refs) {
    if (str_at(&r, "kind") == "ReplicaSet") return str_at(&r, "name");
  }
  return {};
}

bool terminating(const json& pod) {
  return child(child(&pod, "metadata"), "deletionTimestamp") != nullptr;
}

// The newest ReplicaSet is the owner of the most recently created pod that is
// not terminating: the List holds no ReplicaSets, and a pod-template-hash
// cannot be recomputed outside the API server.
std::string newest_rs(const std::vector<const json*>& pods) {
  std::string best_ts, best_rs;
  for (const json* p : pods) {
    if (terminating(*p)) continue;
    std::string ts = str_at(child(p, "metadata"), "creationTimestamp");
    if (best_rs.empty() || ts > best_ts) {
      best_ts = ts;
      best_rs = owner_rs(*p);
    }
  }
  return best_rs;
}

// Since when the pod's containers are not ready (the condition's transition),
// else its creation.
std::optional<SysTime> unready_since(const json& pod) {
  const json* c = condition(&pod, "ContainersReady");
  if (c != nullptr && str_at(c, "status") == "False") {
    auto t = parse_time(str_at(c, "lastTransitionTime"));
    if (t) return t;
  }
  return parse_time(str_at(child(&pod, "metadata"), "creationTimestamp"));
}

std::string last_exit(const json& cs) {
  const json* t = child(child(&cs, "lastState"), "terminated");
  if (t == nullptr) return {};
  std::string reason = str_at(t, "reason");
  return " (last exit: " + (reason.empty() ? std::string("terminated") : reason) + ", code " +
         std::to_string(int_at(t, "exitCode")) + ")";
}

struct PodProblem {
  std::string text;    // "container app: ImagePullBackOff: …"
  bool fatal = false;  // a fatal waiting reason for longer than the grace period
};

// The first container of `pod` that is waiting or not ready, described.
std::optional<PodProblem> pod_problem(const json& pod, const Input& in) {
  const json* statuses = child(child(&pod, "status"), "containerStatuses");
  if (statuses != nullptr && statuses->is_array()) {
    for (const auto& cs : *statuses) {
      const json* w = child(child(&cs, "state"), "waiting");
      if (w == nullptr) continue;
      std::string reason = str_at(w, "reason");
      std::string msg = str_at(w, "message");
      PodProblem p{"container " + str_at(&cs, "name") + ": " + reason +
                   (msg.empty() ? "" : ": " + msg) + last_exit(cs)};
      bool is_fatal =
          std::find(kFatalWaiting.begin(), kFatalWaiting.end(), reason) != kFatalWaiting.end();
      auto since = unready_since(pod);
      p.fatal = is_fatal && since && in.now - *since >= in.failure_grace;
      return p;
    }
  }
  std::string reason = str_at(child(&pod, "status"), "reason");  // e.g. NodeLost, Evicted
  if (!reason.empty())
    return PodProblem{"pod " + str_at(child(&pod, "metadata"), "name") + ": " + reason + ": " +
                      str_at(child(&pod, "status"), "message")};
  const json* ready = condition(&pod, "Ready");
  if (ready != nullptr && str_at(ready, "status") == "False") {
    std::string why = str_at(ready, "reason") + " " + str_at(ready, "message");
    return PodProblem{"pod " + str_at(child(&pod, "metadata"), "name") + " not ready: " + why};
  }
  return std::nullopt;
}

// The most telling problem among the pods of `rs` ("" = any): fatal first.
std::optional<PodProblem> worst_problem(const Input& in, const std::string& rs) {
  std::optional<PodProblem> first;
  for (const json* p : in.pods) {
    if (terminating(*p) || (!rs.empty() && owner_rs(*p) != rs)) continue;
    auto prob = pod_problem(*p, in);
    if (!prob) continue;
    if (prob->fatal) return prob;
    if (!first) first = prob;
  }
  return first;
}

Decision make(Phase p, std::string msg) { return Decision{p, clip(std::move(msg))}; }

std::string with(std::string base, const std::optional<PodProblem>& prob) {
  return prob ? base + "; " + prob->text : base;
}

// The Deployment is at this generation and its spec was observed: replicas.
// Reads better whole: the checks are kubectl's rollout status, in its order.
Decision decide_rollout(const Input& in, const json& d) {
  const json* spec = child(&d, "spec");
  const json* status = child(&d, "status");
  std::int64_t want = int_at(spec, "replicas", 1);
  std::int64_t replicas = int_at(status, "replicas");
  std::int64_t updated = int_at(status, "updatedReplicas");
  std::int64_t available = int_at(status, "availableReplicas");
  std::string rs = newest_rs(in.pods);
  bool old_pods = std::any_of(in.pods.begin(), in.pods.end(),
                              [&](const json* p) { return owner_rs(*p) != rs; });
  if (want == 0) {
    if (replicas == 0 && in.pods.empty()) return make(Phase::kSuspended, "scaled to zero");
    return make(Phase::kProgressing,
                "scaling to zero: " + std::to_string(in.pods.size()) + " pods remain");
  }
  auto prob = worst_problem(in, rs);
  const json* prog = condition(&d, "Progressing");
  if (prog != nullptr && str_at(prog, "status") == "False" &&
      str_at(prog, "reason") == "ProgressDeadlineExceeded" && !in.was_running) {
    if (prob) return make(Phase::kFailed, prob->text);
    return make(Phase::kFailed, "deployment " + in.deployment_name +
                                    ": ProgressDeadlineExceeded: " + str_at(prog, "message"));
  }
  bool fatal = prob && prob->fatal;
  if (fatal && !in.was_running) return make(Phase::kFailed, prob->text);
  if (updated < want) {
    return make(Phase::kProgressing, with(std::to_string(updated) + " of " + std::to_string(want) +
                                              " new replicas updated",
                                          prob));
  }
  if (replicas > updated || old_pods) {
    std::int64_t old = std::max<std::int64_t>(replicas - updated, 1);
    return make(Phase::kProgressing, std::to_string(old) + " old replicas pending termination");
  }
  if (available < updated) {
    std::string base = std::to_string(available) + " of " + std::to_string(updated) +
                       " updated replicas available";
    return make(in.was_running ? Phase::kDegraded : Phase::kProgressing, with(base, prob));
  }
  return make(Phase::kRunning, "");
}

std::int64_t annotated_generation(const json& d) {
  const json* a = child(child(&d, "metadata"), "annotations");
  std::string v = str_at(a, kGenerationAnnotation);
  if (v.empty()) return -1;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || n > (INT64_MAX - 9) / 10) return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

Decision decide(const Input& in) {
  if (in.deployment == nullptr) {
    std::string what = "deployment " + in.deployment_name + " not found";
    return make(in.was_running ? Phase::kDegraded : Phase::kProgressing, what);
  }
  const json& d = *in.deployment;
  std::int64_t g = annotated_generation(d);
  if (g >= 0 && g != in.generation) {
    // Not ours yet (the apply has not reached the API server) or another
    // agent applied a newer one: either way this generation is not rolled out.
    return make(Phase::kProgressing, "deployment " + in.deployment_name + " is at generation " +
                                         std::to_string(g) + ", waiting for " +
                                         std::to_string(in.generation));
  }
  std::int64_t meta_gen = int_at(child(&d, "metadata"), "generation");
  if (int_at(child(&d, "status"), "observedGeneration") < meta_gen) {
    return make(Phase::kProgressing, "waiting for the deployment spec update to be observed");
  }
  return decide_rollout(in, d);
}

std::optional<SysTime> parse_time(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, n = 0;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 ||
      n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  std::int64_t offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2)
      return std::nullopt;
    offset = (rest[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  // Days from civil (Howard Hinnant).
  std::int64_t yy = mo <= 2 ? y - 1 : y;
  std::int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  std::int64_t yoe = yy - era * 400;
  std::int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = era * 146097 + doe - 719468;
  std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset;
  return SysTime{std::chrono::seconds(secs)};
}

Result<ClusterView> ClusterView::parse(std::string_view text) {
  auto doc = std::make_unique<json>(json::parse(text, nullptr, /*allow_exceptions=*/false));
  if (doc->is_discarded()) return make_error(Code::kParse, "status command output: malformed JSON");
  const json* items = child(doc.get(), "items");
  std::string kind = str_at(doc.get(), "kind");
  if (items == nullptr || !items->is_array() || kind.size() < 4 ||
      kind.compare(kind.size() - 4, 4, "List") != 0) {
    return make_error(Code::kParse, "status command output: not a Kubernetes List (kind " +
                                        (kind.empty() ? std::string("missing") : kind) + ")");
  }
  ClusterView v;
  v.deployments_.reserve(items->size());
  for (const auto& item : *items) v.index(item);
  v.doc_ = std::move(doc);
  return v;
}

void ClusterView::index(const json& item) {
  std::string kind = str_at(&item, "kind");
  const json* meta = child(&item, "metadata");
  std::string key = str_at(meta, "namespace") + "/";
  if (kind == "Deployment") {
    deployments_[key + str_at(meta, "name")] = &item;
    return;
  }
  if (kind != "Pod") return;
  // ReplicaSet "<deployment>-<pod-template-hash>" → the Deployment's name.
  std::string rs = owner_rs(item);
  std::string hash = str_at(child(meta, "labels"), "pod-template-hash");
  std::string suffix = "-" + hash;
  if (rs.empty()) return;
  if (!hash.empty() && rs.size() > suffix.size() &&
      rs.compare(rs.size() - suffix.size(), suffix.size(), suffix) == 0) {
    rs.resize(rs.size() - suffix.size());
  } else if (auto dash = rs.rfind('-'); dash != std::string::npos) {
    rs.resize(dash);
  }
  pods_[key + rs].push_back(&item);
  ++pod_count_;
}

const json* ClusterView::deployment(const std::string& ns, const std::string& name) const {
  auto it = deployments_.find(ns + "/" + name);
  return it == deployments_.end() ? nullptr : it->second;
}

std::vector<const json*> ClusterView::pods_of(const std::string& ns,
                                              const std::string& name) const {
  auto it = pods_.find(ns + "/" + name);
  return it == pods_.end() ? std::vector<const json*>{} : it->second;
}

}  // namespace fc::agent::observe
