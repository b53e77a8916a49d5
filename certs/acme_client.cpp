// AcmeClient transport: directory, nonces, signed requests, accounts,
// revocation and ARI (RFC 8555 §6-7, RFC 9773).
#include <spdlog/sinks/stdout_color_sinks.h>

#include "certs/detail/acme_impl.hpp"

namespace fc::certs {
using detail::HttpResponse;
using nlohmann::json;

std::shared_ptr<spdlog::logger> certs_logger() {
  auto existing = spdlog::get("certs");
  if (existing) return existing;
  auto sinks = spdlog::default_logger()->sinks();
  auto logger = std::make_shared<spdlog::logger>("certs", sinks.begin(), sinks.end());
  logger->set_level(spdlog::default_logger()->level());  // log.level applies here too
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

std::string dns01_txt_value(std::string_view key_authorization) {
  return detail::dns01_txt_value(key_authorization);
}

Sleeper timer_sleeper() {
  return [](std::chrono::milliseconds d) -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  };
}

AcmeClient::AcmeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AcmeClient::~AcmeClient() = default;

Result<std::unique_ptr<AcmeClient>> AcmeClient::create(AcmeConfig config, const Clock& clock) {
  BOOST_OUTCOME_TRY(key, detail::EcKey::from_pem(config.account_key_pem));
  detail::HttpsOptions opts;
  opts.ca_bundle = config.ca_bundle;
  opts.timeout = config.request_timeout;
  opts.body_limit = config.body_limit;
  BOOST_OUTCOME_TRY(http, detail::HttpsClient::create(opts));
  auto impl = std::make_unique<Impl>(std::move(config), clock, std::move(http), std::move(key));
  return std::unique_ptr<AcmeClient>(new AcmeClient(std::move(impl)));
}

const std::optional<Problem>& AcmeClient::last_problem() const { return impl_->last_problem; }
int AcmeClient::bad_nonce_retries() const { return impl_->bad_nonce_retries; }
const std::string& AcmeClient::account_url() const { return impl_->kid; }

Error AcmeClient::Impl::fail(const HttpResponse& r) {
  Problem p = detail::parse_problem(r.body, r.status);
  p.retry_after_s = detail::parse_retry_after(r.retry_after, clock->now());
  last_problem = p;
  return problem_error(p);
}

void AcmeClient::Impl::schedule_poll(OrderState& st, OrderStatus prev_status,
                                     const HttpResponse& r) const {
  if (st.status != OrderStatus::kPending && st.status != OrderStatus::kProcessing) {
    // the next step can act now
    st.polls = 0;
    st.retry_after_ms = 0;
    return;
  }
  st.polls = st.status == prev_status ? st.polls + 1 : 1;
  st.retry_after_ms = detail::poll_delay_ms(r.retry_after, clock->now(), st.polls,
                                            {cfg.first_poll.count(), cfg.max_poll.count()});
}

awaitable<Result<detail::Directory>> AcmeClient::Impl::directory() {
  if (dir) co_return *dir;
  auto resp = co_await http->request("GET", cfg.directory_url, "", "");
  if (!resp) co_return resp.error();
  if (resp.value().status != 200) co_return fail(resp.value());
  auto parsed = detail::parse_directory(resp.value().body);
  if (!parsed) co_return parsed.error();
  dir = parsed.value();
  co_return parsed;
}

void AcmeClient::Impl::keep_nonce(const HttpResponse& r) {
  // RFC 8555 §6.5: every response carries a fresh nonce; keep a few.
  if (!r.replay_nonce.empty() && r.replay_nonce.size() < 256 && nonces.size() < 16)
    nonces.push_back(r.replay_nonce);
}

awaitable<Result<std::string>> AcmeClient::Impl::take_nonce() {
  if (!nonces.empty()) {
    std::string n = std::move(nonces.back());
    nonces.pop_back();
    co_return n;
  }
  auto d = co_await directory();
  if (!d) co_return d.error();
  auto resp = co_await http->request("HEAD", d.value().new_nonce, "", "");
  if (!resp) co_return resp.error();
  if (resp.value().status >= 400) co_return fail(resp.value());
  if (resp.value().replay_nonce.empty())
    co_return make_error(Errc::kCaProtocol, "newNonce answered without Replay-Nonce");
  co_return resp.value().replay_nonce;
}

awaitable<Result<HttpResponse>> AcmeClient::Impl::post(std::string url, std::optional<json> payload,
                                                       bool with_jwk, std::string accept) {
  for (int attempt = 0;; ++attempt) {
    auto nonce = co_await take_nonce();
    if (!nonce) co_return nonce.error();
    auto body =
        detail::acme_jws(key, with_jwk ? std::string_view() : kid, nonce.value(), url, payload);
    if (!body) co_return body.error();
    auto resp = co_await http->request("POST", url, "application/jose+json", body.value(), accept);
    if (!resp) co_return resp.error();
    keep_nonce(resp.value());
    if (resp.value().status < 400) co_return resp;
    Problem p = detail::parse_problem(resp.value().body, resp.value().status);
    if (detail::is_problem_type(p, "badNonce") && attempt < cfg.max_bad_nonce_retries) {
      ++bad_nonce_retries;  // §6.5: retry with the nonce that came with the error
      continue;
    }
    // The CA forgot the account (Pebble restarts, deactivation): register
    // again on the next call instead of failing forever.
    if (!with_jwk && detail::is_problem_type(p, "accountDoesNotExist")) kid.clear();
    co_return fail(resp.value());
  }
}

awaitable<Result<HttpResponse>> AcmeClient::Impl::post_as_get(std::string url, std::string accept) {
  auto r = co_await post(std::move(url), std::nullopt, false, std::move(accept));
  co_return r;
}

awaitable<Result<AccountResult>> AcmeClient::Impl::account(bool only_return_existing) {
  auto d = co_await directory();
  if (!d) co_return d.error();
  json payload = json::object();
  if (only_return_existing) {
    payload["onlyReturnExisting"] = true;  // §7.3.1
  } else {
    payload["termsOfServiceAgreed"] = cfg.terms_of_service_agreed;
    if (!cfg.contact.empty()) payload["contact"] = cfg.contact;
    if (cfg.eab) {
      auto eab =
          detail::eab_jws(cfg.eab->kid, cfg.eab->hmac_key_b64url, key.jwk(), d.value().new_account);
      if (!eab) co_return eab.error();
      payload["externalAccountBinding"] = eab.value();
    }
  }
  auto resp = co_await post(d.value().new_account, payload, true);
  if (!resp) co_return resp.error();
  if (resp.value().location.empty())
    co_return make_error(Errc::kCaProtocol, "newAccount answered without Location");
  AccountResult out;
  out.url = resp.value().location;
  out.created = resp.value().status == 201;
  json body = json::parse(resp.value().body, nullptr, false);
  if (!body.is_discarded() && body.is_object() && body.contains("status") &&
      body["status"].is_string())
    out.status = body["status"];
  kid = out.url;
  certs_logger()->info("acme account url={} created={}", out.url, out.created);
  co_return out;
}

awaitable<Status> AcmeClient::Impl::ensure_account() {
  if (!kid.empty()) co_return ok();
  auto acct = co_await account(false);
  if (!acct) co_return acct.error();
  co_return ok();
}

awaitable<Result<AccountResult>> AcmeClient::account(bool only_return_existing) {
  auto r = co_await impl_->account(only_return_existing);
  co_return r;
}

awaitable<Status> AcmeClient::revoke(std::string certificate_pem, std::optional<int> reason) {
  auto der = detail::leaf_der(certificate_pem);
  if (!der) co_return der.error();
  auto acct = co_await impl_->ensure_account();
  if (!acct) co_return acct.error();
  auto d = co_await impl_->directory();
  if (!d) co_return d.error();
  if (d.value().revoke_cert.empty())
    co_return make_error(Code::kUnsupported, "CA has no revokeCert");
  json payload{{"certificate", base64url_encode(der.value())}};
  if (reason) payload["reason"] = *reason;  // RFC 5280 §5.3.1 codes
  auto resp = co_await impl_->post(d.value().revoke_cert, payload, false);
  if (!resp) co_return resp.error();
  co_return ok();
}

awaitable<Result<std::optional<RenewalInfo>>> AcmeClient::renewal_info(
    std::string certificate_pem) {
  auto d = co_await impl_->directory();
  if (!d) co_return d.error();
  if (d.value().renewal_info.empty()) co_return std::optional<RenewalInfo>();
  auto info = parse_leaf(certificate_pem);
  if (!info) co_return info.error();
  if (info.value().ari_id.empty())
    co_return make_error(Code::kInvalidArgument, "certificate has no AKI; no ARI id");
  std::string url = d.value().renewal_info;
  if (!url.ends_with("/")) url += "/";
  auto resp = co_await impl_->http->request("GET", url + info.value().ari_id, "", "");
  if (!resp) co_return resp.error();
  if (resp.value().status != 200) co_return impl_->fail(resp.value());
  auto ri = detail::parse_renewal_info(resp.value().body);
  if (!ri) co_return ri.error();
  ri.value().retry_after_s =
      detail::parse_retry_after(resp.value().retry_after, impl_->clock->now());
  co_return std::optional<RenewalInfo>(ri.value());
}

}  // namespace fc::certs
