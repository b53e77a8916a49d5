// The coroutine face of the shared HTTP client (client/client.hpp): the agent
// long-polls and heartbeats on its one io_context with it. Only the Asio core
// (common/asio.hpp, for awaitable) is visible here; sockets, Beast and
// OpenSSL stay in client/http.cpp.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.hpp"
#include "common/asio.hpp"

namespace fc::client {

// The general transport under AsyncClient, for callers that talk to servers
// other than ours (the ACME client, certs/https.cpp; a webhook sender): any
// method and headers, every response header, no redirect followed (a 3xx is a
// reply like any other), optional keep-alive, optional pinned address. Every
// Beast and TLS instantiation of the project's client side is in its one .cpp
// (client/http.cpp), so a new caller costs no compile time (docs/building.md).
struct HttpHeader {
  std::string name, value;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";         // path and query, appended to the Url's base_path
  std::vector<HttpHeader> headers;  // besides Host, User-Agent and Connection (the transport's)
  std::string body;                 // sent with Content-Length; a HEAD reads no body
  // An IP literal to connect to instead of resolving the Url's host (a webhook
  // sender that checked the address it resolved); Host, SNI and the
  // certificate check still use the Url's host.
  std::string connect_to;
};

struct HttpReply {
  unsigned status = 0;
  std::vector<HttpHeader> headers;  // as received, repeated ones repeated
  std::string body;
  bool reused = false;     // came over a kept-alive connection
  bool truncated = false;  // the body is cut at body_limit (TransportOptions::truncate_body)
  // First value of a header (case-insensitive name), "" when absent.
  std::string header(std::string_view name) const;
  // Every value of a header (Link may come several times, RFC 8555 §7.1).
  std::vector<std::string> header_values(std::string_view name) const;
};

struct TransportOptions {
  std::string user_agent = "fleetcommand-client";
  std::uint64_t body_limit = 64ull << 20;  // larger → Code::kTooLarge
  // true: a body over body_limit is not an error but a reply whose body is
  // cut there (HttpReply::truncated; the rest is not read and the connection
  // is closed) — a webhook sender needs the status, not the page.
  bool truncate_body = false;
  std::optional<std::string> ca_file;   // PEM trust anchors for https
  bool ca_file_adds_to_system = false;  // true: the system store is trusted too (ACME)
  std::string ca_option = "--ca-file";  // how error messages name ca_file
  // Reuse connections per host (RFC 9112 §9.3): at most 8 idle per host, each
  // for 20 s; a kept connection the server closed meanwhile is retried once on
  // a new one. false: one request per connection (Connection: close).
  bool keep_alive = false;
};

// Errors: kUnavailable (resolve, connect, TLS, write, read failed), kTimeout
// (the deadline over the exchange passed), kTooLarge (body over the limit),
// kIo (ca_file does not load), kCrypto (OpenSSL set-up).
class HttpTransport {
 public:
  static Result<std::unique_ptr<HttpTransport>> create(TransportOptions opts);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // One exchange with a deadline over it (resolve, connect, TLS, write, read).
  awaitable<Result<HttpReply>> send(Url url, HttpRequest req, std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit HttpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class AsyncClient {
 public:
  static Result<std::unique_ptr<AsyncClient>> create(Url url, std::string token,
                                                     ClientOptions opts);
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // As Client::request, on the caller's executor. A long-poll is a GET whose
  // timeout covers the server's `wait` plus a margin.
  awaitable<Result<Response>> request(std::string method, std::string target, std::string body,
                                      std::chrono::milliseconds timeout);
  awaitable<Result<Response>> get(std::string target, std::chrono::milliseconds timeout);
  awaitable<Result<Response>> post(std::string target, std::string body,
                                   std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit AsyncClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::client
