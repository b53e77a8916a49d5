// The authoritative server's sockets: a UDP loop, a TCP acceptor with one
// coroutine per connection, and NOTIFY senders. All on one io_context thread.
#include "dns/server.hpp"
#include "common/asio_net.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "dns/detail/fast_path.hpp"
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
        acceptor(i),
        rrl(opts.rrl_responses_per_second, opts.rrl_table_size) {}
  ~Impl() { close_udp(); }

  struct Counters {  // written by the UDP workers and the io thread, read by stats()
    std::atomic<std::uint64_t> udp_queries{0}, tcp_queries{0}, dropped{0}, rate_limited{0},
        slipped{0}, transfers{0}, notifies_acked{0}, cache_hits{0}, cache_misses{0};
  };

  asio::io_context& io;
  ServerOptions opts;
  const Clock& clock;
  std::atomic<std::shared_ptr<const ZoneSnapshot>> zone;
  std::vector<int> udp_fds;  // one per worker (SO_REUSEPORT when there are several)
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};
  tcp::acceptor acceptor;
  std::mutex rrl_mutex;
  detail::RateLimiter rrl;
  std::vector<detail::Cidr> acl;
  std::vector<udp::endpoint> secondaries;
  Counters stats;
  std::size_t tcp_open = 0;
  std::uint16_t port = 0;

  detail::QueryContext context(const asio::ip::address* from, detail::Transport t) const {
    detail::QueryContext c;
    c.transport = t;
    // Transfers are refused over UDP whatever the ACL says: only TCP asks it.
    if (from != nullptr)
      c.acl_allows_transfer =
          std::any_of(acl.begin(), acl.end(), [&](const auto& n) { return n.contains(*from); });
    c.keys = opts.axfr_tsig;
    c.now = static_cast<std::uint64_t>(clock.now_ms() / 1000);
    c.max_udp = opts.edns_udp_size;
    return c;
  }

  Status bind(const udp::endpoint& ep);
  Result<int> open_udp(const udp::endpoint& ep, bool reuse_port);
  void close_udp();
  void udp_worker(int fd);
  bool answer_udp(const ZoneSnapshot& z, std::span<const std::uint8_t> q,
                  detail::AnswerCache& cache, std::vector<std::uint8_t>& out);
  awaitable<void> accept_loop();
  awaitable<void> tcp_session(std::shared_ptr<TcpConn> c);
  awaitable<void> watchdog(std::shared_ptr<TcpConn> c);
  awaitable<void> notify_one(udp::endpoint to, std::shared_ptr<const ZoneSnapshot> z);
  bool rate_limit(const sockaddr_storage& from, std::vector<std::uint8_t>& wire);
};

Result<int> Server::Impl::open_udp(const udp::endpoint& ep, bool reuse_port) {
  const int fd = ::socket(ep.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Code::kIo, std::string("dns udp socket: ") + std::strerror(errno));
  const int one = 1;
  // A bounded blocking receive: the worker checks `stopping` at least this often.
  const timeval tick{0, 100'000};
  bool ok = ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick) == 0;
  if (ok && reuse_port) ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0;
  if (ok && ep.address().is_v6())
    ok = ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0;
  if (ok) ok = ::bind(fd, ep.data(), static_cast<socklen_t>(ep.size())) == 0;
  if (!ok) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return make_error(Code::kIo, "dns udp bind " + ep.address().to_string() + ":" +
                                     std::to_string(ep.port()) + ": " + why);
  }
  return fd;
}

void Server::Impl::close_udp() {
  for (int fd : udp_fds) ::close(fd);
  udp_fds.clear();
}

Status Server::Impl::bind(const udp::endpoint& want) {
  const std::size_t n = std::max<std::size_t>(opts.udp_workers, 1);
  // Port 0: UDP picks a port, TCP must get the same one; retry a few times.
  for (int attempt = 0; attempt < 20; ++attempt) {
    BOOST_OUTCOME_TRY(first, open_udp(want, n > 1));
    udp_fds.push_back(first);
    sockaddr_storage got{};
    socklen_t len = sizeof got;
    ::getsockname(first, reinterpret_cast<sockaddr*>(&got), &len);
    port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(got).sin6_port
                                           : reinterpret_cast<sockaddr_in&>(got).sin_port);
    const udp::endpoint bound(want.address(), port);
    for (std::size_t i = 1; i < n; ++i) {
      auto fd = open_udp(bound, true);
      if (!fd) {
        close_udp();
        return fd.error();
      }
      udp_fds.push_back(fd.value());
    }
    boost::system::error_code ec;
    tcp::endpoint tep(want.address(), port);
    acceptor.open(tep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(tep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return ok();
    boost::system::error_code ignore;
    acceptor.close(ignore);
    close_udp();
    if (want.port() != 0)
      return make_error(Code::kIo, "dns tcp bind " + want.address().to_string() + ":" +
                                       std::to_string(port) + ": " + ec.message());
  }
  return make_error(Code::kIo, "dns: no port free for both UDP and TCP");
}

bool Server::Impl::rate_limit(const sockaddr_storage& from, std::vector<std::uint8_t>& wire) {
  if (opts.rrl_responses_per_second == 0) return true;
  std::span<const std::uint8_t> addr;
  if (from.ss_family == AF_INET6)
    addr = {reinterpret_cast<const sockaddr_in6&>(from).sin6_addr.s6_addr, 16};
  else
    addr = {reinterpret_cast<const std::uint8_t*>(
                &reinterpret_cast<const sockaddr_in&>(from).sin_addr.s_addr),
            4};
  detail::RrlVerdict verdict;
  {
    std::lock_guard lock(rrl_mutex);
    verdict = rrl.check(detail::prefix_key(addr), clock.now_ms());
  }
  switch (verdict) {
    case detail::RrlVerdict::kSend: return true;
    case detail::RrlVerdict::kDrop: ++stats.rate_limited; return false;
    case detail::RrlVerdict::kSlip: break;
  }
  ++stats.slipped;
  auto m = parse(wire);  // our own reply: always parses
  if (!m) return false;
  Message tc = std::move(m.value());
  tc.answers.clear();
  tc.authority.clear();
  tc.additional.clear();
  tc.tsig.reset();
  tc.header.tc = true;
  wire = serialize(tc);
  return true;
}

// The cache first; on a miss the full path, whose reply is cached when the
// query had the plain shape fast_key accepts.
bool Server::Impl::answer_udp(const ZoneSnapshot& z, std::span<const std::uint8_t> q,
                              detail::AnswerCache& cache, std::vector<std::uint8_t>& out) {
  const auto key =
      opts.answer_cache_slots > 0 ? detail::fast_key(q, opts.edns_udp_size) : std::nullopt;
  if (key && cache.lookup(*key, q, out)) return true;
  auto reply = detail::handle_query(z, q, context(nullptr, detail::Transport::kUdp));
  if (reply.wires.empty()) return false;
  out = std::move(reply.wires.front());
  if (key) cache.store(*key, out);
  return true;
}

// One thread per socket: recvmmsg a batch (blocking for the first datagram,
// at most 100 ms), answer each, sendmmsg the replies. No allocation on a cache
// hit once the buffers are warm.
void Server::Impl::udp_worker(int fd) {
  constexpr unsigned kBatch = 32;
  constexpr std::size_t kMaxQuery = 4096;  // larger datagrams are dropped (MSG_TRUNC)
  std::vector<std::uint8_t> in(kBatch * kMaxQuery);
  std::array<mmsghdr, kBatch> rmsg{};
  std::array<iovec, kBatch> riov{};
  std::array<sockaddr_storage, kBatch> from{};
  std::array<mmsghdr, kBatch> smsg{};
  std::array<iovec, kBatch> siov{};
  std::array<std::vector<std::uint8_t>, kBatch> out;
  detail::AnswerCache cache(opts.answer_cache_slots);
  std::uint64_t seen_hits = 0, seen_misses = 0;
  while (!stopping.load(std::memory_order_relaxed)) {
    for (unsigned i = 0; i < kBatch; ++i) {
      riov[i] = iovec{in.data() + i * kMaxQuery, kMaxQuery};
      rmsg[i].msg_hdr = msghdr{};
      rmsg[i].msg_hdr.msg_name = &from[i];
      rmsg[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      rmsg[i].msg_hdr.msg_iov = &riov[i];
      rmsg[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(fd, rmsg.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;  // the 100 ms tick, EINTR, or shut down
    stats.udp_queries.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    auto z = zone.load();
    if (!z) continue;
    cache.use_zone(z);
    unsigned k = 0;
    for (int i = 0; i < n; ++i) {
      const msghdr& h = rmsg[i].msg_hdr;
      const std::span query(in.data() + i * kMaxQuery, rmsg[i].msg_len);
      if ((h.msg_flags & MSG_TRUNC) != 0 || !answer_udp(*z, query, cache, out[k])) {
        ++stats.dropped;  // oversized, undecodable or a response
        continue;
      }
      if (!rate_limit(from[i], out[k])) continue;  // counted in rate_limited
      siov[k] = iovec{out[k].data(), out[k].size()};
      smsg[k].msg_hdr = msghdr{};
      smsg[k].msg_hdr.msg_name = &from[i];
      smsg[k].msg_hdr.msg_namelen = h.msg_namelen;
      smsg[k].msg_hdr.msg_iov = &siov[k];
      smsg[k].msg_hdr.msg_iovlen = 1;
      ++k;
    }
    for (unsigned sent = 0; sent < k;) {
      const int r = ::sendmmsg(fd, smsg.data() + sent, k - sent, 0);
      if (r > 0) {
        sent += static_cast<unsigned>(r);
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else {
        ++sent;  // this datagram could not be sent (e.g. the peer's port is gone): skip it
      }
    }
    stats.cache_hits.fetch_add(cache.hits() - seen_hits, std::memory_order_relaxed);
    stats.cache_misses.fetch_add(cache.misses() - seen_misses, std::memory_order_relaxed);
    seen_hits = cache.hits();
    seen_misses = cache.misses();
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
    auto reply = detail::handle_query(*z, msg, context(&peer, detail::Transport::kTcp));
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
  for (int fd : impl_->udp_fds)
    impl_->workers.emplace_back([impl = impl_.get(), fd] { impl->udp_worker(fd); });
  auto on_done = [](std::exception_ptr e) { log_exception(e, "dns_loop"); };
  asio::co_spawn(impl_->io, impl_->accept_loop(), on_done);
  logger()->info("event=dns_listening address={} port={} udp_workers={}", ep.address().to_string(),
                 impl_->port, impl_->udp_fds.size());
  return ok();
}

// Stops the UDP workers (joined here: each notices within its 100 ms receive
// tick) and closes the TCP acceptor on the io thread.
void Server::stop() {
  impl_->stopping = true;
  for (int fd : impl_->udp_fds) ::shutdown(fd, SHUT_RDWR);
  for (auto& t : impl_->workers)
    if (t.joinable()) t.join();
  impl_->workers.clear();
  asio::post(impl_->io, [impl = impl_] {
    boost::system::error_code ec;
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
ServerStats Server::stats() const {
  const auto& c = impl_->stats;
  auto v = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return ServerStats{v(c.udp_queries),    v(c.tcp_queries), v(c.dropped),
                     v(c.rate_limited),   v(c.slipped),     v(c.transfers),
                     v(c.notifies_acked), v(c.cache_hits),  v(c.cache_misses)};
}

}  // namespace fc::dns
