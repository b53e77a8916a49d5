// The health listener, in the style of the daemon's server (api/detail/
// http_server.cpp) but smaller: one request per connection, a fresh parser
// with the same limits, a deadline on the whole exchange.
#include "agent/detail/health.hpp"
#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <spdlog/spdlog.h>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace fc::agent {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t kHealthBodyLimit = 1024 * 1024;  // the daemon's limits
constexpr std::uint32_t kHealthHeaderLimit = 16 * 1024;
constexpr auto kHealthTimeout = std::chrono::seconds(10);
constexpr int kHealthMaxConnections = 64;

http::response<http::string_body> health_response(const HealthReply& r, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
  res.set(http::field::server, "fleetcommand-agent");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(false);
  res.body() = r.body;
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the GET
  return res;
}

}  // namespace

struct HealthServer::Impl : std::enable_shared_from_this<HealthServer::Impl> {
  asio::io_context& io;
  ListenAddr addr;
  const AgentMetrics& metrics;
  std::chrono::seconds window;
  std::shared_ptr<spdlog::logger> log;
  tcp::acceptor acceptor;
  int conns = 0;

  Impl(asio::io_context& i, ListenAddr a, const AgentMetrics& m, std::chrono::seconds w,
       std::shared_ptr<spdlog::logger> l)
      : io(i), addr(std::move(a)), metrics(m), window(w), log(std::move(l)), acceptor(i) {}

  awaitable<void> accept_loop();
  static awaitable<void> serve(std::shared_ptr<Impl> self, tcp::socket sock);
};

// A free coroutine taking its arguments by value (STYLE.md "Async").
awaitable<void> HealthServer::Impl::serve(std::shared_ptr<Impl> self, tcp::socket sock) {
  beast::tcp_stream stream(std::move(sock));
  stream.expires_after(kHealthTimeout);
  beast::flat_buffer buf;
  http::request_parser<http::string_body> parser;
  parser.body_limit(kHealthBodyLimit);
  parser.header_limit(kHealthHeaderLimit);
  boost::system::error_code ec;
  co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
  if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == http::error::partial_message)
    co_return;  // gone or too slow: nothing to answer
  HealthReply reply;
  bool head = false;
  if (ec) {
    reply = {400, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n"};
  } else {
    const auto& req = parser.get();
    head = req.method() == http::verb::head;
    reply = health_reply(req.method_string(), req.target(), self->metrics, self->window,
                         std::chrono::steady_clock::now(), std::chrono::system_clock::now());
  }
  auto res = health_response(reply, head);
  co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> HealthServer::Impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    boost::system::error_code ec;
    tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (!acceptor.is_open()) co_return;
    if (ec) {  // e.g. EMFILE: pause instead of spinning
      asio::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (conns >= kHealthMaxConnections) {
      sock.close(ec);
      continue;
    }
    ++conns;
    asio::co_spawn(io, serve(self, std::move(sock)), [self](std::exception_ptr e) {
      --self->conns;
      if (e) self->log->warn("health connection error");
    });
  }
}

HealthServer::HealthServer(asio::io_context& io, ListenAddr addr, const AgentMetrics& metrics,
                           std::chrono::seconds window, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<Impl>(io, std::move(addr), metrics, window, std::move(log))) {}

HealthServer::~HealthServer() {
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

std::uint16_t HealthServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

Status HealthServer::listen() {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(impl_->addr.host, ec);
  std::string where = impl_->addr.host + " port " + std::to_string(impl_->addr.port);
  if (ec) return make_error(Code::kInvalidArgument, "not an IP address: " + where);
  tcp::endpoint ep(ip, impl_->addr.port);
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (ec) return make_error(Code::kIo, "open " + where + ": " + ec.message());
  // Dual stack where the system allows it ([::] answers IPv4 too); not required.
  if (ip.is_v6()) acc.set_option(asio::ip::v6_only(false), ec);
  acc.set_option(tcp::acceptor::reuse_address(true), ec);
  acc.bind(ep, ec);
  if (ec) return make_error(Code::kIo, "bind " + where + ": " + ec.message());
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Code::kIo, "listen " + where + ": " + ec.message());
  asio::co_spawn(impl_->io, impl_->accept_loop(), [log = impl_->log](std::exception_ptr e) {
    if (e) log->critical("health listener stopped by an exception");
  });
  impl_->log->info("health listening addr={} port={}", impl_->addr.host, port());
  return ok();
}

}  // namespace fc::agent
