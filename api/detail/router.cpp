// Route matching, bearer authentication, scopes and the rate-limit hook.
#include "api/http.hpp"

namespace fc::api {

const char* kind_name(TokenKind k) {
  switch (k) {
    case TokenKind::kAdmin: return "admin";
    case TokenKind::kAgent: return "agent";
    case TokenKind::kTenant: return "tenant";
  }
  return "admin";
}

std::string Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
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

const Route* Router::match(const Request& r, std::vector<std::string>& allowed,
                           std::map<std::string, std::string>& params) const {
  auto segs = split_path(r.path);
  const Route* found = nullptr;
  for (const auto& route : routes_) {
    if (route.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> p;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& s = route.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        if (segs[i].empty())
          ok = false;
        else
          p[s.substr(1, s.size() - 2)] = segs[i];
      } else {
        ok = s == segs[i];
      }
    }
    if (!ok) continue;
    allowed.push_back(route.method);
    if (route.method == r.method && !found) {
      found = &route;
      params = std::move(p);
    }
  }
  return found;
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
  const std::string bearer = "Bearer ";
  std::string header = r.header("authorization");
  if (!auth || header.size() <= bearer.size() || header.compare(0, bearer.size(), bearer) != 0)
    return std::nullopt;
  return auth(header.substr(bearer.size()));
}

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
  r.principal = p;
  if (!scope_allows(route.scope, p->kind)) {
    return problem(403, "forbidden", "Forbidden",
                   std::string("a ") + kind_name(p->kind) + " token may not call " + r.method +
                       " " + route.pattern);
  }
  if (!limiter_) return std::nullopt;
  auto wait = limiter_(*p);
  if (!wait) return std::nullopt;
  auto resp = problem(429, "rate-limited", "Too Many Requests",
                      "request rate limit for this token exceeded");
  resp.headers.emplace_back("Retry-After", std::to_string(*wait));
  return resp;
}

awaitable<Response> Router::dispatch(Request& r) const {
  std::vector<std::string> allowed;
  const Route* route = match(r, allowed, r.params);
  if (!route && fallback_) co_return co_await fallback_(r);
  if (!route) co_return no_route(r, allowed);
  r.route = route->pattern;
  if (route->scope != Scope::kPublic) {
    if (auto refused = admit(*route, r)) co_return *refused;
  }
  Response resp = co_await route->handler(r);
  co_return resp;
}

}  // namespace fc::api
