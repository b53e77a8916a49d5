// After verification: pre-flight (routing, CAA, _acme-challenge), the
// certificate order, delivery in the assignment, re-checks (moved), and the
// periodic sweep.
#include <spdlog/spdlog.h>

#include "domains/detail/impl.hpp"
#include "domains/detail/store.hpp"
#include "domains/detail/sweep.hpp"

namespace fc::domains {

using std::chrono::seconds;

namespace {

std::vector<CaaRecord> caa_of(const Answer& a) {
  std::vector<CaaRecord> out;
  for (const auto& r : a.records) {
    if (auto* c = std::get_if<dns::CaaRdata>(&r.rdata)) out.push_back({c->flags, c->tag, c->value});
  }
  return out;
}

std::vector<std::string> texts(const Answer& a) {
  std::vector<std::string> out;
  for (const auto& r : a.records) {
    if (auto* t = std::get_if<dns::TxtRdata>(&r.rdata)) {
      std::string s;
      for (const auto& p : t->strings) s += p;
      out.push_back(s);
    }
    if (auto* c = std::get_if<dns::CnameRdata>(&r.rdata)) {
      auto s = c->target.to_text();
      if (!s.empty() && s.back() == '.') s.pop_back();
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace

// Whether an order may be placed (kPass; dns01 when the customer delegated
// _acme-challenge to us), must not be (kFail: a definitive answer), or could
// not be decided (kRetry: a lookup failed transiently). `routing_checked`:
// the caller has just seen the routing record point at us (verification, a
// re-check), so it is not asked again (2–4 queries fewer under the query cap).
awaitable<PreflightResult> Service::Impl::preflight(const Domain& d, bool routing_checked) {
  auto exp = expected(d);
  if (!exp) co_return PreflightResult{Outcome::kFail, "the workspace no longer exists"};
  if (!routing_checked) {
    auto obs = co_await observe(d);
    obs.txt = Lookup{"", {d.token}};  // ownership was proven once; routing must still hold
    auto ev = evaluate(exp.value(), obs);
    if (!ev.routing_ok)
      co_return PreflightResult{ev.routing_lookup_failed ? Outcome::kRetry : Outcome::kFail,
                                ev.last_error.value_or("routing does not point at us")};
  }
  // RFC 8659 §3: climb from the name towards the root; the first non-empty
  // CAA RRset is the relevant one. Top-level labels are not asked.
  std::string name = d.hostname;
  for (int hops = 0; hops < 127 && name.find('.') != std::string::npos; ++hops) {
    auto a = co_await lookup(name, dns::RrType::kCaa);
    if (auto r = caa_step(name, a.error, caa_of(a), o.caa_identities)) {
      if (r->outcome != Outcome::kPass) co_return *r;
      break;
    }
    name = name.substr(name.find('.') + 1);
  }
  std::string acme = "_acme-challenge." + d.hostname;
  auto cname = co_await lookup(acme, dns::RrType::kCname);
  Lookup cl{cname.error, texts(cname)};
  Lookup tl;
  if (cl.error.empty() && cl.values.empty()) {
    auto txt = co_await lookup(acme, dns::RrType::kTxt);
    tl = Lookup{txt.error, texts(txt)};
  }
  auto ac = evaluate_acme_challenge(d.hostname, delegate_name(d), cl, tl);
  if (ac.transient) co_return PreflightResult{Outcome::kRetry, ac.message};
  if (ac.conflict) co_return PreflightResult{Outcome::kFail, ac.message};
  co_return PreflightResult{Outcome::kPass, "", ac.delegated};
}

awaitable<seconds> Service::Impl::preflight_failed(Domain d, std::string why) {
  logger()->info("domain pre-flight failed id={} hostname={} reason=\"{}\"", d.id, d.hostname, why);
  co_await save_logged(d.id, "preflight", [&](Domain& x) {
    x.state = State::kFailed;
    x.last_error = why;
    x.attempts += 1;
    x.last_checked_at = now();
  });
  d.attempts += 1;
  co_return retry_delay(d);
}

// A transient pre-flight error (a resolver timed out or answered SERVFAIL):
// the domain keeps its state — no domain.failed — with `last_error` naming
// the lookup, and the pre-flight runs again after the backoff.
awaitable<seconds> Service::Impl::preflight_retry(Domain d, std::string why) {
  logger()->info(
      "domain pre-flight lookup failed, retrying id={} hostname={} state={} reason=\"{}\"", d.id,
      d.hostname, state_name(d.state), why);
  co_await save_logged(d.id, "preflight_retry", [&](Domain& x) {
    x.last_error = why;
    x.attempts += 1;
    x.last_checked_at = now();
  });
  d.attempts += 1;
  co_return retry_delay(d);
}

awaitable<seconds> Service::Impl::preflight_and_order(Domain d, bool routing_checked) {
  auto pf = co_await preflight(d, routing_checked);
  if (pf.outcome == Outcome::kRetry) co_return co_await preflight_retry(d, pf.reason);
  if (pf.outcome == Outcome::kFail) co_return co_await preflight_failed(d, pf.reason);
  const bool dns01 = pf.dns01;
  if (!certs.ensure) {
    co_await save_logged(d.id, "no_cert_service", [&](Domain& x) {
      x.state = State::kIssuing;
      x.last_error = "the certificate service is not available yet";
    });
    co_return retry_delay(d);
  }
  std::string delegate = dns01 ? delegate_name(d) : "";
  std::vector<std::string> names{d.hostname};  // named: GCC 12 mishandles init lists in co_await
  auto cert = co_await certs.ensure(std::move(names), d.workspace_id, delegate);
  if (!cert) {
    co_await save_logged(d.id, "order", [&](Domain& x) {
      x.state = State::kIssuing;
      x.last_error = "certificate order: " + cert.error().detail;
      x.attempts += 1;
    });
    d.attempts += 1;
    co_return retry_delay(d);
  }
  auto next = co_await ordered(d, cert.value(), dns01);
  co_return next;
}

// The order is placed (or the certificate exists): the domain is `issuing`
// until the agent runs the generation that carries the certificate.
awaitable<seconds> Service::Impl::ordered(Domain d, std::string cert, bool dns01) {
  logger()->info("domain certificate ordered id={} hostname={} cert={} challenge={}", d.id,
                 d.hostname, cert, dns01 ? "dns-01" : "http-01");
  // The same names give the same certificate: when it is the one this domain
  // had before it moved away, its renewal was stopped and must run again.
  if (d.certificate_id == cert) co_await resume_renewal(d);
  co_await save_logged(d.id, "ordered", [&](Domain& x) {
    x.state = State::kIssuing;
    x.certificate_id = cert;
    x.cert_generation.reset();  // a new delivery: active once the agent runs it
    x.challenge = dns01 ? "dns-01" : "http-01";
    x.last_error.reset();
    x.attempts = 0;
    x.last_checked_at = now();
  });
  co_return seconds(std::clamp<std::int64_t>(o.verify_base_s / 6, 1, 60));
}

awaitable<seconds> Service::Impl::follow_certificate(Domain d) {
  seconds poll(std::clamp<std::int64_t>(o.verify_base_s / 6, 1, 60));
  if (!certs.get) co_return poll;
  auto info = certs.get(*d.certificate_id);
  if (!info) co_return poll;
  const auto& c = info.value();
  if (c.status == "failed") {
    co_await save_logged(d.id, "cert_failed", [&](Domain& x) {
      x.state = State::kFailed;
      x.last_error = "certificate " + c.id + ": " + c.last_error.value_or("the order failed");
      x.attempts += 1;
    });
    d.attempts += 1;
    co_return retry_delay(d);
  }
  // A certificate still pending after a retryable error (the CA unreachable
  // or slow, DNS-01 not propagated yet): the domain stays `issuing` and shows
  // why in last_error until the order goes through.
  std::optional<std::string> why;
  if (c.status == "pending" && c.last_error) why = "certificate " + c.id + ": " + *c.last_error;
  if (why != d.last_error && (why || c.status == "valid" || c.status == "renewing"))
    co_await save_logged(d.id, "cert_retrying", [&](Domain& x) { x.last_error = why; });
  if ((c.status == "valid" || c.status == "renewing") && !d.cert_generation)
    co_await deliver(d.workspace_id, c.id);
  co_return poll;
}

// Publishes the workspace's assignment again so that it carries the
// certificate, and remembers the generation the agent must report running.
awaitable<void> Service::Impl::deliver(std::string workspace_id, std::string cert_id) {
  co_await refresh(workspace_id);
  auto w = sched.get_workspace(workspace_id);
  if (!w) co_return;
  auto gen = w.value().generation;
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(mine, store::with_certificate(c, cert_id));
    for (auto& d : mine) {
      if (d.workspace_id != workspace_id) continue;
      d.cert_generation = gen;
      d.updated_at = now();
      BOOST_OUTCOME_TRY(store::update(c, d));
    }
    return ok();
  });
  if (!st)
    logger()->warn("recording delivery failed cert={} workspace={} reason={}", cert_id,
                   workspace_id, st.error().detail);
}

namespace {

// A re-check's effect on the row: back to active when routing points at us
// again, else moved (since the first failed re-check), unrouted once withdrawn.
void apply_recheck(Domain& x, const Evaluation& ev, std::int64_t now_ms, bool withdraw) {
  x.routing_ok = ev.routing_ok;
  x.routing_type = ev.routing_type;
  x.routing_found = ev.routing_found;
  x.last_checked_at = now_ms;
  if (ev.routing_ok) {
    if (x.state == State::kMoved) x.state = x.cert_generation ? State::kActive : State::kIssuing;
    x.moved_at.reset();
    x.routed = true;
    x.last_error.reset();
    return;
  }
  if (x.state != State::kMoved) x.moved_at = now_ms;
  x.state = State::kMoved;
  x.last_error = ev.last_error;
  if (withdraw) x.routed = false;
}

}  // namespace

awaitable<seconds> Service::Impl::recheck(Domain d) {
  seconds interval(o.recheck_interval_s);
  auto exp = expected(d);
  if (!exp) co_return interval;
  auto obs = co_await observe(d);
  obs.txt = Lookup{"", {d.token}};
  auto ev = evaluate(exp.value(), obs);
  auto now_ms = now();
  if (!ev.routing_ok && ev.routing_lookup_failed) {
    // A resolver failure is not evidence of a move: the state stays, the
    // failure shows in last_error, and the re-check runs again soon.
    co_await save_logged(d.id, "recheck_lookup", [&](Domain& x) {
      x.last_error = ev.last_error;
      x.last_checked_at = now_ms;
    });
    co_return retry_delay(d);
  }
  if (ev.routing_ok && !d.routed) co_return co_await come_back(d, ev);
  bool withdraw =
      !ev.routing_ok && d.moved_at && now_ms >= *d.moved_at + o.moved_grace_s * 1000 && d.routed;
  co_await save_logged(d.id, "recheck", [&](Domain& x) { apply_recheck(x, ev, now_ms, withdraw); });
  if (withdraw) co_await refresh(d.workspace_id);
  if (withdraw && d.certificate_id && certs.stop_renewing) {
    auto stopped = co_await certs.stop_renewing(*d.certificate_id);
    if (!stopped)
      logger()->warn("stopping renewal failed id={} cert={} reason={}", d.id, *d.certificate_id,
                     stopped.error().detail);
  }
  if (withdraw) logger()->info("domain moved, route withdrawn id={} hostname={}", d.id, d.hostname);
  if (ev.routing_ok) co_return interval;
  auto grace_end = d.moved_at.value_or(now_ms) + o.moved_grace_s * 1000;
  if (d.routed && !withdraw && grace_end > now_ms)
    co_return std::min(interval, seconds((grace_end - now_ms) / 1000 + 1));
  co_return interval;
}

// A moved domain whose route was withdrawn points at us again: the route goes
// back into the assignment, renewal is switched on again (a new order when the
// certificate expired meanwhile) after a fresh pre-flight, and the domain is
// `issuing` until the agent runs the generation that carries the certificate
// (follow_certificate delivers it, tick makes it `active`).
awaitable<seconds> Service::Impl::come_back(Domain d, Evaluation ev) {
  auto pf = co_await preflight(d, true);
  auto now_ms = now();
  // Stays moved with its route withdrawn until the pre-flight can decide;
  // the next re-check (after the backoff) comes back here.
  if (pf.outcome == Outcome::kRetry) co_return co_await preflight_retry(d, pf.reason);
  const bool failed = pf.outcome == Outcome::kFail;
  co_await save_logged(d.id, "come_back", [&](Domain& x) {
    apply_recheck(x, ev, now_ms, false);
    x.cert_generation.reset();
    x.state = state_after_preflight(x.state, pf.outcome);
    x.last_error = failed ? std::optional<std::string>(pf.reason) : std::nullopt;
    x.attempts = failed ? x.attempts + 1 : 0;
  });
  co_await refresh(d.workspace_id);
  logger()->info("domain points at us again, route restored id={} hostname={} preflight={}", d.id,
                 d.hostname, failed ? pf.reason : "ok");
  if (failed) {
    d.attempts += 1;
    co_return retry_delay(d);  // failed: preflight_and_order resumes the renewal once it passes
  }
  co_await resume_renewal(d);
  co_return seconds(std::clamp<std::int64_t>(o.verify_base_s / 6, 1, 60));
}

// Renewal back on for the domain's certificate; a certificate that is gone
// (removed meanwhile) is forgotten so that the next step orders a new one.
awaitable<void> Service::Impl::resume_renewal(Domain d) {
  if (!d.certificate_id || !certs.resume_renewing) co_return;
  auto st = co_await certs.resume_renewing(*d.certificate_id);
  if (st) co_return;
  logger()->warn("resuming renewal failed id={} cert={} reason={}", d.id, *d.certificate_id,
                 st.error().detail);
  if (st.error().code != Code::kNotFound) co_return;
  co_await save_logged(d.id, "cert_gone", [](Domain& x) { x.certificate_id.reset(); });
}

// Issuing domains whose certificate's generation the agent runs are active.
awaitable<void> Service::Impl::activate_running() {
  auto running = sweep::issuing_running(db.read());
  if (!running) {
    logger()->warn("listing issuing domains failed reason={}", running.error().detail);
    co_return;
  }
  for (const auto& d : running.value()) {
    co_await save_logged(d.id, "active", [&](Domain& x) {
      if (x.state != State::kIssuing || !x.cert_generation) return;
      x.state = State::kActive;
      x.last_error.reset();  // e.g. a retried order's error (follow_certificate)
    });
    logger()->info("domain active id={} hostname={}", d.id, d.hostname);
  }
}

// A claim whose workspace is gone: deleted (reserved when it was verified),
// its certificate removed.
awaitable<void> Service::Impl::release(Domain d) {
  auto at = now();
  co_await save_logged(d.id, "release", [&](Domain& x) {
    x.state = State::kDeleted;
    x.deleted_at = at;
    if (x.verified_at) x.reserved_until = at + o.reservation_s * 1000;
    x.routed = false;
  });
  if (d.certificate_id && certs.remove) {
    auto removed = co_await certs.remove(*d.certificate_id);
    if (!removed)
      logger()->warn("removing certificate failed id={} cert={} reason={}", d.id, *d.certificate_id,
                     removed.error().detail);
  }
  logger()->info("domain released with its workspace id={} hostname={} workspace={}", d.id,
                 d.hostname, d.workspace_id);
}

awaitable<void> Service::tick() {
  auto& i = *impl_;
  co_await i.activate_running();
  if (i.now() - i.last_sweep_ms < 5000) co_return;
  i.last_sweep_ms = i.now();
  // Every live claim once after start (a workspace removed while the daemon
  // was down); from then on only the workspaces being deleted or removed
  // since: reading 100k claims every 5 s held the I/O thread ~1 s
  // (BENCHMARKS.md "Scale").
  std::vector<std::string> removed;
  removed.swap(*i.removed_workspaces);
  Result<std::vector<Domain>> gone = std::vector<Domain>{};
  if (i.swept_all) {
    gone = sweep::released(i.db.read(), removed);
  } else {
    // The first sweep reads every live claim, in slices of 500 workspaces
    // with the I/O thread free between them (an API request waits for one
    // slice, a few ms, not for the whole read).
    std::string after;
    for (;;) {
      std::string last;
      auto slice = sweep::orphaned_slice(i.db.read(), after, 500, &last);
      if (!slice) {
        gone = Result<std::vector<Domain>>(slice.error());
        break;
      }
      for (auto& d : slice.value()) gone.value().push_back(std::move(d));
      if (last.empty()) break;
      after = std::move(last);
      co_await asio::post(i.io, use_awaitable);
    }
  }
  if (gone) i.swept_all = true;
  if (!gone) {
    logger()->warn("listing orphaned domains failed reason={}", gone.error().detail);
    // Looked at again on the next sweep.
    i.removed_workspaces->insert(i.removed_workspaces->end(), removed.begin(), removed.end());
  }
  if (gone) {
    for (const auto& d : gone.value()) co_await i.release(d);
  }
  auto now = i.now();
  auto purged =
      co_await i.db.write([&](storage::Conn& c) { return store::purge_reservations(c, now); });
  if (!purged) logger()->warn("purging reservations failed reason={}", purged.error().detail);
}

void Service::certificate_issued(const std::string& cert_id, const std::string& workspace_id) {
  if (workspace_id.empty()) return;
  auto* i = impl_.get();
  asio::co_spawn(i->io, i->deliver(workspace_id, cert_id), [cert_id](std::exception_ptr e) {
    if (e) logger()->error("delivering certificate failed cert={} reason=exception", cert_id);
  });
}

}  // namespace fc::domains
