// The pure core of the live checks: step judgements and the state a result
// leads to (docs/probes.md "Decision"). No I/O, clock or randomness.
#include <algorithm>
#include <array>

#include "probes/probe.hpp"

namespace fc::probes {

namespace {

constexpr std::array<const char*, 3> kStatusNames = {"unknown", "live", "failing"};
constexpr std::array<const char*, 5> kStepNames = {"dns", "connect", "tls", "certificate", "http"};

}  // namespace

const char* status_name(LiveStatus s) { return kStatusNames[static_cast<std::size_t>(s)]; }
const char* step_name(Step s) { return kStepNames[static_cast<std::size_t>(s)]; }

std::optional<LiveStatus> parse_status(std::string_view s) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i)
    if (s == kStatusNames[i]) return static_cast<LiveStatus>(i);
  return std::nullopt;
}

std::optional<Step> parse_step(std::string_view s) {
  for (std::size_t i = 0; i < kStepNames.size(); ++i)
    if (s == kStepNames[i]) return static_cast<Step>(i);
  return std::nullopt;
}

LiveResult decide(const std::optional<LiveResult>& prev, const Outcome& o, std::int64_t now_ms) {
  LiveResult r;
  if (prev) {
    r.hostname = prev->hostname;
    r.workspace_id = prev->workspace_id;
    r.fingerprint = prev->fingerprint;
  }
  r.step = o.step;
  r.detail = o.detail;
  r.checked_at = now_ms;
  if (o.ok) {
    r.status = LiveStatus::kLive;
    r.failures = 0;
    r.fingerprint = o.fingerprint;
    return r;
  }
  r.failures = (prev ? prev->failures : 0) + 1;
  const bool was_live = prev && prev->status == LiveStatus::kLive;
  r.status = was_live && r.failures < kFailuresToFail ? LiveStatus::kLive : LiveStatus::kFailing;
  return r;
}

std::optional<Outcome> judge_tls(const TlsFacts& t, const std::vector<std::string>& accepted,
                                 bool require_ours, std::string_view peer) {
  const std::string from = " from " + std::string(peer);
  if (!t.handshake_ok)
    return Outcome{false, Step::kTls, "TLS: handshake failed: " + t.handshake_error + from, ""};
  if (require_ours &&
      std::find(accepted.begin(), accepted.end(), t.leaf_fingerprint) == accepted.end()) {
    return Outcome{false, Step::kCertificate,
                   "TLS: served certificate is not ours (issuer CN=" + t.issuer_cn + ")",
                   t.leaf_fingerprint};
  }
  if (!t.chain_ok)
    return Outcome{false, Step::kTls, "TLS: certificate not trusted: " + t.chain_error + from,
                   t.leaf_fingerprint};
  if (!t.name_ok)
    return Outcome{false, Step::kTls,
                   "TLS: certificate does not name the hostname (issuer CN=" + t.issuer_cn + ")",
                   t.leaf_fingerprint};
  return std::nullopt;
}

Outcome judge_http(int status, std::string_view peer) {
  const std::string detail = "HTTP " + std::to_string(status) + " from " + std::string(peer);
  return Outcome{status >= 200 && status < 400, Step::kHttp, detail, ""};
}

std::string dns_no_address(std::string_view host, const std::vector<std::string>& cname_chain,
                           std::string_view rcode) {
  std::string d = "DNS: " + std::string(host) + " has no address";
  if (!cname_chain.empty())
    d += " (CNAME \u2192 " + cname_chain.back() + ")";
  else if (!rcode.empty() && rcode != "NOERROR")
    d += " (" + std::string(rcode) + ")";
  return d;
}

}  // namespace fc::probes
