// fleetcommand: serve | check-config | migrate | token create --admin | agent | ctl | version
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "app/app.hpp"
#include "app/backup.hpp"
#include "ctl/ctl.hpp"

namespace {

constexpr const char* kUsage =
    "usage: fleetcommand <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]                 run the daemon (embedded defaults without a file)\n"
    "  check-config [--config FILE]          print the effective configuration, secrets redacted\n"
    "  migrate [--config FILE]               apply pending database migrations and exit\n"
    "  token create --admin [--config FILE]  mint an admin token offline; prints it once\n"
    "  backup --to FILE [--config FILE]      online backup while the daemon serves, verified\n"
    "                                        before it is renamed into place (--method\n"
    "                                        backup-api|backup-api-stepped|vacuum-into)\n"
    "  restore FILE [--config FILE | --state-dir DIR]\n"
    "                                        restore a backup into an empty state directory\n"
    "  migrate-storage --from sqlite:PATH --to postgres:URL\n"
    "                                        copy a stopped daemon's SQLite state into an empty\n"
    "                                        PostgreSQL database, verified (docs/storage.md)\n"
    "  fsck [--config FILE]                  check the capacity ledger and assignments; exit 1 on "
    "any difference\n"
    "  agent --api URL --token-file FILE --state-dir DIR (--out DIR | --apply-command CMD)\n"
    "                                        run the reference region agent (see docs/agent.md)\n"
    "  ctl <resource> <verb> [options]       the operator CLI over the HTTP API (docs/cli.md;\n"
    "                                        'fleetcommand ctl --help')\n"
    "  version                               print the version\n";

struct Args {
  std::optional<std::string> config;
  std::optional<std::string> to;         // backup --to
  std::optional<std::string> state_dir;  // restore --state-dir
  std::string method;                    // backup --method (benchmark comparisons)
  bool admin = false;
  std::vector<std::string> rest;
};

// Parses the options shared by the daemon's subcommands; nullopt on error.
std::optional<Args> parse(int argc, char** argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--config" && i + 1 < argc) {
      a.config = argv[++i];
    } else if (s.rfind("--config=", 0) == 0) {
      a.config = s.substr(9);
    } else if (s == "--admin") {
      a.admin = true;
    } else if (s == "--to" && i + 1 < argc) {
      a.to = argv[++i];
    } else if (s == "--method" && i + 1 < argc) {
      a.method = argv[++i];
    } else if (s == "--state-dir" && i + 1 < argc) {
      a.state_dir = argv[++i];
    } else if (s.empty() || s[0] != '-') {
      a.rest.push_back(s);
    } else {
      std::fprintf(stderr, "fleetcommand: unknown argument '%s'\n\n%s", s.c_str(), kUsage);
      return std::nullopt;
    }
  }
  return a;
}

// Options that only some subcommands take; prints the error.
bool check_args(const std::string& cmd, const Args& a) {
  const char* error = nullptr;
  if (cmd == "backup" && !a.to) error = "backup needs --to FILE";
  if (cmd != "backup" && (a.to || !a.method.empty()))
    error = "--to and --method are options of backup only";
  if (cmd == "restore" && a.rest.size() != 1) error = "restore needs exactly one backup FILE";
  if (cmd != "restore" && !a.rest.empty()) error = "unexpected argument";
  if (cmd != "restore" && a.state_dir) error = "--state-dir is an option of restore only";
  if (!error) return true;
  std::fprintf(stderr, "fleetcommand: %s\n\n%s", error, kUsage);
  return false;
}

// The subcommands that read the configuration: serve, migrate, fsck,
// check-config and token create --admin.
int run_configured(const std::string& cmd, int argc, char** argv) {
  using namespace fc::app;
  int from = 2;
  if (cmd == "token") {
    if (argc < 3 || std::strcmp(argv[2], "create") != 0) {
      std::fprintf(stderr, "fleetcommand: expected 'token create --admin'\n");
      return kExitUsage;
    }
    from = 3;
  }
  auto args = parse(argc, argv, from);
  if (!args) return kExitUsage;
  if (!check_args(cmd, *args)) return kExitUsage;
  auto cfg = load_config_or_report(args->config);
  if (!cfg) return kExitUsage;
  if (cmd == "check-config") {
    std::cout << fc::config::redacted(*cfg).dump(2) << "\n";
    return kExitOk;
  }
  setup_logging(cfg->log_level, cfg->log_format);
  if (cmd == "serve") return serve(*cfg, args->config);
  if (cmd == "migrate") return migrate_cmd(*cfg);
  if (cmd == "fsck") return fsck_cmd(*cfg);
  if (cmd == "backup") return backup_cmd(*cfg, *args->to, args->method);
  if (cmd == "restore") return restore_cmd(*cfg, args->rest[0], args->state_dir);
  if (cmd == "token") {
    if (!args->admin) {
      std::fprintf(stderr,
                   "fleetcommand: only 'token create --admin' is available offline; "
                   "agent and tenant tokens are minted through the API\n");
      return kExitUsage;
    }
    return token_create_admin(*cfg);
  }
  std::fprintf(stderr, "fleetcommand: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fc::app;
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string cmd = argv[1];
  if (cmd == "version" || cmd == "--version") {
    std::printf("fleetcommand %s\n", FC_VERSION);
    return kExitOk;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (cmd == "agent") return fc::agent::main(argc - 2, argv + 2);
  if (cmd == "ctl") return fc::ctl::main(argc - 2, argv + 2);
  if (cmd == "migrate-storage") return migrate_storage_cmd(argc - 2, argv + 2);
  return run_configured(cmd, argc, argv);
}
