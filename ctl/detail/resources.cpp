// ctl tokens, certificates and dns: the smaller resources.
#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

std::vector<Column> token_columns(const Env& env) {
  std::int64_t now = env.now();
  return {
      {"ID", [](const json& t) { return cell_text(t.value("id", json())); }},
      {"KIND", [](const json& t) { return cell_text(t.value("kind", json())); }},
      {"REGION", [](const json& t) { return cell_text(t.value("region", json())); }},
      {"WORKSPACE", [](const json& t) { return cell_text(t.value("workspace_id", json())); }},
      {"CREATED", [now](const json& t) { return rel_field(t.value("created_at", json()), now); }},
      {"LAST USED",
       [now](const json& t) { return rel_field(t.value("last_used_at", json()), now); }},
  };
}

std::vector<Column> cert_columns(const Env& env) {
  const Style st = env.style;
  std::int64_t now = env.now();
  return {
      {"ID", [](const json& c) { return cell_text(c.value("id", json())); }},
      {"HOSTNAMES", [](const json& c) { return cell_text(c.value("hostnames", json())); }},
      {"ISSUER", [](const json& c) { return cell_text(c.value("issuer", json())); }},
      {"STATUS",
       [st](const json& c) { return colour_status(cell_text(c.value("status", json())), st); }},
      {"EXPIRES", [now](const json& c) { return rel_field(c.value("not_after", json()), now); }},
      {"RENEWS", [now](const json& c) { return rel_field(c.value("renew_after", json()), now); }},
      {"VERSION", [](const json& c) { return cell_text(c.value("version", json())); }, true},
      {"LAST ERROR", [](const json& c) { return cell_text(c.value("last_error", json())); }, true},
  };
}

std::vector<Column> record_columns(const Env& env) {
  const Style st = env.style;
  return {
      {"NAME", [](const json& r) { return cell_text(r.value("name", json())); }},
      {"TYPE", [](const json& r) { return cell_text(r.value("type", json())); }},
      {"TTL", [](const json& r) { return cell_text(r.value("ttl", json())); }},
      {"DATA",
       [](const json& r) {
         std::string s;
         for (const auto& d : r.value("data", json::array()))
           s += (s.empty() ? "" : " | ") + cell_text(d);
         return s.empty() ? "-" : s;
       }},
      {"PROVIDERS",
       [st](const json& r) {
         std::string s;
         for (const auto& p : r.value("providers", json::array()))
           s += (s.empty() ? "" : ",") + p.value("server", std::string("?")) + "=" +
                colour_status(p.value("state", std::string("?")), st);
         return s.empty() ? "-" : s;
       },
       true},
  };
}

// A GET of a list or of one object, printed with `cols`.
std::function<int()> getter(Env& env, std::function<std::vector<Column>(const Env&)> cols,
                            std::function<std::string()> target, bool is_list, size_t limit = 0) {
  return [&env, cols, target, is_list, limit] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    if (is_list) {
      std::string t = target();
      auto q = t.find('?');
      auto items =
          api.value()->list(t.substr(0, q), q == std::string::npos ? "" : t.substr(q), limit);
      if (!items) return env.fail(items.error());
      return print_items(env, cols(env), items.value());
    }
    auto r = api.value()->call("GET", target());
    if (!r) return env.fail(r.error());
    return print_object(env, cols(env), r.value());
  };
}

int print_new_token(Env& env, const Result<json>& r) {
  if (!r) return env.fail(r.error());
  if (env.structured()) return print_object(env, {}, r.value());
  *env.out << r.value().value("token", "") << "\n";
  *env.err << "(shown once: store it now)\n";
  return kExitOk;
}

void add_token_create(CLI::App* cmd, Env& env) {
  auto* c = cmd->add_subcommand("create",
                                "Mint an agent token (--region) or a tenant token (--workspace)");
  auto region = std::make_shared<std::string>();
  auto ws = std::make_shared<std::string>();
  auto* ro = c->add_option("--region", *region, "Agent token for this region");
  auto* wo = c->add_option("--workspace", *ws, "Tenant token for this workspace");
  ro->excludes(wo);
  c->footer(
      "The token is printed once, alone on stdout.\nExamples:\n"
      "  fleetcommand ctl tokens create --region eu-west-1 > agent.token\n"
      "  fleetcommand ctl tokens create --workspace acme");
  on_run(c, env, [&env, region, ws] {
    if (region->empty() == ws->empty())
      return env.usage("pass exactly one of --region or --workspace");
    auto api = env.api();
    if (!api) return env.fail(api.error());
    std::string t = region->empty() ? "/v1/workspaces/" + path_escape(*ws) + "/tenant-tokens"
                                    : "/v1/regions/" + path_escape(*region) + "/agent-tokens";
    return print_new_token(env, api.value()->call("POST", t));
  });
}

}  // namespace

void add_token_commands(CLI::App& root, Env& env) {
  auto* cmd =
      root.add_subcommand("tokens", "API tokens (admin, agent, tenant): list, create, revoke");
  cmd->alias("token")->alias("agents");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n  fleetcommand ctl tokens list\n"
      "  fleetcommand ctl tokens create --region eu-west-1 > agent.token");
  auto* list = cmd->add_subcommand("list", "List tokens (never the secret)")->alias("ls");
  auto kind = std::make_shared<std::string>();
  list->add_option("--kind", *kind, "Only admin, agent or tenant tokens");
  list->footer("Examples:\n  fleetcommand ctl tokens list --kind agent");
  on_run(list, env, [&env, kind] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto items = api.value()->list("/v1/tokens");
    if (!items) return env.fail(items.error());
    std::vector<json> shown;
    for (auto& t : items.value())
      if (kind->empty() || t.value("kind", "") == *kind) shown.push_back(std::move(t));
    return print_items(env, token_columns(env), shown);
  });
  add_token_create(cmd, env);
  auto* rv = cmd->add_subcommand("revoke", "Revoke a token (it stops working at once)");
  auto id = std::make_shared<std::string>();
  rv->add_option("ID", *id, "Token id (from tokens list)")->required();
  rv->footer("Examples:\n  fleetcommand ctl tokens revoke tok_0123");
  on_run(rv, env, [&env, id] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("DELETE", "/v1/tokens/" + path_escape(*id));
    if (!r) return env.fail(r.error());
    *env.out << "token " << *id << " revoked\n";
    return kExitOk;
  });
}

void add_certificate_commands(CLI::App& root, Env& env) {
  auto* cmd = root.add_subcommand("certificates", "Certificates: list, get, renew");
  cmd->alias("certificate")->alias("certs");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n  fleetcommand ctl certificates list -o wide\n"
      "  fleetcommand ctl certificates renew crt_0123");
  auto* list = cmd->add_subcommand("list", "List certificates")->alias("ls");
  auto host = std::make_shared<std::string>();
  auto w = std::make_shared<WatchFlags>();
  list->add_option("--hostname", *host, "Only certificates for this hostname");
  add_watch_flags(list, *w);
  list->footer("Examples:\n  fleetcommand ctl certificates list --hostname chat.example.com");
  auto lt = [host] {
    return "/v1/certificates" + (host->empty() ? "" : "?hostname=" + path_escape(*host));
  };
  auto lrun = getter(env, cert_columns, lt, true);
  on_run(list, env, [&env, w, lrun] { return run_maybe_watching(env, *w, lrun); });
  auto* get = cmd->add_subcommand("get", "Show one certificate (never its key)");
  auto id = std::make_shared<std::string>();
  auto gw = std::make_shared<WatchFlags>();
  get->add_option("ID", *id, "Certificate id")->required();
  add_watch_flags(get, *gw);
  get->footer("Examples:\n  fleetcommand ctl certificates get crt_0123 -o yaml");
  auto grun = getter(
      env, cert_columns, [id] { return "/v1/certificates/" + path_escape(*id); }, false);
  on_run(get, env, [&env, gw, grun] { return run_maybe_watching(env, *gw, grun); });
  auto* renew = cmd->add_subcommand("renew", "Renew a certificate now");
  auto rid = std::make_shared<std::string>();
  renew->add_option("ID", *rid, "Certificate id")->required();
  renew->footer("Examples:\n  fleetcommand ctl certificates renew crt_0123");
  on_run(renew, env, [&env, rid] {
    auto api = env.api();
    if (!api) return env.fail(api.error());
    auto r = api.value()->call("POST", "/v1/certificates/" + path_escape(*rid) + "/renew");
    if (!r) return env.fail(r.error());
    if (r.value().is_object()) return print_object(env, cert_columns(env), r.value());
    *env.out << "certificate " << *rid << " renewal queued\n";
    return kExitOk;
  });
}

void add_dns_commands(CLI::App& root, Env& env) {
  auto* cmd = root.add_subcommand("dns", "The embedded DNS zone: zone (dump), lookup NAME");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n  fleetcommand ctl dns zone\n  fleetcommand ctl dns lookup acme.fleet.test");
  auto* zone = cmd->add_subcommand("zone", "Every RRset of the platform zone (every page)");
  auto limit = std::make_shared<size_t>(0);
  zone->add_option("--limit", *limit, "At most this many RRsets");
  zone->footer("Examples:\n  fleetcommand ctl dns zone\n  fleetcommand ctl dns zone -o json");
  on_run(zone, env, [&env, limit] {
    return getter(
        env, record_columns, [] { return std::string("/v1/dns/zone"); }, true, *limit)();
  });
  auto* lookup =
      cmd->add_subcommand("lookup", "The records served at one name, with provider sync state");
  auto name = std::make_shared<std::string>();
  lookup->add_option("NAME", *name, "A name inside the zone")->required();
  lookup->footer("Examples:\n  fleetcommand ctl dns lookup acme.fleet.test -o wide");
  on_run(lookup, env, [&env, name] {
    return getter(
        env, record_columns, [name] { return "/v1/dns/records?name=" + path_escape(*name); },
        true)();
  });
}

}  // namespace fc::ctl
