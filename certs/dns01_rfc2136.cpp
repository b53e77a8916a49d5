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

namespace {

constexpr std::int64_t kExternalTxtTtlMs = 3600 * 1000;  // validation is long over by then
constexpr std::int64_t kSweepEveryMs = 60 * 1000;

// The TXT values we wrote, so that a leftover can be deleted later.
Status remember_txt(storage::Conn& c, const Rfc2136Zone& z, const std::string& name, const std::string& value,
                    std::optional<std::int64_t> expires_at) {
  if (!expires_at) {
    BOOST_OUTCOME_TRY(d, c.prepare("DELETE FROM cert_dns01_external WHERE server = ?1 AND zone = ?2 AND name = ?3"
                                   " AND value = ?4"));
    return d.bind_all(z.server, z.zone, name, value).run();
  }
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO cert_dns01_external(server, zone, name, value, expires_at)"
                                 " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(server, zone, name, value)"
                                 " DO UPDATE SET expires_at = excluded.expires_at"));
  return s.bind_all(z.server, z.zone, name, value, *expires_at).run();
}

struct ExternalTxt {
  std::string server, zone, name, value;
};

Result<std::vector<ExternalTxt>> expired_txt(storage::Conn& c, std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT server, zone, name, value FROM cert_dns01_external WHERE expires_at <= ?1"
                                 " ORDER BY expires_at LIMIT 50"));
  s.bind(1, now);
  std::vector<ExternalTxt> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(ExternalTxt{s.col_text(0), s.col_text(1), s.col_text(2), s.col_text(3)});
  }
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
  const auto kind = add ? dns::UpdateOp::Kind::kAdd : dns::UpdateOp::Kind::kDeleteRecord;
  std::vector<dns::UpdateOp> ops;
  ops.push_back(dns::UpdateOp{kind, dns::Record{name.value(), dns::RrType::kTxt, dns::kClassIn,
                                                add ? 60u : 0u, rd.value()}});
  auto sent = co_await dns::update(z, std::move(ops), std::chrono::milliseconds(2000), clock);
  if (sent) co_return ok();
  const std::string what = "RFC 2136 update of " + owner + " TXT at " + z.server;
  co_return make_error(sent.error().code, what + ": " + sent.error().detail);
}

}  // namespace

// The value is recorded before it is added and forgotten once deleted, or
// when the add certainly wrote nothing (anything but a time-out).
awaitable<Status> Service::Impl::rfc2136_txt(const Rfc2136Zone& z, std::string owner, std::string value, bool add) {
  owner = lower_name(owner);
  if (add) {
    const auto exp = clock.now_ms() + kExternalTxtTtlMs;
    auto st = co_await db.write([&](storage::Conn& c) { return remember_txt(c, z, owner, value, exp); });
    if (!st) co_return st;
  }
  auto sent = co_await send_txt_update(z, owner, value, add, clock);
  const bool forget = add ? (!sent && sent.error().code != Code::kTimeout) : static_cast<bool>(sent);
  if (sent) spdlog::info("certs: dns-01 {} TXT {} at {} zone={}", add ? "added" : "deleted", owner, z.server, z.zone);
  if (forget) {
    auto st = co_await db.write([&](storage::Conn& c) { return remember_txt(c, z, owner, value, std::nullopt); });
    if (!st) spdlog::warn("certs: dns-01 forgetting {}: {}", owner, st.error().detail);
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
  auto rows = expired_txt(db.read(), now);
  if (!rows) {
    spdlog::warn("certs: dns-01 sweep: {}", rows.error().detail);
    co_return;
  }
  for (const auto& r : rows.value()) {
    const Rfc2136Zone* z = nullptr;
    for (const auto& x : rfc2136)
      if (x.server == r.server && x.zone == r.zone) z = &x;
    if (z == nullptr) {
      Rfc2136Zone gone;
      gone.server = r.server;
      gone.zone = r.zone;
      auto st = co_await db.write([&](storage::Conn& c) { return remember_txt(c, gone, r.name, r.value, std::nullopt); });
      (void)st;
      continue;
    }
    auto st = co_await rfc2136_txt(*z, r.name, r.value, false);
    if (!st) spdlog::warn("certs: dns-01 leftover {} at {}: {}", r.name, r.server, st.error().detail);
  }
}

}  // namespace fc::certs
