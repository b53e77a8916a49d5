// A small HTTP(S)/1.1 client on Boost.Beast for the agent API: one request
// per connection, a deadline over the whole exchange, bearer token, peer and
// host-name verification for https.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "agent/detail/cli.hpp"
#include "common/asio.hpp"
#include "common/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace fc::agent {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HttpResponse {
  unsigned status = 0;
  std::string body;
};

class HttpClient {
 public:
  // ca_bundle: PEM trust anchors for https (else the system's).
  static Result<std::unique_ptr<HttpClient>> create(Url url, std::string token,
                                                    const std::optional<std::string>& ca_bundle);
  ~HttpClient();

  // `path` is appended to the URL's base path. Network failures and timeouts
  // are Code::kUnavailable / kTimeout; any HTTP status is a response.
  awaitable<Result<HttpResponse>> get(std::string path, std::chrono::milliseconds timeout);
  awaitable<Result<HttpResponse>> post(std::string path, std::string body,
                                       std::chrono::milliseconds timeout);

 private:
  HttpClient(Url url, std::string token, std::unique_ptr<asio::ssl::context> ctx);
  awaitable<Result<HttpResponse>> tls_request(asio::ip::tcp::resolver::results_type endpoints,
                                              HttpRequest& req, std::chrono::milliseconds timeout);
  awaitable<Result<HttpResponse>> request(bool post, std::string path, std::string body,
                                          std::chrono::milliseconds timeout);

  Url url_;
  std::string token_;
  std::unique_ptr<asio::ssl::context> ssl_;
};

// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
std::string url_encode(std::string_view s);

}  // namespace fc::agent
