// One coroutine per connection, in the style of Beast's awaitable and
// advanced server examples: a fresh parser with limits per message, a timeout
// before every read, errors on bad input answered and the connection closed.
#include <spdlog/spdlog.h>
#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <set>

#include "api/detail/request_convert.hpp"
#include "api/detail/response_wire.hpp"
#include "api/server.hpp"

namespace fc::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context& io;
  const Router& router;
  HttpServerOptions o;
  Observer observe;
  tcp::acceptor acceptor;
  std::unique_ptr<ssl::context> tls;
  int conns = 0;
  int active = 0;
  bool stopping = false;
  // Every open connection's socket and whether it waits for its next request
  // (close_idle cancels those); registered once per connection, not per request.
  struct Conn {
    tcp::socket* socket = nullptr;
    bool idle = false;
  };
  std::set<Conn*> open;

  Impl(asio::io_context& i, const Router& r, HttpServerOptions opts, Observer obs)
      : io(i), router(r), o(std::move(opts)), observe(std::move(obs)), acceptor(i) {}

  awaitable<void> accept_loop();
  static awaitable<void> run_connection(std::shared_ptr<Impl> self, tcp::socket s,
                                        std::string remote);
  // The connection's requests one after the other, in this one coroutine
  // frame: no frame per request (docs/api-server.md "Hot path").
  template <class Stream>
  awaitable<void> session(Stream& stream, std::string remote);
};

namespace {

template <class Stream>
tcp::socket& socket_of(Stream& s) {
  return beast::get_lowest_layer(s).socket();
}

// Errors answered before a request reached the router (bad HTTP).
Response framing_error(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit)
    return problem(413, "too-large", "Content Too Large", "request body is larger than 1 MiB");
  if (ec == http::error::header_limit)
    return problem(431, "headers-too-large", "Request Header Fields Too Large",
                   "request headers are larger than 16 KiB");
  return problem(400, "malformed-request", "Bad Request",
                 "malformed HTTP request: " + ec.message());
}

// Over the connection cap: a 503 written without waiting, then the socket is
// closed at once (the client is refused politely, the server stays bounded).
void refuse_busy(tcp::socket& sock) {
  Response resp = problem(503, "unavailable", "Service Unavailable", "too many connections");
  resp.headers.emplace_back("Retry-After", "1");
  resp.close = true;
  const std::string busy = detail::beast_serialize(resp, 11, false, detail::new_request_id());
  boost::system::error_code ignore;
  sock.non_blocking(true);
  sock.write_some(asio::buffer(busy), ignore);
  sock.close(ignore);
}

bool is_disconnect(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == beast::error::timeout || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated;
}

}  // namespace

template <class Stream>
awaitable<void> HttpServer::Impl::session(Stream& stream, std::string remote) {
  beast::flat_buffer buf;
  std::string wire;  // the response's bytes, its capacity kept for the next one
  Conn conn{&socket_of(stream)};
  open.insert(&conn);
  struct Unregister {
    std::set<Conn*>& open;
    Conn* conn;
    ~Unregister() { open.erase(conn); }
  } unregister{open, &conn};
  auto& lowest = beast::get_lowest_layer(stream);
  for (;;) {
    boost::system::error_code ec;
    if (buf.size() == 0) {
      // Between requests: wait for the first byte with the idle timeout.
      conn.idle = true;
      lowest.expires_after(o.idle_timeout);
      auto n = co_await stream.async_read_some(buf.prepare(4096),
                                               asio::redirect_error(use_awaitable, ec));
      conn.idle = false;
      if (ec || stopping) break;
      buf.commit(n);
    }
    // A fresh parser with limits per message.
    http::request_parser<http::string_body> parser;
    parser.body_limit(o.body_limit);
    parser.header_limit(o.header_limit);
    lowest.expires_after(o.read_timeout);  // the whole request, so slow clients are cut off
    co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
    auto start = std::chrono::steady_clock::now();
    if (ec && is_disconnect(ec)) break;  // EOF, timeout, reset, partial message
    Request req;
    req.remote = remote;
    Response resp;
    bool keep_alive = false;
    unsigned version = 11;
    if (ec) {
      resp = framing_error(ec);
      req.method = "-";
      req.path = "-";
      req.request_id = detail::new_request_id();
    } else {
      version = parser.get().version();
      keep_alive = parser.get().keep_alive();
      detail::convert_request(parser.get(), req);
      ++active;
      try {
        if (auto bad = detail::unusable_text(req))
          resp = std::move(*bad);
        else
          resp = co_await router.dispatch(req);
      } catch (const std::exception& e) {
        spdlog::critical("handler threw request_id={} what={}", req.request_id, e.what());
        resp = problem(500, "internal", "Internal Server Error",
                       "internal error; request " + req.request_id);
      }
      --active;
    }
    if (stopping) resp.close = true;
    detail::wire_response(resp, version, keep_alive, req.request_id, wire);
    lowest.expires_after(o.read_timeout);
    co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(use_awaitable, ec));
    if (wire.capacity() > 64 * 1024) std::string().swap(wire);  // after a large answer
    if (observe) observe(req, resp, std::chrono::steady_clock::now() - start);
    if (ec || !keep_alive || resp.close || stopping) break;
  }
}

// One connection. A free coroutine taking its arguments by value: a lambda's
// captures would die with the accept loop's iteration (STYLE.md "Async").
awaitable<void> HttpServer::Impl::run_connection(std::shared_ptr<Impl> self, tcp::socket s,
                                                 std::string remote) {
  if (self->tls) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(s), *self->tls);
    beast::get_lowest_layer(stream).expires_after(self->o.read_timeout);
    boost::system::error_code hec;
    co_await stream.async_handshake(ssl::stream_base::server,
                                    asio::redirect_error(use_awaitable, hec));
    if (!hec) co_await self->session(stream, remote);
  } else {
    beast::tcp_stream stream(std::move(s));
    co_await self->session(stream, remote);
  }
}

awaitable<void> HttpServer::Impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    boost::system::error_code ec;
    tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (stopping || !acceptor.is_open()) co_return;
    if (ec) {
      // e.g. EMFILE: back off instead of spinning, then try again.
      asio::steady_timer pause(io, std::chrono::milliseconds(100));
      boost::system::error_code tec;
      co_await pause.async_wait(asio::redirect_error(use_awaitable, tec));
      continue;
    }
    std::string remote = detail::endpoint_string(sock);
    if (conns >= o.max_connections) {
      refuse_busy(sock);
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    ++conns;
    asio::co_spawn(io, run_connection(self, std::move(sock), std::move(remote)),
                   [self](std::exception_ptr e) {
                     --self->conns;
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::warn("connection error server={} what={}", self->o.name, ex.what());
                     }
                   });
  }
}

HttpServer::HttpServer(asio::io_context& io, const Router& router, HttpServerOptions o,
                       Observer observe)
    : impl_(std::make_shared<Impl>(io, router, std::move(o), std::move(observe))) {}

HttpServer::~HttpServer() = default;

Status HttpServer::listen() {
  auto& i = *impl_;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(i.o.host, ec);
  if (ec) return make_error(Code::kInvalidArgument, i.o.name + ": bad listen address " + i.o.host);
  tcp::endpoint ep(addr, i.o.port);
  std::string where = i.o.name + " listen " + i.o.host + ":" + std::to_string(i.o.port);
  if (i.acceptor.open(ep.protocol(), ec); ec)
    return make_error(Code::kIo, where + ": " + ec.message());
  i.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (i.acceptor.bind(ep, ec); ec) return make_error(Code::kIo, where + ": " + ec.message());
  if (i.acceptor.listen(1024, ec); ec) return make_error(Code::kIo, where + ": " + ec.message());
  if (!i.o.tls_cert_file.empty()) {
    i.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    i.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    i.tls->use_certificate_chain_file(i.o.tls_cert_file, ec);
    if (ec) return make_error(Code::kInvalidArgument, "api.tls.cert_file: " + ec.message());
    i.tls->use_private_key_file(i.o.tls_key_file, ssl::context::pem, ec);
    if (ec) return make_error(Code::kInvalidArgument, "api.tls.key_file: " + ec.message());
  }
  return ok();
}

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::start() { asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached); }

void HttpServer::stop_accepting() {
  impl_->stopping = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

void HttpServer::close_idle() {
  std::vector<tcp::socket*> idle;
  for (const auto* c : impl_->open)
    if (c->idle) idle.push_back(c->socket);
  for (auto* s : idle) {
    boost::system::error_code ec;
    s->cancel(ec);
  }
}

int HttpServer::active_requests() const { return impl_->active; }
int HttpServer::connections() const { return impl_->conns; }

}  // namespace fc::api
