// Command line of `fleetcommand agent` (docs/agent.md "Command line").
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.hpp"
#include "common/result.hpp"

namespace fc::agent {

inline constexpr const char* kDefaultApplyCommand = "kubectl apply --server-side -f -";
inline constexpr const char* kDefaultDeleteCommand = "kubectl delete --ignore-not-found -f -";
inline constexpr const char* kDefaultStatusCommand =
    "kubectl get deployments,pods --all-namespaces -l app.kubernetes.io/managed-by=fleetcommand "
    "-o json";

// "127.0.0.1:9102", "[::]:9102", "[::1]:9102": an IP literal and a port
// 1..65535 (no names: nothing to resolve before the probes work). Whether the
// host is a valid IP address is checked when binding.
struct ListenAddr {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
Result<ListenAddr> parse_listen(std::string_view s);

struct Options {
  bool help = false;
  bool print_template = false;  // --print-template: the built-in template, then exit
  std::string api;
  client::Url api_url;
  std::string token_file;
  std::string state_dir;
  std::optional<std::string> out_dir;  // GitOps mode when set
  std::string apply_command = kDefaultApplyCommand;
  std::string delete_command = kDefaultDeleteCommand;
  std::optional<std::string> template_file;
  std::map<std::string, std::string> settings;  // --set KEY=VALUE
  std::string agent_id;                         // "" → the host name
  bool once = false;
  std::optional<std::string> ca_bundle;
  std::string log_level = "info";
  int poll_wait_s = 30;       // long-poll `wait`, 1..60
  int apply_timeout_s = 300;  // per apply/delete/status command
  // Prints one List of Deployments and Pods; set by default in kubectl mode,
  // only when given in --out mode (else nothing is observed).
  std::optional<std::string> status_command;
  int status_interval_s = 10;               // between observations, 1..3600
  int failure_grace_s = 60;                 // a pod waiting with a fatal reason this long fails
  std::optional<ListenAddr> health_listen;  // /healthz, /readyz, /metrics; off when unset
};

// args excludes the program and the "agent" word. Errors are usage errors
// (exit code 2) with a message naming the option.
Result<Options> parse_args(const std::vector<std::string>& args);

std::string usage();

}  // namespace fc::agent
