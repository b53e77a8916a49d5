// A small HTTPS client for talking to ACME CAs: Boost.Beast over OpenSSL on
// the caller's io_context, keep-alive connections reused per host, server certificate and
// host name verified against the system store plus an optional extra bundle.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <optional>  // common/asio.hpp uses std::optional without including it

#include "common/asio.hpp"
#include "common/result.hpp"

namespace fc::certs::detail {

struct HttpsOptions {
  std::string ca_bundle;  // extra trust anchors (PEM file); system store always used
  std::chrono::milliseconds timeout{15000};  // per request: connect + TLS + write + read
  std::size_t body_limit = 1 << 20;          // larger bodies → kTooLarge
  std::string user_agent = "fleetcommand-acme/0.1";
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string location;
  std::string replay_nonce;
  std::string retry_after;
  std::vector<std::string> links;  // every Link header value
};

struct Url {
  std::string host;
  std::string port;
  std::string target;
};
// https://host[:port]/path only (RFC 8555 §6.1 requires HTTPS).
Result<Url> parse_https_url(std::string_view url);

class HttpsClient {
 public:
  static Result<std::unique_ptr<HttpsClient>> create(HttpsOptions options);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // `content_type` empty → no body. HEAD reads no body.
  awaitable<Result<HttpResponse>> request(std::string method, std::string url,
                                          std::string content_type, std::string body,
                                          std::string accept = {});

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::certs::detail
