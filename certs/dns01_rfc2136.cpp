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
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
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
      if (!key)
        return make_error(key.error().code,
                          "dns.providers " + z.zone + ".tsig: " + key.error().detail);
      z.key = key.value();
    }
    out.push_back(std::move(z));
  }
  return out;
}

const Rfc2136Zone* match_rfc2136_zone(const std::vector<Rfc2136Zone>& zones,
                                      const std::string& platform_zone, const std::string& owner) {
  const std::string name = lower_name(owner);
  if (!platform_zone.empty() && dns::name_in_zone(name, lower_name(platform_zone)))
    return nullptr;  // ours
  const Rfc2136Zone* best = nullptr;
  for (const auto& z : zones)
    if (dns::name_in_zone(name, z.zone) && (best == nullptr || z.zone.size() > best->zone.size()))
      best = &z;
  return best;
}

const Rfc2136Zone* Service::Impl::rfc2136_zone_for(const std::string& owner) const {
  return match_rfc2136_zone(rfc2136, o.zone, owner);
}

namespace {

constexpr std::int64_t kExternalTxtTtlMs = 3600 * 1000;  // validation is long over by then
constexpr std::int64_t kSweepEveryMs = 60 * 1000;
constexpr int kSweepBatch = 50;

detail::ExternalTxt external_txt(const Rfc2136Zone& z, const std::string& name,
                                 const std::string& value) {
  return detail::ExternalTxt{z.server, z.zone, name, value};
}

}  // namespace

namespace {

// RFC 2136 §2.5.1 add / §2.5.4 delete one RR: only our TXT value is touched,
// so concurrent challenges for the same name (and records of others) stay.
awaitable<Status> send_txt_update(const Rfc2136Zone& z, std::string owner, std::string value,
                                  bool add, const Clock& clock) {
  auto name = dns::Name::from_text(owner + ".");
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
  const std::string what = "RFC 2136 update of " + owner + " TXT at " + z.server;
  if (!rc) co_return with_context(rc.error(), what);
  if (rc.value() != dns::Rcode::kNoError)
    co_return make_error(dns::Errc::kUpdateRejected,
                         what + " answered " + dns::rcode_name(rc.value()));
  co_return ok();
}

}  // namespace

// The value is recorded before it is added and forgotten once deleted, or
// when the add certainly wrote nothing (anything but a time-out).
awaitable<Status> Service::Impl::rfc2136_txt(const Rfc2136Zone& z, std::string owner,
                                             std::string value, bool add) {
  owner = lower_name(owner);
  if (add) {
    const auto exp = clock.now_ms() + kExternalTxtTtlMs;
    auto st = co_await db.write([&](storage::Conn& c) {
      return detail::remember_external_txt(c, external_txt(z, owner, value), exp);
    });
    if (!st) co_return st;
  }
  auto sent = co_await send_txt_update(z, owner, value, add, clock);
  const bool forget =
      add ? (!sent && sent.error().code != Code::kTimeout) : static_cast<bool>(sent);
  if (sent)
    spdlog::info("certs: dns-01 {} TXT {} server={} zone={}", add ? "added" : "deleted", owner,
                 z.server, z.zone);
  if (forget) {
    auto st = co_await db.write([&](storage::Conn& c) {
      return detail::forget_external_txt(c, external_txt(z, owner, value));
    });
    if (!st)
      spdlog::warn("certs: dns-01 forgetting a TXT failed name={} error={}", owner,
                   st.error().detail);
  }
  co_return sent;
}

// Deletes TXT values whose cleanup never ran (a crash between present and
// cleanup, an order dropped by the CA) once they expired. At most once a
// minute; a provider no longer configured only loses the row.
awaitable<void> Service::Impl::sweep_external_txt() {
  const auto now = clock.now_ms();
  if (jobs == nullptr || now < next_txt_sweep) co_return;  // not before init(): providers unknown
  next_txt_sweep = now + kSweepEveryMs;
  auto rows = detail::expired_external_txt(db.read(), now, kSweepBatch);
  if (!rows) {
    spdlog::warn("certs: dns-01 sweep failed error={}", rows.error().detail);
    co_return;
  }
  for (const auto& r : rows.value()) {
    const Rfc2136Zone* z = nullptr;
    for (const auto& x : rfc2136)
      if (x.server == r.server && x.zone == r.zone) z = &x;
    if (z == nullptr) {
      auto st =
          co_await db.write([&](storage::Conn& c) { return detail::forget_external_txt(c, r); });
      if (!st) {
        spdlog::warn(
            "certs: dns-01 sweep could not forget a leftover name={} server={} zone={} error={}",
            r.name, r.server, r.zone, st.error().detail);
      }
      continue;
    }
    auto st = co_await rfc2136_txt(*z, r.name, r.value, false);
    if (!st)
      spdlog::warn("certs: dns-01 leftover not deleted name={} server={} error={}", r.name,
                   r.server, st.error().detail);
  }
}

}  // namespace fc::certs
