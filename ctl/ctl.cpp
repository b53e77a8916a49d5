#include "ctl/ctl.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"
#include "ctl/detail/suggest.hpp"

namespace fc::ctl {

namespace {

using nlohmann::json;

void add_globals(CLI::App& app, Globals& g) {
  app.add_option("--server", g.flags.server,
                 "API URL (else $FLEETCOMMAND_SERVER, else the context)");
  app.add_option("--token-file", g.flags.token_file,
                 "File holding the token (else $FLEETCOMMAND_TOKEN, else the context)");
  app.add_option("--ca-file", g.flags.ca_file, "PEM trust anchors for https (else the system's)");
  app.add_option("--context", g.flags.context,
                 "Use this context of ctl.json instead of the current");
  app.add_option("-o,--output", g.output, "Output: table (default), wide, json, yaml");
  app.add_option("--request-timeout", g.timeout, "Timeout of each request (default 30s)");
  app.add_option("--chunk-size", g.chunk_size,
                 "Page size asked for when following pages (default 500)")
      ->check(CLI::Range(1, 1000));
}

void add_version(CLI::App& app, Env& env) {
  auto* v = app.add_subcommand("version", "Print this ctl's version and the server's");
  v->footer("Examples:\n  fleetcommand ctl version\n  fleetcommand ctl version --context prod");
  on_run(v, env, [&env] {
    *env.out << "client: fleetcommand " << FC_VERSION << " (API " << kApiMajor << ")\n";
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("GET", "/v1/version");
    if (!r) return env.fail(r.error());
    *env.out << "server: fleetcommand " << r.value().value("version", "?") << " (API "
             << r.value().value("api", "?") << ") at " << api.value()->server() << "\n";
    return kExitOk;
  });
}

// The command a CLI11 parse error happened in and a "did you mean" for the
// first word that is neither a subcommand nor an option of it.
struct Scan {
  const CLI::App* cmd;
  std::string hint;
};

std::vector<std::string> long_names(const CLI::App* app) {
  std::vector<std::string> out;
  for (const CLI::App* a = app; a; a = a->get_parent())
    for (const auto* o : a->get_options())
      for (const auto& l : o->get_lnames()) out.push_back("--" + l);
  return out;
}

const CLI::App* find_sub(const CLI::App* app, const std::string& w) {
  auto subs = const_cast<CLI::App*>(app)->get_subcommands([](CLI::App*) { return true; });
  for (auto* s : subs)
    if (s->check_name(w)) return s;
  return nullptr;
}

const CLI::Option* find_long(const CLI::App* app, const std::string& name) {
  for (const CLI::App* a = app; a; a = a->get_parent())
    for (const auto* o : a->get_options())
      for (const auto& l : o->get_lnames())
        if ("--" + l == name) return o;
  return nullptr;
}

std::string hint_for_option(const CLI::App* cur, const std::string& name) {
  auto best = nearest(name, long_names(cur));
  return "unknown flag " + name + (best ? " (did you mean " + *best + "?)" : "");
}

std::string hint_for_word(const CLI::App* cur, const std::string& w) {
  std::vector<std::string> names;
  auto subs = const_cast<CLI::App*>(cur)->get_subcommands([](CLI::App*) { return true; });
  for (auto* s : subs)
    if (!s->get_group().empty()) names.push_back(s->get_name());
  auto best = nearest(w, names);
  std::string where = cur->get_parent() ? "'" + cur->get_name() + "'" : "ctl";
  return "unknown command '" + w + "' for " + where +
         (best ? " (did you mean " + *best + "?)" : "");
}

Scan scan_args(const CLI::App& root, const std::vector<std::string>& args) {
  const CLI::App* cur = &root;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(0, a.find('='));
      const auto* o = find_long(cur, name);
      if (!o) return {cur, hint_for_option(cur, name)};
      if (a.find('=') == std::string::npos && o->get_type_size_max() > 0) ++i;
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      if (a == "-o" || a == "-f") ++i;
      continue;
    }
    if (const auto* s = find_sub(cur, a)) {
      cur = s;
      continue;
    }
    if (cur->get_require_subcommand_min() > 0) return {cur, hint_for_word(cur, a)};
  }
  return {cur, ""};
}

std::string command_path(const CLI::App* cmd) {
  std::string p;
  for (const CLI::App* a = cmd; a && a->get_parent(); a = a->get_parent())
    p = a->get_name() + " " + p;
  return "fleetcommand ctl " + p;
}

int report_parse_error(const CLI::App& app, const CLI::ParseError& e,
                       const std::vector<std::string>& args, Env& env) {
  auto scan = scan_args(app, args);
  std::string msg = scan.hint.empty() ? e.what() : scan.hint;
  if (scan.hint.empty() && dynamic_cast<const CLI::RequiredError*>(&e) &&
      scan.cmd->get_require_subcommand_min() > 0) {
    std::string names;
    auto subs = const_cast<CLI::App*>(scan.cmd)->get_subcommands([](CLI::App*) { return true; });
    for (auto* s : subs)
      if (!s->get_group().empty()) names += (names.empty() ? "" : ", ") + s->get_name();
    msg = "missing a command: " + names;
  }
  *env.err << "error: " << msg << "\nRun '" << command_path(scan.cmd) << "--help' for usage.\n";
  return kExitUsage;
}

// The whole command tree; every command's callback stores its action in env.
void build_app(CLI::App& app, Env& env) {
  app.fallthrough();
  app.require_subcommand(1);
  app.footer(
      "Examples:\n  fleetcommand ctl context set local --server http://127.0.0.1:8080 "
      "--token-file var/admin.token\n  fleetcommand ctl regions list\n"
      "  fleetcommand ctl workspaces get acme -o yaml\n"
      "  fleetcommand ctl domains wait chat.example.com --for=active --timeout=10m\n\n"
      "Exit status: 0 success, 1 a request or wait failed, 2 bad usage.");
  add_globals(app, env.g);
  add_region_commands(app, env);
  add_workspace_commands(app, env);
  add_domain_commands(app, env);
  add_certificate_commands(app, env);
  add_token_commands(app, env);
  add_dns_commands(app, env);
  add_release_commands(app, env);
  add_context_commands(app, env);
  add_version(app, env);
  add_completion_command(app, env);
}

}  // namespace

int main(int argc, char** argv) {
  Env env;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.stdout_tty = ::isatty(STDOUT_FILENO) == 1;
  const char* no_colour = std::getenv("NO_COLOR");
  env.style.colour = env.stdout_tty && !(no_colour && *no_colour);
  env.g.config_path = ctl_config_path();
  CLI::App app{"fleetcommand ctl: the operator CLI of the fleetcommand API (docs/cli.md)",
               "fleetcommand ctl"};
  build_app(app, env);
  std::vector<std::string> args(argv, argv + argc);
  try {
    std::vector<std::string> rev(args.rbegin(), args.rend());
    app.parse(rev);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e, args, env);
  }
  if (!env.action) return env.usage("no command given; run 'fleetcommand ctl --help'");
  if (auto f = env.format(); !f) return env.usage("--output: " + f.error().detail);
  return env.action();
}

}  // namespace fc::ctl
