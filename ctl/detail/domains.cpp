// ctl domains: list, get, add, check, delete, wait.
#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

std::string dom_path(const std::string& host) { return "/v1/domains/" + path_escape(host); }

// Without --workspace every workspace's domains, one request per workspace
// (the API has no list of all domains).
int dom_list(Env& env, const std::string& workspace) {
  auto api = env.api();
  if (!api) return env.fail(api.error());
  std::vector<std::string> ws;
  if (!workspace.empty()) {
    ws.push_back(workspace);
  } else {
    auto all = api.value()->list("/v1/workspaces");
    if (!all) return env.fail(all.error());
    for (const auto& w : all.value()) ws.push_back(w.value("id", ""));
  }
  std::vector<json> items;
  for (const auto& w : ws) {
    auto r = api.value()->list("/v1/workspaces/" + path_escape(w) + "/domains");
    if (!r) return env.fail(r.error());
    for (auto& d : r.value()) items.push_back(std::move(d));
  }
  return print_items(env, domain_columns(env), items);
}

int dom_simple(Env& env, const std::string& method, const std::string& target,
               const std::optional<json>& body, const std::string& done) {
  auto api = env.api();
  if (!api) return env.fail(api.error());
  auto r = api.value()->call(method, target, body);
  if (!r) return env.fail(r.error());
  if (r.value().is_object()) return print_object(env, domain_columns(env), r.value());
  *env.out << done << "\n";
  return kExitOk;
}

void add_dom_list_get(CLI::App* cmd, Env& env) {
  auto* list =
      cmd->add_subcommand("list", "List custom domains (of one workspace, or all)")->alias("ls");
  auto ws = std::make_shared<std::string>();
  auto w = std::make_shared<WatchFlags>();
  list->add_option("--workspace", *ws, "Only this workspace's domains (name or id)");
  add_watch_flags(list, *w);
  list->footer(
      "Examples:\n  fleetcommand ctl domains list\n  fleetcommand ctl domains list --workspace "
      "acme -o wide");
  on_run(list, env, [&env, ws, w] {
    return run_maybe_watching(env, *w, [&env, ws] { return dom_list(env, *ws); });
  });
  auto* get = cmd->add_subcommand("get", "Show one custom domain");
  auto host = std::make_shared<std::string>();
  auto gw = std::make_shared<WatchFlags>();
  get->add_option("HOST", *host, "Hostname")->required();
  add_watch_flags(get, *gw);
  get->footer("Examples:\n  fleetcommand ctl domains get chat.example.com -o yaml");
  on_run(get, env, [&env, host, gw] {
    return run_maybe_watching(env, *gw, [&env, host] {
      return dom_simple(env, "GET", dom_path(*host), std::nullopt, "");
    });
  });
}

void add_dom_mutations(CLI::App* cmd, Env& env) {
  auto* add = cmd->add_subcommand("add", "Claim a custom domain for a workspace");
  auto host = std::make_shared<std::string>();
  auto ws = std::make_shared<std::string>();
  add->add_option("HOST", *host, "Hostname (e.g. chat.example.com)")->required();
  add->add_option("--workspace", *ws, "Workspace name or id")->required();
  add->footer(
      "Prints the TXT record that proves ownership and the CNAME that routes the name.\n"
      "Examples:\n  fleetcommand ctl domains add chat.example.com --workspace acme -o yaml");
  on_run(add, env, [&env, host, ws] {
    return dom_simple(env, "POST", "/v1/workspaces/" + path_escape(*ws) + "/domains",
                      json{{"hostname", *host}}, "");
  });
  auto* check = cmd->add_subcommand("check", "Re-check a domain's DNS now");
  auto chost = std::make_shared<std::string>();
  check->add_option("HOST", *chost, "Hostname")->required();
  check->footer("Examples:\n  fleetcommand ctl domains check chat.example.com");
  on_run(check, env, [&env, chost] {
    return dom_simple(env, "POST", dom_path(*chost) + "/check", std::nullopt, "check queued");
  });
  auto* del = cmd->add_subcommand("delete", "Remove a custom domain");
  auto dhost = std::make_shared<std::string>();
  del->add_option("HOST", *dhost, "Hostname")->required();
  del->footer("Examples:\n  fleetcommand ctl domains delete chat.example.com");
  on_run(del, env, [&env, dhost] {
    return dom_simple(env, "DELETE", dom_path(*dhost), std::nullopt,
                      "domain " + *dhost + " deleted");
  });
}

const std::vector<std::string>& domain_states() {
  static const std::vector<std::string> k = {
      "pending_verification", "issuing", "active", "failed", "moved", "deleted"};
  return k;
}

struct DomWaitOpts {
  std::string host, want = "active", timeout = "10m", interval = "2s";
};

int dom_wait(Env& env, const DomWaitOpts& o) {
  const auto& states = domain_states();
  if (std::find(states.begin(), states.end(), o.want) == states.end())
    return env.usage("--for=" + o.want +
                     ": expected one of pending_verification, issuing, "
                     "active, failed, moved, deleted");
  auto t = parse_duration(o.timeout);
  auto iv = parse_duration(o.interval);
  if (!t) return env.usage("--timeout: " + t.error().detail);
  if (!iv) return env.usage("--interval: " + iv.error().detail);
  auto api = env.api();
  if (!api) return env.fail(api.error());
  Api* a = api.value();
  WaitSpec s{"domain " + o.host, o.want, t.value(), iv.value(), {}, {}, {}, {}};
  for (const char* term : {"failed", "moved"})
    if (o.want != term) s.terminal.push_back(term);
  s.fetch = [a, host = o.host]() -> Result<std::optional<json>> {
    auto r = a->call("GET", dom_path(host));
    if (!r && r.error().code == Code::kNotFound) return std::optional<json>();
    if (!r) return r.error();
    return std::optional<json>(r.value());
  };
  s.state = [](const json& d) { return d.value("status", std::string("unknown")); };
  s.reason = [](const json& d) {
    auto e = d.value("last_error", json());
    return e.is_string() ? e.get<std::string>() : std::string();
  };
  return wait_for(env, s);
}

void add_dom_wait(CLI::App* cmd, Env& env) {
  auto* w = cmd->add_subcommand("wait", "Wait until a domain reaches a status (like kubectl wait)");
  auto o = std::make_shared<DomWaitOpts>();
  w->add_option("HOST", o->host, "Hostname")->required();
  w->add_option("--for", o->want,
                "Status: active (default), issuing, pending_verification, failed, moved, deleted");
  w->add_option("--timeout", o->timeout, "Give up after this long (default 10m)");
  w->add_option("--interval", o->interval, "Polling interval (default 2s)");
  w->footer(
      "Prints each status change as it is seen. Exit status: 0 when the status is reached;\n"
      "1 on timeout, when the domain fails or moves (with its last_error), or is deleted;\n"
      "2 on bad usage.\nExamples:\n  fleetcommand ctl domains wait chat.example.com --for=active "
      "--timeout=10m");
  on_run(w, env, [&env, o] { return dom_wait(env, *o); });
}

}  // namespace

std::vector<Column> domain_columns(const Env& env) {
  const Style st = env.style;
  std::int64_t now = env.now();
  auto yes_no = [st](bool b) { return colour_status(b ? "true" : "false", st); };
  return {
      {"HOSTNAME", [](const json& d) { return cell_text(d.value("hostname", json())); }},
      {"WORKSPACE", [](const json& d) { return cell_text(d.value("workspace_id", json())); }},
      {"STATUS",
       [st](const json& d) { return colour_status(cell_text(d.value("status", json())), st); }},
      {"VERIFIED",
       [yes_no](const json& d) {
         return yes_no(
             d.value("verification", json::object()).value("verified_at", json()).is_string());
       }},
      {"ROUTING",
       [yes_no](const json& d) {
         return yes_no(d.value("routing", json::object()).value("ok", false));
       }},
      {"CERTIFICATE",
       [st](const json& d) {
         auto c = d.value("certificate", json());
         return c.is_object() ? colour_status(cell_text(c.value("status", json())), st) : "-";
       }},
      {"AGE", [now](const json& d) { return rel_field(d.value("created_at", json()), now); }},
      {"LAST ERROR", [](const json& d) { return cell_text(d.value("last_error", json())); }, true},
      {"LAST CHECKED",
       [now](const json& d) { return rel_field(d.value("last_checked_at", json()), now); }, true},
  };
}

void add_domain_commands(CLI::App& root, Env& env) {
  auto* cmd =
      root.add_subcommand("domains", "Custom domains: list, get, add, check, delete, wait, why");
  cmd->alias("domain");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n  fleetcommand ctl domains add chat.example.com --workspace acme\n"
      "  fleetcommand ctl domains wait chat.example.com --for=active --timeout=10m");
  add_dom_list_get(cmd, env);
  add_dom_mutations(cmd, env);
  add_dom_wait(cmd, env);
  add_why_command(cmd, env, true);
}

}  // namespace fc::ctl
