#include "agent/detail/http_client.hpp"
#include "common/asio_net.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace fc::agent {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t kBodyLimit = 64ull << 20;  // a large region's snapshot
constexpr const char* kUserAgent = "fleetcommand-agent/0.1";

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Error net_error(std::string_view what, const boost::system::error_code& ec) {
  Code c = ec == beast::error::timeout ? Code::kTimeout : Code::kUnavailable;
  return make_error(c, std::string(what) + ": " + ec.message());
}

std::string host_header(const Url& u) {
  std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  bool default_port = (u.tls && u.port == "443") || (!u.tls && u.port == "80");
  return default_port ? h : h + ":" + u.port;
}

template <class Stream>
awaitable<Result<HttpResponse>> exchange(Stream& stream, HttpRequest& req) {
  boost::system::error_code ec;
  co_await http::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return net_error("write", ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return net_error("read", ec);
  auto res = parser.release();
  co_return HttpResponse{res.result_int(), std::move(res.body())};
}

// Peer verification against the URL's host: IP literal or DNS name (SNI too).
Status configure_tls(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  int rc = is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (rc != 1) return make_error(Code::kCrypto, "cannot set verification host " + host);
  if (!is_ip_literal(host) && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return make_error(Code::kCrypto, "cannot set SNI " + host);
  }
  return ok();
}

}  // namespace

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

HttpClient::HttpClient(Url url, std::string token, std::unique_ptr<ssl::context> ctx)
    : url_(std::move(url)), token_(std::move(token)), ssl_(std::move(ctx)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(
    Url url, std::string token, const std::optional<std::string>& ca_bundle) {
  std::unique_ptr<ssl::context> ctx;
  if (url.tls) {
    ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (ca_bundle) {
      ctx->load_verify_file(*ca_bundle, ec);
      if (ec) return make_error(Code::kIo, "--ca-bundle " + *ca_bundle + ": " + ec.message());
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) return make_error(Code::kCrypto, "system trust store: " + ec.message());
    }
  }
  return std::unique_ptr<HttpClient>(
      new HttpClient(std::move(url), std::move(token), std::move(ctx)));
}

awaitable<Result<HttpResponse>> HttpClient::get(std::string path,
                                                std::chrono::milliseconds timeout) {
  auto r = co_await request(false, std::move(path), {}, timeout);
  co_return r;
}

awaitable<Result<HttpResponse>> HttpClient::post(std::string path, std::string body,
                                                 std::chrono::milliseconds timeout) {
  auto r = co_await request(true, std::move(path), std::move(body), timeout);
  co_return r;
}

awaitable<Result<HttpResponse>> HttpClient::request(bool post, std::string path, std::string body,
                                                    std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  HttpRequest req{post ? http::verb::post : http::verb::get, url_.base_path + path, 11};
  req.set(http::field::host, host_header(url_));
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::accept, "application/json");
  req.set(http::field::authorization, "Bearer " + token_);
  req.set(http::field::connection, "close");
  if (post) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();

  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(url_.host, url_.port,
                                                   asio::redirect_error(use_awaitable, ec));
  if (ec) co_return net_error("resolve " + url_.host, ec);

  if (!url_.tls) {
    beast::tcp_stream stream(ex);
    stream.expires_after(timeout);
    co_await stream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return net_error("connect " + url_.host + ":" + url_.port, ec);
    stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);  // see tls_request
    auto r = co_await exchange(stream, req);
    co_return r;
  }
  auto r = co_await tls_request(std::move(endpoints), req, timeout);
  co_return r;
}

awaitable<Result<HttpResponse>> HttpClient::tls_request(
    asio::ip::tcp::resolver::results_type endpoints, HttpRequest& req,
    std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  beast::ssl_stream<beast::tcp_stream> stream(ex, *ssl_);
  auto tls = configure_tls(stream.native_handle(), url_.host);
  if (!tls) co_return tls.error();
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints,
                                                         asio::redirect_error(use_awaitable, ec));
  if (ec) co_return net_error("connect " + url_.host + ":" + url_.port, ec);
  // Requests are small and written whole: never hold a segment back for an
  // ACK (Nagle + delayed ACK cost the ACME client ~40 ms per request).
  beast::get_lowest_layer(stream).socket().set_option(asio::ip::tcp::no_delay(true), ec);
  co_await stream.async_handshake(ssl::stream_base::client,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return net_error("tls handshake", ec);
  auto r = co_await exchange(stream, req);
  co_return r;
}

}  // namespace fc::agent
