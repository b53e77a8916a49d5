#include <algorithm>
#include <charconv>

#include "client/client.hpp"

namespace fc::client {
namespace {

Error url_error(std::string why) { return make_error(Code::kInvalidArgument, std::move(why)); }

// "" → the scheme's default; else 1..65535, normalized ("08080" → "8080").
Result<std::string> url_port(std::string_view port, bool tls) {
  if (port.empty()) return std::string(tls ? "443" : "80");
  int n = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || p != port.data() + port.size() || n < 1 || n > 65535)
    return url_error("port: expected an integer in 1..65535, got '" + std::string(port) + "'");
  return std::to_string(n);
}

}  // namespace

Result<Url> parse_url(std::string_view s) {
  Url u;
  if (s.rfind("http://", 0) == 0) {
    s.remove_prefix(7);
  } else if (s.rfind("https://", 0) == 0) {
    u.tls = true;
    s.remove_prefix(8);
  } else {
    return url_error("expected an http:// or https:// URL, got '" + std::string(s) + "'");
  }
  auto slash = s.find('/');
  std::string_view authority = s.substr(0, slash);
  if (slash != std::string_view::npos) u.base_path = std::string(s.substr(slash));
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return url_error("unterminated IPv6 literal");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return url_error("bad authority");
    if (!rest.empty()) port = rest.substr(1);
  } else {
    auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty() || u.host.find('@') != std::string::npos)
    return url_error("the URL has no host");
  BOOST_OUTCOME_TRY(p, url_port(port, u.tls));
  u.port = std::move(p);
  return u;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<Problem> decode_problem(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !(j.contains("title") || j.contains("detail")))
    return std::nullopt;
  auto text = [&j](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  Problem p;
  p.type = text("type");
  p.title = text("title");
  p.detail = text("detail");
  if (j.contains("status") && j["status"].is_number_unsigned())
    p.status = j["status"].get<unsigned>();
  if (j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!e.is_object()) continue;
      auto field = e.contains("field") && e["field"].is_string() ? e["field"].get<std::string>()
                                                                 : std::string();
      auto msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>()
                                                                   : std::string();
      p.errors.push_back({std::move(field), std::move(msg)});
    }
  }
  p.document = std::move(j);
  return p;
}

Result<std::vector<nlohmann::json>> paginate(const PageFetch& fetch, const std::string& what,
                                             const std::string& query, std::size_t chunk,
                                             std::size_t limit) {
  std::vector<nlohmann::json> items;
  std::string cursor;
  for (int page = 0; page < 100000; ++page) {  // bounded: a server that never ends its cursor
    std::string q = query;
    auto add = [&q](const std::string& kv) { q += (q.empty() ? "?" : "&") + kv; };
    std::size_t want = limit ? std::min(chunk, limit - items.size()) : chunk;
    add("limit=" + std::to_string(want));
    if (!cursor.empty()) add("cursor=" + url_encode(cursor));
    BOOST_OUTCOME_TRY(j, fetch(q));
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array())
      return make_error(Code::kParse, what + " answered without an items list");
    for (auto& it : j["items"]) items.push_back(std::move(it));
    if (limit && items.size() >= limit) {
      items.resize(limit);
      break;
    }
    if (!j.contains("next_cursor") || !j["next_cursor"].is_string()) break;
    cursor = j["next_cursor"].get<std::string>();
    if (cursor.empty()) break;
  }
  return items;
}

std::chrono::milliseconds next_backoff(std::chrono::milliseconds prev,
                                       std::chrono::milliseconds first,
                                       std::chrono::milliseconds cap) {
  if (prev.count() <= 0) return std::min(first, cap);
  return std::min(prev * 2, cap);
}

}  // namespace fc::client
