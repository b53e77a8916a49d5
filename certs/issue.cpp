// The certificate order job ("cert.order", key = certificate id): decides
// whether a certificate needs an order now (new, due for renewal, retry after
// backoff), checks the issuer's budgets, runs the order one persisted step at
// a time (OrderState stored before it is used, so a restart resumes the same
// order), stores the new version and schedules the next run.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "certs/detail/service_impl.hpp"

namespace fc::certs {

using detail::CertRow;
using storage::JobOutcome;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kChallengeTtlMs = 24 * 3600 * 1000;

JobOutcome wait_ms(std::int64_t ms) {
  return JobOutcome{false, "", std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)), false};
}

// HTTP-01 answers live in the database, so every instance serves them.
class DbHttp01 final : public Solver {
 public:
  DbHttp01(storage::Database& db, const Clock& clock, std::string cert_id,
           std::function<awaitable<void>()> dns_settled)
      : db_(db), clock_(clock), cert_id_(std::move(cert_id)), dns_settled_(std::move(dns_settled)) {}
  std::string type() const override { return "http-01"; }
  awaitable<Status> present(std::string, std::string token, std::string key_auth) override {
    // A name of our zone (a workspace that just started) must resolve before
    // the CA looks: wait for DNS changes already signalled (none: no wait).
    if (dns_settled_) co_await dns_settled_();
    const auto exp = clock_.now_ms() + kChallengeTtlMs;
    co_return co_await db_.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO acme_http_tokens(token, key_authorization, cert_id, expires_at)"
                                     " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(token) DO UPDATE SET"
                                     " key_authorization = excluded.key_authorization, expires_at = excluded.expires_at"));
      return s.bind_all(token, key_auth, cert_id_, exp).run();
    });
  }
  awaitable<Status> cleanup(std::string, std::string token, std::string) override {
    co_return co_await db_.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM acme_http_tokens WHERE token = ?"));
      return s.bind(1, token).run();
    });
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
    if (const auto* z = s_.rfc2136_zone_for(name)) co_return co_await s_.rfc2136_txt(*z, name, value, true);
    if (s_.zone == nullptr) co_return make_error(Code::kUnavailable, "no embedded DNS for " + name);
    const auto expires = s_.clock.now_ms() + kChallengeTtlMs;
    auto st = co_await s_.zone->put_challenge(name, value, expires);
    if (!st) co_return st;
    co_return co_await published();
  }
  awaitable<Status> cleanup(std::string domain, std::string, std::string key_auth) override {
    const std::string name = owner(domain), value = dns01_txt_value(key_auth);
    if (const auto* z = s_.rfc2136_zone_for(name)) co_return co_await s_.rfc2136_txt(*z, name, value, false);
    if (s_.zone == nullptr) co_return make_error(Code::kUnavailable, "no embedded DNS for " + name);
    auto st = co_await s_.zone->remove_challenge(name, value);
    if (s_.dns_changed) s_.dns_changed();
    co_return st;
  }

 private:
  std::string owner(const std::string& domain) const {
    if (!delegate_.empty()) return delegate_;
    std::string d = domain.rfind("*.", 0) == 0 ? domain.substr(2) : domain;
    std::transform(d.begin(), d.end(), d.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
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

bool retryable(Code c) {
  return c == Code::kUnavailable || c == Code::kTimeout || c == Code::kRateLimited || c == Code::kIo ||
         c == Code::kNotFound;
}

void clear_order(CertRow& row) {
  row.order_issuer.reset();
  row.order_url.reset();
  row.order_state.reset();
  row.order_key_sealed.reset();
}

}  // namespace

std::optional<JobOutcome> Service::Impl::not_due(CertRow& row, std::int64_t now) {
  if (row.next_attempt_at && *row.next_attempt_at > now) return wait_ms(*row.next_attempt_at - now);
  if (row.order_state || row.version == 0) return std::nullopt;
  if (!row.renew) {
    if (row.status == "expired") return JobOutcome{};
    return wait_ms(row.not_after.value_or(now) - now);
  }
  if (row.status == "renewing" || row.status == "expired") return std::nullopt;
  if (row.renew_after && *row.renew_after > now)
    return wait_ms((row.ari_check_at && *row.ari_check_at > now ? std::min(*row.renew_after, *row.ari_check_at)
                                                                 : *row.renew_after) - now);
  return std::nullopt;
}

awaitable<JobOutcome> Service::Impl::run_job(storage::Job j) {
  const std::string id = j.key;
  spdlog::debug("certs: {} job start attempt={} late_ms={}", id, j.attempts, clock.now_ms() - j.run_at);
  if (in_flight.count(id) > 0) co_return wait_ms(1000);
  auto loaded = detail::load_cert(db.read(), id);
  if (!loaded) co_return JobOutcome{false, loaded.error().detail, 5s, false};
  if (!loaded.value()) co_return JobOutcome{};  // removed
  CertRow row = *loaded.value();
  const auto now = clock.now_ms();
  if (row.version > 0 && !row.order_state && row.not_after && *row.not_after <= now && row.status != "expired") {
    row.status = "expired";
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
  if (row.version > 0 && row.status == "valid") row.status = "renewing";
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(idx)];
  if (iss.type == "internal") {
    auto issued = issue_with_new_key(*internal_ca, row.hostnames, clock.now(), KeyType::kEcdsaP256,
                                     std::chrono::seconds(iss.validity_s));
    if (!issued) co_return co_await record_failure(std::move(row), issued.error(), true, std::nullopt);
    co_return co_await store_issued(std::move(row), issued.value().chain_pem, issued.value().key_pem, iss.name);
  }
  if (!row.order_state) {
    if (auto w = co_await reserve_order(row, idx, now)) co_return *w;
  }
  co_return co_await run_acme(std::move(row), idx);
}

namespace {

Result<std::string> open_or_new_account_key(Service::Impl& s, const std::string& meta_key, bool& created) {
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
    auto st = co_await db.write([&](storage::Conn& c) { return detail::put_meta(c, meta_key, sealed.value()); });
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
  if (!st.order_url.empty()) spdlog::info("certs: {} resumes order {}", row.id, st.order_url);
  return st;
}

// The step's result is durable before it is used: order state (key sealed
// apart), and the orders history row when the order URL first appears.
awaitable<Status> Service::Impl::persist_step(CertRow& row, const OrderState& st, const std::string& prev_url,
                                              std::int64_t idx) {
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
    if (prev_url.empty() && !st.order_url.empty()) return detail::record_order(c, issuer, row, st.order_url, now);
    return ok();
  });
}

awaitable<JobOutcome> Service::Impl::run_acme(CertRow row, std::int64_t idx) {
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(idx)];
  auto cl = co_await client(idx);
  if (!cl) co_return co_await record_failure(std::move(row), cl.error(), false, std::nullopt);
  auto loaded = load_order(row);
  if (!loaded) co_return co_await record_failure(std::move(row), loaded.error(), true, std::nullopt);
  OrderState st = std::move(loaded).value();
  DbHttp01 http(db, clock, row.id, dns_settled);
  DbDns01 dns(*this, row.dns01_delegate);
  std::vector<Solver*> solvers{row.challenge == "dns-01" ? static_cast<Solver*>(&dns) : &http};
  const auto deadline = std::chrono::steady_clock::now() + 45s;
  for (int i = 0; i < 200 && !st.finished(); ++i) {
    const std::string prev_url = st.order_url;
    auto res = co_await cl.value()->step(st, solvers);
    if (!res) {
      const auto& p = cl.value()->last_problem();
      std::optional<std::int64_t> ra = p ? p->retry_after_s : std::nullopt;
      // An order the CA forgot is dropped: the next attempt places a new one.
      const bool drop = !retryable(res.error().code) ||
                        (res.error().code == Code::kNotFound && p && p->resource_gone());
      co_return co_await record_failure(std::move(row), res.error(), drop, ra);
    }
    st = std::move(res).value();
    auto w = co_await persist_step(row, st, prev_url, idx);
    if (!w) co_return JobOutcome{false, w.error().detail, 5s, false};
    if (st.finished()) break;
    if (st.retry_after_ms > 5000 || std::chrono::steady_clock::now() > deadline) co_return wait_ms(st.retry_after_ms);
    if (st.retry_after_ms > 0) {
      asio::steady_timer t(io);
      t.expires_after(std::chrono::milliseconds(st.retry_after_ms));
      co_await t.async_wait(use_awaitable);
    }
  }
  if (st.status == "valid" && !st.certificate_pem.empty())
    co_return co_await store_issued(std::move(row), st.certificate_pem, st.key_pem, iss.name);
  if (st.status == "invalid") {
    Error e = st.error ? problem_error(*st.error) : make_error(Code::kInvalidArgument, "order became invalid");
    co_await order_invalid(row, idx);
    co_return co_await record_failure(std::move(row), e, true, std::nullopt);
  }
  co_return wait_ms(1000);
}

awaitable<JobOutcome> Service::Impl::store_issued(CertRow row, std::string chain, std::string key,
                                                  const std::string& issuer) {
  auto info = parse_leaf(chain);
  if (!info) co_return co_await record_failure(std::move(row), info.error(), true, std::nullopt);
  auto sealed = seal_text(key);
  if (!sealed) co_return co_await record_failure(std::move(row), sealed.error(), true, std::nullopt);
  const auto now = clock.now_ms();
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // 2/3 of the lifetime minus up to 5 % jitter; an ACME issuer is asked for
  // its renewal window right after (check_ari).
  const auto renew_at = plan_renewal(info.value(), std::nullopt, std::nullopt, clock.now(), u(rng));
  auto ms = [](SysTime t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count(); };
  const std::string finished_url = row.order_url.value_or("");
  row.version += 1;
  row.chain_pem = chain;
  row.key_sealed = sealed.value();
  row.not_before = ms(info.value().not_before);
  row.not_after = ms(info.value().not_after);
  row.renew_after = ms(renew_at);
  row.status = "valid";
  row.issuer = issuer;
  row.last_error.reset();
  row.failures = row.issuer_failures = 0;
  row.next_attempt_at.reset();
  row.ari_window_start.reset();
  row.ari_window_end.reset();
  if (issuer != "internal") row.ari_check_at = now;
  else row.ari_check_at.reset();
  clear_order(row);
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(detail::update_cert(c, row, now));
    if (!finished_url.empty()) {
      BOOST_OUTCOME_TRY(detail::finish_order(c, finished_url, "valid", now));
    }
    BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM acme_http_tokens WHERE cert_id = ?1 OR expires_at < ?2"));
    return s.bind_all(row.id, now).run();
  });
  if (!st) co_return JobOutcome{false, st.error().detail, 5s, false};
  spdlog::info("certs: {} version {} issued by {} not_after={}", row.id, row.version, issuer,
               format_rfc3339(*row.not_after));
  for (auto* l : this->issued) l->certificate_issued(row.id, row.workspace_id);
  co_return wait_ms(row.ari_check_at ? 0 : *row.renew_after - now);
}

awaitable<JobOutcome> Service::Impl::record_failure(CertRow row, const Error& e, bool drop_order,
                                                    std::optional<std::int64_t> retry_after_s) {
  const auto now = clock.now_ms();
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(
      std::min<std::int64_t>(row.order_issuer.value_or(row.issuer_index), static_cast<std::int64_t>(issuers.size()) - 1))];
  const std::string failed_url = drop_order ? row.order_url.value_or("") : "";
  row.failures += 1;
  row.issuer_failures += 1;
  row.last_error = iss.name + ": " + e.detail;
  if (drop_order) clear_order(row);
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  double delay = std::min(3600000.0, 1000.0 * std::pow(2.0, static_cast<double>(std::min<std::int64_t>(row.failures - 1, 30))));
  delay *= jitter(rng);
  if (retry_after_s) delay = std::max(delay, static_cast<double>(*retry_after_s) * 1000.0);
  if (row.issuer_failures >= o.failures_before_fallback &&
      row.issuer_index + 1 < static_cast<std::int64_t>(issuers.size())) {
    row.issuer_index += 1;
    row.issuer_failures = 0;
    clear_order(row);
    *row.last_error += "; falling back to issuer " + issuers[static_cast<std::size_t>(row.issuer_index)].name;
    delay = 0;
  }
  row.next_attempt_at = now + static_cast<std::int64_t>(delay);
  if (row.version == 0) row.status = "failed";
  else if (row.not_after && *row.not_after <= now) row.status = "expired";
  else row.status = "renewing";
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(detail::update_cert(c, row, now));
    if (!failed_url.empty()) return detail::finish_order(c, failed_url, "invalid", now);
    return ok();
  });
  (void)st;
  spdlog::warn("certs: {} attempt {} failed: {} (next in {} ms)", row.id, row.failures, *row.last_error,
               static_cast<std::int64_t>(delay));
  co_return wait_ms(static_cast<std::int64_t>(delay));
}

}  // namespace fc::certs
