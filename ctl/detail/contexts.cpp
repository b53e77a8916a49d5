// ctl context: list, use, set, current, delete (ctl.json, like kubeconfig).
#include <filesystem>

#include "CLI/CLI.hpp"
#include "client/client.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

int ctx_list(Env& env) {
  auto cfg = load_ctl_config(env.g.config_path);
  if (!cfg) return env.fail(cfg.error());
  std::vector<json> rows;
  for (const auto& [name, c] : cfg.value().contexts)
    rows.push_back({{"current", name == cfg.value().current ? "*" : ""},
                    {"name", name},
                    {"server", c.server},
                    {"token_file", c.token_file ? json(*c.token_file) : json(nullptr)}});
  std::vector<Column> cols = {
      {"CURRENT", [](const json& r) { return r["current"].get<std::string>(); }},
      {"NAME", [](const json& r) { return cell_text(r["name"]); }},
      {"SERVER", [](const json& r) { return cell_text(r["server"]); }},
      {"TOKEN FILE", [](const json& r) { return cell_text(r["token_file"]); }}};
  return print_items(env, cols, rows);
}

int ctx_use(Env& env, const std::string& name) {
  auto cfg = load_ctl_config(env.g.config_path);
  if (!cfg) return env.fail(cfg.error());
  if (!cfg.value().contexts.count(name)) {
    std::string known;
    for (const auto& [n, c] : cfg.value().contexts) known += (known.empty() ? "" : ", ") + n;
    return env.fail(
        make_error(Code::kNotFound, "no context named '" + name + "' in " + env.g.config_path +
                                        (known.empty() ? "" : " (have: " + known + ")")));
  }
  cfg.value().current = name;
  auto st = save_ctl_config(env.g.config_path, cfg.value());
  if (!st) return env.fail(st.error());
  *env.out << "switched to context " << name << "\n";
  return kExitOk;
}

struct CtxSetOpts {
  std::string name, server, token_file, ca_file;
};

int ctx_set(Env& env, const CtxSetOpts& o) {
  auto cfg = load_ctl_config(env.g.config_path);
  if (!cfg) return env.fail(cfg.error());
  auto url = client::parse_url(o.server);
  if (!url) return env.usage("--server: " + url.error().detail);
  // Relative file names are stored absolute: ctl may run from anywhere later.
  auto absolute = [](const std::string& f) {
    if (f.empty() || f[0] == '~' || f[0] == '/') return f;
    std::error_code ec;
    auto p = std::filesystem::absolute(f, ec);
    return ec ? f : p.string();
  };
  Context c{o.server, std::nullopt, std::nullopt};
  if (!o.token_file.empty()) c.token_file = absolute(o.token_file);
  if (!o.ca_file.empty()) c.ca_file = absolute(o.ca_file);
  cfg.value().contexts[o.name] = c;
  if (cfg.value().current.empty()) cfg.value().current = o.name;
  auto st = save_ctl_config(env.g.config_path, cfg.value());
  if (!st) return env.fail(st.error());
  *env.out << "context " << o.name << " saved in " << env.g.config_path << "\n";
  return kExitOk;
}

void add_context_current_delete(CLI::App* cmd, Env& env) {
  auto* cur = cmd->add_subcommand("current", "Print the current context's name");
  cur->footer("Examples:\n  fleetcommand ctl context current");
  on_run(cur, env, [&env] {
    auto cfg = load_ctl_config(env.g.config_path);
    if (!cfg) return env.fail(cfg.error());
    if (cfg.value().current.empty())
      return env.fail(make_error(Code::kNotFound, "no current context"));
    *env.out << cfg.value().current << "\n";
    return kExitOk;
  });
  auto* del = cmd->add_subcommand("delete", "Remove a context");
  auto dname = std::make_shared<std::string>();
  del->add_option("NAME", *dname, "Context name")->required();
  del->footer("Examples:\n  fleetcommand ctl context delete prod");
  on_run(del, env, [&env, dname] {
    auto cfg = load_ctl_config(env.g.config_path);
    if (!cfg) return env.fail(cfg.error());
    if (!cfg.value().contexts.erase(*dname))
      return env.fail(make_error(Code::kNotFound, "no context named '" + *dname + "'"));
    if (cfg.value().current == *dname) cfg.value().current.clear();
    auto st = save_ctl_config(env.g.config_path, cfg.value());
    if (!st) return env.fail(st.error());
    *env.out << "context " << *dname << " deleted\n";
    return kExitOk;
  });
}

}  // namespace

void add_context_commands(CLI::App& root, Env& env) {
  auto* cmd = root.add_subcommand(
      "context", "Named servers and tokens in ctl.json: list, use, set, current, delete");
  cmd->alias("contexts");
  cmd->require_subcommand(1);
  cmd->footer(
      "The file: $FLEETCOMMAND_CTL_CONFIG, else ~/.config/fleetcommand/ctl.json.\nExamples:\n"
      "  fleetcommand ctl context set prod --server https://fleet.example.com --token-file "
      "prod.token\n  fleetcommand ctl context use prod");
  auto* list = cmd->add_subcommand("list", "List contexts; * marks the current one")->alias("ls");
  list->footer("Examples:\n  fleetcommand ctl context list");
  on_run(list, env, [&env] { return ctx_list(env); });
  auto* use = cmd->add_subcommand("use", "Make a context the current one");
  auto name = std::make_shared<std::string>();
  use->add_option("NAME", *name, "Context name")->required();
  use->footer("Examples:\n  fleetcommand ctl context use prod");
  on_run(use, env, [&env, name] { return ctx_use(env, *name); });
  auto* set = cmd->add_subcommand("set", "Create or replace a context");
  auto o = std::make_shared<CtxSetOpts>();
  set->add_option("NAME", o->name, "Context name")->required();
  set->add_option("--server", o->server, "API URL, http:// or https://")->required();
  set->add_option("--token-file", o->token_file, "File holding the token");
  set->add_option("--ca-file", o->ca_file, "PEM trust anchors for https (else the system's)");
  set->footer(
      "Examples:\n  fleetcommand ctl context set prod --server https://fleet.example.com "
      "--token-file ~/.config/fleetcommand/prod.token");
  on_run(set, env, [&env, o] { return ctx_set(env, *o); });
  add_context_current_delete(cmd, env);
}

}  // namespace fc::ctl
