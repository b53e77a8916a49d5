// The order state machine (RFC 8555 §7.4, docs/certs.md). Each step reads the
// persisted OrderState, talks to the CA once or a few times, and returns the
// new state; a failed step leaves the caller's copy as it was, so it can be
// retried. Keys and URLs are written into the state before they are used.
#include "certs/detail/acme_impl.hpp"

namespace fc::certs {
using detail::HttpResponse;
using nlohmann::json;

namespace {

constexpr std::string_view kPemChain = "application/pem-certificate-chain";
constexpr std::size_t kMaxAlternates = 8;

void apply_order(OrderState& st, const detail::Order& o) {
  st.status = o.status;
  st.finalize_url = o.finalize;
  if (!o.certificate.empty()) st.certificate_url = o.certificate;
  if (!o.authorizations.empty()) st.authorization_urls = o.authorizations;
  if (o.error) st.error = o.error;
}

Solver* solver_for(const std::vector<Solver*>& solvers, std::string_view type) {
  for (Solver* s : solvers)
    if (s != nullptr && s->type() == type) return s;
  return nullptr;
}

ChallengeRecord* record_for(OrderState& st, const std::string& authz_url) {
  for (auto& c : st.challenges)
    if (c.authz_url == authz_url) return &c;
  return nullptr;
}

}  // namespace

awaitable<Result<OrderState>> AcmeClient::Impl::new_order(OrderState st) {
  if (st.identifiers.empty())
    co_return make_error(Code::kInvalidArgument, "order without identifiers");
  auto d = co_await directory();
  if (!d) co_return d.error();
  json ids = json::array();
  for (const auto& name : st.identifiers) ids.push_back({{"type", "dns"}, {"value", name}});
  json payload{{"identifiers", ids}};
  // RFC 9773 §5: only CAs that offer ARI understand "replaces".
  if (!st.replaces.empty() && !d.value().renewal_info.empty()) payload["replaces"] = st.replaces;
  auto resp = co_await post(d.value().new_order, payload, false);
  if (!resp) co_return resp.error();
  auto order = detail::parse_order(resp.value().body);
  if (!order) co_return order.error();
  if (resp.value().location.empty())
    co_return make_error(Errc::kCaProtocol, "newOrder answered without Location");
  st.order_url = resp.value().location;
  apply_order(st, order.value());
  certs_logger()->info("acme order placed url={} status={}", st.order_url,
                       order_status_name(st.status));
  co_return st;
}

// An order object in a response (refresh or finalize): new status, URLs and
// the wait before the next poll.
Result<OrderState> AcmeClient::Impl::take_order(OrderState st,
                                                const detail::HttpResponse& r) const {
  auto order = detail::parse_order(r.body);
  if (!order) return order.error();
  const OrderStatus prev = st.status;
  apply_order(st, order.value());
  schedule_poll(st, prev, r);
  return st;
}

awaitable<Result<OrderState>> AcmeClient::Impl::refresh_order(OrderState st) {
  auto resp = co_await post_as_get(st.order_url);
  if (!resp) co_return resp.error();
  co_return take_order(std::move(st), resp.value());
}

// RFC 8555 §7.5.1: present the answer, then tell the CA to validate.
awaitable<Result<OrderState>> AcmeClient::Impl::respond(OrderState st, detail::Authorization authz,
                                                        std::string authz_url,
                                                        std::vector<Solver*> solvers) {
  const detail::Challenge* chosen = nullptr;
  Solver* solver = nullptr;
  for (Solver* s : solvers) {
    for (const auto& c : authz.challenges) {
      if (s != nullptr && c.type == s->type() && chosen == nullptr) {
        chosen = &c;
        solver = s;
      }
    }
  }
  if (chosen == nullptr)
    co_return make_error(Code::kUnsupported,
                         "no solver for any challenge offered for " + authz.identifier);
  if (chosen->token.empty() || chosen->token.size() > 256 ||
      chosen->token.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
    co_return make_error(Code::kParse, "challenge token is not base64url");  // §8.3, §8.4
  ChallengeRecord rec{authz_url,     authz.identifier,
                      chosen->type,  chosen->url,
                      chosen->token, detail::key_authorization(chosen->token, key.thumbprint()),
                      false};
  auto presented = co_await solver->present(rec.domain, rec.token, rec.key_authorization);
  if (!presented) co_return presented.error();
  presented_here.insert(authz_url);
  if (chosen->status == detail::ChallengeStatus::kPending) {
    auto resp = co_await post(rec.url, json::object(), false);
    if (!resp) co_return resp.error();
  }
  rec.responded = true;
  if (ChallengeRecord* old = record_for(st, authz_url))
    *old = rec;
  else
    st.challenges.push_back(rec);
  certs_logger()->info("acme challenge answered domain={} type={}", rec.domain, rec.type);
  co_return st;
}

awaitable<Result<OrderState>> AcmeClient::Impl::authorize(OrderState st,
                                                          std::vector<Solver*> solvers) {
  const std::vector<std::string> urls = st.authorization_urls;
  for (const auto& url : urls) {
    auto resp = co_await post_as_get(url);
    if (!resp) co_return resp.error();
    auto authz = detail::parse_authorization(resp.value().body);
    if (!authz) co_return authz.error();
    // valid, or the order turns invalid
    if (authz.value().status != detail::AuthzStatus::kPending) continue;
    const ChallengeRecord* rec = record_for(st, url);
    if (rec != nullptr && rec->responded) {  // waiting for the CA
      if (presented_here.count(url) > 0) continue;
      auto again = co_await present_again(*rec, solvers);
      if (!again) co_return again.error();
      continue;
    }
    auto next = co_await respond(std::move(st), authz.value(), url, solvers);
    if (!next) co_return next.error();
    st = std::move(next.value());
  }
  auto refreshed = co_await refresh_order(std::move(st));
  co_return refreshed;
}

awaitable<Result<OrderState>> AcmeClient::Impl::finalize(OrderState st) {
  if (st.key_pem.empty()) {
    // Its own step, so the key is persisted before the CA certifies it.
    auto key_pem = generate_key_pem(cfg.certificate_key_type);
    if (!key_pem) co_return key_pem.error();
    st.key_pem = key_pem.value();
    co_return st;
  }
  auto csr = make_csr_der(st.key_pem, st.identifiers);
  if (!csr) co_return csr.error();
  json payload{{"csr", base64url_encode(csr.value())}};
  auto resp = co_await post(st.finalize_url, payload, false);
  if (!resp) co_return resp.error();
  co_return take_order(std::move(st), resp.value());
}

awaitable<Status> AcmeClient::Impl::present_again(ChallengeRecord rec,
                                                  std::vector<Solver*> solvers) {
  Solver* s = solver_for(solvers, rec.type);
  if (s == nullptr)
    co_return make_error(Code::kUnsupported, "no solver for " + rec.type + " to resume with");
  auto r = co_await s->present(rec.domain, rec.token, rec.key_authorization);
  if (!r) co_return r.error();
  presented_here.insert(rec.authz_url);
  co_return ok();
}

awaitable<void> AcmeClient::Impl::cleanup_all(OrderState& st, std::vector<Solver*> solvers) {
  for (const auto& c : st.challenges) {
    Solver* s = solver_for(solvers, c.type);
    if (s == nullptr) continue;
    auto r = co_await s->cleanup(c.domain, c.token, c.key_authorization);
    if (!r)
      certs_logger()->warn("acme cleanup failed domain={} error={}", c.domain, r.error().detail);
  }
  st.challenges.clear();
}

// §7.4.2: the chain, plus alternates from Link rel="alternate"; the preferred
// one is chosen by the issuer CN of its topmost certificate.
awaitable<Result<OrderState>> AcmeClient::Impl::download(OrderState st,
                                                         std::vector<Solver*> solvers) {
  auto resp = co_await post_as_get(st.certificate_url, std::string(kPemChain));
  if (!resp) co_return resp.error();
  auto leaf = parse_leaf(resp.value().body);
  if (!leaf) co_return leaf.error();
  std::string chosen = resp.value().body;
  const std::string& want = cfg.preferred_chain_issuer_cn;
  auto top = top_issuer_cn(chosen);
  if (!want.empty() && !(top && top.value() == want)) {
    std::size_t tried = 0;
    for (const auto& link : detail::parse_links(resp.value().links)) {
      if (link.rel != "alternate" || ++tried > kMaxAlternates) continue;
      auto alt = co_await post_as_get(link.url, std::string(kPemChain));
      if (!alt) co_return alt.error();
      auto alt_top = top_issuer_cn(alt.value().body);
      if (alt_top && alt_top.value() == want) {
        chosen = alt.value().body;
        break;
      }
    }
  }
  st.certificate_pem = chosen;
  co_await cleanup_all(st, solvers);
  certs_logger()->info("acme certificate issued order={} serial={}", st.order_url,
                       leaf.value().serial_hex);
  co_return st;
}

awaitable<Result<OrderState>> AcmeClient::Impl::diagnose_invalid(OrderState st,
                                                                 std::vector<Solver*> solvers) {
  const std::vector<std::string> urls = st.authorization_urls;
  for (const auto& url : urls) {
    if (st.error && !st.error->subproblems.empty()) break;
    auto resp = co_await post_as_get(url);
    if (!resp) break;  // the order is invalid anyway; keep what we know
    auto authz = detail::parse_authorization(resp.value().body);
    if (!authz || authz.value().status != detail::AuthzStatus::kInvalid) continue;
    for (const auto& c : authz.value().challenges) {
      if (!c.error) continue;
      if (!st.error)
        st.error = Problem{c.error->type, "authorization failed", 403, {}, std::nullopt};
      st.error->subproblems.push_back({c.error->type, c.error->detail, authz.value().identifier});
    }
  }
  if (!st.error) st.error = Problem{"about:blank", "order became invalid", 0, {}, std::nullopt};
  co_await cleanup_all(st, solvers);
  co_return st;
}

// The one step the order's status calls for (RFC 8555 §7.4).
awaitable<Result<OrderState>> AcmeClient::Impl::advance(OrderState st,
                                                        std::vector<Solver*> solvers) {
  switch (st.status) {
    case OrderStatus::kNone: co_return co_await new_order(std::move(st));
    case OrderStatus::kPending: co_return co_await authorize(std::move(st), std::move(solvers));
    case OrderStatus::kReady: co_return co_await finalize(std::move(st));
    case OrderStatus::kProcessing: co_return co_await refresh_order(std::move(st));
    case OrderStatus::kValid: co_return co_await download(std::move(st), std::move(solvers));
    case OrderStatus::kInvalid:
      co_return co_await diagnose_invalid(std::move(st), std::move(solvers));
  }
  co_return make_error(Code::kInternal, "order status out of range");
}

awaitable<Result<OrderState>> AcmeClient::step(OrderState st, std::vector<Solver*> solvers) {
  if (st.finished()) co_return st;
  const auto t0 = std::chrono::steady_clock::now();
  const OrderStatus from = st.status;
  auto acct = co_await impl_->ensure_account();
  if (!acct) co_return acct.error();
  st.account_url = impl_->kid;
  st.retry_after_ms = 0;
  ++st.steps;
  auto next = co_await impl_->advance(std::move(st), std::move(solvers));
  // One line per step (debug): where an order's time goes (docs/BENCHMARKS.md "ACME").
  const auto ms =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  const std::string_view from_name = from == OrderStatus::kNone ? "new" : order_status_name(from);
  if (next)
    certs_logger()->debug("acme step order={} from={} to={} ms={:.1f} wait_ms={}",
                          next.value().order_url, from_name, order_status_name(next.value().status),
                          ms.count() / 1000.0, next.value().retry_after_ms);
  else
    certs_logger()->debug("acme step from={} failed ms={:.1f} error={}", from_name,
                          ms.count() / 1000.0, next.error().detail);
  co_return next;
}

awaitable<Result<OrderState>> AcmeClient::run_order(
    OrderState st, std::vector<Solver*> solvers, Sleeper sleep, int max_steps,
    std::function<void(const OrderState&)> persist) {
  for (int i = 0; i < max_steps; ++i) {
    // An invalid order needs one more step (diagnosis + cleanup) unless done.
    if (st.finished() && !(st.status == OrderStatus::kInvalid && !st.error)) co_return st;
    auto next = co_await step(std::move(st), solvers);
    if (!next) co_return next.error();
    st = std::move(next.value());
    if (persist) persist(st);
    if (st.status == OrderStatus::kInvalid && st.error) co_return st;
    if (st.retry_after_ms > 0) co_await sleep(std::chrono::milliseconds(st.retry_after_ms));
  }
  if (st.finished()) co_return st;
  co_return make_error(Code::kTimeout, "order not finished after " + std::to_string(max_steps) +
                                           " steps (status " +
                                           std::string(order_status_name(st.status)) + ")");
}

}  // namespace fc::certs
