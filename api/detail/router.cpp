#include <spdlog/spdlog.h>

#include "api/http.hpp"

namespace fc::api {

using nlohmann::json;

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
        if (segs[i].empty()) ok = false;
        else p[s.substr(1, s.size() - 2)] = segs[i];
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

awaitable<Response> Router::dispatch(Request& r) const {
  std::vector<std::string> allowed;
  const Route* route = match(r, allowed, r.params);
  if (!route) {
    if (allowed.empty()) co_return problem(404, "not-found", "Not Found", "no such endpoint: " + r.path);
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    auto resp = problem(405, "method-not-allowed", "Method Not Allowed",
                        r.method + " is not allowed on " + r.path);
    resp.headers.emplace_back("Allow", allow);
    co_return resp;
  }
  r.route = route->pattern;
  if (route->scope != Scope::kPublic) {
    std::string auth = r.header("authorization");
    const std::string bearer = "Bearer ";
    std::optional<Principal> p;
    if (auth.size() > bearer.size() && auth.compare(0, bearer.size(), bearer) == 0 && auth_) {
      p = auth_(auth.substr(bearer.size()));
    }
    if (!p) {
      auto resp = problem(401, "unauthorized", "Unauthorized",
                          auth.empty() ? "missing bearer token" : "unknown or revoked token");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer");
      co_return resp;
    }
    r.principal = p;
    if (!scope_allows(route->scope, p->kind)) {
      co_return problem(403, "forbidden", "Forbidden",
                        std::string("a ") + kind_name(p->kind) + " token may not call " + r.method + " " +
                            route->pattern);
    }
    if (limiter_) {
      if (auto wait = limiter_(*p)) {
        auto resp = problem(429, "rate-limited", "Too Many Requests",
                            "request rate limit for this token exceeded");
        resp.headers.emplace_back("Retry-After", std::to_string(*wait));
        co_return resp;
      }
    }
  }
  Response resp = co_await route->handler(r);
  co_return resp;
}

// ---- responses ----
Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response problem(int status, const std::string& type_suffix, const std::string& title,
                 const std::string& detail, json extra) {
  json j = {{"type", "https://fleetcommand.dev/problems/" + type_suffix},
            {"title", title},
            {"status", status},
            {"detail", detail}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  Response r = json_response(status, j);
  r.content_type = "application/problem+json";
  return r;
}

Response validation_failed(const std::vector<FieldError>& errors) {
  json list = json::array();
  for (const auto& e : errors) list.push_back({{"field", e.field}, {"message", e.message}});
  std::string detail = errors.empty() ? "invalid request" : errors[0].field + ": " + errors[0].message;
  return problem(422, "validation-failed", "Unprocessable Content", detail, {{"errors", list}});
}

Response problem_from(const Error& e, const std::string& request_id) {
  switch (e.code) {
    case Code::kInvalidArgument:
      return validation_failed({{"", e.detail}});
    case Code::kParse: return problem(400, "malformed-request", "Bad Request", e.detail);
    case Code::kUnauthorized: return problem(401, "unauthorized", "Unauthorized", e.detail);
    case Code::kForbidden: return problem(403, "forbidden", "Forbidden", e.detail);
    case Code::kNotFound: return problem(404, "not-found", "Not Found", e.detail);
    case Code::kConflict: return problem(409, "conflict", "Conflict", e.detail);
    case Code::kGone: return problem(410, "gone", "Gone", e.detail);
    case Code::kTooLarge: return problem(413, "too-large", "Content Too Large", e.detail);
    case Code::kUnsupported: return problem(415, "unsupported-media-type", "Unsupported Media Type", e.detail);
    case Code::kRateLimited: return problem(429, "rate-limited", "Too Many Requests", e.detail);
    case Code::kNoCapacity: return problem(503, "no-capacity", "No Capacity", e.detail);
    case Code::kUnavailable:
    case Code::kTimeout: return problem(503, "unavailable", "Service Unavailable", e.detail);
    case Code::kIo:
    case Code::kCrypto:
    case Code::kInternal:
      break;
  }
  spdlog::error("request_id={} internal error code={} detail={}", request_id, code_name(e.code), e.detail);
  return problem(500, "internal", "Internal Server Error",
                 "internal error; see the server log for request " + request_id);
}

Result<json> parse_json_body(const Request& r, Response& error_out) {
  std::string ct = r.header("content-type");
  auto semi = ct.find(';');
  std::string media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (media != "application/json") {
    error_out = problem(415, "unsupported-media-type", "Unsupported Media Type",
                        "Content-Type must be application/json, got '" + ct + "'");
    return make_error(Code::kUnsupported, "content type");
  }
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    error_out = problem(400, "malformed-json", "Bad Request",
                        "request body is not valid JSON (or not valid UTF-8)");
    return make_error(Code::kParse, "json");
  }
  if (!j.is_object()) {
    error_out = validation_failed({{"", "request body must be a JSON object"}});
    return make_error(Code::kInvalidArgument, "not an object");
  }
  return j;
}

}  // namespace fc::api
