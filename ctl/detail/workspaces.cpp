// ctl workspaces: list, get, create, patch, migrate, delete, tenant-token, wait.
#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

std::string ws_path(const std::string& id) { return "/v1/workspaces/" + path_escape(id); }

struct WsListOpts {
  std::string region, state;
  size_t limit = 0;
  WatchFlags watch;
};

int ws_list(Env& env, const WsListOpts& o) {
  auto api = env.api();
  if (!api) return env.fail(api.error());
  std::string q;
  if (!o.region.empty()) q += "?region=" + path_escape(o.region);
  if (!o.state.empty()) q += std::string(q.empty() ? "?" : "&") + "state=" + path_escape(o.state);
  auto items = api.value()->list("/v1/workspaces", q, o.limit);
  if (!items) return env.fail(items.error());
  return print_items(env, workspace_columns(env), items.value());
}

struct WsCreateOpts {
  std::string file, name, image;
  std::optional<std::int64_t> memory_mib, cpu_millis;
  std::vector<std::string> regions, labels, prefer;
};

// The request body: the file's document, then the flags on top of it.
Result<json> ws_create_body(const WsCreateOpts& o) {
  json body = json::object();
  if (!o.file.empty()) {
    BOOST_OUTCOME_TRY(doc, read_document(o.file));
    body = std::move(doc);
  }
  if (!o.name.empty()) body["name"] = o.name;
  if (o.memory_mib) body["resources"]["memory_mib"] = *o.memory_mib;
  if (o.cpu_millis) body["resources"]["cpu_millis"] = *o.cpu_millis;
  if (!o.regions.empty()) body["placement"]["regions"] = o.regions;
  if (!o.prefer.empty()) body["placement"]["prefer"] = o.prefer;
  for (const auto& kv : o.labels) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      return make_error(Code::kInvalidArgument, "--label " + kv + ": expected KEY=VALUE");
    body["placement"]["labels"][kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!o.image.empty()) body["spec"]["image"] = o.image;
  return body;
}

void add_ws_list_get(CLI::App* cmd, Env& env) {
  auto* list = cmd->add_subcommand("list", "List workspaces (every page, or --limit)")->alias("ls");
  auto o = std::make_shared<WsListOpts>();
  list->add_option("--region", o->region, "Only workspaces placed in this region");
  list->add_option("--state", o->state, "Only this state (scheduled, migrating, deleting)");
  list->add_option("--limit", o->limit, "At most this many (pages are followed up to it)");
  add_watch_flags(list, o->watch);
  list->footer(
      "Examples:\n  fleetcommand ctl workspaces list --region eu-west-1\n"
      "  fleetcommand ctl workspaces list --state migrating -o wide\n"
      "  fleetcommand ctl workspaces list -o json | jq '.items[].name'");
  on_run(list, env, [&env, o] {
    return run_maybe_watching(env, o->watch, [&env, o] { return ws_list(env, *o); });
  });
  auto* get = cmd->add_subcommand("get", "Show one workspace (by name or id)");
  auto id = std::make_shared<std::string>();
  auto w = std::make_shared<WatchFlags>();
  get->add_option("NAME", *id, "Workspace name or id")->required();
  add_watch_flags(get, *w);
  get->footer(
      "Examples:\n  fleetcommand ctl workspaces get acme\n  fleetcommand ctl workspaces get acme "
      "-o yaml");
  on_run(get, env, [&env, id, w] {
    return run_maybe_watching(env, *w, [&env, id] {
      auto api = env.api();
      if (!api) return env.fail(api.error());
      auto r = api.value()->call("GET", ws_path(*id));
      if (!r)
        return env.fail(with_name_hint(*api.value(), r.error(), "/v1/workspaces", "name", *id));
      return print_object(env, workspace_columns(env), r.value());
    });
  });
}

void add_ws_create(CLI::App* cmd, Env& env) {
  auto* c = cmd->add_subcommand("create", "Create a workspace from a file and/or flags");
  auto o = std::make_shared<WsCreateOpts>();
  c->add_option("-f,--file", o->file, "JSON or YAML workspace document ('-' for stdin)");
  c->add_option("--name", o->name, "Workspace name (a DNS label)");
  c->add_option("--memory-mib", o->memory_mib, "Memory (MiB)");
  c->add_option("--cpu-millis", o->cpu_millis, "CPU (millicores)");
  c->add_option("--region", o->regions, "Candidate region (repeatable)");
  c->add_option("--prefer", o->prefer, "Preferred region (repeatable, in order)");
  c->add_option("--label", o->labels, "Required region label KEY=VALUE (repeatable)");
  c->add_option("--image", o->image, "Container image (spec.image)");
  c->footer(
      "Examples:\n  fleetcommand ctl workspaces create --name acme --memory-mib 600 --cpu-millis "
      "250 "
      "--label jurisdiction=eu\n  fleetcommand ctl workspaces create -f acme.yaml");
  on_run(c, env, [&env, o] {
    auto body = ws_create_body(*o);
    if (!body) return env.fail(body.error());
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("POST", "/v1/workspaces", body.value());
    if (!r) return env.fail(r.error());
    return print_object(env, workspace_columns(env), r.value());
  });
}

void add_ws_patch_migrate(CLI::App* cmd, Env& env) {
  auto* p = cmd->add_subcommand("patch", "Change a workspace's resources and/or spec");
  auto id = std::make_shared<std::string>();
  auto o = std::make_shared<WsCreateOpts>();
  p->add_option("NAME", *id, "Workspace name or id")->required();
  p->add_option("-f,--file", o->file, "JSON or YAML patch ({resources, spec})");
  p->add_option("--memory-mib", o->memory_mib, "New memory (MiB)");
  p->add_option("--cpu-millis", o->cpu_millis, "New CPU (millicores)");
  p->add_option("--image", o->image, "New container image");
  p->footer(
      "Examples:\n  fleetcommand ctl workspaces patch acme --memory-mib 1024 --cpu-millis 500");
  on_run(p, env, [&env, id, o] {
    auto body = ws_create_body(*o);
    if (!body) return env.fail(body.error());
    if (body.value().empty()) return env.usage("nothing to change: pass -f FILE or a flag");
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("PATCH", ws_path(*id), body.value());
    if (!r) return env.fail(r.error());
    return print_object(env, workspace_columns(env), r.value());
  });
  auto* m = cmd->add_subcommand("migrate", "Move a workspace to another region");
  auto mid = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  m->add_option("NAME", *mid, "Workspace name or id")->required();
  m->add_option("--to", *to, "Target region")->required();
  m->footer("Examples:\n  fleetcommand ctl workspaces migrate acme --to us-east-1");
  on_run(m, env, [&env, mid, to] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("POST", ws_path(*mid) + "/migrate", json{{"region", *to}});
    if (!r) return env.fail(r.error());
    if (r.value().is_object()) return print_object(env, workspace_columns(env), r.value());
    *env.out << "workspace " << *mid << " is migrating to " << *to << "\n";
    return kExitOk;
  });
}

void add_ws_delete_token(CLI::App* cmd, Env& env) {
  auto* d = cmd->add_subcommand("delete", "Delete a workspace (once its agent reports it gone)");
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  d->add_option("NAME", *id, "Workspace name or id")->required();
  d->add_flag("--force", *force,
              "Remove at once without waiting for the agent (region gone for good)");
  d->footer(
      "Examples:\n  fleetcommand ctl workspaces delete acme\n  fleetcommand ctl workspaces delete "
      "acme --force");
  on_run(d, env, [&env, id, force] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("DELETE", ws_path(*id) + (*force ? "?force=true" : ""));
    if (!r) return env.fail(r.error());
    *env.out << "workspace " << *id << (*force ? " deleted\n" : " is being deleted\n");
    return kExitOk;
  });
  auto* t = cmd->add_subcommand("tenant-token", "Mint a tenant token for a workspace (shown once)");
  auto tid = std::make_shared<std::string>();
  t->add_option("NAME", *tid, "Workspace name or id")->required();
  t->footer("Examples:\n  fleetcommand ctl workspaces tenant-token acme > acme.token");
  on_run(t, env, [&env, tid] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("POST", ws_path(*tid) + "/tenant-tokens");
    if (!r) return env.fail(r.error());
    if (env.structured()) return print_object(env, {}, r.value());
    *env.out << r.value().value("token", "") << "\n";
    *env.err << "(shown once: store it now)\n";
    return kExitOk;
  });
}

void add_ws_wait(CLI::App* cmd, Env& env) {
  auto* w = cmd->add_subcommand("wait", "Wait until a workspace reaches an observed phase");
  struct O {
    std::string id, want = "running", timeout = "5m", interval = "1s";
  };
  auto o = std::make_shared<O>();
  w->add_option("NAME", o->id, "Workspace name or id")->required();
  w->add_option("--for", o->want, "Phase to wait for: running (default), deleted, or any phase");
  w->add_option("--timeout", o->timeout, "Give up after this long (default 5m)");
  w->add_option("--interval", o->interval, "Polling interval (default 1s)");
  w->footer(
      "Exit status: 0 reached, 1 timeout or failed, 2 bad usage.\nExamples:\n"
      "  fleetcommand ctl workspaces wait acme --for=running --timeout=2m");
  on_run(w, env, [&env, o] {
    auto t = parse_duration(o->timeout);
    auto iv = parse_duration(o->interval);
    if (!t) return env.usage("--timeout: " + t.error().detail);
    if (!iv) return env.usage("--interval: " + iv.error().detail);
    auto api = env.api();
    if (!api) return env.fail(api.error());
    Api* a = api.value();
    WaitSpec s{"workspace " + o->id, o->want, t.value(), iv.value(), {}, {}, {}, {"failed"}};
    s.fetch = [a, id = o->id]() -> Result<std::optional<json>> {
      auto r = a->call("GET", ws_path(id));
      if (!r && r.error().code == Code::kNotFound) return std::optional<json>();
      if (!r) return r.error();
      return std::optional<json>(r.value());
    };
    // The observed phase counts only once the agent has seen this generation.
    s.state = [](const json& j) {
      auto obs = j.value("observed", json::object());
      if (obs.value("generation", 0) < j.value("generation", 0)) return std::string("pending");
      return obs.value("phase", std::string("unknown"));
    };
    s.reason = [](const json& j) {
      return j.value("observed", json::object()).value("message", std::string());
    };
    return wait_for(env, s);
  });
}

}  // namespace

std::vector<Column> workspace_columns(const Env& env) {
  const Style st = env.style;
  std::int64_t now = env.now();
  auto obs = [](const json& w, const char* k) {
    return cell_text(w.value("observed", json::object()).value(k, json()));
  };
  auto res = [](const json& w, const char* k) {
    return cell_text(w.value("resources", json::object()).value(k, json()));
  };
  return {
      {"NAME", [](const json& w) { return cell_text(w.value("name", json())); }},
      {"REGION", [](const json& w) { return cell_text(w.value("region", json())); }},
      {"STATE",
       [st](const json& w) { return colour_status(cell_text(w.value("state", json())), st); }},
      {"PHASE", [st, obs](const json& w) { return colour_status(obs(w, "phase"), st); }},
      {"GENERATION",
       [obs](const json& w) {
         return obs(w, "generation") + "/" + cell_text(w.value("generation", json()));
       }},
      {"AGE", [now](const json& w) { return rel_field(w.value("created_at", json()), now); }},
      {"ID", [](const json& w) { return cell_text(w.value("id", json())); }, true},
      {"HOSTNAME", [](const json& w) { return cell_text(w.value("hostname", json())); }, true},
      {"MEMORY MIB", [res](const json& w) { return res(w, "memory_mib"); }, true},
      {"CPU MILLIS", [res](const json& w) { return res(w, "cpu_millis"); }, true},
      {"MESSAGE", [obs](const json& w) { return obs(w, "message"); }, true},
  };
}

void add_workspace_commands(CLI::App& root, Env& env) {
  auto* cmd = root.add_subcommand(
      "workspaces",
      "Workspaces: list, get, create, patch, migrate, delete, tenant-token, wait, why");
  cmd->alias("workspace")->alias("ws");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n  fleetcommand ctl workspaces list --region eu-west-1\n"
      "  fleetcommand ctl workspaces create --name acme --memory-mib 600 --cpu-millis 250\n"
      "  fleetcommand ctl workspaces migrate acme --to us-east-1");
  add_ws_list_get(cmd, env);
  add_ws_create(cmd, env);
  add_ws_patch_migrate(cmd, env);
  add_ws_delete_token(cmd, env);
  add_ws_wait(cmd, env);
  add_why_command(cmd, env, false);
}

}  // namespace fc::ctl
