// Where ctl finds its server and token: flags, then FLEETCOMMAND_SERVER /
// FLEETCOMMAND_TOKEN, then the current (or --context) context of
// ~/.config/fleetcommand/ctl.json — like kubectl's kubeconfig.
#pragma once
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/result.hpp"

namespace fc::ctl {

struct Context {
  std::string server;
  std::optional<std::string> token_file;
  std::optional<std::string> ca_file;
};

struct CtlConfig {
  std::string current;                      // "" when none is chosen
  std::map<std::string, Context> contexts;  // by name
};

// {"current_context":"prod","contexts":{"prod":{"server":…,"token_file":…,"ca_file":…}}}
Result<CtlConfig> parse_ctl_config(const nlohmann::json& j);
nlohmann::json to_json(const CtlConfig& c);

// $FLEETCOMMAND_CTL_CONFIG, else $XDG_CONFIG_HOME/fleetcommand/ctl.json, else
// $HOME/.config/fleetcommand/ctl.json.
std::string ctl_config_path();
// A missing file is an empty configuration; a malformed one an error naming it.
Result<CtlConfig> load_ctl_config(const std::string& path);
// Written whole to a temporary file and renamed, mode 0600.
Status save_ctl_config(const std::string& path, const CtlConfig& c);

struct Flags {
  std::optional<std::string> server, token_file, ca_file, context;
};

struct Environment {
  std::optional<std::string> server, token;  // FLEETCOMMAND_SERVER, FLEETCOMMAND_TOKEN
};

struct Target {
  std::string server;
  std::string token;  // "" when none was given
  std::optional<std::string> ca_file;
  std::string source;  // where the server came from, for messages
};

// Flags first, then the environment, then the context. Reads the token file.
Result<Target> resolve_target(const Flags& f, const Environment& env, const CtlConfig& cfg);

}  // namespace fc::ctl
