// A small blocking HTTP(S)/1.1 client for the CLI: one request per
// connection, a deadline over the whole exchange, bearer token, peer and
// host-name verification for https (system trust store or --ca-file).
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace fc::ctl {

struct Url {
  bool tls = false;
  std::string host;       // without brackets for IPv6 literals
  std::string port;       // "80"/"443" when absent
  std::string base_path;  // "" or "/prefix" (no trailing slash)
};

// http://host[:port][/path] or https://…; IPv6 literals in brackets.
Result<Url> parse_url(std::string_view s);

struct HttpResponse {
  unsigned status = 0;
  std::string content_type;
  std::string retry_after;
  std::string body;
};

class HttpClient {
 public:
  // ca_file: PEM trust anchors for https (else the system's).
  static Result<std::unique_ptr<HttpClient>> create(Url url, std::string token,
                                                    const std::optional<std::string>& ca_file);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `target` (path and query) is appended to the URL's base path. Network
  // failures are Code::kUnavailable, timeouts Code::kTimeout; any HTTP status
  // is a response. An empty token sends no Authorization header.
  Result<HttpResponse> request(std::string_view method, const std::string& target,
                               const std::string& body, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
std::string url_encode(std::string_view s);

}  // namespace fc::ctl
