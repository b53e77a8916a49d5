// The rollout observer (docs/agent.md "Observing rollouts"): a pure function
// from (assignment generation, Deployment, its Pods, now) to (phase, message),
// following what `kubectl rollout status` checks, plus the pod failures it
// does not report. ClusterView indexes one `List` printed by --status-command
// so a region of any size is decided in one pass. No I/O, no clock.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/protocol.hpp"
#include "common/result.hpp"

namespace fc::agent::observe {

using json = nlohmann::json;
using SysTime = std::chrono::system_clock::time_point;

// The annotation the built-in template puts on the Deployment.
inline constexpr const char* kGenerationAnnotation = "fleetcommand.io/generation";
// A pod waiting with a fatal reason for longer than this fails the rollout.
inline constexpr std::chrono::seconds kDefaultFailureGrace{60};

struct Decision {
  proto::Phase phase = proto::Phase::kProgressing;
  std::string message;
  bool operator==(const Decision&) const = default;
};

struct Input {
  std::int64_t generation = 0;       // the assignment's
  std::string deployment_name;       // "<namespace>/<name>", for messages
  const json* deployment = nullptr;  // nullptr: not in the List
  std::vector<const json*> pods;     // pods owned by the Deployment's ReplicaSets
  bool was_running = false;          // this generation was reported running/degraded
  SysTime now;
  std::chrono::seconds failure_grace = kDefaultFailureGrace;
};

// progressing | running | failed | degraded | suspended, with a message that
// names the cause ("" when running).
Decision decide(const Input& in);

// RFC 3339 as the API server writes it ("2026-12-06T13:00:00Z", optional
// fraction, Z or ±hh:mm); nullopt when malformed.
std::optional<SysTime> parse_time(std::string_view s);

// One `kubectl get deployments,pods -o json` List, indexed by namespace/name
// (Deployments) and by the Deployment owning each Pod's ReplicaSet.
class ClusterView {
 public:
  // Malformed JSON or not a List/…List → Code::kParse naming the problem.
  static Result<ClusterView> parse(std::string_view text);
  const json* deployment(const std::string& ns, const std::string& name) const;
  std::vector<const json*> pods_of(const std::string& ns, const std::string& name) const;
  std::size_t deployments() const { return deployments_.size(); }
  std::size_t pods() const { return pod_count_; }

 private:
  void index(const json& item);
  std::unique_ptr<const json> doc_;  // the items point into it
  std::unordered_map<std::string, const json*> deployments_;
  std::unordered_map<std::string, std::vector<const json*>> pods_;
  std::size_t pod_count_ = 0;
};

}  // namespace fc::agent::observe
