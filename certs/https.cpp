// HTTPS client on Beast + OpenSSL (STYLE.md "Async on Boost 1.74": expected
// failures through redirect_error, time-outs through tcp_stream::expires_after),
// with keep-alive connections per host.
#include "certs/detail/https.hpp"
#include "common/asio_net.hpp"

#include <openssl/x509v3.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <spdlog/spdlog.h>
#include <map>

namespace fc::certs::detail {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

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

using Stream = beast::ssl_stream<beast::tcp_stream>;

// Keep-alive (RFC 9112 §9.3): connections the CA left open are reused, so an
// order's ten or so requests do not each pay a TCP and TLS handshake.
constexpr std::size_t kMaxIdlePerHost = 8;
constexpr auto kMaxIdleAge = std::chrono::seconds(20);  // servers close idle ones too

struct IdleConn {
  std::unique_ptr<Stream> stream;
  std::chrono::steady_clock::time_point since;
};

struct HttpsClient::Impl {
  HttpsOptions options;
  ssl::context ctx{ssl::context::tls_client};
  std::map<std::string, std::vector<IdleConn>> idle;  // by host:port

  std::unique_ptr<Stream> take_idle(const std::string& where) {
    auto& list = idle[where];
    while (!list.empty()) {
      IdleConn c = std::move(list.back());
      list.pop_back();
      if (std::chrono::steady_clock::now() - c.since < kMaxIdleAge) return std::move(c.stream);
    }
    return nullptr;
  }
  void keep_idle(const std::string& where, std::unique_ptr<Stream> s) {
    auto& list = idle[where];
    if (list.size() >= kMaxIdlePerHost) return;
    beast::get_lowest_layer(*s).expires_never();
    list.push_back(IdleConn{std::move(s), std::chrono::steady_clock::now()});
  }
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

Result<std::unique_ptr<HttpsClient>> HttpsClient::create(HttpsOptions options) {
  auto impl = std::make_unique<Impl>();
  error_code ec;
  impl->ctx.set_default_verify_paths(ec);
  if (ec) return make_error(Code::kCrypto, "system trust store: " + ec.message());
  if (!options.ca_bundle.empty()) {
    impl->ctx.load_verify_file(options.ca_bundle, ec);
    if (ec)
      return make_error(Code::kInvalidArgument,
                        "ca_bundle " + options.ca_bundle + ": " + ec.message());
  }
  impl->ctx.set_verify_mode(ssl::verify_peer);
  impl->options = std::move(options);
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

namespace {

// Name or IP checked by OpenSSL during the handshake (RFC 6125).
Status set_peer_identity(SSL* ssl, const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  if (!ec) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1)
      return make_error(Code::kCrypto, "X509_VERIFY_PARAM_set1_ip_asc");
    return ok();
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || SSL_set1_host(ssl, host.c_str()) != 1)
    return make_error(Code::kCrypto, "SSL_set1_host");
  return ok();
}

Error net_error(const error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return make_error(Code::kTimeout, what + ": timed out");
  return make_error(Code::kUnavailable, what + ": " + ec.message());
}

HttpResponse to_response(const http::response<http::string_body>& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res) {
    const auto name = f.name_string();
    if (beast::iequals(name, "Content-Type"))
      out.content_type = std::string(f.value());
    else if (beast::iequals(name, "Location"))
      out.location = std::string(f.value());
    else if (beast::iequals(name, "Replay-Nonce"))
      out.replay_nonce = std::string(f.value());
    else if (beast::iequals(name, "Retry-After"))
      out.retry_after = std::string(f.value());
    else if (beast::iequals(name, "Link"))
      out.links.emplace_back(f.value());
  }
  return out;
}

}  // namespace

namespace {

awaitable<Result<std::unique_ptr<Stream>>> open_stream(ssl::context& ctx, const Url& u,
                                                       std::chrono::milliseconds timeout) {
  const std::string where = u.host + ":" + u.port;
  auto ex = co_await asio::this_coro::executor;
  error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints =
      co_await resolver.async_resolve(u.host, u.port, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return net_error(ec, "resolve " + u.host);
  auto stream = std::make_unique<Stream>(ex, ctx);
  if (auto st = set_peer_identity(stream->native_handle(), u.host); !st) co_return st.error();
  beast::get_lowest_layer(*stream).expires_after(timeout);
  co_await beast::get_lowest_layer(*stream).async_connect(endpoints,
                                                          asio::redirect_error(use_awaitable, ec));
  if (ec) co_return net_error(ec, "connect to " + where);
  // Without it each request waits ~40 ms: the body's TLS record sits behind
  // Nagle until the CA's delayed ACK of the header's record.
  beast::get_lowest_layer(*stream).socket().set_option(tcp::no_delay(true), ec);
  co_await stream->async_handshake(ssl::stream_base::client,
                                   asio::redirect_error(use_awaitable, ec));
  if (ec) {
    const long vr = SSL_get_verify_result(stream->native_handle());
    std::string what = "TLS handshake with " + where;
    if (vr != X509_V_OK)
      what +=
          " (certificate verify failed: " + std::string(X509_verify_cert_error_string(vr)) + ")";
    co_return net_error(ec, what);
  }
  co_return stream;
}

http::request<http::string_body> make_request(const Url& u, const std::string& method,
                                              const HttpsOptions& o,
                                              const std::string& content_type, std::string body,
                                              const std::string& accept) {
  http::request<http::string_body> req{http::string_to_verb(method), u.target, 11};
  // RFC 9110 §7.2: Host carries the port unless it is the default; CAs build
  // their URLs from it.
  const std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  req.set(http::field::host, u.port == "443" ? host : host + ":" + u.port);
  req.set(http::field::user_agent, o.user_agent);
  req.keep_alive(true);
  if (!accept.empty()) req.set(http::field::accept, accept);
  if (!content_type.empty()) {
    req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
  }
  return req;
}

struct Exchange {
  error_code ec;
  bool wrote = false;     // the whole request went out
  bool got_some = false;  // some of the response came back
  bool reusable = false;  // complete response, keep-alive, nothing left over
  http::response<http::string_body> res;
};

awaitable<Exchange> exchange(Stream& stream, const http::request<http::string_body>& req,
                             const HttpsOptions& o) {
  Exchange x;
  beast::get_lowest_layer(stream).expires_after(o.timeout);
  co_await http::async_write(stream, req, asio::redirect_error(use_awaitable, x.ec));
  if (x.ec) co_return x;
  x.wrote = true;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.body_limit);
  parser.header_limit(64 * 1024);
  if (req.method() == http::verb::head) parser.skip(true);
  // The header first: Beast 1.74's async_read of a whole response does not
  // apply body_limit to its Content-Length (tests/client/http_test.cpp shows
  // it); async_read_header does, so an oversized CA answer is refused.
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(use_awaitable, x.ec));
  if (!x.ec && !parser.is_done())
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, x.ec));
  x.got_some = parser.got_some();
  if (x.ec) co_return x;
  x.reusable = parser.get().keep_alive() && buffer.size() == 0;
  x.res = parser.release();
  co_return x;
}

// A kept connection the CA closed in the meantime fails before any of the
// response arrives; only then is the request sent again on a new one
// (RFC 9110 §9.2.2: the CA never saw it).
bool stale(const Exchange& x) {
  if (x.got_some || x.ec == beast::error::timeout) return false;
  return !x.wrote || x.ec == http::error::end_of_stream || x.ec == asio::error::eof ||
         x.ec == asio::error::connection_reset || x.ec == asio::error::broken_pipe ||
         x.ec == ssl::error::stream_truncated;
}

}  // namespace

awaitable<Result<HttpResponse>> HttpsClient::request(std::string method, std::string url,
                                                     std::string content_type, std::string body,
                                                     std::string accept) {
  auto parsed = parse_https_url(url);
  if (!parsed) co_return parsed.error();
  const Url u = parsed.value();
  const std::string where = u.host + ":" + u.port;
  const auto t0 = std::chrono::steady_clock::now();
  const auto req = make_request(u, method, impl_->options, content_type, std::move(body), accept);
  std::unique_ptr<Stream> stream = impl_->take_idle(where);
  const bool reused = stream != nullptr;
  if (!stream) {
    auto fresh = co_await open_stream(impl_->ctx, u, impl_->options.timeout);
    if (!fresh) co_return fresh.error();
    stream = std::move(fresh).value();
  }
  Exchange x = co_await exchange(*stream, req, impl_->options);
  if (x.ec && reused && stale(x)) {
    auto fresh = co_await open_stream(impl_->ctx, u, impl_->options.timeout);
    if (!fresh) co_return fresh.error();
    stream = std::move(fresh).value();
    x = co_await exchange(*stream, req, impl_->options);
  }
  if (x.ec == http::error::body_limit)
    co_return make_error(Code::kTooLarge, "response from " + where + " exceeds " +
                                              std::to_string(impl_->options.body_limit) + " bytes");
  if (x.ec) co_return net_error(x.ec, (x.wrote ? "read from " : "write to ") + where);
  if (x.reusable) impl_->keep_idle(where, std::move(stream));
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::debug("https method={} path={} status={} reused={} ms={:.1f}", method, u.target,
                x.res.result_int(), reused, us.count() / 1000.0);
  co_return to_response(x.res);
}

}  // namespace fc::certs::detail
