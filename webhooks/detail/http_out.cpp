// Webhook POSTs over Beast (plain or TLS). The guard: every resolved address is
// checked and only the allowed ones are connected to, so the address checked
// is the address used (no DNS-rebinding window, as Svix's resolver does).
#include "webhooks/detail/http_out.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/asio_net.hpp"
#include "webhooks/service.hpp"

namespace fc::webhooks::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {
constexpr std::uint64_t kReplyBodyLimit = 64 * 1024;
constexpr std::uint32_t kReplyHeaderLimit = 16 * 1024;
}  // namespace

struct TlsContext {
  ssl::context ctx{ssl::context::tls_client};
};

std::shared_ptr<TlsContext> make_tls_context() {
  auto t = std::make_shared<TlsContext>();
  boost::system::error_code ec;
  t->ctx.set_default_verify_paths(ec);
  t->ctx.set_verify_mode(ssl::verify_peer);
  return t;
}

std::optional<Url> parse_url(std::string_view url) {
  Url u;
  if (url.starts_with("https://")) {
    u.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const auto slash = url.find_first_of("/?");
  u.host_header = std::string(url.substr(0, slash));
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (u.target.starts_with("?")) u.target = "/" + u.target;
  std::string_view hp = u.host_header;
  std::string_view port;
  if (hp.starts_with("[")) {
    const auto close = hp.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(hp.substr(1, close - 1));
    if (close + 1 < hp.size() && hp[close + 1] == ':') port = hp.substr(close + 2);
  } else {
    const auto colon = hp.rfind(':');
    u.host = std::string(hp.substr(0, colon));
    if (colon != std::string_view::npos) port = hp.substr(colon + 1);
  }
  u.port = port.empty() ? (u.tls ? "443" : "80") : std::string(port);
  if (u.host.empty()) return std::nullopt;
  return u;
}

struct Client::Impl {
  asio::any_io_executor ex;
  std::shared_ptr<TlsContext> tls_ctx;
  bool allow_private;
  std::chrono::milliseconds timeout;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::string connected_to;  // "tls|host|port" of the open connection, "" when none
  beast::flat_buffer buffer;

  void reset() {
    if (plain) plain->socket().close();
    if (tls) beast::get_lowest_layer(*tls).socket().close();
    plain.reset();
    tls.reset();
    connected_to.clear();
    buffer.clear();
  }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Resolves, drops the refused addresses, connects to an allowed one.
  awaitable<std::string> connect(const Url& u, std::chrono::steady_clock::time_point deadline) {
    tcp::resolver resolver(ex);
    boost::system::error_code ec;
    auto found =
        co_await resolver.async_resolve(u.host, u.port, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return "resolving " + u.host + ": " + ec.message();
    std::vector<tcp::endpoint> allowed;
    std::string refused;
    for (const auto& e : found) {
      const std::string addr = e.endpoint().address().to_string();
      if (!allow_private) {
        if (auto why = refused_address(addr)) {
          refused = addr + " is " + *why;
          continue;
        }
      }
      allowed.push_back(e.endpoint());
    }
    if (allowed.empty())
      co_return "refused: " + (refused.empty() ? u.host + " has no address" : refused) +
          " (webhooks.allow_private is off)";
    if (u.tls) {
      tls.emplace(ex, tls_ctx->ctx);
    } else {
      plain.emplace(ex);
    }
    lowest().expires_at(deadline);
    co_await lowest().async_connect(allowed, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return "connecting to " + u.host + ":" + u.port + ": " + ec.message();
    if (u.tls) {
      if (!SSL_set_tlsext_host_name(tls->native_handle(), u.host.c_str()))
        co_return "TLS: setting SNI failed";
      tls->set_verify_callback(ssl::host_name_verification(u.host));
      co_await tls->async_handshake(ssl::stream_base::client,
                                    asio::redirect_error(use_awaitable, ec));
      if (ec) co_return "TLS handshake with " + u.host + ": " + ec.message();
    }
    connected_to = (u.tls ? "tls|" : "tcp|") + u.host + "|" + u.port;
    co_return std::string();
  }

  template <class Stream>
  awaitable<PostResult> exchange(Stream& s, const http::request<http::string_body>& req,
                                 std::chrono::steady_clock::time_point deadline, bool& sent) {
    boost::system::error_code ec;
    lowest().expires_at(deadline);
    co_await http::async_write(s, req, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return PostResult{std::nullopt, "sending: " + ec.message()};
    sent = true;
    http::response_parser<http::string_body> p;
    p.body_limit(kReplyBodyLimit);
    p.header_limit(kReplyHeaderLimit);
    co_await http::async_read(s, buffer, p, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::body_limit && p.is_header_done()) {
      reset();  // the rest of the reply is not read; the connection cannot be reused
      co_return PostResult{static_cast<int>(p.get().result_int()), ""};
    }
    if (ec) {
      const bool nothing = ec == http::error::end_of_stream || ec == asio::error::eof ||
                           ec == asio::error::connection_reset;
      if (nothing && !p.got_some()) sent = false;  // a stale keep-alive connection
      co_return PostResult{std::nullopt, "reading the reply: " + ec.message()};
    }
    if (!p.get().keep_alive()) reset();
    co_return PostResult{static_cast<int>(p.get().result_int()), ""};
  }
};

Client::Client(asio::any_io_executor ex, std::shared_ptr<TlsContext> tls, bool allow_private,
               std::chrono::milliseconds timeout)
    : impl_(new Impl{ex, std::move(tls), allow_private, timeout, {}, {}, {}, {}}) {}
Client::~Client() = default;
void Client::close() { impl_->reset(); }

awaitable<PostResult> Client::post(Url url, Headers headers, std::string body) {
  auto& i = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + i.timeout;
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "fleetcommand-webhooks");
  req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.keep_alive(true);
  req.prepare_payload();
  const std::string key = (url.tls ? "tls|" : "tcp|") + url.host + "|" + url.port;
  // A reused connection the receiver closed while idle fails before any reply
  // byte: that attempt is made once more on a new connection.
  for (int round = 0; round < 2; ++round) {
    const bool reused = i.connected_to == key;
    if (!reused) {
      i.reset();
      auto err = co_await i.connect(url, deadline);
      if (!err.empty()) {
        i.reset();
        co_return PostResult{std::nullopt, err};
      }
    }
    bool sent = false;
    PostResult r;
    if (i.tls) {
      r = co_await i.exchange(*i.tls, req, deadline, sent);
    } else {
      r = co_await i.exchange(*i.plain, req, deadline, sent);
    }
    if (!r.status) i.reset();
    if (r.status || !reused || sent) co_return r;
  }
  co_return PostResult{std::nullopt, "connection closed"};
}

}  // namespace fc::webhooks::detail
