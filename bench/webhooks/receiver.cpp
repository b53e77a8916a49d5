// A fast webhook receiver for bench/webhooks/run.sh: HTTP/1.1 keep-alive on
// loopback, answers every POST 204 at once, and counts requests and distinct
// webhook-ids. No signature check (the itests verify signatures with Python's
// hmac; here the figure is the sender's throughput, not the receiver's).
//
//   webhook_receiver PORT STATS_FILE   (writes "requests distinct" every 100 ms)
#include <cstdio>
#include <fstream>
#include <string>
#include <unordered_set>

#include "common/asio_net.hpp"

namespace {

using fc::asio::ip::tcp;
namespace asio = fc::asio;

std::uint64_t requests = 0;
std::unordered_set<std::string> ids;

// Value of header `name` (lower-case) in the head, case-insensitively.
std::string header(const std::string& head, const std::string& name) {
  std::string lower(head.size(), '\0');
  for (std::size_t i = 0; i < head.size(); ++i) lower[i] = static_cast<char>(std::tolower(head[i]));
  auto at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  at += name.size() + 3;
  auto end = lower.find("\r\n", at);
  std::string v = head.substr(at, end - at);
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  return v;
}

fc::awaitable<void> session(tcp::socket s) {
  std::string buf;
  char chunk[65536];
  static const std::string kReply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
  for (;;) {
    auto head_end = buf.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      boost::system::error_code ec;
      auto n = co_await s.async_read_some(asio::buffer(chunk),
                                          asio::redirect_error(fc::use_awaitable, ec));
      if (ec) co_return;
      buf.append(chunk, n);
      continue;
    }
    const std::string head = buf.substr(0, head_end);
    const std::size_t len = std::stoul("0" + header(head, "content-length"));
    while (buf.size() < head_end + 4 + len) {
      boost::system::error_code ec;
      auto n = co_await s.async_read_some(asio::buffer(chunk),
                                          asio::redirect_error(fc::use_awaitable, ec));
      if (ec) co_return;
      buf.append(chunk, n);
    }
    ++requests;
    ids.insert(header(head, "webhook-id"));
    buf.erase(0, head_end + 4 + len);
    boost::system::error_code ec;
    co_await asio::async_write(s, asio::buffer(kReply),
                               asio::redirect_error(fc::use_awaitable, ec));
    if (ec) co_return;
  }
}

fc::awaitable<void> listen(tcp::acceptor a) {
  for (;;) {
    auto s = co_await a.async_accept(fc::use_awaitable);
    asio::co_spawn(a.get_executor(), session(std::move(s)), asio::detached);
  }
}

fc::awaitable<void> report(std::string path) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (;;) {
    t.expires_after(std::chrono::milliseconds(100));
    co_await t.async_wait(fc::use_awaitable);
    std::ofstream(path + ".tmp") << requests << " " << ids.size() << "\n";
    std::rename((path + ".tmp").c_str(), path.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: webhook_receiver PORT STATS_FILE\n");
    return 2;
  }
  asio::io_context io(1);
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                    static_cast<unsigned short>(std::stoi(argv[1]))));
  asio::co_spawn(io, listen(std::move(a)), asio::detached);
  asio::co_spawn(io, report(argv[2]), asio::detached);
  io.run();
}
