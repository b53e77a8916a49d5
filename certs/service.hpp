// fc::certs::Service — the database-backed certificate store and issuer
// (docs/certs.md "Daemon"): certificates with versions, sealed private keys
// (AES-256-GCM under the key-encryption key), resumable ACME orders run from
// the durable job queue, HTTP-01 answers and DNS-01 TXT rows in the database,
// the internal issuer as fallback, renewal and per-issuer budgets.
#pragma once
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace fc::storage {
class Conn;
class Database;
class JobRunner;
}  // namespace fc::storage

namespace fc::dns {
class ZoneNotifier;
}

namespace fc::certs {

struct CertificateView {  // what the API shows (never a key)
  std::string id;         // crt_<time-ordered id>
  std::vector<std::string> hostnames;
  std::string issuer;  // "acme:<directory>" or "internal"
  std::string status;  // pending|valid|renewing|failed|expired
  std::optional<std::int64_t> not_before_ms, not_after_ms, renew_after_ms;
  std::int64_t version = 0;  // bumps on each stored certificate
  std::optional<std::string> last_error;
  std::string workspace_id;  // "" for platform certificates
};

// Issued certificates (valid or renewing) by time to expiry, for alerting
// (docs/deploy.md "What to alert on"): cumulative counts at kExpiryBoundsS,
// the earliest not_after. One aggregate query, whatever the count.
inline constexpr std::int64_t kExpiryBoundsS[] = {86400,      3 * 86400,  7 * 86400,  14 * 86400,
                                                  21 * 86400, 30 * 86400, 60 * 86400, 90 * 86400};
struct ExpirySummary {
  std::int64_t count = 0;
  double sum_s = 0;  // of the seconds to expiry (negative once expired)
  std::optional<std::int64_t> earliest_not_after_ms;
  std::int64_t at_most[std::size(kExpiryBoundsS)] = {};  // expiring within each bound
};

// The current material of a certificate, for the agent endpoint only.
struct CertificateMaterial {
  std::string id;
  std::int64_t version = 0;
  std::vector<std::string> hostnames;
  std::string certificate_pem;
  std::string private_key_pem;
  std::int64_t not_after_ms = 0;
  std::string workspace_id;
};

// The current chain of an issued certificate, for the live checks (probes/):
// the leaf a hostname must serve.
struct IssuedChain {
  std::string id;
  std::int64_t version = 0;
  std::vector<std::string> hostnames;
  std::string chain_pem;  // leaf first
};

enum class ChallengePref { kHttp01, kDns01 };

struct ServiceOptions {
  nlohmann::json issuers = nlohmann::json::array();  // config certs.issuers
  std::string kek_file;                              // config certs.key_encryption_key_file
  std::string zone;                                  // platform zone (dns.zone)
  bool platform_wildcard = false;                    // ensure *.<zone> by DNS-01 at start
  // config dns.providers: DNS-01 for names outside `zone` inside one of these
  // zones is answered by RFC 2136 update at its primary (longest suffix wins).
  nlohmann::json dns_providers = nlohmann::json::array();
  int max_orders_in_flight = 4;
  int failures_before_fallback = 3;  // failed orders before the next issuer
  // certificate.expiring this long before not_after (events.certificate_expiring_days).
  std::int64_t expiring_days = 14;
};

// What certs tells the components above it (domains) after a certificate
// version was stored.
class IssuedListener {
 public:
  virtual ~IssuedListener() = default;
  virtual void certificate_issued(const std::string& cert_id, const std::string& workspace_id) = 0;
};

class Service {
 public:
  Service(asio::io_context& io, storage::Database& db, const Clock& clock, ServiceOptions o);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Reads or creates the key-encryption key, checks it against the sealed
  // check value in the database (a wrong key fails with a clear message),
  // creates the internal root on first start, registers the job handlers.
  Status init(storage::JobRunner& jobs);
  // The embedded DNS (dns::Publisher): DNS-01 TXT records of names in the
  // platform zone, and settled() before the CA looks a name up. Without it,
  // DNS-01 in the platform zone fails.
  void set_zone(dns::ZoneNotifier* zone);

  // Creates (or returns the existing) certificate for exactly these names and
  // enqueues its order; never places a second order for the same names.
  awaitable<Result<std::string>> ensure(
      std::vector<std::string> hostnames, std::string workspace_id, ChallengePref pref,
      std::string dns01_delegate_name /* "" or "<id>._acme.<zone>" */);
  Result<CertificateView> get(const std::string& id);
  Result<std::vector<CertificateView>> list(const std::string& hostname_filter);
  Result<ExpirySummary> expiry_summary();
  // Other secrets sealed at rest like private keys (webhook signing secrets):
  // AES-256-GCM with the key-encryption key, base64url. After init().
  Result<std::string> seal_secret(std::string_view plain);
  Result<std::string> open_secret(const std::string& sealed);
  // Private key included: only for the agent of a region serving the names.
  Result<CertificateMaterial> material(const std::string& id);
  awaitable<Status> renew_now(std::string id);
  awaitable<Status> stop_renewing(std::string id);  // domain moved: keep until expiry, never renew
  // Domain came back: renew again — at renew_after, or now when that passed or
  // the certificate expired meanwhile (a new order).
  awaitable<Status> resume_renewing(std::string id);
  awaitable<Status> remove(std::string id);  // domain/workspace deleted
  // Certificates of a workspace as assignment refs [{id, hostnames, version}] (inside a
  // transaction).
  static Result<nlohmann::json> refs_for_workspace(storage::Conn& c,
                                                   const std::string& workspace_id);
  // HTTP-01 key authorization for a token (read connection), kNotFound otherwise.
  static Result<std::string> http01_answer(storage::Conn& c, const std::string& token);
  // Every certificate with a stored version (valid, renewing or expired),
  // for the live checks (certs/probe_store.cpp).
  static Result<std::vector<IssuedChain>> issued_chains(storage::Conn& c);
  // The internal issuer's root certificate (PEM), "" before it was created.
  static Result<std::string> internal_root_pem(storage::Conn& c);
  // Told after commit when a certificate version was stored (domains
  // delivers it to the workspace's assignment). `l` must outlive the service.
  void add_issued_listener(IssuedListener& l);
  // Periodic chores (the daemon calls it every second): deletes DNS-01 TXT
  // values left in external zones (RFC 2136) after they expired.
  awaitable<void> tick();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::certs
