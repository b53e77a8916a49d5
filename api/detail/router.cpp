// Route matching, bearer authentication, scopes and the rate-limit hook.
#include "api/http.hpp"

#include <array>
#include <string_view>

namespace fc::api {

const char* kind_name(TokenKind k) {
  switch (k) {
    case TokenKind::kAdmin: return "admin";
    case TokenKind::kAgent: return "agent";
    case TokenKind::kTenant: return "tenant";
  }
  return "admin";
}

const std::string& Request::header(const std::string& lower_name) const {
  static const std::string none;
  auto it = headers.find(lower_name);
  return it == headers.end() ? none : it->second;
}

namespace {
std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i <= p.size()) {
    auto j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool scope_allows(Scope s, TokenKind k) {
  switch (s) {
    case Scope::kPublic: return true;
    case Scope::kAdmin: return k == TokenKind::kAdmin;
    case Scope::kAgent: return k == TokenKind::kAgent;
    case Scope::kAdminOrTenant: return k == TokenKind::kAdmin || k == TokenKind::kTenant;
    case Scope::kAnyToken: return true;
  }
  return false;
}
}  // namespace

void Router::add(std::string method, std::string pattern, Scope scope, Handler h) {
  Route r{std::move(method), pattern, scope, std::move(h), split_path(pattern)};
  routes_.push_back(std::move(r));
}

namespace {
// The path's segments as views into it ("/a/b" → a, b), without allocating
// for the usual depth.
struct Segments {
  static constexpr std::size_t kInline = 8;
  std::array<std::string_view, kInline> inline_{};
  std::vector<std::string_view> more;
  std::size_t n = 0;
  explicit Segments(std::string_view p) {
    std::size_t i = 1;
    while (i <= p.size()) {
      auto j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      push(p.substr(i, j - i));
      i = j + 1;
    }
  }
  void push(std::string_view s) {
    if (n < kInline) {
      inline_[n++] = s;
      return;
    }
    if (more.empty()) more.assign(inline_.begin(), inline_.end());
    more.push_back(s);
    ++n;
  }
  std::string_view operator[](std::size_t i) const { return more.empty() ? inline_[i] : more[i]; }
  std::size_t size() const { return n; }
};

bool is_param(const std::string& s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

// Whether the route's pattern matches the path's segments.
bool matches(const Route& route, const Segments& segs) {
  if (route.segments.size() != segs.size()) return false;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const auto& s = route.segments[i];
    if (is_param(s) ? segs[i].empty() : s != segs[i]) return false;
  }
  return true;
}
}  // namespace

const Route* Router::match(const Request& r, std::vector<std::string>& allowed,
                           std::map<std::string, std::string>& params) const {
  const Segments segs(r.path);
  for (const auto& route : routes_) {
    if (route.method != r.method || !matches(route, segs)) continue;
    params.clear();
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const auto& s = route.segments[i];
      if (is_param(s)) params[s.substr(1, s.size() - 2)] = std::string(segs[i]);
    }
    return &route;
  }
  for (const auto& route : routes_)
    if (matches(route, segs)) allowed.push_back(route.method);
  return nullptr;
}

namespace {

// No route with this method: 404 when the path matches nothing, else 405 + Allow.
Response no_route(const Request& r, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return problem(404, "not-found", "Not Found", "no such endpoint: " + r.path);
  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  auto resp = problem(405, "method-not-allowed", "Method Not Allowed",
                      r.method + " is not allowed on " + r.path);
  resp.headers.emplace_back("Allow", allow);
  return resp;
}

std::optional<Principal> bearer_principal(const Request& r, const Authenticator& auth) {
  constexpr std::string_view bearer = "Bearer ";
  const std::string& header = r.header("authorization");
  if (!auth || header.size() <= bearer.size() || header.compare(0, bearer.size(), bearer) != 0)
    return std::nullopt;
  return auth(header.substr(bearer.size()));
}

awaitable<Response> ready(Response resp) { co_return resp; }

}  // namespace

// Authentication, scope and rate limit of a non-public route: the error
// response, or nullopt with r.principal set.
std::optional<Response> Router::admit(const Route& route, Request& r) const {
  auto p = bearer_principal(r, auth_);
  if (!p) {
    auto resp = problem(
        401, "unauthorized", "Unauthorized",
        r.header("authorization").empty() ? "missing bearer token" : "unknown or revoked token");
    resp.headers.emplace_back("WWW-Authenticate", "Bearer");
    return resp;
  }
  r.principal = std::move(p);
  if (!scope_allows(route.scope, r.principal->kind)) {
    return problem(403, "forbidden", "Forbidden",
                   std::string("a ") + kind_name(r.principal->kind) + " token may not call " +
                       r.method + " " + route.pattern);
  }
  if (!limiter_) return std::nullopt;
  auto wait = limiter_(*r.principal);
  if (!wait) return std::nullopt;
  auto resp = problem(429, "rate-limited", "Too Many Requests",
                      "request rate limit for this token exceeded");
  resp.headers.emplace_back("Retry-After", std::to_string(*wait));
  return resp;
}

awaitable<Response> Router::dispatch(Request& r) const {
  std::vector<std::string> allowed;
  const Route* route = match(r, allowed, r.params);
  if (!route && fallback_) return fallback_(r);
  if (!route) return ready(no_route(r, allowed));
  r.route = route->pattern;
  if (route->scope != Scope::kPublic) {
    if (auto refused = admit(*route, r)) return ready(std::move(*refused));
  }
  return route->handler(r);
}

}  // namespace fc::api
