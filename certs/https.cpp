// The ACME client's HTTPS: the shared client transport (client/async.hpp
// HttpTransport, docs/client.md) with keep-alive, the system trust store plus
// the configured bundle, and the response headers ACME needs. No Beast here:
// the transport is compiled once, in client/http.cpp (docs/building.md).
#include "certs/detail/https.hpp"

#include <spdlog/spdlog.h>

#include "client/async.hpp"

namespace fc::certs::detail {

Result<Url> parse_https_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme))
    return make_error(Code::kInvalidArgument,
                      "not an https URL: " + std::string(url.substr(0, 100)));
  std::string_view rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return make_error(Code::kInvalidArgument, "bad IPv6 URL host");
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    u.port = authority.starts_with(":") ? std::string(authority.substr(1)) : "443";
  } else {
    const std::size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    u.port = colon == std::string_view::npos ? "443" : std::string(authority.substr(colon + 1));
  }
  if (u.host.empty() || u.port.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos)
    return make_error(Code::kInvalidArgument,
                      "bad URL authority: " + std::string(url.substr(0, 100)));
  return u;
}

struct HttpsClient::Impl {
  HttpsOptions options;
  std::unique_ptr<client::HttpTransport> transport;
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

Result<std::unique_ptr<HttpsClient>> HttpsClient::create(HttpsOptions options) {
  client::TransportOptions t;
  t.user_agent = options.user_agent;
  t.body_limit = options.body_limit;
  if (!options.ca_bundle.empty()) t.ca_file = options.ca_bundle;
  t.ca_file_adds_to_system = true;  // the bundle adds to the system store
  t.ca_option = "ca_bundle";
  t.keep_alive = true;  // an order's ten or so requests share connections
  auto transport = client::HttpTransport::create(std::move(t));
  if (!transport) {
    const Error& e = transport.error();
    return make_error(e.code == Code::kIo ? Code::kInvalidArgument : e.code, e.detail);
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->transport = std::move(transport).value();
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

namespace {

HttpResponse to_response(client::HttpReply r) {
  HttpResponse out;
  out.status = static_cast<int>(r.status);
  out.content_type = r.header("Content-Type");
  out.location = r.header("Location");
  out.replay_nonce = r.header("Replay-Nonce");
  out.retry_after = r.header("Retry-After");
  out.links = r.header_values("Link");
  out.body = std::move(r.body);
  return out;
}

}  // namespace

awaitable<Result<HttpResponse>> HttpsClient::request(std::string method, std::string url,
                                                     std::string content_type, std::string body,
                                                     std::string accept) {
  auto parsed = parse_https_url(url);
  if (!parsed) co_return parsed.error();
  const Url& u = parsed.value();
  const std::string where = u.host + ":" + u.port;
  const auto t0 = std::chrono::steady_clock::now();
  client::HttpRequest req;
  req.method = method;
  req.target = u.target;
  if (!accept.empty()) req.headers.push_back({"Accept", accept});
  if (!content_type.empty()) {
    req.headers.push_back({"Content-Type", content_type});
    req.body = std::move(body);
  }
  // Named, not a temporary: GCC 12 corrupts a prvalue's strings when it is
  // passed by value to a coroutine in a co_await expression (ASan bad-free).
  client::Url ca{true, u.host, u.port, ""};
  auto got = co_await impl_->transport->send(ca, std::move(req), impl_->options.timeout);
  if (!got) {
    const Error& e = got.error();
    if (e.code == Code::kTooLarge)
      co_return make_error(Code::kTooLarge, "response from " + where + " exceeds " +
                                                std::to_string(impl_->options.body_limit) +
                                                " bytes");
    // The transport names host:port on resolve/connect/TLS errors, not on read/write.
    if (e.detail.find(where) == std::string::npos)
      co_return make_error(e.code, where + ": " + e.detail);
    co_return e;
  }
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::debug("https method={} path={} status={} reused={} ms={:.1f}", method, u.target,
                got.value().status, got.value().reused, us.count() / 1000.0);
  co_return to_response(std::move(got).value());
}

}  // namespace fc::certs::detail
