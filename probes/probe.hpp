// fc::probes — live checks (docs/probes.md): the control plane reaches each
// hostname the way a customer's browser does (resolve, connect, TLS with SNI
// and chain verification, our certificate, GET probes.path) and keeps the
// latest result per hostname. This header is the pure core and the one read
// other components use (status/ reads `latest`); no Asio, OpenSSL or SQLite.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace fc::storage {
class Conn;
}

namespace fc::probes {

enum class LiveStatus { kUnknown, kLive, kFailing };
// The steps in the order a probe takes them; a failed probe names the first
// that failed, a successful one `http` (the last it passed).
enum class Step { kDns, kConnect, kTls, kCertificate, kHttp };

const char* status_name(LiveStatus s);  // unknown | live | failing
const char* step_name(Step s);          // dns | connect | tls | certificate | http
std::optional<LiveStatus> parse_status(std::string_view s);
std::optional<Step> parse_step(std::string_view s);

// What one probe found.
struct Outcome {
  bool ok = false;
  Step step = Step::kDns;
  std::string detail;       // "HTTP 502 from 192.0.2.10:443", …
  std::string fingerprint;  // SHA-256 (hex) of the leaf served, when TLS got that far
};

// The latest result of a hostname (its row of probe_results).
struct LiveResult {
  std::string hostname;
  std::string workspace_id;
  LiveStatus status = LiveStatus::kUnknown;
  Step step = Step::kDns;
  std::string detail;
  std::int64_t failures = 0;    // failed probes in a row
  std::string fingerprint;      // leaf served at the last success ("" before one)
  std::int64_t checked_at = 0;  // ms since the epoch
};

// A live hostname turns failing on the second failed probe in a row, so one
// lost packet never flaps it; one success makes it live again.
inline constexpr std::int64_t kFailuresToFail = 2;

// The new state from the previous one (nullopt: never probed) and what this
// probe found. First probe: live on success, failing on failure (there is no
// earlier success to keep). A failure keeps the last success's fingerprint.
LiveResult decide(const std::optional<LiveResult>& prev, const Outcome& o, std::int64_t now_ms);

// What the TLS step saw (detail/check.cpp fills it from OpenSSL).
struct TlsFacts {
  bool handshake_ok = false;
  std::string handshake_error;   // when !handshake_ok
  bool chain_ok = false;         // verified against the trust anchors
  std::string chain_error;       // X509_verify_cert_error_string when !chain_ok
  bool name_ok = false;          // the leaf names the hostname (RFC 6125)
  std::string leaf_fingerprint;  // SHA-256 hex of the leaf's DER
  std::string issuer_cn;         // of the leaf
};
// The TLS and certificate steps: nullopt when both pass. `accepted`: the
// leaves fleetcommand issued for the name (and the one served at the last
// success); with `require_ours` false (a platform name under an operator's
// wildcard) only the chain and the name are checked.
std::optional<Outcome> judge_tls(const TlsFacts& t, const std::vector<std::string>& accepted,
                                 bool require_ours, std::string_view peer);
// The HTTP step: 2xx and 3xx pass. `peer` is "address:port".
Outcome judge_http(int status, std::string_view peer);
// "DNS: <host> has no address" plus " (CNAME → <last target>)" when the
// name is an alias, else " (<rcode>)" when the answer was not NOERROR.
std::string dns_no_address(std::string_view host, const std::vector<std::string>& cname_chain,
                           std::string_view rcode);

// The latest result for `hostname` (any case), nullopt before its first
// probe. Any connection (a read connection is enough).
Result<std::optional<LiveResult>> latest(storage::Conn& c, std::string_view hostname);

}  // namespace fc::probes
