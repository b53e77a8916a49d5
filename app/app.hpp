// The daemon's entry points, one per subcommand (app/main.cpp dispatches).
#pragma once
#include <optional>
#include <string>

#include "config/config.hpp"

namespace fc::app {

// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

void setup_logging(const std::string& level, const std::string& format);
// Loads the configuration or prints the error (naming the key) and returns nullopt.
std::optional<config::Config> load_config_or_report(const std::optional<std::string>& file);
// Runs the daemon until SIGINT/SIGTERM; SIGHUP re-reads `config_file` and the
// environment (app/daemon.cpp Daemon::reload).
int serve(const config::Config& cfg, const std::optional<std::string>& config_file);
int migrate_cmd(const config::Config& cfg);
// Checks the capacity ledger and assignments against the workspaces table.
int fsck_cmd(const config::Config& cfg);
int token_create_admin(const config::Config& cfg);
// migrate-storage --from sqlite:PATH --to postgres:URL (argv after the command).
int migrate_storage_cmd(int argc, char** argv);
// Creates the parent directory of `path` (like var/) when missing.
bool ensure_parent_dir(const std::string& path);

}  // namespace fc::app
