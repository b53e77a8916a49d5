// The I/O of one probe (detail/check.cpp): resolve through the configured
// resolvers, connect, TLS with SNI, the certificate, GET the path. Asio's
// ssl, Beast and OpenSSL stay inside the .cpp.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>  // before common/asio.hpp, which uses std::optional without including it
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "probes/probe.hpp"

namespace fc::probes::detail {

struct CheckOptions {
  std::vector<std::string> resolvers;  // host:port
  std::uint16_t port = 443;
  std::string path = "/api/info";
  std::chrono::milliseconds timeout{5000};  // per step
  std::string ca_bundle;                    // "" = the system store
  std::string internal_root_pem;            // always trusted when set
};

struct Target {
  std::string hostname;
  std::string workspace_id;
  std::string region;
  std::vector<std::string> accepted;  // leaf fingerprints that are ours
  bool require_ours = true;           // false: chain and name only
};

class Checker {
 public:
  // Fails (kInvalidArgument, naming the file) when ca_bundle does not load.
  static Result<std::unique_ptr<Checker>> create(asio::io_context& io, CheckOptions o);
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;
  awaitable<Outcome> check(Target t);

  struct Impl;

 private:
  explicit Checker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// SHA-256 (lower-case hex) of the first certificate of a PEM chain; "" when
// it does not parse.
std::string leaf_fingerprint(std::string_view chain_pem);

}  // namespace fc::probes::detail
