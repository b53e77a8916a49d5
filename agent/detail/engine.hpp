// The reconcile core: applies one assignments response to the local state
// through a Sink and says which statuses to report. No network, no clock;
// certificates must have been fetched into the cache beforehand.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "agent/detail/observe.hpp"
#include "agent/detail/render.hpp"
#include "agent/detail/sink.hpp"
#include "agent/detail/state.hpp"
#include "agent/protocol.hpp"

namespace fc::agent {

using CertCache = std::map<std::string, proto::CertificateBundle>;

// What a successful apply means. Observing (kubectl mode, or --out with a
// --status-command): `progressing` until observe() sees the rollout finish.
// Otherwise `running` at once, with `unobserved_note` as the message.
struct ObserveMode {
  bool observing = false;
  std::string unobserved_note;
  std::chrono::seconds failure_grace = observe::kDefaultFailureGrace;
};

class Engine {
 public:
  Engine(Template tmpl, std::map<std::string, std::string> settings, Sink& sink,
         ObserveMode mode = {})
      : tmpl_(std::move(tmpl)),
        settings_(std::move(settings)),
        sink_(sink),
        mode_(std::move(mode)) {}

  // Certificate references of apply assignments whose (id, version) is not cached.
  static std::vector<proto::CertificateRef> missing_certificates(
      const proto::AssignmentsResponse& r, const CertCache& certs);

  // A complete response replaces the state (workspaces absent from it are
  // removed); otherwise each assignment is applied in order. Updates region
  // and revision. Returns the statuses that changed.
  std::vector<proto::WorkspaceStatus> sync(AgentState& st, const proto::AssignmentsResponse& r,
                                           const CertCache& certs);

  // Decides every workspace whose current generation is applied from one
  // observation of the cluster; returns the statuses that changed.
  std::vector<proto::WorkspaceStatus> observe(AgentState& st, const observe::ClusterView& view,
                                              observe::SysTime now) const;

  bool observing() const { return mode_.observing; }

  // Retries every workspace whose last apply or delete failed (not those
  // whose rollout failed: re-applying the same objects changes nothing).
  std::vector<proto::WorkspaceStatus> retry_failed(AgentState& st, const CertCache& certs);

  // Certificate ids still referenced by some workspace (the rest may be dropped).
  static std::vector<std::string> referenced_certificates(const AgentState& st);

 private:
  proto::WorkspaceStatus apply_one(AgentState& st, const proto::Assignment& a,
                                   const CertCache& certs);
  proto::WorkspaceStatus observe_one(const WorkspaceRecord& rec, const observe::ClusterView& view,
                                     observe::SysTime now) const;
  proto::WorkspaceStatus delete_one(AgentState& st, const proto::Assignment& a);
  std::vector<ObjectRef> refs_of(const proto::Assignment& a) const;

  Template tmpl_;
  std::map<std::string, std::string> settings_;
  Sink& sink_;
  ObserveMode mode_;
};

}  // namespace fc::agent
