#include "app/dns_publisher.hpp"

#include <spdlog/spdlog.h>

#include "scheduler/service.hpp"

namespace fc::app {

namespace {

dns::ServerOptions server_options(const config::Config& cfg) {
  dns::ServerOptions o;
  o.listen = cfg.dns_listen.str();
  o.axfr_allow = cfg.dns_axfr_allow;
  for (const auto& k : cfg.dns_axfr_tsig) {
    auto key = dns::TsigKey::from_base64(k.name, k.algorithm, k.secret);
    if (key) o.axfr_tsig.push_back(key.value());
    else spdlog::error("dns.axfr_tsig {}: {}", k.name, key.error().detail);
  }
  for (const auto& s : cfg.dns_secondaries) o.secondaries.push_back(s.str());
  o.rrl_responses_per_second = static_cast<std::uint32_t>(cfg.dns_rrl_rps);
  return o;
}

Result<std::uint32_t> next_serial(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare(
      "INSERT INTO settings(key, value) VALUES('dns.serial', '1') ON CONFLICT(key) DO UPDATE SET"
      " value = CAST((CAST(value AS INTEGER) % 4294967295) + 1 AS TEXT) RETURNING CAST(value AS INTEGER)"));
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return make_error(Code::kInternal, "no serial");
  auto v = static_cast<std::uint32_t>(s.col_int(0));
  BOOST_OUTCOME_TRY(s.run());
  return v;
}

void add_address_records(dns::ZoneSpec& z, const std::string& owner, const scheduler::Ingress& in,
                         std::uint32_t ttl) {
  if (in.hostname) {
    auto rd = dns::rdata_from_text(dns::RrType::kCname, *in.hostname + ".");
    if (rd) z.records.push_back({owner, dns::RrType::kCname, ttl, rd.value()});
    return;
  }
  for (const auto& a : in.ipv4) {
    auto rd = dns::rdata_from_text(dns::RrType::kA, a);
    if (rd) z.records.push_back({owner, dns::RrType::kA, ttl, rd.value()});
  }
  for (const auto& a : in.ipv6) {
    auto rd = dns::rdata_from_text(dns::RrType::kAaaa, a);
    if (rd) z.records.push_back({owner, dns::RrType::kAaaa, ttl, rd.value()});
  }
}

}  // namespace

DnsPublisher::DnsPublisher(asio::io_context& io, const config::Config& cfg, storage::Database& db,
                           const Clock& clock)
    : io_(io), cfg_(cfg), db_(db), clock_(clock), server_(io, server_options(cfg), clock), timer_(io) {}

Result<std::shared_ptr<const dns::ZoneSnapshot>> DnsPublisher::build(std::uint32_t serial) {
  dns::ZoneSpec z;
  z.origin = cfg_.dns_zone + ".";
  z.mname = cfg_.dns_soa.mname + ".";
  z.rname = cfg_.dns_soa.rname + ".";
  z.serial = serial;
  z.refresh = cfg_.dns_soa.refresh;
  z.retry = cfg_.dns_soa.retry;
  z.expire = cfg_.dns_soa.expire;
  z.minimum = cfg_.dns_soa.minimum;
  for (const auto& ns : cfg_.dns_nameservers) z.nameservers.push_back({ns.name + ".", ns.ipv4, ns.ipv6});
  BOOST_OUTCOME_TRY(pub, scheduler::Service::published(db_.read()));
  for (const auto& p : pub) add_address_records(z, p.name + "." + cfg_.dns_zone + ".", p.ingress, cfg_.dns_ttl);
  return dns::ZoneSnapshot::build(z);
}

Status DnsPublisher::start() {
  auto st = db_.write_sync([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(s, next_serial(c));
    serial_ = s;
    return ok();
  });
  if (!st) return st;
  BOOST_OUTCOME_TRY(zone, build(serial_));
  server_.publish(zone);
  auto bound = server_.start();
  if (!bound) return make_error(bound.error().code, "dns.listen " + cfg_.dns_listen.str() + ": " + bound.error().detail);
  spdlog::info("dns serving zone={} serial={} listen={}", cfg_.dns_zone, serial_, cfg_.dns_listen.str());
  return ok();
}

void DnsPublisher::changed() {
  if (pending_ || stopped_) return;
  pending_ = true;
  asio::co_spawn(io_, rebuild(), asio::detached);
}

awaitable<void> DnsPublisher::rebuild() {
  // Coalesce a burst of commits into one rebuild.
  timer_.expires_after(std::chrono::milliseconds(20));
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  pending_ = false;
  if (stopped_) co_return;
  std::uint32_t serial = 0;
  auto st = co_await db_.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(s, next_serial(c));
    serial = s;
    return ok();
  });
  if (!st) {
    spdlog::error("dns: cannot advance the SOA serial: {}", st.error().detail);
    co_return;
  }
  auto zone = build(serial);
  if (!zone) {
    spdlog::error("dns: cannot build the zone: {}", zone.error().detail);
    co_return;
  }
  server_.publish(zone.value());
  serial_ = serial;
  spdlog::debug("dns zone published serial={} nodes={}", serial, zone.value()->node_count());
}

void DnsPublisher::stop() {
  stopped_ = true;
  timer_.cancel();
  server_.stop();
}

}  // namespace fc::app
