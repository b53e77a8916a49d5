// DNS-01 for names in zones served elsewhere: the `_acme-challenge` TXT is
// written to the zone's primary by RFC 2136 dynamic update with TSIG (the
// same dns.providers[] the DNS publisher pushes to, matched by the longest
// zone suffix) and deleted again after validation. Names inside the platform
// zone keep using the embedded server (issue.cpp, DbDns01).
#include <spdlog/spdlog.h>

#include "certs/detail/service_impl.hpp"
#include "dns/server.hpp"

namespace fc::certs {

namespace {

std::string lower_name(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Result<std::vector<Rfc2136Zone>> parse_rfc2136_zones(const nlohmann::json& providers) {
  std::vector<Rfc2136Zone> out;
  if (!providers.is_array()) return out;
  for (const auto& p : providers) {
    if (!p.is_object() || p.value("type", "rfc2136") != "rfc2136") continue;
    Rfc2136Zone z;
    z.server = p.value("server", "");
    z.zone = lower_name(p.value("zone", ""));
    if (p.contains("tsig") && p["tsig"].is_object()) {
      const auto& t = p["tsig"];
      auto key = dns::TsigKey::from_base64(t.value("name", ""), t.value("algorithm", "hmac-sha256"),
                                           t.value("secret", ""));
      if (!key) return make_error(key.error().code, "dns.providers " + z.zone + ".tsig: " + key.error().detail);
      z.key = key.value();
    }
    out.push_back(std::move(z));
  }
  return out;
}

const Rfc2136Zone* match_rfc2136_zone(const std::vector<Rfc2136Zone>& zones, const std::string& platform_zone,
                                      const std::string& owner) {
  const std::string name = lower_name(owner);
  if (!platform_zone.empty() && dns::name_in_zone(name, lower_name(platform_zone))) return nullptr;  // ours
  const Rfc2136Zone* best = nullptr;
  for (const auto& z : zones)
    if (dns::name_in_zone(name, z.zone) && (best == nullptr || z.zone.size() > best->zone.size())) best = &z;
  return best;
}

const Rfc2136Zone* Service::Impl::rfc2136_zone_for(const std::string& owner) const {
  return match_rfc2136_zone(rfc2136, o.zone, owner);
}

// RFC 2136 §2.5.1 add / §2.5.4 delete one RR: only our TXT value is touched,
// so concurrent challenges for the same name (and records of others) stay.
awaitable<Status> Service::Impl::rfc2136_txt(const Rfc2136Zone& z, std::string owner, std::string value, bool add) {
  auto name = dns::Name::from_text(lower_name(owner) + ".");
  if (!name) co_return name.error();
  auto rd = dns::rdata_from_text(dns::RrType::kTxt, "\"" + value + "\"");
  if (!rd) co_return rd.error();
  dns::UpdateRequest req;
  req.server = z.server;
  req.zone = z.zone + ".";
  req.key = z.key;
  req.timeout = std::chrono::milliseconds(2000);
  const auto kind = add ? dns::UpdateOp::Kind::kAdd : dns::UpdateOp::Kind::kDeleteRecord;
  req.ops.push_back(dns::UpdateOp{kind, dns::Record{name.value(), dns::RrType::kTxt, dns::kClassIn,
                                                    add ? 60u : 0u, rd.value()}});
  auto rc = co_await dns::send_update(std::move(req), clock);
  if (!rc) co_return make_error(rc.error().code, "RFC 2136 update of " + owner + " TXT at " + z.server + ": " +
                                                     rc.error().detail);
  if (rc.value() != dns::Rcode::kNoError)
    co_return make_error(Code::kUnavailable, "RFC 2136 update of " + owner + " TXT at " + z.server +
                                                 " answered " + dns::rcode_name(rc.value()));
  spdlog::info("certs: dns-01 {} TXT {} at {} zone={}", add ? "added" : "deleted", owner, z.server, z.zone);
  co_return ok();
}

}  // namespace fc::certs
