// The API as the CLI sees it: one call per request, problem+json turned into
// a readable message, pagination followed, the server's version checked once.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/client.hpp"
#include "common/result.hpp"
#include "ctl/detail/config.hpp"

namespace fc::ctl {

using HttpResponse = client::Response;

// The API major this ctl speaks, and what it sends in User-Agent.
inline constexpr const char* kApiMajor = "v1";

// A readable message for a non-2xx answer: the problem's title and detail,
// one line per field error and per rejected region; a 401 says the token was
// refused. `server` names the server for answers that are not problem+json.
std::string describe_failure(const HttpResponse& r, const std::string& server);

// Checks GET /v1/version's answer: empty when compatible, else one line.
std::string version_mismatch(const nlohmann::json& v, const std::string& server);

class Api {
 public:
  // chunk: the page size asked for when following pages (kubectl's --chunk-size).
  Api(Target target, std::chrono::milliseconds timeout, size_t chunk = 500);
  ~Api();

  // Errors carry a finished message: Code::kUnavailable/kTimeout for the
  // network, kNotFound for 404, kInvalidArgument for other refusals.
  Result<nlohmann::json> call(const std::string& method, const std::string& target,
                              const std::optional<nlohmann::json>& body = std::nullopt);
  // GET of a list: follows next_cursor while `limit` (0 = all) allows, and
  // returns every page's items in one array.
  Result<std::vector<nlohmann::json>> list(const std::string& path, const std::string& query = "",
                                           size_t limit = 0);
  // GET /v1/version once; refuses a server of another API major.
  Status check_version();
  const std::string& server() const { return target_.server; }

 private:
  Result<HttpResponse> send(const std::string& method, const std::string& target,
                            const std::string& body, bool auth);
  Target target_;
  std::chrono::milliseconds timeout_;
  size_t chunk_;
  std::unique_ptr<client::Client> http_;
  std::unique_ptr<client::Client> anon_;
  bool checked_ = false;
};

}  // namespace fc::ctl
