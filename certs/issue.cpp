// The certificate order job ("cert.order", key = certificate id): decides
// whether a certificate needs an order now (new, due for renewal, retry after
// backoff), checks the issuer's budgets, runs the order one persisted step at
// a time (OrderState stored before it is used, so a restart resumes the same
// order), stores the new version and schedules the next run.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "certs/detail/acme_wire.hpp"
#include "certs/detail/service_impl.hpp"
#include "events/events.hpp"

namespace fc::certs {

using detail::CertRow;
using detail::CertStatus;
using detail::ErrorClass::kRetryable;
using detail::ErrorClass::kTerminal;
using storage::JobOutcome;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kChallengeTtlMs = 24 * 3600 * 1000;
constexpr std::int64_t kRunBudgetMs = 45 * 1000;  // stepping per job run
constexpr std::int64_t kInJobWaitMs = 5000;       // longer waits go back to the queue
constexpr int kMaxStepsPerRun = 200;

JobOutcome wait_ms(std::int64_t ms) {
  return JobOutcome{false, "", std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)), false};
}

// HTTP-01 answers live in the database, so every instance serves them.
class DbHttp01 final : public Solver {
 public:
  DbHttp01(storage::Database& db, const Clock& clock, std::string cert_id,
           std::function<awaitable<void>()> dns_settled)
      : db_(db),
        clock_(clock),
        cert_id_(std::move(cert_id)),
        dns_settled_(std::move(dns_settled)) {}
  std::string type() const override { return "http-01"; }
  awaitable<Status> present(std::string, std::string token, std::string key_auth) override {
    // A name of our zone (a workspace that just started) must resolve before
    // the CA looks: wait for DNS changes already signalled (none: no wait).
    if (dns_settled_) co_await dns_settled_();
    const auto exp = clock_.now_ms() + kChallengeTtlMs;
    co_return co_await db_.write([&](storage::Conn& c) {
      return detail::put_http_token(c, token, key_auth, cert_id_, exp);
    });
  }
  awaitable<Status> cleanup(std::string, std::string token, std::string) override {
    co_return co_await db_.write(
        [&](storage::Conn& c) { return detail::delete_http_token(c, token); });
  }

 private:
  storage::Database& db_;
  const Clock& clock_;
  std::string cert_id_;
  std::function<awaitable<void>()> dns_settled_;
};

// DNS-01 through the embedded DNS server: rows in dns_challenges, published
// by the zone builder after dns_changed().
class DbDns01 final : public Solver {
 public:
  DbDns01(Service::Impl& s, std::string delegate) : s_(s), delegate_(std::move(delegate)) {}
  std::string type() const override { return "dns-01"; }
  awaitable<Status> present(std::string domain, std::string, std::string key_auth) override {
    const std::string name = owner(domain), value = dns01_txt_value(key_auth);
    if (const auto* z = s_.rfc2136_zone_for(name)) {
      auto st = co_await s_.rfc2136_txt(*z, name, value, true);
      if (!st) co_return st;
      co_return co_await s_.wait_propagated(*z, name, value);
    }
    if (s_.zone == nullptr) co_return make_error(Code::kUnavailable, "no embedded DNS for " + name);
    const auto expires = s_.clock.now_ms() + kChallengeTtlMs;
    auto st = co_await s_.zone->put_challenge(name, value, expires);
    if (!st) co_return st;
    co_return co_await published();
  }
  awaitable<Status> cleanup(std::string domain, std::string, std::string key_auth) override {
    const std::string name = owner(domain), value = dns01_txt_value(key_auth);
    if (const auto* z = s_.rfc2136_zone_for(name))
      co_return co_await s_.rfc2136_txt(*z, name, value, false);
    if (s_.zone == nullptr) co_return make_error(Code::kUnavailable, "no embedded DNS for " + name);
    auto st = co_await s_.zone->remove_challenge(name, value);
    if (s_.dns_changed) s_.dns_changed();
    co_return st;
  }

 private:
  std::string owner(const std::string& domain) const {
    if (!delegate_.empty()) return delegate_;
    std::string d = domain.rfind("*.", 0) == 0 ? domain.substr(2) : domain;
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return "_acme-challenge." + d;
  }
  // The zone is rebuilt asynchronously (coalesced, ~20 ms): wait until it
  // serves the record before the CA is told to look (fixed wait: fallback).
  awaitable<Status> published() {
    if (s_.dns_changed) s_.dns_changed();
    if (s_.dns_settled) {
      co_await s_.dns_settled();
      co_return ok();
    }
    asio::steady_timer t(s_.io);
    t.expires_after(300ms);
    co_await t.async_wait(use_awaitable);
    co_return ok();
  }
  Service::Impl& s_;
  std::string delegate_;
};

// What a certificate shows after a failed attempt: without a version, failed
// when the error is terminal (the CA refused the order, or we cannot use what
// it sent) and still pending when it is retryable (the CA unreachable or slow,
// a rate limit, DNS-01 not propagated yet): a transient error is not a
// failure (docs/certs.md "Failures and backoff"; a domain fails only on
// `failed`). With a version: expired once the last one did, else renewing.
CertStatus status_after_failure(const CertRow& row, std::int64_t now, detail::ErrorClass cls) {
  if (row.version == 0)
    return cls == detail::ErrorClass::kTerminal ? CertStatus::kFailed : CertStatus::kPending;
  if (row.not_after && *row.not_after <= now) return CertStatus::kExpired;
  return CertStatus::kRenewing;
}

// The CA could not resolve or reach the name while validating (ACME `dns` or
// `connection`, RFC 8555 §6.7): most often a record or route published
// moments before, or a resolver of the CA's caching an earlier NXDOMAIN. The
// order is invalid and a new one is placed, but a certificate without a
// version stays pending (its domain issuing, last_error set) until the
// kSoftValidationFailures-th failure in a row, which fails it (docs/certs.md
// "Failures and backoff").
constexpr std::int64_t kSoftValidationFailures = 3;
bool unreachable_in_validation(const Problem& p) {
  auto soft = [](std::string_view type) {
    return detail::is_problem_type(type, "dns") || detail::is_problem_type(type, "connection");
  };
  if (soft(p.type)) return true;
  if (p.subproblems.empty()) return false;
  for (const auto& sp : p.subproblems)
    if (!soft(sp.type)) return false;
  return true;
}

void clear_order(CertRow& row) {
  row.order_issuer.reset();
  row.order_url.reset();
  row.order_state.reset();
  row.order_key_sealed.reset();
}

// The row once a new version is stored: its dates and renewal plan, no order,
// no error; an ACME issuer is asked for its renewal window at once (check_ari).
void stamp_version(CertRow& row, const CertInfo& info, std::string chain, std::string key_sealed,
                   const std::string& issuer, SysTime renew_at, std::int64_t now) {
  row.version += 1;
  row.chain_pem = std::move(chain);
  row.key_sealed = std::move(key_sealed);
  row.not_before = to_ms(info.not_before);
  row.not_after = to_ms(info.not_after);
  row.renew_after = to_ms(renew_at);
  row.status = CertStatus::kValid;
  row.issuer = issuer;
  row.last_error.reset();
  row.failures = row.issuer_failures = 0;
  row.next_attempt_at.reset();
  row.ari_window_start.reset();
  row.ari_window_end.reset();
  if (issuer != "internal")
    row.ari_check_at = now;
  else
    row.ari_check_at.reset();
  clear_order(row);
}

}  // namespace

std::optional<JobOutcome> Service::Impl::not_due(CertRow& row, std::int64_t now) {
  if (row.next_attempt_at && *row.next_attempt_at > now) return wait_ms(*row.next_attempt_at - now);
  if (row.order_state || row.version == 0) return std::nullopt;
  if (!row.renew) {
    if (row.status == CertStatus::kExpired) return JobOutcome{};
    return wait_ms(row.not_after.value_or(now) - now);
  }
  if (row.status == CertStatus::kRenewing || row.status == CertStatus::kExpired)
    return std::nullopt;
  if (row.renew_after && *row.renew_after > now)
    return wait_ms((row.ari_check_at && *row.ari_check_at > now
                        ? std::min(*row.renew_after, *row.ari_check_at)
                        : *row.renew_after) -
                   now);
  return std::nullopt;
}

awaitable<JobOutcome> Service::Impl::run_job(storage::Job j) {
  const std::string id = j.key;
  spdlog::debug("certs: job start id={} attempt={} late_ms={}", id, j.attempts,
                clock.now_ms() - j.run_at);
  if (in_flight.count(id) > 0) co_return wait_ms(1000);
  auto loaded = detail::load_cert(db.read(), id);
  if (!loaded) co_return JobOutcome{false, loaded.error().detail, 5s, false};
  if (!loaded.value()) co_return JobOutcome{};  // removed
  CertRow row = *loaded.value();
  const auto now = clock.now_ms();
  if (row.version > 0 && !row.order_state && row.not_after && *row.not_after <= now &&
      row.status != CertStatus::kExpired) {
    row.status = CertStatus::kExpired;
    auto st = co_await db.write([&](storage::Conn& c) { return detail::update_cert(c, row, now); });
    if (!st) co_return JobOutcome{false, st.error().detail, 5s, false};
  }
  co_await check_ari(row, now);
  if (auto w = not_due(row, now)) co_return *w;
  // A bounded number of orders in flight; renewals go first (service.cpp).
  if (static_cast<int>(in_flight.size()) >= o.max_orders_in_flight)
    co_return wait_for_slot(id, row.version > 0);
  take_slot(id);
  // The daemon's io_context outlives the services: a job suspended here at
  // shutdown is destroyed after this Impl, so the guard checks it still is.
  struct Guard {
    Impl& s;
    std::shared_ptr<const bool> alive;
    std::string id;
    ~Guard() {
      if (*alive) s.release_slot(id);
    }
  } guard{*this, alive, id};
  auto out = co_await run_order(std::move(row));
  if (kicked.erase(id) > 0) out = wait_ms(0);
  co_return out;
}

awaitable<JobOutcome> Service::Impl::run_order(CertRow row) {
  const auto now = clock.now_ms();
  auto idx = row.order_state ? row.order_issuer.value_or(row.issuer_index) : row.issuer_index;
  idx = std::min<std::int64_t>(idx, static_cast<std::int64_t>(issuers.size()) - 1);
  if (row.version > 0 && row.status == CertStatus::kValid) row.status = CertStatus::kRenewing;
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(idx)];
  if (iss.type == "internal") {
    auto issued = issue_with_new_key(*internal_ca, row.hostnames, clock.now(), KeyType::kEcdsaP256,
                                     std::chrono::seconds(iss.validity_s));
    if (!issued)
      co_return co_await record_failure(std::move(row), issued.error(), kTerminal, std::nullopt);
    co_return co_await store_issued(std::move(row), issued.value().chain_pem,
                                    issued.value().key_pem, iss.name);
  }
  if (!row.order_state) {
    if (auto w = co_await reserve_order(row, idx, now)) co_return *w;
  }
  co_return co_await run_acme(std::move(row), idx);
}

namespace {

Result<std::string> open_or_new_account_key(Service::Impl& s, const std::string& meta_key,
                                            bool& created) {
  BOOST_OUTCOME_TRY(existing, detail::get_meta(s.db.read(), meta_key));
  created = !existing;
  if (existing) return s.open_text(*existing);
  return generate_key_pem(KeyType::kEcdsaP256);
}

}  // namespace

awaitable<Result<AcmeClient*>> Service::Impl::client(std::int64_t idx) {
  if (auto it = clients.find(idx); it != clients.end()) co_return it->second.get();
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(idx)];
  const std::string meta_key = "acme_account_key:" + iss.acme.directory_url;
  bool created = false;
  auto key = open_or_new_account_key(*this, meta_key, created);
  if (!key) co_return key.error();
  if (created) {
    auto sealed = seal_text(key.value());
    if (!sealed) co_return sealed.error();
    auto st = co_await db.write(
        [&](storage::Conn& c) { return detail::put_meta(c, meta_key, sealed.value()); });
    if (!st) co_return st.error();
  }
  AcmeConfig cfg = iss.acme;
  cfg.account_key_pem = key.value();
  auto cl = AcmeClient::create(cfg, clock);
  if (!cl) co_return cl.error();
  auto* raw = cl.value().get();
  clients[idx] = std::move(cl).value();
  co_return raw;
}

Result<OrderState> Service::Impl::load_order(const CertRow& row) {
  OrderState st;
  if (!row.order_state) {
    st.identifiers = row.hostnames;
    return st;
  }
  BOOST_OUTCOME_TRY(parsed, parse_order_state(*row.order_state));
  st = std::move(parsed);
  if (row.order_key_sealed) {
    BOOST_OUTCOME_TRY(key, open_text(*row.order_key_sealed));
    st.key_pem = std::move(key);
  }
  if (!st.order_url.empty()) spdlog::info("certs: id={} resumes order {}", row.id, st.order_url);
  return st;
}

// The step's result is durable before it is used: order state (key sealed
// apart), and the orders history row when the order URL first appears.
awaitable<Status> Service::Impl::persist_step(CertRow& row, const OrderState& st,
                                              const std::string& prev_url, std::int64_t idx) {
  OrderState stored = st;
  stored.key_pem.clear();
  row.order_state = serialize_order_state(stored);
  row.order_url = st.order_url;
  row.order_issuer = idx;
  if (!st.key_pem.empty() && !row.order_key_sealed) {
    auto sealed = seal_text(st.key_pem);
    if (!sealed) co_return sealed.error();
    row.order_key_sealed = sealed.value();
  }
  const auto now = clock.now_ms();
  const std::string& issuer = issuers[static_cast<std::size_t>(idx)].name;
  co_return co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(detail::update_cert(c, row, now));
    if (prev_url.empty() && !st.order_url.empty())
      return detail::record_order(c, issuer, row, st.order_url, now);
    return ok();
  });
}

// Steps the order while the CA answers quickly: waits of up to 5 s happen
// here, for at most 45 s of the injected clock per run; a longer wait goes
// back to the job queue (the state is persisted after every step).
awaitable<JobOutcome> Service::Impl::run_acme(CertRow row, std::int64_t idx) {
  auto cl = co_await client(idx);
  if (!cl) co_return co_await record_failure(std::move(row), cl.error(), kRetryable, std::nullopt);
  auto loaded = load_order(row);
  if (!loaded)
    co_return co_await record_failure(std::move(row), loaded.error(), kTerminal, std::nullopt);
  OrderState st = std::move(loaded).value();
  DbHttp01 http(db, clock, row.id, dns_settled);
  DbDns01 dns(*this, row.dns01_delegate);
  std::vector<Solver*> solvers{row.challenge == "dns-01" ? static_cast<Solver*>(&dns) : &http};
  const auto deadline = clock.now_ms() + kRunBudgetMs;
  for (int i = 0; i < kMaxStepsPerRun && !st.finished(); ++i) {
    const std::string prev_url = st.order_url;
    auto res = co_await cl.value()->step(st, solvers);
    if (!res) co_return co_await step_failed(std::move(row), *cl.value(), res.error());
    st = std::move(res).value();
    auto w = co_await persist_step(row, st, prev_url, idx);
    if (!w) co_return JobOutcome{false, w.error().detail, 5s, false};
    if (st.finished()) break;
    if (st.retry_after_ms > kInJobWaitMs || clock.now_ms() > deadline)
      co_return wait_ms(st.retry_after_ms);
    if (st.retry_after_ms > 0) {
      asio::steady_timer t(io);
      t.expires_after(std::chrono::milliseconds(st.retry_after_ms));
      co_await t.async_wait(use_awaitable);
    }
  }
  co_return co_await order_done(std::move(row), std::move(st), idx);
}

// A step the CA (or the transport) refused: classified for the retry policy,
// with the CA's Retry-After.
awaitable<JobOutcome> Service::Impl::step_failed(CertRow row, const AcmeClient& cl, Error e) {
  const auto& p = cl.last_problem();
  std::optional<std::int64_t> ra = p ? p->retry_after_s : std::nullopt;
  const auto cls = detail::classify_acme_error(e.code, p && p->resource_gone());
  co_return co_await record_failure(std::move(row), e, cls, ra);
}

// After the stepping: a certificate to store, an invalid order to count, or
// an order still under way (the job comes back in a second).
awaitable<JobOutcome> Service::Impl::order_done(CertRow row, OrderState st, std::int64_t idx) {
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(idx)];
  if (st.status == OrderStatus::kValid && !st.certificate_pem.empty())
    co_return co_await store_issued(std::move(row), st.certificate_pem, st.key_pem, iss.name);
  if (st.status != OrderStatus::kInvalid) co_return wait_ms(1000);
  Error e =
      st.error ? problem_error(*st.error) : make_error(Errc::kOrderInvalid, "order became invalid");
  const bool soft = st.error && unreachable_in_validation(*st.error) && row.version == 0 &&
                    row.failures + 1 < kSoftValidationFailures;
  co_await order_invalid(row, idx);
  co_return co_await record_failure(std::move(row), e, kTerminal, std::nullopt, soft);
}

awaitable<JobOutcome> Service::Impl::store_issued(CertRow row, std::string chain, std::string key,
                                                  const std::string& issuer) {
  auto info = parse_leaf(chain);
  if (!info)
    co_return co_await record_failure(std::move(row), info.error(), kTerminal, std::nullopt);
  auto sealed = seal_text(key);
  if (!sealed)
    co_return co_await record_failure(std::move(row), sealed.error(), kTerminal, std::nullopt);
  const auto now = clock.now_ms();
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // 2/3 of the lifetime minus up to 5 % jitter; an ACME issuer is asked for
  // its renewal window right after (check_ari).
  const auto renew_at = plan_renewal(info.value(), std::nullopt, std::nullopt, clock.now(), u(rng));
  const std::string finished_url = row.order_url.value_or("");
  stamp_version(row, info.value(), std::move(chain), std::move(sealed).value(), issuer, renew_at,
                now);
  const events::NewEvent issued_event{
      row.version > 1 ? "certificate.renewed" : "certificate.issued", row.workspace_id, row.id,
      detail::cert_event_view(row)};
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(detail::update_cert(c, row, now));
    if (!finished_url.empty()) {
      BOOST_OUTCOME_TRY(detail::finish_order(c, finished_url, OrderStatus::kValid, now));
    }
    BOOST_OUTCOME_TRY(events::append(c, issued_event, now));
    return detail::delete_http_tokens(c, row.id, now);
  });
  if (!st) co_return JobOutcome{false, st.error().detail, 5s, false};
  spdlog::info("certs: issued id={} version={} issuer={} not_after={}", row.id, row.version, issuer,
               format_rfc3339(*row.not_after));
  // A version born inside the certificate.expiring window (a lifetime
  // shorter than events.certificate_expiring_days) is announced at the next
  // tick, not up to a minute later (announce_expiring, certs/events.cpp).
  if (*row.not_after < now + o.expiring_days * 86'400'000) expiring_checked_at = 0;
  for (auto* l : this->issued) l->certificate_issued(row.id, row.workspace_id);
  co_return wait_ms(row.ari_check_at ? 0 : *row.renew_after - now);
}

// A failed attempt: the retry policy (retry_policy.hpp) says when and with
// which issuer the next one runs and whether the order is kept; the row says
// why (last_error) and what remains (status).
awaitable<JobOutcome> Service::Impl::record_failure(CertRow row, const Error& e,
                                                    detail::ErrorClass cls,
                                                    std::optional<std::int64_t> retry_after_s,
                                                    bool soft) {
  const auto now = clock.now_ms();
  const auto last = static_cast<std::int64_t>(issuers.size()) - 1;
  const auto idx = std::min<std::int64_t>(row.order_issuer.value_or(row.issuer_index), last);
  const bool terminal = cls == detail::ErrorClass::kTerminal;
  const std::string failed_url = terminal ? row.order_url.value_or("") : "";
  row.failures += 1;
  row.issuer_failures += 1;
  row.last_error = issuers[static_cast<std::size_t>(idx)].name + ": " + e.detail;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const auto d =
      detail::decide_retry({row.failures, row.issuer_failures, cls, retry_after_s, now,
                            row.issuer_index, last + 1, o.failures_before_fallback, u(rng)});
  if (d.action != detail::RetryAction::kResume) clear_order(row);
  if (d.action == detail::RetryAction::kFallBack) {
    row.issuer_index = d.issuer_index;
    row.issuer_failures = 0;
    *row.last_error +=
        "; falling back to issuer " + issuers[static_cast<std::size_t>(d.issuer_index)].name;
  }
  row.next_attempt_at = d.at_ms;
  row.status = soft ? CertStatus::kPending : status_after_failure(row, now, cls);
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(detail::update_cert(c, row, now));
    if (!failed_url.empty()) return detail::finish_order(c, failed_url, OrderStatus::kInvalid, now);
    return ok();
  });
  if (!st) {
    spdlog::warn("certs: storing a failed attempt failed id={} attempt={} error={}", row.id,
                 row.failures, st.error().detail);
    co_return JobOutcome{false, st.error().detail, 5s, false};
  }
  spdlog::warn("certs: attempt failed id={} attempt={} next_in_ms={} error={}", row.id,
               row.failures, d.delay_ms, *row.last_error);
  co_return wait_ms(d.delay_ms);
}

}  // namespace fc::certs
