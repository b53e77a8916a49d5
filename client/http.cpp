// The one HTTP client transport of the project (client/async.hpp
// HttpTransport): every Beast and Asio-SSL instantiation of the client side
// is in this file — the agent, ctl and the ACME client share it, so Beast's
// parser, serializer and composed operations are compiled once
// (docs/building.md "Where the time goes").
#include "client/async.hpp"
#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <openssl/x509v3.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <charconv>
#include <map>

namespace fc::client {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using WireRequest = http::request<http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kMaxIdlePerHost = 8;
constexpr auto kMaxIdleAge = std::chrono::seconds(20);  // servers close idle ones too
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
// One deadline over the whole exchange (resolve, connect, TLS, write, read).
using Deadline = std::chrono::steady_clock::time_point;

bool client_is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Error client_net_error(std::string_view what, const error_code& ec) {
  if (ec == beast::error::timeout)
    return make_error(Code::kTimeout, std::string(what) + ": timed out");
  return make_error(Code::kUnavailable, std::string(what) + ": " + ec.message());
}

std::string client_host_header(const Url& u) {
  std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  bool default_port = (u.tls && u.port == "443") || (!u.tls && u.port == "80");
  return default_port ? h : h + ":" + u.port;
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

Result<std::unique_ptr<ssl::context>> client_tls_context(const TransportOptions& o) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (!o.ca_file || o.ca_file_adds_to_system) {
    ctx->set_default_verify_paths(ec);
    if (ec) return make_error(Code::kCrypto, "system trust store: " + ec.message());
  }
  if (o.ca_file) {
    ctx->load_verify_file(*o.ca_file, ec);
    if (ec) return make_error(Code::kIo, o.ca_option + " " + *o.ca_file + ": " + ec.message());
  }
  return ctx;
}

// One connection, plain or TLS: exactly one of the two is set.
struct Conn {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<TlsStream> tls;
  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
};

struct IdleConn {
  std::unique_ptr<Conn> conn;
  std::chrono::steady_clock::time_point since;
};

struct Exchange {
  error_code ec;
  bool wrote = false;      // the whole request went out
  bool got_some = false;   // some of the response came back
  bool reusable = false;   // complete response, keep-alive, nothing left over
  bool truncated = false;  // body_limit reached with truncate: res holds what came
  http::response<http::string_body> res;
};

template <class Stream>
awaitable<Exchange> client_exchange(Stream& stream, const WireRequest& req,
                                    std::uint64_t body_limit, bool truncate) {
  Exchange x;
  co_await http::async_write(stream, req, asio::redirect_error(use_awaitable, x.ec));
  if (x.ec) co_return x;
  x.wrote = true;
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  parser.header_limit(kHeaderLimit);
  if (req.method() == http::verb::head) parser.skip(true);
  // The header first: Beast 1.74's async_read of a whole response does not
  // apply body_limit to its Content-Length (it read a 2000-byte body past a
  // 1000-byte limit, tests/client/http_test.cpp); async_read_header does.
  co_await http::async_read_header(stream, buf, parser, asio::redirect_error(use_awaitable, x.ec));
  if (!x.ec && !parser.is_done())
    co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, x.ec));
  x.got_some = parser.got_some();
  if (x.ec == http::error::body_limit && truncate && parser.is_header_done()) {
    x.ec = {};
    x.truncated = true;  // the rest stays unread: the connection is not kept
    x.res = parser.release();
    co_return x;
  }
  if (x.ec) co_return x;
  x.reusable = parser.get().keep_alive() && buf.size() == 0;
  x.res = parser.release();
  co_return x;
}

awaitable<Exchange> conn_exchange(Conn& c, const WireRequest& req, std::uint64_t body_limit,
                                  bool truncate, Deadline deadline) {
  c.lowest().expires_at(deadline);
  if (c.plain) {
    auto x = co_await client_exchange(*c.plain, req, body_limit, truncate);
    co_return x;
  }
  auto x = co_await client_exchange(*c.tls, req, body_limit, truncate);
  co_return x;
}

// A kept connection the server closed in the meantime fails before any of the
// response arrives; only then is the request sent again on a new one
// (RFC 9110 §9.2.2: the server never saw it).
bool client_stale(const Exchange& x) {
  if (x.got_some || x.ec == beast::error::timeout) return false;
  return !x.wrote || x.ec == http::error::end_of_stream || x.ec == asio::error::eof ||
         x.ec == asio::error::connection_reset || x.ec == asio::error::broken_pipe ||
         x.ec == ssl::error::stream_truncated;
}

// RFC 9110 §5.5: a field value never carries CR, LF or NUL (a caller's value
// with one would inject a header or split the request), nor a name a space
// or a colon.
Status check_request(const HttpRequest& req) {
  if (http::string_to_verb(req.method) == http::verb::unknown)
    return make_error(Code::kInvalidArgument, "unknown HTTP method");
  if (req.target.empty() || req.target.front() != '/' ||
      req.target.find_first_of(std::string_view("\r\n \0", 4)) != std::string::npos)
    return make_error(Code::kInvalidArgument, "bad request target");
  for (const auto& h : req.headers) {
    if (h.name.empty() ||
        h.name.find_first_of(std::string_view("\r\n :\0", 5)) != std::string::npos)
      return make_error(Code::kInvalidArgument, "bad header name");
    if (h.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return make_error(Code::kInvalidArgument,
                        "header " + h.name + ": CR, LF or NUL in its value");
  }
  return ok();
}

HttpReply to_reply(http::response<http::string_body>& res, bool reused, bool truncated) {
  HttpReply out;
  out.status = res.result_int();
  out.reused = reused;
  out.truncated = truncated;
  for (const auto& f : res)
    out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  out.body = std::move(res.body());
  return out;
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
  for (const auto& h : headers)
    if (beast::iequals(h.name, name)) return h.value;
  return {};
}

std::vector<std::string> HttpReply::header_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& h : headers)
    if (beast::iequals(h.name, name)) out.push_back(h.value);
  return out;
}

struct HttpTransport::Impl {
  TransportOptions opts;
  std::unique_ptr<ssl::context> ssl;                  // created on the first https request
  std::map<std::string, std::vector<IdleConn>> idle;  // by scheme, host, port, address

  Status ensure_tls();
  std::unique_ptr<Conn> take_idle(const std::string& key);
  void keep_idle(const std::string& key, std::unique_ptr<Conn> c);
  WireRequest make_request(const Url& url, HttpRequest& req) const;
  awaitable<Result<std::unique_ptr<Conn>>> open(const Url& url, const std::string& connect_to,
                                                Deadline deadline);
  Result<HttpReply> finish(const std::string& key, std::unique_ptr<Conn> conn, Exchange& x,
                           bool reused);
};

Status HttpTransport::Impl::ensure_tls() {
  if (ssl) return ok();
  BOOST_OUTCOME_TRY(ctx, client_tls_context(opts));
  ssl = std::move(ctx);
  return ok();
}

std::unique_ptr<Conn> HttpTransport::Impl::take_idle(const std::string& key) {
  auto it = idle.find(key);
  if (it == idle.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    IdleConn c = std::move(list.back());
    list.pop_back();
    if (std::chrono::steady_clock::now() - c.since < kMaxIdleAge) return std::move(c.conn);
  }
  return nullptr;
}

void HttpTransport::Impl::keep_idle(const std::string& key, std::unique_ptr<Conn> c) {
  auto& list = idle[key];
  if (list.size() >= kMaxIdlePerHost) return;
  c->lowest().expires_never();
  list.push_back(IdleConn{std::move(c), std::chrono::steady_clock::now()});
}

WireRequest HttpTransport::Impl::make_request(const Url& url, HttpRequest& req) const {
  WireRequest w{http::string_to_verb(req.method), url.base_path + req.target, 11};
  w.set(http::field::host, client_host_header(url));
  w.set(http::field::user_agent, opts.user_agent);
  for (auto& h : req.headers) w.set(h.name, h.value);
  if (opts.keep_alive)
    w.keep_alive(true);
  else
    w.set(http::field::connection, "close");
  w.body() = std::move(req.body);
  w.prepare_payload();
  return w;
}

awaitable<Result<std::unique_ptr<Conn>>> HttpTransport::Impl::open(const Url& url,
                                                                   const std::string& connect_to,
                                                                   Deadline deadline) {
  auto ex = co_await asio::this_coro::executor;
  error_code ec;
  const std::string where = url.host + ":" + url.port;
  std::vector<tcp::endpoint> endpoints;
  if (connect_to.empty()) {
    tcp::resolver resolver(ex);
    auto found = co_await resolver.async_resolve(url.host, url.port,
                                                 asio::redirect_error(use_awaitable, ec));
    if (ec) co_return client_net_error("resolve " + url.host, ec);
    for (const auto& e : found) endpoints.push_back(e.endpoint());
  } else {
    const auto addr = asio::ip::make_address(connect_to, ec);
    if (ec) co_return make_error(Code::kInvalidArgument, "connect_to is not an IP: " + connect_to);
    unsigned port = 0;
    const auto [end, perr] =
        std::from_chars(url.port.data(), url.port.data() + url.port.size(), port);
    if (perr != std::errc() || end != url.port.data() + url.port.size() || port == 0 ||
        port > 65535)
      co_return make_error(Code::kInvalidArgument, "bad port " + url.port);
    endpoints.emplace_back(addr, static_cast<unsigned short>(port));
  }
  auto c = std::make_unique<Conn>();
  if (url.tls) {
    c->tls = std::make_unique<TlsStream>(ex, *ssl);
    auto st = client_configure_tls(c->tls->native_handle(), url.host);
    if (!st) co_return st.error();
  } else {
    c->plain = std::make_unique<beast::tcp_stream>(ex);
  }
  c->lowest().expires_at(deadline);
  co_await c->lowest().async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return client_net_error("connect " + where, ec);
  // Requests are small and written whole: never hold a segment back for an
  // ACK (Nagle + delayed ACK cost the ACME client ~40 ms per request).
  c->lowest().socket().set_option(tcp::no_delay(true), ec);
  if (!url.tls) co_return c;
  co_await c->tls->async_handshake(ssl::stream_base::client,
                                   asio::redirect_error(use_awaitable, ec));
  if (ec) {
    std::string what = "tls handshake with " + where;
    const long vr = SSL_get_verify_result(c->tls->native_handle());
    if (vr != X509_V_OK)
      what +=
          " (certificate verify failed: " + std::string(X509_verify_cert_error_string(vr)) + ")";
    co_return client_net_error(what, ec);
  }
  co_return c;
}

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpTransport::~HttpTransport() = default;

Result<std::unique_ptr<HttpTransport>> HttpTransport::create(TransportOptions opts) {
  auto impl = std::make_unique<Impl>();
  impl->opts = std::move(opts);
  // A CA file that does not load is the caller's configuration error: report
  // it now, not at the first request.
  if (impl->opts.ca_file) {
    auto st = impl->ensure_tls();
    if (!st) return st.error();
  }
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(impl)));
}

awaitable<Result<HttpReply>> HttpTransport::send(Url url, HttpRequest req,
                                                 std::chrono::milliseconds timeout) {
  if (auto st = check_request(req); !st) co_return st.error();
  Impl& m = *impl_;
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  if (url.tls) {
    auto st = m.ensure_tls();
    if (!st) co_return st.error();
  }
  const std::string key =
      (url.tls ? "https://" : "http://") + url.host + ":" + url.port + "@" + req.connect_to;
  const std::string connect_to = req.connect_to;
  WireRequest wire = m.make_request(url, req);
  std::unique_ptr<Conn> conn = m.opts.keep_alive ? m.take_idle(key) : nullptr;
  const bool reused = conn != nullptr;
  if (!conn) {
    auto fresh = co_await m.open(url, connect_to, deadline);
    if (!fresh) co_return fresh.error();
    conn = std::move(fresh).value();
  }
  // No `x = co_await …` (assigning a co_await result to a live local): GCC 12
  // then destroyed the request twice (ASan, the dropped-connection test).
  Exchange first =
      co_await conn_exchange(*conn, wire, m.opts.body_limit, m.opts.truncate_body, deadline);
  if (!(first.ec && reused && client_stale(first)))
    co_return m.finish(key, std::move(conn), first, reused);
  auto fresh = co_await m.open(url, connect_to, deadline);
  if (!fresh) co_return fresh.error();
  conn = std::move(fresh).value();
  Exchange second =
      co_await conn_exchange(*conn, wire, m.opts.body_limit, m.opts.truncate_body, deadline);
  co_return m.finish(key, std::move(conn), second, false);
}

Result<HttpReply> HttpTransport::Impl::finish(const std::string& key, std::unique_ptr<Conn> conn,
                                              Exchange& x, bool reused) {
  if (x.ec == http::error::body_limit)
    return make_error(Code::kTooLarge, "read: body limit exceeded");
  if (x.ec) return client_net_error(x.wrote ? "read" : "write", x.ec);
  if (opts.keep_alive && x.reusable) keep_idle(key, std::move(conn));
  return to_reply(x.res, reused, x.truncated);
}

// AsyncClient: a client of our own API (docs/API.md) on the transport.
struct AsyncClient::Impl {
  Url url;
  std::string token;
  std::unique_ptr<HttpTransport> transport;
};

AsyncClient::AsyncClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AsyncClient::~AsyncClient() = default;

Result<std::unique_ptr<AsyncClient>> AsyncClient::create(Url url, std::string token,
                                                         ClientOptions opts) {
  TransportOptions t;
  t.user_agent = std::move(opts.user_agent);
  t.body_limit = opts.body_limit;
  t.ca_file = std::move(opts.ca_file);
  t.ca_option = std::move(opts.ca_option);
  if (!url.tls) t.ca_file.reset();  // as before: a CA file matters only for https
  BOOST_OUTCOME_TRY(transport, HttpTransport::create(std::move(t)));
  auto impl = std::make_unique<Impl>();
  impl->url = std::move(url);
  impl->token = std::move(token);
  impl->transport = std::move(transport);
  return std::unique_ptr<AsyncClient>(new AsyncClient(std::move(impl)));
}

awaitable<Result<Response>> AsyncClient::request(std::string method, std::string target,
                                                 std::string body,
                                                 std::chrono::milliseconds timeout) {
  HttpRequest req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.headers.push_back({"Accept", "application/json"});
  if (!impl_->token.empty()) req.headers.push_back({"Authorization", "Bearer " + impl_->token});
  if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  req.body = std::move(body);
  auto r = co_await impl_->transport->send(impl_->url, std::move(req), timeout);
  if (!r) co_return r.error();
  HttpReply& rep = r.value();
  co_return Response{rep.status, rep.header("Content-Type"), rep.header("Retry-After"),
                     std::move(rep.body)};
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
