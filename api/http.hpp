// HTTP vocabulary of the API: requests, responses, problem+json errors, and
// the router with per-route scopes (docs/api-server.md).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/asio.hpp"
#include "common/result.hpp"

namespace fc::api {

enum class TokenKind { kAdmin, kAgent, kTenant };
const char* kind_name(TokenKind k);

struct Principal {
  std::string token_id;
  TokenKind kind = TokenKind::kAdmin;
  std::string region;        // agent tokens
  std::string workspace_id;  // tenant tokens of one workspace
  std::string tenant_id;     // tenant tokens of a whole tenant (workspace_id empty)
};

// Who may call a route. Admin tokens may call everything except kAgent routes.
// kAnyToken: any valid token reaches the handler, which answers 404 to those
// it does not serve (so that a 403 does not reveal that the object exists).
enum class Scope { kPublic, kAdmin, kAgent, kAdminOrTenant, kAnyToken };

struct Request {
  std::string method;  // "GET", "POST", …
  std::string path;    // without the query
  std::string target;  // as received: path and query, still percent-encoded
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> params;   // from the route pattern
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string request_id;
  std::string remote;
  std::optional<Principal> principal;
  std::string route;  // the matched pattern, for metrics and logs

  // The header's value, or an empty string (a reference valid while the request lives).
  const std::string& header(const std::string& lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
};

// RFC 9457 problem details. `type` is a stable URI per error class.
Response problem(int status, const std::string& type_suffix, const std::string& title,
                 const std::string& detail, nlohmann::json extra = nlohmann::json::object());
// Maps an Error to its problem response (never leaks SQLite/OpenSSL text for
// kIo/kInternal/kCrypto: those log the detail and answer a generic message).
Response problem_from(const Error& e, const std::string& request_id);

// How an Error is answered over HTTP: the one mapping from error codes to
// HTTP (docs/api-server.md "Error model"). `type` is the suffix of
// https://fleetcommand.dev/problems/.
struct ProblemShape {
  int status;
  const char* type;
  const char* title;
};
// The shape of a generic class (500 "internal" for kIo, kCrypto, kInternal).
ProblemShape problem_shape(Code code);
// The shape of a component code from the API's table; nullopt when the table
// lacks it (problem_from then logs it and answers by its generic class).
std::optional<ProblemShape> component_problem_shape(const Error& e);
// component_problem_shape, else the generic class's shape.
ProblemShape problem_shape(const Error& e);
Response json_response(int status, const nlohmann::json& body);
Response no_content();

// 422 with {"errors":[{"field","message"}]}.
struct FieldError {
  std::string field;
  std::string message;
};
Response validation_failed(const std::vector<FieldError>& errors);

// Parses a JSON request body: 415 for another content type, 400 for
// malformed JSON or invalid UTF-8, 422 when it is not an object.
Result<nlohmann::json> parse_json_body(const Request& r, Response& error_out);

using Handler = std::function<awaitable<Response>(Request&)>;

struct Route {
  std::string method;
  std::string pattern;  // "/v1/regions/{id}"
  Scope scope;
  Handler handler;
  std::vector<std::string> segments;
};

// Authenticates a bearer token: the principal, or nullopt (401).
using Authenticator = std::function<std::optional<Principal>(const std::string& token)>;
// Rate limiting per token: nullopt when allowed, else seconds to wait.
using RateLimiter = std::function<std::optional<int>(const Principal&)>;

class Router {
 public:
  void add(std::string method, std::string pattern, Scope scope, Handler h);
  void set_authenticator(Authenticator a) { auth_ = std::move(a); }
  void set_rate_limiter(RateLimiter r) { limiter_ = std::move(r); }
  // Answers every request no route matches (a standby's forwarding to the
  // leader, app/ha.cpp), with no authentication of its own.
  void set_fallback(Handler h) { fallback_ = std::move(h); }
  // Matches, authenticates, checks the scope, and runs the handler. Not a
  // coroutine itself: the handler's awaitable (or an answer's) is returned
  // as it is, one coroutine frame less per request.
  awaitable<Response> dispatch(Request& r) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  // The route of r's method and path (its parameters into `params`), else
  // nullptr; `allowed` gets every method of the routes of that path then.
  const Route* match(const Request& r, std::vector<std::string>& allowed,
                     std::map<std::string, std::string>& params) const;
  std::optional<Response> admit(const Route& route, Request& r) const;
  std::vector<Route> routes_;
  Authenticator auth_;
  RateLimiter limiter_;
  Handler fallback_;
};

}  // namespace fc::api
