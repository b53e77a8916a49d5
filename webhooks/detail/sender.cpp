// Webhook POSTs over client::HttpTransport with the outbound guard applied to
// the address connected to (sender.hpp).
#include "webhooks/detail/sender.hpp"
#include "common/asio_net.hpp"  // first of the Asio headers (STYLE.md)

#include <algorithm>

#include "webhooks/service.hpp"

namespace fc::webhooks::detail {

namespace {
constexpr std::uint64_t kReplyBodyLimit = 64 * 1024;
// How long a name's checked addresses are used before it is resolved again
// (a kept-alive connection outlives it; a new one resolves afresh).
constexpr auto kResolveTtl = std::chrono::seconds(30);
}  // namespace

std::optional<Target> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const auto rest = url.substr(scheme_end + 3);
  const auto path = rest.find_first_of("/?");
  const auto authority =
      url.substr(0, scheme_end + 3 + (path == std::string_view::npos ? rest.size() : path));
  auto parsed = client::parse_url(authority);
  if (!parsed) return std::nullopt;
  Target t;
  t.url = std::move(parsed).value();
  if (path != std::string_view::npos) {
    t.target = std::string(rest.substr(path));
    if (t.target.front() == '?') t.target = "/" + t.target;
  }
  return t;
}

Sender::Sender(bool allow_private, std::chrono::milliseconds timeout)
    : allow_private_(allow_private), timeout_(timeout) {
  client::TransportOptions o;
  o.user_agent = "fleetcommand-webhooks";
  o.body_limit = kReplyBodyLimit;
  o.truncate_body = true;  // a longer reply counts by its status; the rest is not read
  o.keep_alive = true;     // a lane sends one request after the other to one host
  auto t = client::HttpTransport::create(std::move(o));
  if (t) {
    transport_ = std::move(t).value();
  } else {
    setup_error_ = t.error().detail;
  }
}

Sender::~Sender() = default;

awaitable<Sender::Resolved> Sender::resolve(const client::Url& u) {
  const std::string key = u.host + "|" + u.port;
  const auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(key); it != cache_.end() && it->second.until > now)
    co_return it->second;
  Resolved r;
  std::vector<std::string> found;
  boost::system::error_code ec;
  asio::ip::make_address(u.host, ec);
  if (!ec) {
    found.push_back(u.host);  // an IP literal: nothing to resolve
  } else {
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    auto res =
        co_await resolver.async_resolve(u.host, u.port, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      r.refused = "resolving " + u.host + ": " + ec.message();
      co_return r;  // not cached: the next attempt resolves again
    }
    for (const auto& e : res) found.push_back(e.endpoint().address().to_string());
  }
  for (auto& addr : found) {
    if (!allow_private_) {
      if (auto why = refused_address(addr)) {
        r.refused = "refused: " + addr + " is " + *why + " (webhooks.allow_private is off)";
        continue;
      }
    }
    if (std::find(r.allowed.begin(), r.allowed.end(), addr) == r.allowed.end())
      r.allowed.push_back(std::move(addr));
  }
  if (r.allowed.empty() && r.refused.empty()) r.refused = "refused: " + u.host + " has no address";
  r.until = now + kResolveTtl;
  cache_[key] = r;
  co_return r;
}

awaitable<PostResult> Sender::post(Target t, std::vector<client::HttpHeader> headers,
                                   std::string body) {
  if (!transport_) co_return PostResult{std::nullopt, "HTTP client set-up: " + setup_error_};
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  Resolved r = co_await resolve(t.url);
  if (r.allowed.empty()) co_return PostResult{std::nullopt, r.refused};
  headers.push_back({"Content-Type", "application/json"});
  std::string last_error;
  // The allowed addresses in order, as a connect to a name tries them: the
  // next one only when the connection itself failed (nothing was sent).
  for (std::size_t k = 0; k < r.allowed.size(); ++k) {
    const std::string& addr = r.allowed[k];
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    // The last (usually the only) address takes the headers and body; an
    // earlier one gets copies, kept for the next address.
    const bool last = k + 1 == r.allowed.size();
    client::HttpRequest req;
    req.method = "POST";
    req.target = t.target;
    req.headers = last ? std::move(headers) : headers;
    req.body = last ? std::move(body) : body;
    req.connect_to = addr;
    auto got = co_await transport_->send(t.url, std::move(req), left);
    if (got) co_return PostResult{static_cast<int>(got.value().status), ""};
    const Error& e = got.error();
    last_error = e.detail;
    // The delivery log's wording (docs/webhooks.md): the phase, then the cause.
    if (last_error.starts_with("read: ")) last_error = "reading the reply: " + last_error.substr(6);
    if (last_error.starts_with("write: ")) last_error = "sending: " + last_error.substr(7);
    // The transport's connect failures read "connect host:port: …"; anything
    // else happened after the request may have been sent.
    if (e.code != Code::kUnavailable || !e.detail.starts_with("connect ")) break;
    cache_.erase(t.url.host + "|" + t.url.port);  // resolve again next time
  }
  co_return PostResult{std::nullopt, last_error.empty() ? "timed out" : last_error};
}

}  // namespace fc::webhooks::detail
