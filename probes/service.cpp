// The live checks' loop (docs/probes.md "Pacing"): a round reads every
// hostname to probe, shuffles them (so no hostname is always probed last,
// and rounds of many regions interleave), and starts one probe per token of
// probes.rate_per_s (burst one) while its region has fewer than
// probes.per_region_concurrency in flight. The next round starts
// probes.interval_s ± 10 % after the last one started, or at once when a
// round took longer than that.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "certs/service.hpp"
#include "probes/detail/impl.hpp"
#include "probes/detail/store.hpp"

namespace fc::probes {

Service::Service(asio::io_context& io, storage::Database& db, const Clock& clock, Options o)
    : impl_(std::make_unique<Impl>(io, db, clock, std::move(o))) {}

Service::~Service() = default;

Status Service::init() {
  auto& i = *impl_;
  BOOST_OUTCOME_TRY(root, certs::Service::internal_root_pem(i.db.read()));
  detail::CheckOptions co;
  co.resolvers = i.o.resolvers;
  co.port = i.o.https_port;
  co.path = i.o.path;
  co.timeout = std::chrono::milliseconds(i.o.timeout_ms);
  co.ca_bundle = i.o.ca_bundle;
  co.internal_root_pem = root;
  BOOST_OUTCOME_TRY(checker, detail::Checker::create(i.io, std::move(co)));
  i.checker = std::move(checker);
  return ok();
}

void Service::start() {
  auto& i = *impl_;
  if (!i.o.enabled || i.running || !i.checker) return;
  i.running = true;
  probes_logger()->info("live checks started interval_s={} rate_per_s={} per_region={} port={}",
                        i.o.interval_s, i.o.rate_per_s, i.o.per_region_concurrency, i.o.https_port);
  asio::co_spawn(i.io, i.loop(), [](std::exception_ptr e) {
    if (e) probes_logger()->critical("live checks loop stopped reason=exception");
  });
}

void Service::stop() {
  impl_->stopped = true;
  impl_->sleeper.cancel();
  impl_->slot_freed.cancel();
}

void Service::set_pacing(Pacing p) {
  auto& i = *impl_;
  i.o.interval_s = p.interval_s;
  i.o.rate_per_s = p.rate_per_s;
  i.o.per_region_concurrency = p.per_region_concurrency;
  probes_logger()->info("live checks pacing interval_s={} rate_per_s={} per_region={}",
                        p.interval_s, p.rate_per_s, p.per_region_concurrency);
  i.sleeper.cancel();  // the waits below recompute their end from the new values
  i.slot_freed.cancel();
}

awaitable<void> Service::Impl::loop() {
  while (!stopped) {
    const auto started = std::chrono::steady_clock::now();
    co_await round();
    ++rounds;
    std::uniform_real_distribution<double> jitter_of(0.9, 1.1);
    const double jitter = jitter_of(rng);
    // The end of the wait follows probes.interval_s when SIGHUP changes it.
    for (;;) {
      const auto period = std::chrono::milliseconds(
          static_cast<std::int64_t>(static_cast<double>(o.interval_s) * 1000.0 * jitter));
      if (stopped || std::chrono::steady_clock::now() >= started + period) break;
      sleeper.expires_at(started + period);
      boost::system::error_code ec;
      co_await sleeper.async_wait(asio::redirect_error(use_awaitable, ec));
    }
  }
}

awaitable<void> Service::Impl::round() {
  auto ts = targets();
  if (!ts) {
    probes_logger()->error("live checks round skipped reason={}", ts.error().detail);
    co_return;
  }
  auto& list = ts.value();
  last_targets = list.size();
  std::vector<std::string> names;
  for (const auto& t : list) names.push_back(t.hostname);
  auto st = co_await db.write([&](storage::Conn& c) { return store::forget_except(c, names); });
  if (!st) probes_logger()->warn("stale probe results kept reason={}", st.error().detail);
  std::shuffle(list.begin(), list.end(), rng);
  for (auto& t : list) {
    if (stopped) co_return;
    co_await pace();
    co_await wait_for_slot(t.region);
    if (stopped) co_return;
    ++in_flight[t.region];
    asio::co_spawn(io, run_one(std::move(t)), asio::detached);
  }
}

// probes.rate_per_s, burst one: each probe waits for its token (the rate is
// read again after every wait: set_pacing cancels the wait).
awaitable<void> Service::Impl::pace() {
  for (;;) {
    const auto rate = BucketRate::per_second(std::max<std::int64_t>(1, o.rate_per_s), 1);
    const auto take = bucket_take(rate, bucket, clock.now_ms());
    bucket = take.state;
    if (take.allowed || stopped) co_return;
    sleeper.expires_after(std::chrono::milliseconds(take.wait_ms));
    boost::system::error_code ec;
    co_await sleeper.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

// Waits until the region has a free slot; every probe that ends wakes the
// waiter (cancelling slot_freed), which checks again.
awaitable<void> Service::Impl::wait_for_slot(const std::string& region) {
  while (!stopped && in_flight[region] >= o.per_region_concurrency) {
    slot_freed.expires_after(std::chrono::seconds(5));
    boost::system::error_code ec;
    co_await slot_freed.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

// Runs detached: catches everything, always frees its slot.
awaitable<void> Service::Impl::run_one(detail::Target t) {
  const std::string region = t.region;
  try {
    auto r = co_await probe(std::move(t));
    if (!r) probes_logger()->warn("probe result not stored reason={}", r.error().detail);
  } catch (const std::exception& e) {
    probes_logger()->error("probe failed reason=exception what={}", e.what());
  }
  --in_flight[region];
  slot_freed.cancel();
}

// One probe of a hostname at a time (the loop's and POST .../probe's): a
// second one waits for the first, then reads the result the first stored, so
// the stored result is always the newest observation. Without this a loop
// probe that saw the previous leaf could land after a newer probe and bring
// that leaf back as "ours at the last success".
awaitable<void> Service::Impl::claim_host(const std::string& hostname) {
  asio::steady_timer wait(io);
  while (busy_hosts.contains(hostname)) {
    wait.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  busy_hosts.insert(hostname);
}

awaitable<Result<LiveResult>> Service::Impl::probe(detail::Target t) {
  co_await claim_host(t.hostname);
  struct Release {
    std::set<std::string>& busy;
    std::string host;
    ~Release() { busy.erase(host); }
  } release{busy_hosts, t.hostname};
  BOOST_OUTCOME_CO_TRY(prev, store::load(db.read(), t.hostname));
  if (prev && !prev->fingerprint.empty()) t.accepted.push_back(prev->fingerprint);
  const Outcome out = co_await checker->check(t);
  ++results[{out.ok ? "pass" : "fail", step_name(out.step)}];
  LiveResult r = decide(prev, out, clock.now_ms());
  r.hostname = t.hostname;
  r.workspace_id = t.workspace_id;
  auto st = co_await db.write([&](storage::Conn& c) { return store::save(c, r); });
  if (!st) co_return st.error();
  if (!prev || prev->status != r.status) {
    probes_logger()->info("live status changed hostname={} status={} step={} detail=\"{}\"",
                          r.hostname, status_name(r.status), step_name(r.step), r.detail);
  }
  co_return r;
}

awaitable<Result<LiveResult>> Service::probe_now(std::string hostname, std::string workspace_id) {
  auto& i = *impl_;
  if (!i.checker) co_return make_error(Code::kUnavailable, "live checks are not initialised");
  for (auto& ch : hostname) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  detail::Target t;
  t.hostname = hostname;
  t.workspace_id = std::move(workspace_id);
  t.require_ours = !hostname.ends_with("." + i.o.zone);
  auto fps = i.issued_fingerprints(i.db.read());
  if (auto it = fps.find(hostname); it != fps.end()) {
    t.accepted = it->second;
    t.require_ours = true;
  }
  co_return co_await i.probe(std::move(t));
}

}  // namespace fc::probes
