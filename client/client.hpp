// The HTTP client the agent and the CLI share (docs/client.md): URLs, the
// blocking client of `fleetcommand ctl`, problem+json decoding, pagination and
// the retry backoff. It knows the wire only, never a server component; the
// coroutine client of the agent is in client/async.hpp. No Asio, Beast or
// OpenSSL here: the transport is client/http.cpp's.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace fc::client {

struct Url {
  bool tls = false;
  std::string host;       // without brackets for IPv6 literals
  std::string port;       // "80"/"443" when absent, else 1..65535 without leading zeros
  std::string base_path;  // "" or "/prefix" (no trailing slash)
};

// http://host[:port][/path] or https://…; IPv6 literals in brackets. Errors
// are Code::kInvalidArgument with a message that names no option (callers
// prefix theirs).
Result<Url> parse_url(std::string_view s);

// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
std::string url_encode(std::string_view s);

struct Response {
  unsigned status = 0;
  std::string content_type;
  std::string retry_after;
  std::string body;
};

struct ClientOptions {
  std::string user_agent = "fleetcommand-client";
  std::uint64_t body_limit = 64ull << 20;  // largest response body accepted
  std::optional<std::string> ca_file;      // PEM trust anchors for https, else the system's
  std::string ca_option = "--ca-file";     // how error messages name ca_file
};

class AsyncClient;

// One request per call and per connection, a deadline over the whole
// exchange, bearer token (none when empty), peer and host-name verification
// for https. Blocking: it runs its own io_context for each request.
class Client {
 public:
  static Result<std::unique_ptr<Client>> create(Url url, std::string token, ClientOptions opts);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `target` (path and query) is appended to the URL's base path. Network
  // failures are Code::kUnavailable, timeouts Code::kTimeout; any HTTP status
  // is a response.
  Result<Response> request(std::string_view method, const std::string& target,
                           const std::string& body, std::chrono::milliseconds timeout);

 private:
  explicit Client(std::unique_ptr<AsyncClient> impl);
  std::unique_ptr<AsyncClient> impl_;
};

// An RFC 9457 problem document as the API sends it (docs/API.md "Errors").
struct FieldError {
  std::string field;  // "" when the problem names none
  std::string message;
};
struct Problem {
  std::string type, title, detail;
  unsigned status = 0;             // the document's, 0 when absent
  std::vector<FieldError> errors;  // "errors": one per bad field
  nlohmann::json document;         // the whole object, for extension members
};

// A problem document when `body` is a JSON object with a title or a detail,
// else nothing (an HTML error page, an empty body).
std::optional<Problem> decode_problem(std::string_view body);

// Follows `next_cursor` (docs/API.md "Pagination"): `fetch` gets `query`
// with "limit=N[&cursor=C]" appended and returns the page; every page's items
// in one array. `limit` 0 = all. A page without an items list is Code::kParse,
// "<what> answered without an items list".
using PageFetch = std::function<Result<nlohmann::json>(const std::string& query)>;
Result<std::vector<nlohmann::json>> paginate(const PageFetch& fetch, const std::string& what,
                                             const std::string& query, std::size_t chunk,
                                             std::size_t limit);

// Next delay of an exponential backoff: doubles from `first`, capped at `cap`
// (prev 0 = the first retry).
std::chrono::milliseconds next_backoff(std::chrono::milliseconds prev,
                                       std::chrono::milliseconds first,
                                       std::chrono::milliseconds cap);

}  // namespace fc::client
