// DNS-01 propagation for zones served elsewhere (issue #16 item 8): after the
// RFC 2136 update reached the primary, every authoritative server of the zone
// is asked directly (no recursion) until each serves our TXT value, and only
// then is the CA told to validate. A secondary that lags (no NOTIFY, a long
// refresh, a failed transfer) would otherwise make the CA's resolver see no
// TXT, and the authorization would become invalid for good (RFC 8555 §7.5.1).
//
// The servers: dns.providers[].nameservers when configured, else the zone's NS
// set as the primary answers it, each name's A/AAAA from the primary (in-zone
// glue) or the system resolver, at nameserver_port (53).
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

#include "certs/detail/service_impl.hpp"
#include "common/asio_net.hpp"

namespace fc::certs {

namespace {

constexpr std::chrono::milliseconds kAskTimeout{1000};
constexpr std::int64_t kPollEveryMs = 500;

dns::ResolverOptions direct(std::string server) {
  dns::ResolverOptions o;
  o.servers = {std::move(server)};
  o.timeout = kAskTimeout;
  o.attempts = 1;
  o.recursion_desired = false;  // ask the authoritative server itself
  return o;
}

std::string host_port(const std::string& ip, std::uint16_t port) {
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

std::string ip_text(const dns::Record& r) {
  if (const auto* a = std::get_if<dns::ARdata>(&r.rdata))
    return asio::ip::address_v4(a->addr).to_string();
  if (const auto* a = std::get_if<dns::AaaaRdata>(&r.rdata))
    return asio::ip::address_v6(a->addr).to_string();
  return "";
}

// The addresses of one NS host: what the primary answers (glue for in-zone
// names), else what the system resolver says.
awaitable<std::vector<std::string>> ns_addresses(asio::io_context& io, std::string primary,
                                                 dns::Name host) {
  std::vector<std::string> ips;
  for (auto type : {dns::RrType::kA, dns::RrType::kAaaa}) {
    auto r = co_await dns::resolve(direct(primary), host, type);
    if (!r) continue;
    for (const auto& rec : r.value().records)
      if (auto ip = ip_text(rec); !ip.empty()) ips.push_back(ip);
  }
  if (!ips.empty()) co_return ips;
  asio::ip::udp::resolver res(io);
  boost::system::error_code ec;
  std::string text = host.to_text();
  auto found = co_await res.async_resolve(text, "53", asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ips;
  for (const auto& e : found) ips.push_back(e.endpoint().address().to_string());
  co_return ips;
}

}  // namespace

awaitable<Result<std::vector<AuthServer>>> authoritative_servers(asio::io_context& io,
                                                                 Rfc2136Zone z) {
  std::vector<AuthServer> out;
  for (const auto& s : z.nameservers) out.push_back(AuthServer{s, s});
  if (!out.empty()) co_return out;
  auto zone = dns::Name::from_text(z.zone + ".");
  if (!zone) co_return zone.error();
  auto ns = co_await dns::resolve(direct(z.server), zone.value(), dns::RrType::kNs);
  if (!ns) co_return with_context(ns.error(), "NS of " + z.zone + " from the primary " + z.server);
  for (const auto& rec : ns.value().records) {
    const auto* n = std::get_if<dns::NsRdata>(&rec.rdata);
    if (n == nullptr) continue;
    std::string name = n->host.to_text();
    if (name.size() > 1) name.pop_back();
    auto ips = co_await ns_addresses(io, z.server, n->host);
    if (ips.empty())
      co_return make_error(Code::kUnavailable,
                           "DNS-01 propagation: no address for the NS " + name + " of " + z.zone);
    for (const auto& ip : ips) {
      const auto addr = host_port(ip, z.nameserver_port);
      out.push_back(AuthServer{name + " (" + addr + ")", addr});
    }
  }
  if (out.empty())
    co_return make_error(Code::kUnavailable, "DNS-01 propagation: the primary " + z.server +
                                                 " answers no NS set for " + z.zone);
  co_return out;
}

// "" when `addr` serves TXT `value` at `owner`, else what it answered.
awaitable<std::string> txt_missing_at(std::string addr, dns::Name owner, std::string value) {
  auto r = co_await dns::resolve(direct(addr), owner, dns::RrType::kTxt);
  if (!r) co_return "no answer: " + r.error().detail;
  for (const auto& rec : r.value().records) {
    const auto* t = std::get_if<dns::TxtRdata>(&rec.rdata);
    if (t == nullptr) continue;
    std::string joined;
    for (const auto& s : t->strings) joined += s;
    if (joined == value) co_return "";
  }
  if (r.value().rcode != dns::Rcode::kNoError)
    co_return "answered " + std::string(dns::rcode_name(r.value().rcode));
  co_return r.value().records.empty() ? "answered no TXT" : "answered TXT without our value";
}

awaitable<Status> Service::Impl::wait_propagated(const Rfc2136Zone& z, std::string owner,
                                                 std::string value) {
  if (z.propagation_timeout.count() == 0) co_return ok();  // propagation_timeout_ms: 0 = off
  auto name = dns::Name::from_text(owner + ".");
  if (!name) co_return name.error();
  auto servers = co_await authoritative_servers(io, z);
  if (!servers) co_return servers.error();
  std::vector<AuthServer> waiting = std::move(servers).value();
  std::vector<std::string> why(waiting.size());
  const auto start = clock.now_ms();
  const auto deadline = start + z.propagation_timeout.count();
  for (;;) {
    std::vector<AuthServer> still;
    std::vector<std::string> still_why;
    for (const auto& s : waiting) {
      auto miss = co_await txt_missing_at(s.addr, name.value(), value);
      if (miss.empty()) continue;
      still.push_back(s);
      still_why.push_back(std::move(miss));
    }
    waiting = std::move(still);
    why = std::move(still_why);
    if (waiting.empty()) break;
    if (clock.now_ms() >= deadline) {
      std::string list;
      for (std::size_t i = 0; i < waiting.size(); ++i)
        list += (i ? ", " : "") + waiting[i].label + ": " + why[i];
      co_return make_error(Code::kUnavailable,
                           "DNS-01 TXT " + owner + " not served by the authoritative server " +
                               list + " after " + std::to_string((clock.now_ms() - start) / 1000) +
                               " s (zone " + z.zone +
                               "); the CA was not asked to validate; check the zone transfer " +
                               "from the primary " + z.server);
    }
    spdlog::debug("certs: dns-01 waiting for propagation name={} lagging={}", owner,
                  waiting.front().label);
    asio::steady_timer t(io);
    t.expires_after(std::chrono::milliseconds(kPollEveryMs));
    co_await t.async_wait(use_awaitable);
  }
  spdlog::info("certs: dns-01 TXT {} served by every authoritative server of {} after {} ms", owner,
               z.zone, clock.now_ms() - start);
  co_return ok();
}

}  // namespace fc::certs
