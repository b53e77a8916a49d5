// Publisher: the zone built from the scheduler's published names and the
// open DNS-01 challenges, rebuilt as a delta after each change (docs/dns.md).
#include "dns/publisher.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "dns/detail/publisher.hpp"
#include "dns/detail/store.hpp"
#include "scheduler/service.hpp"

namespace fc::dns {

namespace {

ServerOptions server_options(const config::Config& cfg) {
  ServerOptions o;
  o.listen = cfg.dns_listen.str();
  o.axfr_allow = cfg.dns_axfr_allow;
  for (const auto& k : cfg.dns_axfr_tsig) {
    auto key = TsigKey::from_base64(k.name, k.algorithm, k.secret);
    if (key)
      o.axfr_tsig.push_back(key.value());
    else
      spdlog::error("dns.axfr_tsig key={} reason={}", k.name, key.error().detail);
  }
  for (const auto& s : cfg.dns_secondaries) o.secondaries.push_back(s.str());
  o.rrl_responses_per_second = static_cast<std::uint32_t>(cfg.dns_rrl_rps);
  o.udp_workers = cfg.dns_udp_workers;
  o.answer_cache_slots = cfg.dns_answer_cache_slots;
  return o;
}

}  // namespace

Publisher::Impl::Impl(asio::io_context& io, const config::Config& cfg, storage::Database& db,
                      const Clock& clock)
    : io_(io),
      cfg_(cfg),
      db_(db),
      clock_(clock),
      server_(io, server_options(cfg), clock),
      timer_(io),
      expiry_(io),
      sweeper_(io),
      pass_done_(io, asio::steady_timer::time_point::max()) {
  auto p = parse_rfc2136_targets(cfg.dns_providers);
  if (p)
    providers_ = std::move(p).value();
  else
    spdlog::error("dns providers not loaded reason={}", p.error().detail);
}

Result<RecordMap> Publisher::Impl::read_desired(std::int64_t now_ms,
                                                std::optional<std::int64_t>* next_expiry) {
  BOOST_OUTCOME_TRY(pub, scheduler::Service::published(db_.read()));
  std::vector<PublishedName> names;
  names.reserve(pub.size());
  for (auto& p : pub)
    names.push_back(PublishedName{std::move(p.name), std::move(p.ingress.hostname),
                                  std::move(p.ingress.ipv4), std::move(p.ingress.ipv6)});
  BOOST_OUTCOME_TRY(ch, detail::read_challenges(db_.read(), now_ms, next_expiry));
  return desired_records(names, ch, cfg_.dns_zone, cfg_.dns_ttl);
}

ZoneSpec Publisher::Impl::zone_spec(std::uint32_t serial) const {
  ZoneSpec z;
  z.origin = cfg_.dns_zone + ".";
  z.mname = cfg_.dns_soa.mname + ".";
  z.rname = cfg_.dns_soa.rname + ".";
  z.serial = serial;
  z.refresh = cfg_.dns_soa.refresh;
  z.retry = cfg_.dns_soa.retry;
  z.expire = cfg_.dns_soa.expire;
  z.minimum = cfg_.dns_soa.minimum;
  z.ttl = cfg_.dns_ttl;
  for (const auto& ns : cfg_.dns_nameservers)
    z.nameservers.push_back({ns.name + ".", ns.ipv4, ns.ipv6});
  return z;
}

std::vector<RrKey> Publisher::Impl::changed_keys(const std::set<RrKey>& candidates,
                                                 const RecordMap& want) const {
  const auto zone = server_.zone();
  std::vector<RrKey> keys;
  for (const auto& k : candidates) {
    auto it = want.find(k);
    if (!zone_has(*zone, k, it == want.end() ? nullptr : &it->second)) keys.push_back(k);
  }
  return keys;
}

// At fleet size the start is this read and build (docs/BENCHMARKS.md
// "Scale"): the published names stream from the covering index into
// LabelSets, one RRset group per region's ingress, and the zone's shards are
// written from them in shard order; the challenges are the only records
// that go through a RecordMap. No copy of the records is kept beside the zone.
Result<Publisher::Impl::Fresh> Publisher::Impl::read_zone(std::int64_t now_ms,
                                                          std::optional<std::int64_t>* expiry) {
  Fresh f;
  struct RegionGroup {
    std::optional<std::uint32_t> group;
    std::optional<Error> error;  // reported once a workspace is published there
  };
  std::vector<RegionGroup> regions;
  std::optional<Error> bad;
  BOOST_OUTCOME_TRY(scheduler::Service::published_names(
      db_.read(),
      [&](const scheduler::Ingress& in) {
        auto sets = address_rrsets(in.hostname, in.ipv4, in.ipv6, cfg_.dns_ttl);
        RegionGroup g;
        if (sets)
          g.group = f.names.add_group(std::move(sets).value());
        else
          g.error = sets.error();
        regions.push_back(std::move(g));
      },
      [&](std::string_view name, std::size_t region) {
        const RegionGroup& g = regions[region];
        if (g.group)
          f.names.add(name, *g.group);
        else if (!bad)
          bad = g.error;
      }));
  if (bad) return *bad;
  BOOST_OUTCOME_TRY(ch, detail::read_challenges(db_.read(), now_ms, expiry));
  f.txt = desired_records({}, ch, cfg_.dns_zone, cfg_.dns_ttl);
  // The providers compare whole record sets: read them as a map.
  if (!providers_.empty()) {
    std::optional<std::int64_t> same_expiry;
    BOOST_OUTCOME_TRY(m, read_desired(now_ms, &same_expiry));
    f.for_providers = std::move(m);
  }
  return f;
}

Result<std::shared_ptr<const ZoneSnapshot>> Publisher::Impl::build(std::uint32_t serial,
                                                                   const Fresh& f) {
  ZoneSpec spec = zone_spec(serial);
  BOOST_OUTCOME_TRY(recs, zone_records(f.txt));
  spec.records = std::move(recs);
  return ZoneSnapshot::build(spec, f.names);
}

Status Publisher::Impl::start() {
  using Ms = std::chrono::duration<double, std::milli>;
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<std::int64_t> expiry;
  BOOST_OUTCOME_TRY(fresh, read_zone(clock_.now_ms(), &expiry));
  const auto t1 = std::chrono::steady_clock::now();
  auto st = db_.write_sync([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(s, detail::next_serial(c));
    serial_ = s;
    return reconcile_providers(c, fresh.for_providers);
  });
  if (!st) return st;
  const auto t2 = std::chrono::steady_clock::now();
  BOOST_OUTCOME_TRY(zone, build(serial_, fresh));
  const auto t3 = std::chrono::steady_clock::now();
  for (const auto& [k, v] : fresh.txt) track_txt(k, true);
  server_.publish(zone);
  auto bound = server_.start();
  if (!bound)
    return make_error(bound.error().code,
                      "dns.listen " + cfg_.dns_listen.str() + ": " + bound.error().detail);
  arm_expiry(expiry);
  if (!providers_.empty()) asio::co_spawn(io_, sweep(), asio::detached);
  // The start's cost at fleet size (docs/BENCHMARKS.md "Scale"): the read, the
  // provider reconcile and the zone build, each timed.
  spdlog::info(
      "dns serving zone={} serial={} names={} challenges={} nodes={} zone_mib={:.1f} "
      "read_ms={:.0f} reconcile_ms={:.0f} build_ms={:.0f} providers={} listen={}",
      cfg_.dns_zone, serial_, fresh.names.size(), fresh.txt.size(), zone->node_count(),
      static_cast<double>(zone->memory_bytes()) / (1 << 20), Ms(t1 - t0).count(),
      Ms(t2 - t1).count(), Ms(t3 - t2).count(), providers_.size(), cfg_.dns_listen.str());
  return ok();
}

void Publisher::Impl::changed() {
  full_pending_ = true;
  schedule();
}

void Publisher::Impl::names_changed(const std::vector<std::string>& names) {
  if (names_pending_.size() <= kMaxPartial) names_pending_.insert(names.begin(), names.end());
  schedule();
}

void Publisher::Impl::challenges_changed() {
  challenges_pending_ = true;
  schedule();
}

void Publisher::Impl::track_txt(const RrKey& k, bool present) {
  if (k.type != "TXT") return;
  if (present)
    txt_keys_.insert(k);
  else
    txt_keys_.erase(k);
}

void Publisher::Impl::schedule() {
  if (pending_ || stopped_) return;
  pending_ = true;
  if (running_) return;  // the running pass starts another one when it ends
  running_ = true;
  asio::co_spawn(io_, rebuild(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("dns rebuild failed reason={}", ex.what());
    }
  });
}

void Publisher::Impl::arm_expiry(std::optional<std::int64_t> at_ms) {
  expiry_.cancel();
  if (!at_ms || stopped_) return;
  auto wait = std::max<std::int64_t>(0, *at_ms - clock_.now_ms()) + 1;
  expiry_.expires_after(std::chrono::milliseconds(wait));
  expiry_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) challenges_changed();
  });
}

// One pass at a time, so each delta is computed against the set the server
// really has; changes arriving meanwhile start the next pass.
awaitable<void> Publisher::Impl::rebuild() {
  while (pending_ && !stopped_) {
    // Coalesce a burst of commits into one delta.
    timer_.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    pending_ = false;
    ++passes_started_;
    if (stopped_) break;
    const bool full = std::exchange(full_pending_, false) || names_pending_.size() > kMaxPartial;
    const auto names = std::exchange(names_pending_, {});
    challenges_pending_ = false;  // every pass reads the challenges
    if (full) {
      ++full_passes_;
      co_await publish_delta();
    } else {
      ++partial_passes_;
      co_await publish_partial(names);
    }
    ++passes_done_;
    pass_done_.cancel();
  }
  running_ = false;
}

awaitable<void> Publisher::Impl::settled(std::chrono::milliseconds max) {
  // Pending changes are taken by the next pass; without any, a pass that is
  // running may still be publishing one taken before the call.
  const std::uint64_t target = pending_ ? passes_started_ + 1 : passes_started_;
  const auto deadline = std::chrono::steady_clock::now() + max;
  while (passes_done_ < target && !stopped_ && std::chrono::steady_clock::now() < deadline) {
    // Whichever comes first: a pass ends or the deadline (both cancel the
    // never-expiring pass_done_ wait; every waiter then checks again).
    asio::steady_timer limit(io_, deadline);
    limit.async_wait([this](const boost::system::error_code& e) {
      if (!e) pass_done_.cancel();
    });
    boost::system::error_code ec;
    co_await pass_done_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

// The full pass (a region's ingress changed or went): the zone built again as
// at start and compared with the served one; published with the next serial
// only if it differs. The providers compare their table with the whole set.
awaitable<void> Publisher::Impl::publish_delta() {
  std::optional<std::int64_t> expiry;
  auto fresh = read_zone(clock_.now_ms(), &expiry);
  if (!fresh) {
    spdlog::error("dns cannot read the published records reason={}", fresh.error().detail);
    co_return;
  }
  arm_expiry(expiry);
  auto built = build(serial_, fresh.value());
  if (!built) {
    spdlog::error("dns cannot build the zone reason={}", built.error().detail);
    co_return;
  }
  txt_keys_.clear();
  for (const auto& [k, v] : fresh.value().txt) track_txt(k, true);
  if (built.value()->same_data(*server_.zone())) co_return;  // nothing DNS-visible: same serial
  std::uint32_t serial = 0;
  auto st = co_await db_.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(s, detail::next_serial(c));
    serial = s;
    return reconcile_providers(c, fresh.value().for_providers);
  });
  if (!st) {
    spdlog::error("dns cannot advance the SOA serial reason={}", st.error().detail);
    co_return;
  }
  auto zone = ZoneSnapshot::apply(*built.value(), serial, {});  // the SOA's serial
  if (!zone) {
    spdlog::error("dns cannot build the zone serial={} reason={}", serial, zone.error().detail);
    co_return;
  }
  server_.publish(zone.value());
  serial_ = serial;
  if (jobs_ != nullptr && !providers_.empty()) jobs_->poke();
  spdlog::debug("dns zone published serial={} nodes={} (full)", serial, zone.value()->node_count());
}

// The narrow pass: the published rows of `names` (one indexed query) and the
// open challenges (a small table), compared with the served zone for those owners'
// address records and for every challenge TXT, old or new. Cost: the names
// changed, not the fleet.
awaitable<void> Publisher::Impl::publish_partial(const std::set<std::string>& names) {
  std::optional<std::int64_t> expiry;
  const std::int64_t now_ms = clock_.now_ms();
  auto next = [&]() -> Result<RecordMap> {
    BOOST_OUTCOME_TRY(pub, scheduler::Service::published(
                               db_.read(), std::vector<std::string>(names.begin(), names.end())));
    std::vector<PublishedName> rows;
    rows.reserve(pub.size());
    for (auto& p : pub)
      rows.push_back(PublishedName{std::move(p.name), std::move(p.ingress.hostname),
                                   std::move(p.ingress.ipv4), std::move(p.ingress.ipv6)});
    BOOST_OUTCOME_TRY(ch, detail::read_challenges(db_.read(), now_ms, &expiry));
    return desired_records(rows, ch, cfg_.dns_zone, cfg_.dns_ttl);
  }();
  if (!next) {
    spdlog::error("dns cannot read the published records reason={}", next.error().detail);
    co_return;
  }
  arm_expiry(expiry);
  const RecordMap& want = next.value();
  std::set<RrKey> candidates = txt_keys_;
  for (const auto& [k, v] : want) candidates.insert(k);
  for (const auto& n : names) {
    std::string owner = n + "." + cfg_.dns_zone;
    std::transform(owner.begin(), owner.end(), owner.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* t : {"A", "AAAA", "CNAME"}) candidates.insert(RrKey{owner, t});
  }
  const std::vector<RrKey> keys = changed_keys(candidates, want);
  if (keys.empty()) co_return;  // nothing DNS-visible changed: same serial
  std::uint32_t serial = 0;
  auto st = co_await db_.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(s, detail::next_serial(c));
    serial = s;
    return record_provider_changes(c, want, keys);
  });
  if (!st) {
    spdlog::error("dns cannot advance the SOA serial reason={}", st.error().detail);
    co_return;
  }
  std::shared_ptr<const ZoneSnapshot> zone;
  std::string why;
  if (auto changes = zone_changes(want, keys); !changes) {
    why = changes.error().detail;
  } else if (auto z = ZoneSnapshot::apply(*server_.zone(), serial, changes.value()); !z) {
    why = z.error().detail;
  } else {
    zone = std::move(z).value();
  }
  if (!zone) {  // should not happen: the next pass reads everything and rebuilds if it must
    spdlog::warn("dns delta rejected, a full pass follows serial={} reason={}", serial, why);
    full_pending_ = true;
    pending_ = true;
    co_return;
  }
  server_.publish(zone);
  serial_ = serial;
  for (const auto& k : keys) track_txt(k, want.find(k) != want.end());
  if (jobs_ != nullptr && !providers_.empty()) jobs_->poke();
  spdlog::debug("dns zone published serial={} changed={} names={} (partial)", serial, keys.size(),
                names.size());
}

void Publisher::Impl::stop() {
  stopped_ = true;
  pass_done_.cancel();
  timer_.cancel();
  expiry_.cancel();
  sweeper_.cancel();
  server_.stop();
}

// --- Publisher: the public face of Impl --------------------------------------

Publisher::Publisher(asio::io_context& io, const config::Config& cfg, storage::Database& db,
                     const Clock& clock)
    : impl_(std::make_unique<Impl>(io, cfg, db, clock)) {}
Publisher::~Publisher() = default;

void Publisher::attach_jobs(storage::JobRunner& jobs) { impl_->attach_jobs(jobs); }
Status Publisher::start() { return impl_->start(); }
void Publisher::stop() { impl_->stop(); }
Server& Publisher::server() { return impl_->server_; }
void Publisher::changed() { impl_->changed(); }
void Publisher::names_changed(const std::vector<std::string>& workspace_names) {
  impl_->names_changed(workspace_names);
}
void Publisher::challenges_changed() { impl_->challenges_changed(); }
awaitable<void> Publisher::settled(std::chrono::milliseconds max) { return impl_->settled(max); }

awaitable<Status> Publisher::put_challenge(std::string name, std::string value,
                                           std::int64_t expires_at_ms) {
  const auto now = impl_->clock_.now_ms();
  auto st = co_await impl_->db_.write(
      [&](storage::Conn& c) { return detail::put_challenge(c, name, value, now, expires_at_ms); });
  co_return st;
}

awaitable<Status> Publisher::remove_challenge(std::string name, std::string value) {
  auto st = co_await impl_->db_.write(
      [&](storage::Conn& c) { return detail::remove_challenge(c, name, value); });
  co_return st;
}

}  // namespace fc::dns
