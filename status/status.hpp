// The status chain of a workspace and of a custom domain (issue #11 §3,
// docs/status.md): a pure builder from the facts other components expose to
// ordered Kubernetes-style conditions, the first non-True one carrying a
// `fix`. No I/O, clock or randomness: `now_ms` is a fact like the others.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fc::status {

enum class Truth { kTrue, kFalse, kUnknown };
const char* truth_name(Truth t);

struct Condition {
  std::string type;  // Placed, AssignmentDelivered, …
  Truth status = Truth::kUnknown;
  std::string reason;  // CamelCase
  std::string message;
  std::optional<std::int64_t> since_ms;  // last transition, from the facts' own timestamps
  std::int64_t observed_generation = 0;
  std::optional<std::string> fix;  // only on the first non-True condition
};

// Who reads the chain. A tenant's messages name only what is public (its
// workspace, its hostnames, its region's id, the records it must create) and
// never agent ids, DNS provider servers, CA URLs or the CA's error text.
enum class Audience { kAdmin, kTenant };

// The workspace's region as the scheduler sees it.
struct RegionFact {
  std::string id;
  bool exists = true;
  bool healthy = false;
  std::optional<std::int64_t> last_heartbeat_ms;
  std::int64_t heartbeat_timeout_s = 30;
};

// scheduler::Delivery, copied (status/ depends on no component).
struct DeliveryFact {
  bool assigned = false;
  std::int64_t revision = 0;
  std::int64_t written_at_ms = 0;
  std::int64_t delivered_revision = 0;
};

// One external DNS provider's sync state of one RRset of the name.
struct ProviderFact {
  std::string server;  // internal: shown to admins only
  std::string state;   // synced | pending | failed
  std::optional<std::string> last_error;
  std::optional<std::int64_t> synced_at_ms;
};

// What the embedded server's in-memory zone answers for the workspace's name.
struct DnsFact {
  std::vector<std::string> answers;  // "A 192.0.2.10", "CNAME edge.example.net."
  std::vector<ProviderFact> providers;
};

struct WorkspaceFacts {
  std::string id, name, hostname;
  std::string state = "scheduled";  // scheduled | migrating | deleting
  std::int64_t generation = 1;
  std::string region;                        // where it is placed
  std::optional<std::string> target_region;  // while migrating
  std::int64_t created_at_ms = 0;
  std::int64_t observed_generation = 0;
  std::string observed_phase = "pending";
  std::string observed_message;
  std::int64_t observed_since_ms = 0;  // 0 = nothing reported
  std::optional<std::string> dns_region;
  RegionFact serving;     // the region whose agent must apply the current generation
  DeliveryFact delivery;  // of the current generation in `serving`
  DnsFact dns;
  std::int64_t now_ms = 0;
};

// Live HTTPS probes of a hostname (the probes component fills it; absent →
// Live is Unknown/NotProbed).
struct LiveFact {
  std::string status;  // live | failing | unknown
  std::string step;    // the probe step that failed (dns, connect, tls, http, …)
  std::string detail;
  std::int64_t checked_at_ms = 0;
};

struct CertificateFact {
  std::string id;
  std::string status;  // pending | valid | renewing | failed | expired
  std::optional<std::int64_t> not_before_ms, not_after_ms;
  std::optional<std::string> last_error;  // the CA's text: admins only
};

struct DomainFacts {
  std::string hostname;
  std::string state;  // pending_verification | issuing | active | failed | moved
  std::string token;  // fc-verify=…
  std::optional<std::int64_t> verified_at_ms;
  std::string routing_type = "CNAME";  // CNAME | A
  std::string routing_target;          // <workspace>.<zone>
  std::vector<std::string> ingress;    // the region's addresses (apex names)
  bool routing_ok = false;
  std::string routing_found;
  std::optional<std::string> last_error;
  std::optional<std::int64_t> last_checked_at_ms;
  std::optional<std::int64_t> moved_at_ms;
  std::optional<CertificateFact> certificate;
  std::optional<std::int64_t> cert_generation;  // the workspace generation carrying it
  std::int64_t created_at_ms = 0;
  // The workspace's facts: its generation, phase and delivery to its region.
  WorkspaceFacts workspace;
  std::optional<LiveFact> live;
};

// Ordered: Placed, AssignmentDelivered, Applied, Running, DNSPublished, Ready.
std::vector<Condition> workspace_conditions(const WorkspaceFacts& f, Audience who);
// Ordered: OwnershipVerified, RoutingOK, PreflightOK, CertificateIssued,
// CertificateDelivered, Live.
std::vector<Condition> domain_conditions(const DomainFacts& f, Audience who);
// The one place Live comes from (informative; see docs/status.md).
Condition live_condition(const std::optional<LiveFact>& live, std::int64_t generation);

// "region eu-west-1 has had no heartbeat for 4m: its agent is down", or
// nullopt while it is healthy.
std::optional<std::string> region_down_fix(const RegionFact& r, std::int64_t now_ms);
// "4m", "1h2m", "3d".
std::string short_duration(std::int64_t ms);

// Whether a chain counts as ready for `ctl … why` and the document's `ok`:
// every condition True, Live Unknown/NotProbed excepted (informative).
bool chain_ok(const std::vector<Condition>& chain);

// {type,status,reason,message,since,observed_generation[,fix]} per condition.
nlohmann::json conditions_json(const std::vector<Condition>& chain);

}  // namespace fc::status
