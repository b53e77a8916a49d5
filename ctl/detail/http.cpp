#include "ctl/detail/http.hpp"
#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <openssl/x509v3.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace fc::ctl {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t kCtlBodyLimit = 256ull << 20;  // a whole zone or a large page
constexpr const char* kCtlUserAgent = "fleetcommand-ctl/" FC_VERSION;

using CtlRequest = http::request<http::string_body>;

bool ctl_is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Error ctl_net_error(std::string_view what, const boost::system::error_code& ec) {
  Code c = ec == beast::error::timeout ? Code::kTimeout : Code::kUnavailable;
  std::string msg = ec == beast::error::timeout ? "timed out" : ec.message();
  return make_error(c, std::string(what) + ": " + msg);
}

std::string ctl_host_header(const Url& u) {
  std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  bool default_port = (u.tls && u.port == "443") || (!u.tls && u.port == "80");
  return default_port ? h : h + ":" + u.port;
}

template <class Stream>
awaitable<Result<HttpResponse>> ctl_exchange(Stream& stream, CtlRequest& req) {
  boost::system::error_code ec;
  co_await http::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ctl_net_error("write", ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kCtlBodyLimit);
  co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ctl_net_error("read", ec);
  auto res = parser.release();
  HttpResponse out{res.result_int(), std::string(res[http::field::content_type]),
                   std::string(res[http::field::retry_after]), std::move(res.body())};
  co_return out;
}

// Peer verification against the URL's host: IP literal or DNS name (SNI too).
Status ctl_configure_tls(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  int rc = ctl_is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                                   : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (rc != 1) return make_error(Code::kCrypto, "cannot set verification host " + host);
  if (!ctl_is_ip_literal(host) && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return make_error(Code::kCrypto, "cannot set SNI " + host);
  }
  return ok();
}

Result<Url> url_error(std::string why) { return make_error(Code::kInvalidArgument, why); }

}  // namespace

Result<Url> parse_url(std::string_view s) {
  Url u;
  if (s.rfind("http://", 0) == 0) {
    s.remove_prefix(7);
  } else if (s.rfind("https://", 0) == 0) {
    u.tls = true;
    s.remove_prefix(8);
  } else {
    return url_error("expected an http:// or https:// URL, got '" + std::string(s) + "'");
  }
  auto slash = s.find('/');
  std::string_view authority = s.substr(0, slash);
  if (slash != std::string_view::npos) u.base_path = std::string(s.substr(slash));
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return url_error("unterminated IPv6 literal");
    u.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') port = rest.substr(1);
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return url_error("the URL has no host");
  if (!port.empty() && port.find_first_not_of("0123456789") != std::string_view::npos)
    return url_error("the URL's port is not a number");
  u.port = port.empty() ? (u.tls ? "443" : "80") : std::string(port);
  return u;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct HttpClient::Impl {
  Url url;
  std::string token;
  std::unique_ptr<ssl::context> ssl;

  awaitable<Result<HttpResponse>> run(CtlRequest& req, std::chrono::milliseconds timeout);
  awaitable<Result<HttpResponse>> run_tls(tcp::resolver::results_type endpoints, CtlRequest& req,
                                          std::chrono::milliseconds timeout);
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(Url url, std::string token,
                                                       const std::optional<std::string>& ca_file) {
  auto impl = std::make_unique<Impl>();
  if (url.tls) {
    impl->ssl = std::make_unique<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    impl->ssl->set_verify_mode(ssl::verify_peer, ec);
    if (ca_file) {
      impl->ssl->load_verify_file(*ca_file, ec);
      if (ec) return make_error(Code::kIo, "--ca-file " + *ca_file + ": " + ec.message());
    } else {
      impl->ssl->set_default_verify_paths(ec);
      if (ec) return make_error(Code::kCrypto, "system trust store: " + ec.message());
    }
  }
  impl->url = std::move(url);
  impl->token = std::move(token);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<HttpResponse> HttpClient::request(std::string_view method, const std::string& target,
                                         const std::string& body,
                                         std::chrono::milliseconds timeout) {
  CtlRequest req{http::string_to_verb(method), impl_->url.base_path + target, 11};
  req.set(http::field::host, ctl_host_header(impl_->url));
  req.set(http::field::user_agent, kCtlUserAgent);
  req.set(http::field::accept, "application/json");
  if (!impl_->token.empty()) req.set(http::field::authorization, "Bearer " + impl_->token);
  req.set(http::field::connection, "close");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  asio::io_context io;
  std::optional<Result<HttpResponse>> out;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto r = co_await impl_->run(req, timeout);
        out.emplace(std::move(r));
      },
      [&](std::exception_ptr e) {
        if (e && !out) out.emplace(make_error(Code::kInternal, "request failed"));
      });
  io.run();
  if (!out) return make_error(Code::kInternal, "request did not complete");
  return std::move(*out);
}

awaitable<Result<HttpResponse>> HttpClient::Impl::run(CtlRequest& req,
                                                      std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints =
      co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ctl_net_error("resolve " + url.host, ec);
  if (url.tls) {
    auto r = co_await run_tls(std::move(endpoints), req, timeout);
    co_return r;
  }
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  co_await stream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ctl_net_error("connect " + url.host + ":" + url.port, ec);
  stream.socket().set_option(tcp::no_delay(true), ec);
  auto r = co_await ctl_exchange(stream, req);
  co_return r;
}

awaitable<Result<HttpResponse>> HttpClient::Impl::run_tls(tcp::resolver::results_type endpoints,
                                                          CtlRequest& req,
                                                          std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  beast::ssl_stream<beast::tcp_stream> stream(ex, *ssl);
  auto tls = ctl_configure_tls(stream.native_handle(), url.host);
  if (!tls) co_return tls.error();
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints,
                                                         asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ctl_net_error("connect " + url.host + ":" + url.port, ec);
  beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true), ec);
  co_await stream.async_handshake(ssl::stream_base::client,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return ctl_net_error("tls handshake", ec);
  auto r = co_await ctl_exchange(stream, req);
  co_return r;
}

}  // namespace fc::ctl
