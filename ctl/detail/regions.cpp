// ctl regions: list, get, create, cordon, uncordon, drain, capacity, delete.
#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

std::string used_of(const json& r, const char* key) {
  auto a = r.value("allocated", json::object()).value(key, json());
  auto c = r.value("capacity", json::object()).value(key, json());
  return cell_text(a) + "/" + cell_text(c);
}

std::string ingress_text(const json& r) {
  auto in = r.value("ingress", json::object());
  std::string s;
  for (const char* k : {"ipv4", "ipv6"})
    for (const auto& a : in.value(k, json::array())) s += (s.empty() ? "" : ",") + cell_text(a);
  if (in.contains("hostname") && in["hostname"].is_string())
    s += (s.empty() ? "" : ",") + in["hostname"].get<std::string>();
  return s.empty() ? "-" : s;
}

int region_set_state(Env& env, const std::string& id, const std::string& state) {
  auto api = env.api();
  if (!api) return env.fail(api.error());
  auto r = api.value()->call("PATCH", "/v1/regions/" + path_escape(id), json{{"state", state}});
  if (!r) return env.fail(with_name_hint(*api.value(), r.error(), "/v1/regions", "id", id));
  if (env.structured()) return print_object(env, region_columns(env), r.value());
  *env.out << "region " << id << " is " << r.value().value("state", state) << "\n";
  return kExitOk;
}

struct CapacityOpts {
  std::string id;
  std::optional<std::int64_t> memory_mib, cpu_millis, workspaces;
};

int region_capacity(Env& env, const CapacityOpts& o) {
  auto api = env.api();
  if (!api) return env.fail(api.error());
  auto r = api.value()->call("GET", "/v1/regions/" + path_escape(o.id));
  if (!r) return env.fail(r.error());
  if (o.memory_mib || o.cpu_millis || o.workspaces) {
    json cap = r.value().value("capacity", json::object());
    if (o.memory_mib) cap["memory_mib"] = *o.memory_mib;
    if (o.cpu_millis) cap["cpu_millis"] = *o.cpu_millis;
    if (o.workspaces) cap["workspaces"] = *o.workspaces;
    r = api.value()->call("PATCH", "/v1/regions/" + path_escape(o.id), json{{"capacity", cap}});
    if (!r) return env.fail(r.error());
  }
  if (env.structured()) return print_object(env, region_columns(env), r.value());
  std::vector<json> rows;
  for (const char* k : {"memory_mib", "cpu_millis", "workspaces"}) {
    auto a = r.value().value("allocated", json::object()).value(k, json(0));
    auto c = r.value().value("capacity", json::object()).value(k, json(0));
    json free = (a.is_number() && c.is_number())
                    ? json(c.get<std::int64_t>() - a.get<std::int64_t>())
                    : json(nullptr);
    rows.push_back({{"resource", k}, {"allocated", a}, {"capacity", c}, {"free", free}});
  }
  std::vector<Column> cols = {
      {"RESOURCE", [](const json& x) { return cell_text(x["resource"]); }},
      {"ALLOCATED", [](const json& x) { return cell_text(x["allocated"]); }},
      {"CAPACITY", [](const json& x) { return cell_text(x["capacity"]); }},
      {"FREE", [](const json& x) { return cell_text(x["free"]); }}};
  *env.out << render_table(cols, rows, false);
  return kExitOk;
}

void add_region_list_get(CLI::App* cmd, Env& env) {
  auto* list = cmd->add_subcommand("list", "List regions")->alias("ls");
  auto w = std::make_shared<WatchFlags>();
  add_watch_flags(list, *w);
  list->footer(
      "Examples:\n  fleetcommand ctl regions list\n  fleetcommand ctl regions list -o wide "
      "--watch");
  on_run(list, env, [&env, w] {
    return run_maybe_watching(env, *w, [&env] {
      auto api = env.api();
      if (!api) return env.fail(api.error());
      auto items = api.value()->list("/v1/regions");
      if (!items) return env.fail(items.error());
      return print_items(env, region_columns(env), items.value());
    });
  });
  auto* get = cmd->add_subcommand("get", "Show one region");
  auto id = std::make_shared<std::string>();
  auto gw = std::make_shared<WatchFlags>();
  get->add_option("ID", *id, "Region id")->required();
  add_watch_flags(get, *gw);
  get->footer("Examples:\n  fleetcommand ctl regions get eu-west-1 -o yaml");
  on_run(get, env, [&env, id, gw] {
    return run_maybe_watching(env, *gw, [&env, id] {
      auto api = env.api();
      if (!api) return env.fail(api.error());
      auto r = api.value()->call("GET", "/v1/regions/" + path_escape(*id));
      if (!r) return env.fail(with_name_hint(*api.value(), r.error(), "/v1/regions", "id", *id));
      return print_object(env, region_columns(env), r.value());
    });
  });
}

void add_region_create_delete(CLI::App* cmd, Env& env) {
  auto* create = cmd->add_subcommand("create", "Create a region from a JSON or YAML file");
  auto file = std::make_shared<std::string>();
  create->add_option("-f,--file", *file, "JSON or YAML region document ('-' for stdin)")
      ->required();
  create->footer(
      "Examples:\n  fleetcommand ctl regions create -f eu-west-1.yaml\n\n"
      "eu-west-1.yaml:\n  id: eu-west-1\n  name: EU West\n  labels: {jurisdiction: eu}\n"
      "  ingress: {ipv4: [192.0.2.10]}\n"
      "  capacity: {memory_mib: 65536, cpu_millis: 32000, workspaces: 100}");
  on_run(create, env, [&env, file] {
    auto doc = read_document(*file);
    if (!doc) return env.fail(doc.error());
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("POST", "/v1/regions", doc.value());
    if (!r) return env.fail(r.error());
    return print_object(env, region_columns(env), r.value());
  });
  auto* del =
      cmd->add_subcommand("delete", "Delete a region (refused while workspaces are placed there)");
  auto id = std::make_shared<std::string>();
  del->add_option("ID", *id, "Region id")->required();
  del->footer("Examples:\n  fleetcommand ctl regions delete eu-west-1");
  on_run(del, env, [&env, id] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("DELETE", "/v1/regions/" + path_escape(*id));
    if (!r) return env.fail(r.error());
    *env.out << "region " << *id << " deleted\n";
    return kExitOk;
  });
}

void add_region_state_cmds(CLI::App* cmd, Env& env) {
  struct S {
    const char* name;
    const char* state;
    const char* help;
  };
  for (S s : {S{"cordon", "cordoned", "Stop placing new workspaces in a region"},
              S{"uncordon", "active", "Let a cordoned or draining region take workspaces again"},
              S{"drain", "draining", "Move a region's workspaces elsewhere as capacity allows"}}) {
    auto* c = cmd->add_subcommand(s.name, s.help);
    auto id = std::make_shared<std::string>();
    c->add_option("ID", *id, "Region id")->required();
    c->footer(std::string("Examples:\n  fleetcommand ctl regions ") + s.name + " eu-west-1");
    std::string state = s.state;
    on_run(c, env, [&env, id, state] { return region_set_state(env, *id, state); });
  }
  auto* cap = cmd->add_subcommand("capacity", "Show a region's capacity, or change it with flags");
  auto o = std::make_shared<CapacityOpts>();
  cap->add_option("ID", o->id, "Region id")->required();
  cap->add_option("--memory-mib", o->memory_mib, "New memory capacity (MiB)");
  cap->add_option("--cpu-millis", o->cpu_millis, "New CPU capacity (millicores)");
  cap->add_option("--workspaces", o->workspaces, "New workspace count capacity");
  cap->footer(
      "Examples:\n  fleetcommand ctl regions capacity eu-west-1\n"
      "  fleetcommand ctl regions capacity eu-west-1 --memory-mib 131072 --workspaces 200");
  on_run(cap, env, [&env, o] { return region_capacity(env, *o); });
}

}  // namespace

std::vector<Column> region_columns(const Env& env) {
  const Style st = env.style;
  std::int64_t now = env.now();
  return {
      {"ID", [](const json& r) { return cell_text(r.value("id", json())); }},
      {"NAME", [](const json& r) { return cell_text(r.value("name", json())); }},
      {"STATE",
       [st](const json& r) { return colour_status(cell_text(r.value("state", json())), st); }},
      {"HEALTH",
       [st](const json& r) { return colour_status(cell_text(r.value("health", json())), st); }},
      {"WORKSPACES", [](const json& r) { return used_of(r, "workspaces"); }},
      {"MEMORY MIB", [](const json& r) { return used_of(r, "memory_mib"); }},
      {"CPU MILLIS", [](const json& r) { return used_of(r, "cpu_millis"); }, true},
      {"LAST HEARTBEAT",
       [now](const json& r) { return rel_field(r.value("last_heartbeat_at", json()), now); }},
      {"LABELS", [](const json& r) { return cell_text(r.value("labels", json())); }, true},
      {"INGRESS", [](const json& r) { return ingress_text(r); }, true},
      {"REVISION", [](const json& r) { return cell_text(r.value("revision", json())); }, true},
  };
}

void add_region_commands(CLI::App& root, Env& env) {
  auto* cmd = root.add_subcommand(
      "regions", "Regions: list, get, create, cordon, uncordon, drain, capacity, delete");
  cmd->alias("region");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n  fleetcommand ctl regions list -o wide\n"
      "  fleetcommand ctl regions create -f eu-west-1.yaml\n"
      "  fleetcommand ctl regions drain eu-west-1");
  add_region_list_get(cmd, env);
  add_region_create_delete(cmd, env);
  add_region_state_cmds(cmd, env);
}

}  // namespace fc::ctl
