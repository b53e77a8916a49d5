// The reconcile core: applies one assignments response to the local state
// through a Sink and says which statuses to report. No network, no clock;
// certificates must have been fetched into the cache beforehand.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "agent/detail/render.hpp"
#include "agent/detail/sink.hpp"
#include "agent/detail/state.hpp"
#include "agent/protocol.hpp"

namespace fc::agent {

using CertCache = std::map<std::string, proto::CertificateBundle>;

class Engine {
 public:
  Engine(Template tmpl, std::map<std::string, std::string> settings, Sink& sink)
      : tmpl_(std::move(tmpl)), settings_(std::move(settings)), sink_(sink) {}

  // Certificate references of apply assignments whose (id, version) is not cached.
  static std::vector<proto::CertificateRef> missing_certificates(
      const proto::AssignmentsResponse& r, const CertCache& certs);

  // A complete response replaces the state (workspaces absent from it are
  // removed); otherwise each assignment is applied in order. Updates region
  // and revision. Returns the statuses that changed.
  std::vector<proto::WorkspaceStatus> sync(AgentState& st, const proto::AssignmentsResponse& r,
                                           const CertCache& certs);

  // Retries every workspace whose last attempt failed.
  std::vector<proto::WorkspaceStatus> retry_failed(AgentState& st, const CertCache& certs);

  // Certificate ids still referenced by some workspace (the rest may be dropped).
  static std::vector<std::string> referenced_certificates(const AgentState& st);

 private:
  proto::WorkspaceStatus apply_one(AgentState& st, const proto::Assignment& a,
                                   const CertCache& certs);
  proto::WorkspaceStatus delete_one(AgentState& st, const proto::Assignment& a);
  std::vector<ObjectRef> refs_of(const proto::Assignment& a) const;

  Template tmpl_;
  std::map<std::string, std::string> settings_;
  Sink& sink_;
};

}  // namespace fc::agent
