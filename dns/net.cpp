#include "dns/detail/net.hpp"
#include "common/asio_net.hpp"

#include <algorithm>
#include <memory>
#include <random>

namespace fc::dns::detail {
namespace {

Error bad(std::string d) { return make_error(Code::kInvalidArgument, std::move(d)); }

asio::ip::address_v6 as_v6(const asio::ip::address& a) {
  if (a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  return a.to_v6();
}

// Cancels `sock` when the timer fires; the pending operation ends with operation_aborted.
template <class Socket>
std::shared_ptr<asio::steady_timer> arm(Socket& sock, std::chrono::milliseconds timeout) {
  auto timer = std::make_shared<asio::steady_timer>(sock->get_executor());
  timer->expires_after(timeout);
  timer->async_wait([sock](const boost::system::error_code& ec) {
    boost::system::error_code ignore;
    if (!ec) sock->close(ignore);
  });
  return timer;
}

}  // namespace

Result<udp::endpoint> parse_host_port(const std::string& s) {
  std::string host, port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return bad("bad address " + s);
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return bad("missing port in " + s);
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return bad("bad IP address " + host);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return bad("bad port in " + s);
  const unsigned long p = std::stoul(port);
  if (p > 65535) return bad("bad port in " + s);
  return udp::endpoint(addr, static_cast<std::uint16_t>(p));
}

Result<Cidr> Cidr::parse(const std::string& s) {
  const auto slash = s.find('/');
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(s.substr(0, slash), ec);
  if (ec) return bad("bad address in " + s);
  Cidr c;
  c.net = as_v6(addr).to_bytes();
  unsigned bits = addr.is_v4() ? 32 : 128;
  if (slash != std::string::npos) {
    const std::string b = s.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos)
      return bad("bad prefix " + s);
    const unsigned v = static_cast<unsigned>(std::stoul(b));
    if (v > bits) return bad("bad prefix " + s);
    bits = v;
  }
  c.bits = addr.is_v4() ? bits + 96 : bits;
  return c;
}

bool Cidr::contains(const asio::ip::address& a) const {
  const auto b = as_v6(a).to_bytes();
  for (unsigned i = 0; i < bits; ++i) {
    const unsigned byte = i / 8;
    const unsigned mask = 0x80u >> (i % 8);
    if ((b[byte] & mask) != (net[byte] & mask)) return false;
  }
  return true;
}

std::uint16_t random_id() {
  thread_local std::mt19937 rng(std::random_device{}());
  return static_cast<std::uint16_t>(rng());
}

awaitable<Result<std::vector<std::uint8_t>>> udp_exchange(udp::endpoint to,
                                                          std::vector<std::uint8_t> query,
                                                          std::chrono::milliseconds timeout,
                                                          Accept accept) {
  auto ex = co_await asio::this_coro::executor;
  auto sock = std::make_shared<udp::socket>(ex, udp::endpoint(to.protocol(), 0));
  auto timer = arm(sock, timeout);
  boost::system::error_code ec;
  co_await sock->async_send_to(asio::buffer(query), to, asio::redirect_error(use_awaitable, ec));
  std::vector<std::uint8_t> buf(65535);
  while (!ec) {
    udp::endpoint from;
    const std::size_t n = co_await sock->async_receive_from(
        asio::buffer(buf), from, asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    if (from != to) continue;  // spoofing guard: only the server we asked
    std::span<const std::uint8_t> got(buf.data(), n);
    if (!accept(got)) continue;
    timer->cancel();
    co_return std::vector<std::uint8_t>(got.begin(), got.end());
  }
  timer->cancel();
  if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
    co_return make_error(Code::kTimeout, "no answer from " + to.address().to_string());
  co_return make_error(Code::kIo, ec.message());
}

awaitable<Result<std::vector<std::vector<std::uint8_t>>>> tcp_exchange(
    tcp::endpoint to, std::vector<std::uint8_t> query, std::chrono::milliseconds timeout,
    Accept done) {
  auto ex = co_await asio::this_coro::executor;
  auto sock = std::make_shared<tcp::socket>(ex);
  auto timer = arm(sock, timeout);
  boost::system::error_code ec;
  co_await sock->async_connect(to, asio::redirect_error(use_awaitable, ec));
  // Sized up front: inserting into a 2-byte vector trips GCC 12's false
  // -Warray-bounds (a false positive) on the inlined memmove at -O2.
  std::vector<std::uint8_t> framed(query.size() + 2);
  framed[0] = static_cast<std::uint8_t>(query.size() >> 8);
  framed[1] = static_cast<std::uint8_t>(query.size());
  std::copy(query.begin(), query.end(), framed.begin() + 2);
  if (!ec)
    co_await asio::async_write(*sock, asio::buffer(framed),
                               asio::redirect_error(use_awaitable, ec));
  std::vector<std::vector<std::uint8_t>> out;
  while (!ec && out.size() < 100000) {
    std::uint8_t len[2];
    co_await asio::async_read(*sock, asio::buffer(len), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    std::vector<std::uint8_t> msg((len[0] << 8) | len[1]);
    co_await asio::async_read(*sock, asio::buffer(msg), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    const bool finished = done(msg);
    out.push_back(std::move(msg));
    if (finished) {
      timer->cancel();
      co_return out;
    }
  }
  timer->cancel();
  if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
    co_return make_error(Code::kTimeout,
                         "TCP exchange with " + to.address().to_string() + " timed out");
  co_return make_error(Code::kIo,
                       "TCP exchange with " + to.address().to_string() + ": " + ec.message());
}

}  // namespace fc::dns::detail
