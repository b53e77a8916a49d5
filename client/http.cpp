#include "client/async.hpp"
#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <openssl/x509v3.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace fc::client {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using ClientRequest = http::request<http::string_body>;

bool client_is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Error client_net_error(std::string_view what, const boost::system::error_code& ec) {
  Code c = ec == beast::error::timeout ? Code::kTimeout : Code::kUnavailable;
  std::string msg = ec == beast::error::timeout ? "timed out" : ec.message();
  return make_error(c, std::string(what) + ": " + msg);
}

std::string client_host_header(const Url& u) {
  std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  bool default_port = (u.tls && u.port == "443") || (!u.tls && u.port == "80");
  return default_port ? h : h + ":" + u.port;
}

template <class Stream>
awaitable<Result<Response>> client_exchange(Stream& stream, ClientRequest& req,
                                            std::uint64_t body_limit) {
  boost::system::error_code ec;
  co_await http::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("write", ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  // The header first: Beast 1.74's async_read of a whole response does not
  // apply body_limit to its Content-Length (it read a 2000-byte body past a
  // 1000-byte limit, tests/client/http_test.cpp); async_read_header does.
  co_await http::async_read_header(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("read", ec);
  co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("read", ec);
  auto res = parser.release();
  Response out{res.result_int(), std::string(res[http::field::content_type]),
               std::string(res[http::field::retry_after]), std::move(res.body())};
  co_return out;
}

// Peer verification against the URL's host: IP literal or DNS name (SNI too).
Status client_configure_tls(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  int rc = client_is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                                      : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (rc != 1) return make_error(Code::kCrypto, "cannot set verification host " + host);
  if (!client_is_ip_literal(host) && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return make_error(Code::kCrypto, "cannot set SNI " + host);
  }
  return ok();
}

Result<std::unique_ptr<ssl::context>> client_tls_context(const ClientOptions& o) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (o.ca_file) {
    ctx->load_verify_file(*o.ca_file, ec);
    if (ec) return make_error(Code::kIo, o.ca_option + " " + *o.ca_file + ": " + ec.message());
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) return make_error(Code::kCrypto, "system trust store: " + ec.message());
  }
  return ctx;
}

}  // namespace

struct AsyncClient::Impl {
  Url url;
  std::string token;
  ClientOptions opts;
  std::unique_ptr<ssl::context> ssl;

  ClientRequest make_request(std::string_view method, const std::string& target,
                             std::string body) const;
  awaitable<Result<Response>> run(ClientRequest& req, std::chrono::milliseconds timeout);
  awaitable<Result<Response>> run_tls(tcp::resolver::results_type endpoints, ClientRequest& req,
                                      std::chrono::milliseconds timeout);
};

AsyncClient::AsyncClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AsyncClient::~AsyncClient() = default;

Result<std::unique_ptr<AsyncClient>> AsyncClient::create(Url url, std::string token,
                                                         ClientOptions opts) {
  auto impl = std::make_unique<Impl>();
  if (url.tls) {
    BOOST_OUTCOME_TRY(ctx, client_tls_context(opts));
    impl->ssl = std::move(ctx);
  }
  impl->url = std::move(url);
  impl->token = std::move(token);
  impl->opts = std::move(opts);
  return std::unique_ptr<AsyncClient>(new AsyncClient(std::move(impl)));
}

ClientRequest AsyncClient::Impl::make_request(std::string_view method, const std::string& target,
                                              std::string body) const {
  ClientRequest req{http::string_to_verb(method), url.base_path + target, 11};
  req.set(http::field::host, client_host_header(url));
  req.set(http::field::user_agent, opts.user_agent);
  req.set(http::field::accept, "application/json");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::connection, "close");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();
  return req;
}

awaitable<Result<Response>> AsyncClient::request(std::string method, std::string target,
                                                 std::string body,
                                                 std::chrono::milliseconds timeout) {
  auto req = impl_->make_request(method, target, std::move(body));
  auto r = co_await impl_->run(req, timeout);
  co_return r;
}

awaitable<Result<Response>> AsyncClient::get(std::string target,
                                             std::chrono::milliseconds timeout) {
  auto r = co_await request("GET", std::move(target), {}, timeout);
  co_return r;
}

awaitable<Result<Response>> AsyncClient::post(std::string target, std::string body,
                                              std::chrono::milliseconds timeout) {
  auto r = co_await request("POST", std::move(target), std::move(body), timeout);
  co_return r;
}

awaitable<Result<Response>> AsyncClient::Impl::run(ClientRequest& req,
                                                   std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints =
      co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("resolve " + url.host, ec);
  if (url.tls) {
    auto r = co_await run_tls(std::move(endpoints), req, timeout);
    co_return r;
  }
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  co_await stream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("connect " + url.host + ":" + url.port, ec);
  stream.socket().set_option(tcp::no_delay(true), ec);  // see run_tls
  auto r = co_await client_exchange(stream, req, opts.body_limit);
  co_return r;
}

awaitable<Result<Response>> AsyncClient::Impl::run_tls(tcp::resolver::results_type endpoints,
                                                       ClientRequest& req,
                                                       std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  beast::ssl_stream<beast::tcp_stream> stream(ex, *ssl);
  auto tls = client_configure_tls(stream.native_handle(), url.host);
  if (!tls) co_return tls.error();
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints,
                                                         asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("connect " + url.host + ":" + url.port, ec);
  // Requests are small and written whole: never hold a segment back for an
  // ACK (Nagle + delayed ACK cost the ACME client ~40 ms per request).
  beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true), ec);
  co_await stream.async_handshake(ssl::stream_base::client,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("tls handshake", ec);
  auto r = co_await client_exchange(stream, req, opts.body_limit);
  co_return r;
}

// The blocking client: the coroutine client on a private io_context.
Client::Client(std::unique_ptr<AsyncClient> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(Url url, std::string token, ClientOptions opts) {
  BOOST_OUTCOME_TRY(c, AsyncClient::create(std::move(url), std::move(token), std::move(opts)));
  return std::unique_ptr<Client>(new Client(std::move(c)));
}

Result<Response> Client::request(std::string_view method, const std::string& target,
                                 const std::string& body, std::chrono::milliseconds timeout) {
  asio::io_context io;
  std::optional<Result<Response>> out;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto r = co_await impl_->request(std::string(method), target, body, timeout);
        out.emplace(std::move(r));
      },
      [&](std::exception_ptr e) {
        if (e && !out) out.emplace(make_error(Code::kInternal, "request failed"));
      });
  io.run();
  if (!out) return make_error(Code::kInternal, "request did not complete");
  return std::move(*out);
}

}  // namespace fc::client
