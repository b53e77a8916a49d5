// The outbound HTTP client of webhook deliveries (http_out.cpp, the only unit
// that includes Beast): one keep-alive connection per lane, the guard applied
// to the address actually connected to, no redirects followed, one deadline
// per attempt, at most 64 KiB of the reply read.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/asio.hpp"

namespace fc::webhooks::detail {

struct Url {
  bool tls = false;
  std::string host;         // without brackets
  std::string port;         // "80" / "443" when absent
  std::string target;       // origin-form, "/" when absent
  std::string host_header;  // as in the URL (brackets and port kept)
};
// Expects a URL that check_url accepted.
std::optional<Url> parse_url(std::string_view url);

struct TlsContext;  // an asio::ssl::context with the system's trust anchors
std::shared_ptr<TlsContext> make_tls_context();

struct PostResult {
  std::optional<int> status;  // the reply's status when one came
  std::string error;          // why not, or "" on a reply
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class Client {
 public:
  Client(asio::any_io_executor ex, std::shared_ptr<TlsContext> tls, bool allow_private,
         std::chrono::milliseconds timeout);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  awaitable<PostResult> post(Url url, Headers headers, std::string body);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::webhooks::detail
