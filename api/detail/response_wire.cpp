#include "api/detail/response_wire.hpp"

#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <boost/beast/http.hpp>

#include <charconv>
#include <sstream>

namespace fc::api::detail {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool reserved_name(std::string_view n) {
  for (std::string_view k : {"Server", "Content-Type", "X-Request-Id", "Content-Length",
                             "Connection", "Transfer-Encoding"})
    if (iequals(n, k)) return true;
  return false;
}

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Beast trims a field value's leading and trailing spaces and tabs.
std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(trim(value));
  out.append("\r\n");
}

}  // namespace

bool serialize_response(const Response& r, unsigned version, bool keep_alive,
                        std::string_view request_id, std::string& out) {
  const int s = r.status;
  if (s < 200 || s > 999 || s == 204 || s == 304) return false;
  if (has_crlf(r.content_type) || has_crlf(request_id)) return false;
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    const auto& [k, v] = r.headers[i];
    if (k.empty() || reserved_name(k) || has_crlf(k) || has_crlf(v)) return false;
    for (std::size_t j = 0; j < i; ++j)
      if (iequals(r.headers[j].first, k)) return false;
  }
  const bool keep = keep_alive && !r.close;
  out.clear();
  out.append("HTTP/");
  out.push_back(static_cast<char>('0' + version / 10 % 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
  out.push_back(' ');
  out.push_back(static_cast<char>('0' + s / 100));
  out.push_back(static_cast<char>('0' + s / 10 % 10));
  out.push_back(static_cast<char>('0' + s % 10));
  out.push_back(' ');
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(s));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  field(out, "Server", "fleetcommand");
  if (!r.content_type.empty()) field(out, "Content-Type", r.content_type);
  if (!request_id.empty()) field(out, "X-Request-Id", request_id);
  for (const auto& [k, v] : r.headers) field(out, k, v);
  // Beast's keep_alive(): "close" on 1.1 when not kept, "keep-alive" on 1.0 when kept.
  if (version >= 11 && !keep) field(out, "Connection", "close");
  if (version < 11 && keep) field(out, "Connection", "keep-alive");
  char len[24];
  const auto [end, ec] = std::to_chars(len, len + sizeof len, r.body.size());
  (void)ec;
  field(out, "Content-Length", std::string_view(len, static_cast<std::size_t>(end - len)));
  out.append("\r\n");
  out.append(r.body);
  return true;
}

std::string beast_serialize(const Response& r, unsigned version, bool keep_alive,
                            std::string_view request_id) {
  namespace http = boost::beast::http;
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "fleetcommand");
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  if (!request_id.empty()) res.set("X-Request-Id", request_id);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive && !r.close);
  res.body() = r.body;
  res.prepare_payload();
  std::ostringstream wire;
  wire << res;
  return std::move(wire).str();
}

void wire_response(const Response& r, unsigned version, bool keep_alive,
                   std::string_view request_id, std::string& out) {
  if (!serialize_response(r, version, keep_alive, request_id, out))
    out = beast_serialize(r, version, keep_alive, request_id);
}

}  // namespace fc::api::detail
