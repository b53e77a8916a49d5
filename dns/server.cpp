// The authoritative server's sockets: a UDP loop, a TCP acceptor with one
// coroutine per connection, and NOTIFY senders. All on one io_context thread.
#include "dns/server.hpp"
#include "common/asio_net.hpp"

#include <spdlog/spdlog.h>

#include <atomic>

#include "dns/detail/net.hpp"
#include "dns/detail/responder.hpp"
#include "dns/detail/rrl.hpp"

namespace fc::dns {
namespace {
using detail::tcp;
using detail::udp;
using std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = [] {
    auto existing = spdlog::get("dns");
    if (existing) return existing;
    auto created = spdlog::default_logger()->clone("dns");
    spdlog::register_logger(created);
    return created;
  }();
  return l;
}

void log_exception(std::exception_ptr e, const char* where) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logger()->error("event=coroutine_failed where={} what={}", where, ex.what());
  }
}

struct TcpConn {
  explicit TcpConn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  steady_clock::time_point deadline;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& i, ServerOptions o, const Clock& c)
      : io(i),
        opts(std::move(o)),
        clock(c),
        udp_sock(i),
        acceptor(i),
        rrl(opts.rrl_responses_per_second, opts.rrl_table_size) {}

  asio::io_context& io;
  ServerOptions opts;
  const Clock& clock;
  std::atomic<std::shared_ptr<const ZoneSnapshot>> zone;
  udp::socket udp_sock;
  tcp::acceptor acceptor;
  detail::RateLimiter rrl;
  std::vector<detail::Cidr> acl;
  std::vector<udp::endpoint> secondaries;
  ServerStats stats;
  std::size_t tcp_open = 0;
  std::uint16_t port = 0;

  detail::QueryContext context(const asio::ip::address& from, detail::Transport t) const {
    detail::QueryContext c;
    c.transport = t;
    c.acl_allows_transfer =
        std::any_of(acl.begin(), acl.end(), [&](const auto& n) { return n.contains(from); });
    c.keys = opts.axfr_tsig;
    c.now = static_cast<std::uint64_t>(clock.now_ms() / 1000);
    c.max_udp = opts.edns_udp_size;
    return c;
  }

  Status bind(const udp::endpoint& ep);
  awaitable<void> udp_loop();
  awaitable<void> accept_loop();
  awaitable<void> tcp_session(std::shared_ptr<TcpConn> c);
  awaitable<void> watchdog(std::shared_ptr<TcpConn> c);
  awaitable<void> notify_one(udp::endpoint to, std::shared_ptr<const ZoneSnapshot> z);
  std::optional<std::vector<std::uint8_t>> rate_limit(const asio::ip::address& from,
                                                      std::vector<std::uint8_t> wire);
};

Status Server::Impl::bind(const udp::endpoint& want) {
  // Port 0: UDP picks a port, TCP must get the same one; retry a few times.
  for (int attempt = 0; attempt < 20; ++attempt) {
    boost::system::error_code ec;
    udp_sock.open(want.protocol(), ec);
    if (!ec) udp_sock.bind(want, ec);
    if (ec)
      return make_error(Code::kIo,
                        "dns udp bind " + want.address().to_string() + ": " + ec.message());
    port = udp_sock.local_endpoint().port();
    tcp::endpoint tep(want.address(), port);
    acceptor.open(tep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(tep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return ok();
    boost::system::error_code ignore;
    acceptor.close(ignore);
    udp_sock.close(ignore);
    if (want.port() != 0) return make_error(Code::kIo, "dns tcp bind: " + ec.message());
  }
  return make_error(Code::kIo, "dns: no port free for both UDP and TCP");
}

std::optional<std::vector<std::uint8_t>> Server::Impl::rate_limit(const asio::ip::address& from,
                                                                  std::vector<std::uint8_t> wire) {
  if (opts.rrl_responses_per_second == 0) return wire;
  std::vector<std::uint8_t> bytes;
  if (from.is_v4()) {
    auto b = from.to_v4().to_bytes();
    bytes.assign(b.begin(), b.end());
  } else {
    auto b = from.to_v6().to_bytes();
    bytes.assign(b.begin(), b.end());
  }
  switch (rrl.check(detail::prefix_key(bytes), clock.now_ms())) {
    case detail::RrlVerdict::kSend: return wire;
    case detail::RrlVerdict::kDrop: ++stats.rate_limited; return std::nullopt;
    case detail::RrlVerdict::kSlip: break;
  }
  ++stats.slipped;
  auto m = parse(wire);  // our own reply: always parses
  if (!m) return std::nullopt;
  Message tc = std::move(m.value());
  tc.answers.clear();
  tc.authority.clear();
  tc.additional.clear();
  tc.tsig.reset();
  tc.header.tc = true;
  return serialize(tc);
}

awaitable<void> Server::Impl::udp_loop() {
  auto self = shared_from_this();
  std::vector<std::uint8_t> buf(65535);
  while (udp_sock.is_open()) {
    udp::endpoint from;
    boost::system::error_code ec;
    const std::size_t n = co_await udp_sock.async_receive_from(
        asio::buffer(buf), from, asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
    if (ec) continue;
    ++stats.udp_queries;
    auto z = zone.load();
    if (!z) continue;
    auto reply = detail::handle_query(*z, std::span(buf.data(), n),
                                      context(from.address(), detail::Transport::kUdp));
    if (reply.wires.empty()) {
      ++stats.dropped;
      continue;
    }
    auto out = rate_limit(from.address(), std::move(reply.wires.front()));
    if (!out) continue;
    co_await udp_sock.async_send_to(asio::buffer(*out), from,
                                    asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  while (acceptor.is_open()) {
    boost::system::error_code ec;
    tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
    if (ec) continue;
    if (tcp_open >= opts.max_tcp_connections) {  // connection cap: shed the newcomer
      s.close(ec);
      ++stats.dropped;
      continue;
    }
    auto conn = std::make_shared<TcpConn>(std::move(s));
    conn->deadline = steady_clock::now() + opts.tcp_idle_timeout;
    ++tcp_open;
    asio::co_spawn(io, watchdog(conn),
                   [](std::exception_ptr e) { log_exception(e, "dns_tcp_watchdog"); });
    asio::co_spawn(io, tcp_session(conn), [self](std::exception_ptr e) {
      --self->tcp_open;
      log_exception(e, "dns_tcp_session");
    });
  }
}

// Closes an idle connection once its deadline passes (Boost 1.74: no per-op cancellation).
awaitable<void> Server::Impl::watchdog(std::shared_ptr<TcpConn> c) {
  while (c->socket.is_open()) {
    c->timer.expires_at(c->deadline);
    boost::system::error_code ec;
    co_await c->timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (c->deadline <= steady_clock::now()) {
      c->socket.close(ec);
      co_return;
    }
  }
}

awaitable<void> Server::Impl::tcp_session(std::shared_ptr<TcpConn> c) {
  auto self = shared_from_this();
  boost::system::error_code ec;
  const auto peer = c->socket.remote_endpoint(ec).address();
  while (!ec) {
    c->deadline = steady_clock::now() + opts.tcp_idle_timeout;
    std::uint8_t len[2];
    co_await asio::async_read(c->socket, asio::buffer(len),
                              asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    std::vector<std::uint8_t> msg((len[0] << 8) | len[1]);
    co_await asio::async_read(c->socket, asio::buffer(msg),
                              asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    ++stats.tcp_queries;
    auto z = zone.load();
    if (!z) break;
    auto reply = detail::handle_query(*z, msg, context(peer, detail::Transport::kTcp));
    if (reply.wires.empty()) break;  // undecodable: close (RFC 7766 §6.2.3 allows)
    if (reply.transfer) ++stats.transfers;
    for (const auto& w : reply.wires) {
      c->deadline = steady_clock::now() + opts.tcp_idle_timeout;
      const std::array<std::uint8_t, 2> l{static_cast<std::uint8_t>(w.size() >> 8),
                                          static_cast<std::uint8_t>(w.size())};
      const std::array<asio::const_buffer, 2> bufs{asio::buffer(l), asio::buffer(w)};
      co_await asio::async_write(c->socket, bufs, asio::redirect_error(use_awaitable, ec));
      if (ec) break;
    }
  }
  c->socket.close(ec);
  c->timer.cancel();
}

// RFC 1996 §3.6: retry until the secondary answers, with a bounded count.
awaitable<void> Server::Impl::notify_one(udp::endpoint to, std::shared_ptr<const ZoneSnapshot> z) {
  auto self = shared_from_this();
  Message m;
  m.header.id = detail::random_id();
  m.header.opcode = Opcode::kNotify;
  m.header.aa = true;
  m.questions.push_back(Question{z->origin(), RrType::kSoa, kClassIn});
  m.answers.push_back(z->soa_record());
  const auto wire = serialize(m);
  auto timeout = opts.notify_timeout;
  for (int attempt = 1; attempt <= opts.notify_attempts; ++attempt) {
    const std::uint16_t id = m.header.id;
    auto r =
        co_await detail::udp_exchange(to, wire, timeout, [id](std::span<const std::uint8_t> w) {
          return w.size() >= kHeaderSize && ((w[0] << 8) | w[1]) == id && (w[2] & 0x80) &&
                 ((w[2] >> 3) & 0xF) == static_cast<int>(Opcode::kNotify);
        });
    if (r) {
      ++stats.notifies_acked;
      logger()->info("event=notify_acked to={}:{} serial={} attempt={}", to.address().to_string(),
                     to.port(), z->serial(), attempt);
      co_return;
    }
    timeout *= 2;
  }
  logger()->warn("event=notify_failed to={}:{} serial={}", to.address().to_string(), to.port(),
                 z->serial());
}

Server::Server(asio::io_context& io, ServerOptions opts, const Clock& clock)
    : impl_(std::make_shared<Impl>(io, std::move(opts), clock)) {}

Server::~Server() { stop(); }

Status Server::start() {
  BOOST_OUTCOME_TRY(ep, detail::parse_host_port(impl_->opts.listen));
  for (const auto& a : impl_->opts.axfr_allow) {
    BOOST_OUTCOME_TRY(c, detail::Cidr::parse(a));
    impl_->acl.push_back(c);
  }
  for (const auto& s : impl_->opts.secondaries) {
    BOOST_OUTCOME_TRY(sec, detail::parse_host_port(s));
    impl_->secondaries.push_back(sec);
  }
  BOOST_OUTCOME_TRY(impl_->bind(ep));
  auto on_done = [](std::exception_ptr e) { log_exception(e, "dns_loop"); };
  asio::co_spawn(impl_->io, impl_->udp_loop(), on_done);
  asio::co_spawn(impl_->io, impl_->accept_loop(), on_done);
  logger()->info("event=dns_listening address={} port={}", ep.address().to_string(), impl_->port);
  return ok();
}

void Server::stop() {
  asio::post(impl_->io, [impl = impl_] {
    boost::system::error_code ec;
    impl->udp_sock.close(ec);
    impl->acceptor.close(ec);
  });
}

void Server::publish(std::shared_ptr<const ZoneSnapshot> z) {
  if (!z) return;
  auto old = impl_->zone.exchange(z);
  if (old && old->serial() == z->serial()) return;
  logger()->info("event=zone_published serial={} nodes={}", z->serial(), z->node_count());
  asio::post(impl_->io, [impl = impl_, z] {
    for (const auto& to : impl->secondaries)
      asio::co_spawn(impl->io, impl->notify_one(to, z),
                     [](std::exception_ptr e) { log_exception(e, "dns_notify"); });
  });
}

std::shared_ptr<const ZoneSnapshot> Server::zone() const { return impl_->zone.load(); }
std::uint16_t Server::port() const { return impl_->port; }
const ServerStats& Server::stats() const { return impl_->stats; }

}  // namespace fc::dns
