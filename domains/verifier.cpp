// The verifier (docs/domains.md): a loop on the I/O thread picks due domains
// (domains.next_check_at) and runs one step of the state machine for each,
// which says when to check again. Lookups go through the configured resolvers,
// at most `max_concurrent_checks` domains at once and `queries_per_second`
// per resolver (lookup.cpp).
#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include "dns/server.hpp"
#include "domains/detail/impl.hpp"
#include "domains/detail/store.hpp"

namespace fc::domains {

using std::chrono::seconds;

namespace {

std::string text_of(const dns::Record& r) {
  if (auto* t = std::get_if<dns::TxtRdata>(&r.rdata)) {
    std::string s;
    for (const auto& part : t->strings) s += part;  // RFC 7208 §3.3: strings concatenate
    return s;
  }
  if (auto* c = std::get_if<dns::CnameRdata>(&r.rdata)) {
    auto s = c->target.to_text();
    if (!s.empty() && s.back() == '.') s.pop_back();
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (auto* a = std::get_if<dns::ARdata>(&r.rdata))
    ::inet_ntop(AF_INET, a->addr.data(), buf, sizeof buf);
  if (auto* a = std::get_if<dns::AaaaRdata>(&r.rdata))
    ::inet_ntop(AF_INET6, a->addr.data(), buf, sizeof buf);
  return buf;
}

Lookup to_lookup(const Answer& a) {
  Lookup l{a.error, {}};
  for (const auto& r : a.records) l.values.push_back(text_of(r));
  return l;
}

// Canonical text of an address so that "2001:DB8::1" equals "2001:db8::1".
std::string canonical_ip(const std::string& s) {
  unsigned char b[16];
  char buf[INET6_ADDRSTRLEN] = {};
  if (::inet_pton(AF_INET, s.c_str(), b) == 1) return ::inet_ntop(AF_INET, b, buf, sizeof buf);
  if (::inet_pton(AF_INET6, s.c_str(), b) == 1) return ::inet_ntop(AF_INET6, b, buf, sizeof buf);
  return s;
}

}  // namespace

Result<Expected> Service::Impl::expected(const Domain& d) {
  BOOST_OUTCOME_TRY(w, sched.get_workspace(d.workspace_id));
  Expected e{d.hostname, d.token, sched.hostname_of(w), {}};
  auto region = sched.get_region(w.dns_region.value_or(w.region));
  if (region) {
    for (const auto& a : region.value().ingress.ipv4) e.addresses.push_back(canonical_ip(a));
    for (const auto& a : region.value().ingress.ipv6) e.addresses.push_back(canonical_ip(a));
  }
  return e;
}

awaitable<Observed> Service::Impl::observe(const Domain& d) {
  Observed o;
  auto txt = co_await lookup(txt_name(d.hostname), dns::RrType::kTxt);
  o.txt = to_lookup(txt);
  auto cname = co_await lookup(d.hostname, dns::RrType::kCname);
  o.cname = to_lookup(cname);
  if (!o.cname.values.empty()) co_return o;
  auto a = co_await lookup(d.hostname, dns::RrType::kA);
  auto aaaa = co_await lookup(d.hostname, dns::RrType::kAaaa);
  o.addrs = to_lookup(a);
  if (o.addrs.error.empty()) o.addrs.error = aaaa.error;
  for (const auto& v : to_lookup(aaaa).values) o.addrs.values.push_back(v);
  for (auto& v : o.addrs.values) v = canonical_ip(v);
  co_return o;
}

std::chrono::seconds Service::Impl::retry_delay(const Domain& d) const {
  return verify_backoff(d.attempts, seconds(o.verify_base_s));
}

// The verifier loop: start due checks (the longest-waiting first) while there
// is room, then sleep until the next one is due (at most a second) or until a
// claim, a check request or a finished check wakes it. One indexed query per
// round; no per-domain job rows (migration 0009).
awaitable<void> Service::Impl::check_loop() {
  while (!stopping) {
    auto wait_ms = start_due_checks();
    wake.expires_after(std::chrono::milliseconds(wait_ms));
    boost::system::error_code ec;
    co_await wake.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

// Starts what is due and returns how long the loop may sleep. Domains in
// flight stay due until they reschedule, so they are skipped, not waited for.
std::int64_t Service::Impl::start_due_checks() {
  int room = o.max_concurrent_checks - static_cast<int>(in_flight.size());
  if (room <= 0) return 1000;  // a finishing check wakes the loop
  auto rows = store::earliest(db.read(), room + static_cast<int>(in_flight.size()));
  if (!rows) {
    logger()->warn("reading due domains failed reason={}", rows.error().detail);
    return 1000;
  }
  const auto t = now();
  for (const auto& [id, at] : rows.value()) {
    if (in_flight.count(id) > 0) continue;
    if (at > t) {
      start_early_checks(room);
      return std::min<std::int64_t>(at - t, 1000);
    }
    if (room-- <= 0) return 1000;
    start_check(id, false);
  }
  start_early_checks(room);
  return 1000;
}

void Service::Impl::start_check(const std::string& id, bool early) {
  in_flight.insert(id);
  if (early) early_ids.insert(id);
  asio::co_spawn(io, run_check(id), [domain = id](std::exception_ptr e) {
    if (e) logger()->error("domain check failed id={} reason=exception", domain);
  });
}

// Nothing else is due and slots are free: pending domains due within
// verify_base_s and not checked in the last quarter of it are checked now,
// in the spare capacity under the query cap, so records that appear after a
// check are found within about verify_base_s / 4 plus the queue, not at the
// backoff time. An early check that finds nothing neither counts as an
// attempt nor moves next_check_at (verify(), run_check()).
void Service::Impl::start_early_checks(int room) {
  if (room <= 0) return;
  const auto t = now();
  const std::int64_t window = o.verify_base_s * 1000;
  auto rows = store::pending_due_by(db.read(), t + window, t - window / 4,
                                    room + static_cast<int>(in_flight.size()));
  if (!rows) return;
  for (const auto& [id, at] : rows.value()) {
    if (in_flight.count(id) > 0) continue;
    if (room-- <= 0) return;
    ++lookup_stats.early_checks;
    start_check(id, true);
  }
}

// One check, then the domain's next check time; then the slot is freed and
// the loop woken. (Not in a destructor: a frame destroyed with the io_context
// at shutdown must not touch the service.)
awaitable<void> Service::Impl::run_check(std::string id) {
  std::chrono::milliseconds next{o.verify_base_s * 1000};
  try {
    next = co_await check_once(id);
  } catch (const std::exception& e) {
    logger()->error("domain check failed id={} reason=exception what=\"{}\"", id, e.what());
  }
  auto at = now() + next.count();
  // An early check that found nothing keeps the schedule it had.
  const bool keep = keep_schedule.erase(id) > 0;
  early_ids.erase(id);
  if (asked_again.count(id) > 0) at = now();  // POST …/check while this check ran
  if (!keep || asked_again.count(id) > 0) {
    auto st = co_await db.write([&](storage::Conn& c) { return store::check_at(c, id, at); });
    if (!st) logger()->warn("scheduling next check failed id={} reason={}", id, st.error().detail);
  }
  in_flight.erase(id);
  asked_again.erase(id);
  poke();
}

awaitable<std::chrono::milliseconds> Service::Impl::check_once(std::string id) {
  auto found = store::find_by_id(db.read(), id);
  if (!found) co_return seconds(o.verify_base_s);
  if (!found.value() || found.value()->deleted_at)
    co_return seconds(o.recheck_interval_s);  // never due again
  auto next = co_await step(*found.value());
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(next);
}

awaitable<seconds> Service::Impl::step(Domain d) {
  switch (d.state) {
    case State::kPendingVerification: co_return co_await verify(d);
    case State::kFailed:
      if (!d.verified_at) co_return co_await verify(d);
      co_return co_await preflight_and_order(d);
    case State::kIssuing:
      if (!d.certificate_id) co_return co_await preflight_and_order(d);
      co_return co_await follow_certificate(d);
    case State::kActive:
    case State::kMoved: co_return co_await recheck(d);
    case State::kDeleted: co_return seconds(o.recheck_interval_s);
  }
  co_return seconds(o.recheck_interval_s);
}

awaitable<seconds> Service::Impl::verify(Domain d) {
  auto exp = expected(d);
  if (!exp)
    co_return retry_delay(d);  // workspace gone: the sweep turns the claim into a reservation
  auto obs = co_await observe(d);
  auto ev = evaluate(exp.value(), obs);
  bool verified = ev.ownership_ok && ev.routing_ok;
  const bool early = early_ids.count(d.id) > 0;  // start_early_checks
  auto saved = co_await save(d.id, [&](Domain& x) {
    x.routing_type = ev.routing_type;
    x.routing_ok = ev.routing_ok;
    x.routing_found = ev.routing_found;
    x.last_error = ev.last_error;
    x.last_checked_at = now();
    if (!verified) {
      if (!early) x.attempts += 1;
      return;
    }
    x.verified_at = now();
    x.state = State::kIssuing;
    x.routed = true;
    x.attempts = 0;
  });
  if (!saved && saved.error().code == Code::kConflict) {
    // domains_verified: another workspace verified this name first.
    co_await save_logged(d.id, "verify_conflict", [&](Domain& x) {
      x.last_error = d.hostname + " is already verified by another workspace";
      x.attempts += 1;
    });
    co_return retry_delay(d);
  }
  if (!saved || !saved.value()) co_return retry_delay(d);
  if (!verified && early) keep_schedule.insert(d.id);
  if (!verified) {
    d.attempts += 1;
    co_return retry_delay(d);
  }
  logger()->info("domain verified id={} hostname={} workspace={}", d.id, d.hostname,
                 d.workspace_id);
  co_await refresh(d.workspace_id);
  auto fresh = store::find_by_id(db.read(), d.id);
  if (!fresh || !fresh.value()) co_return retry_delay(d);
  co_return co_await preflight_and_order(*fresh.value(), true);  // routing was just seen ok
}

}  // namespace fc::domains
