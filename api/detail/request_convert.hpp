#pragma once
#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <boost/beast/http.hpp>

#include <atomic>
#include <optional>
#include <random>

#include "api/http.hpp"
#include "common/asio.hpp"
#include "common/ids.hpp"
#include "common/utf8.hpp"

namespace fc::api::detail {

inline std::string new_request_id() {
  static IdGenerator gen;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return gen.next("req_", now);
}

inline std::string endpoint_string(const asio::ip::tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "-";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

inline int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out += static_cast<char>(h * 16 + l);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && s[i] == '+') ? ' ' : s[i];
  }
  return out;
}

inline void parse_query(std::string_view q, std::map<std::string, std::string>& out) {
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    std::string k = percent_decode(part.substr(0, eq), true);
    std::string v = eq == std::string_view::npos ? "" : percent_decode(part.substr(eq + 1), true);
    if (!k.empty()) out.emplace(std::move(k), std::move(v));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
}

// A decoded path or query parameter that cannot be stored or looked up: a
// NUL character (libpq cuts a PostgreSQL text at it) or invalid UTF-8
// (PostgreSQL refuses it: the lookup was a 500 there, a 404 on SQLite).
// Answered before routing, alike on both backends: the path (or a query
// key) 400, a query value 422 naming its parameter, as a route's own check
// of that parameter would.
inline std::optional<Response> unusable_text(const Request& req) {
  auto bad = [](std::string_view s) -> const char* {
    if (s.find('\0') != std::string_view::npos) return "must not contain a NUL character (%00)";
    if (!valid_utf8(s)) return "must be valid UTF-8 once percent-decoded";
    return nullptr;
  };
  if (const char* why = bad(req.path))
    return problem(400, "malformed-request", "Bad Request", std::string("the path ") + why);
  for (const auto& [k, v] : req.query) {
    if (const char* why = bad(k))
      return problem(400, "malformed-request", "Bad Request",
                     std::string("a query parameter's name ") + why);
    if (const char* why = bad(v)) return validation_failed({{k, why}});
  }
  return std::nullopt;
}

template <class Body>
void convert_request(boost::beast::http::request<Body>& msg, Request& req) {
  req.method = std::string(msg.method_string());
  std::string_view target = msg.target();
  req.target = std::string(target);
  auto qm = target.find('?');
  req.path = percent_decode(target.substr(0, qm), false);
  if (qm != std::string_view::npos) parse_query(target.substr(qm + 1), req.query);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = std::string(f.value());
  }
  std::string rid = req.header("x-request-id");
  bool sane = !rid.empty() && rid.size() <= 64;
  for (char c : rid)
    sane = sane && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  req.request_id = sane ? rid : new_request_id();
  req.body = std::move(msg.body());
}

}  // namespace fc::api::detail
