// Wire DTOs of the agent API (API.md "Agent"), shared by the reference agent
// and the API server. Encoding is nlohmann's ADL `to_json` (`json j = dto;`).
// Decoding never throws: `decode<T>(json)` returns Result<T>, and a missing or
// mistyped required field gives Code::kInvalidArgument with a detail of the form
// "<field path>: <message>" (e.g. "assignments[2].generation: missing"), which
// maps to a 422 `errors[]` entry. Unknown fields are ignored (API.md: fields may
// be added, none removed).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace fc::agent::proto {

using json = nlohmann::json;

enum class Action { kApply, kDelete };
// API.md "Agent": progressing = applied, rollout not finished; running =
// every replica of this generation available; degraded = was running, lost
// availability; suspended = scaled to zero by design. Appended (not
// reordered) so agents that never send the new ones stay valid.
enum class Phase {
  kProvisioning,
  kRunning,
  kFailed,
  kDeleted,
  kProgressing,
  kDegraded,
  kSuspended
};

std::string_view to_string(Action a);
std::string_view to_string(Phase p);
Result<Action> parse_action(std::string_view s);
Result<Phase> parse_phase(std::string_view s);

struct Resources {
  std::int64_t memory_mib = 0;
  std::int64_t cpu_millis = 0;
  bool operator==(const Resources&) const = default;
};

// The workspace's application spec; every field optional (the agent's
// template supplies defaults).
struct Spec {
  std::optional<std::string> image;
  std::map<std::string, std::string> env;
  bool operator==(const Spec&) const = default;
};

// {"id":"crt_…","hostnames":[…],"version":2}
struct CertificateRef {
  std::string id;
  std::vector<std::string> hostnames;
  std::int64_t version = 0;
  bool operator==(const CertificateRef&) const = default;
};

// One element of `assignments`. Required: workspace_id, generation, action;
// `name` is required for action apply. The rest default to empty.
struct Assignment {
  std::string workspace_id;
  std::string name;
  std::int64_t generation = 0;
  Action action = Action::kApply;
  Resources resources;
  Spec spec;
  std::vector<std::string> hostnames;
  std::vector<CertificateRef> certificates;
  // Suspended by the operator (non-payment, docs/tenants.md): scale to zero,
  // keep the data, route the hostnames to the "suspended" page. Absent = false.
  bool suspended = false;
  bool operator==(const Assignment&) const = default;
};

// GET /v1/agent/assignments?since=REV&wait=S → 200.
struct AssignmentsResponse {
  std::string region;
  std::int64_t revision = 0;
  bool complete = false;
  std::vector<Assignment> assignments;
  bool operator==(const AssignmentsResponse&) const = default;
};

// POST /v1/agent/heartbeat.
struct Heartbeat {
  std::string agent_id;
  std::optional<std::string> version;
  bool operator==(const Heartbeat&) const = default;
};

// One item of POST /v1/agent/status; `message` defaults to "".
struct WorkspaceStatus {
  std::string workspace_id;
  std::int64_t generation = 0;
  Phase phase = Phase::kProvisioning;
  std::string message;
  bool operator==(const WorkspaceStatus&) const = default;
};

struct StatusReport {
  std::vector<WorkspaceStatus> workspaces;
  bool operator==(const StatusReport&) const = default;
};

// GET /v1/agent/certificates/{id} → 200. certificate_pem is the full chain,
// leaf first.
struct CertificateBundle {
  std::string id;
  std::int64_t version = 0;
  std::vector<std::string> hostnames;
  std::string certificate_pem;
  std::string private_key_pem;
  std::string not_after;
  bool operator==(const CertificateBundle&) const = default;
};

void to_json(json& j, const Resources& v);
void to_json(json& j, const Spec& v);
void to_json(json& j, const CertificateRef& v);
void to_json(json& j, const Assignment& v);
void to_json(json& j, const AssignmentsResponse& v);
void to_json(json& j, const Heartbeat& v);
void to_json(json& j, const WorkspaceStatus& v);
void to_json(json& j, const StatusReport& v);
void to_json(json& j, const CertificateBundle& v);

// Checked decoding; specialised for every DTO above.
template <class T>
Result<T> decode(const json& j);

template <>
Result<Resources> decode<Resources>(const json& j);
template <>
Result<Spec> decode<Spec>(const json& j);
template <>
Result<CertificateRef> decode<CertificateRef>(const json& j);
template <>
Result<Assignment> decode<Assignment>(const json& j);
template <>
Result<AssignmentsResponse> decode<AssignmentsResponse>(const json& j);
template <>
Result<Heartbeat> decode<Heartbeat>(const json& j);
template <>
Result<WorkspaceStatus> decode<WorkspaceStatus>(const json& j);
template <>
Result<StatusReport> decode<StatusReport>(const json& j);
template <>
Result<CertificateBundle> decode<CertificateBundle>(const json& j);

// Parses a request/response body: malformed JSON → Code::kParse (400),
// then decode<T>.
template <class T>
Result<T> decode_body(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Code::kParse, "malformed JSON");
  return decode<T>(j);
}

}  // namespace fc::agent::proto
