// The outbound side of webhook deliveries on the project's one HTTP client
// transport (client::HttpTransport, docs/client.md): keep-alive, no redirect
// followed, one deadline per attempt, at most 64 KiB of the reply read. What
// this adds is the guard: the endpoint's host is resolved here, every address
// is checked (refused_address) and the request is pinned to an allowed one
// (HttpRequest::connect_to), so the address checked is the address connected
// to — no DNS-rebinding window. Beast and Asio's networking stay in the .cpp.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/async.hpp"
#include "common/asio.hpp"

namespace fc::webhooks::detail {

// An endpoint URL split for the transport: scheme, host and port in `url`
// (its base_path empty), the origin-form path and query in `target`.
struct Target {
  client::Url url;
  std::string target = "/";
};
// Expects a URL that check_url accepted; nullopt otherwise.
std::optional<Target> split_url(std::string_view url);

struct PostResult {
  std::optional<int> status;  // the reply's status when one came
  std::string error;          // why not, or "" on a reply
};

// One per lane: its transport keeps the lane's connection alive between
// deliveries. Not thread-safe (the service runs on one I/O thread).
class Sender {
 public:
  Sender(bool allow_private, std::chrono::milliseconds timeout);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  awaitable<PostResult> post(Target t, std::vector<client::HttpHeader> headers, std::string body);

 private:
  struct Resolved {
    std::vector<std::string> allowed;  // checked addresses, in resolver order
    std::string refused;               // why the last refused one was, for the error
    std::chrono::steady_clock::time_point until;
  };
  awaitable<Resolved> resolve(const client::Url& u);

  bool allow_private_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<client::HttpTransport> transport_;
  std::string setup_error_;                // when the transport could not be created
  std::map<std::string, Resolved> cache_;  // "host|port" → checked addresses
};

}  // namespace fc::webhooks::detail
