// ctl releases (list, get, create) and ctl rollouts (list, get, create,
// pause, resume, abort, promote): docs/cli.md, docs/releases.md.
#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

std::vector<Column> release_columns() {
  return {{"NAME", [](const json& r) { return cell_text(r.value("name", json())); }},
          {"IMAGE", [](const json& r) { return cell_text(r.value("image_ref", json())); }},
          {"MIN FROM", [](const json& r) { return cell_text(r.value("min_from", json())); }, true},
          {"MAX FROM", [](const json& r) { return cell_text(r.value("max_from", json())); }, true},
          {"CREATED", [](const json& r) { return cell_text(r.value("created_at", json())); }}};
}

std::string progress_text(const json& r) {
  std::int64_t done = 0, total = 0, failed = 0;
  for (const auto& w : r.value("waves_progress", json::array())) {
    done += w.value("done", std::int64_t{0});
    failed += w.value("failed", std::int64_t{0});
    total += w.value("total", std::int64_t{0});
  }
  return std::to_string(done) + "/" + std::to_string(total) +
         (failed > 0 ? " (" + std::to_string(failed) + " failed)" : "");
}

std::vector<Column> rollout_columns(const Env& env) {
  const Style st = env.style;
  return {{"ID", [](const json& r) { return cell_text(r.value("id", json())); }},
          {"CHANNEL", [](const json& r) { return cell_text(r.value("channel", json())); }},
          {"FROM", [](const json& r) { return cell_text(r.value("from_release", json())); }},
          {"TO", [](const json& r) { return cell_text(r.value("to_release", json())); }},
          {"STATE",
           [st](const json& r) { return colour_status(cell_text(r.value("state", json())), st); }},
          {"WAVE",
           [](const json& r) {
             return cell_text(r.value("current_wave", json())) + "/" +
                    std::to_string(r.value("waves_progress", json::array()).size());
           }},
          {"UPGRADED", [](const json& r) { return progress_text(r); }},
          {"CONDITION",
           [](const json& r) {
             auto c = r.value("conditions", json::array());
             return c.empty() ? std::string("-") : cell_text(c.back().value("message", json()));
           },
           true}};
}

// GET a list or one object and print it.
int show(Env& env, const std::string& path, const std::vector<Column>& cols, bool one) {
  auto api = env.api();
  if (!api) return env.fail(api.error());
  if (!one) {
    auto items = api.value()->list(path);
    if (!items) return env.fail(items.error());
    return print_items(env, cols, items.value());
  }
  auto r = api.value()->call("GET", path);
  if (!r) return env.fail(r.error());
  return print_object(env, cols, r.value());
}

int post_file(Env& env, const std::string& path, const std::string& file,
              const std::vector<Column>& cols) {
  auto doc = read_document(file);
  if (!doc) return env.fail(doc.error());
  auto api = env.api();
  if (!api) return env.fail(api.error());
  auto r = api.value()->call("POST", path, doc.value());
  if (!r) return env.fail(r.error());
  return print_object(env, cols, r.value());
}

void add_list_get_create(CLI::App* cmd, Env& env, const std::string& base,
                         std::function<std::vector<Column>()> cols, const std::string& example) {
  auto* list = cmd->add_subcommand("list", "List them")->alias("ls");
  auto w = std::make_shared<WatchFlags>();
  add_watch_flags(list, *w);
  on_run(list, env, [&env, w, base, cols] {
    return run_maybe_watching(env, *w,
                              [&env, base, cols] { return show(env, base, cols(), false); });
  });
  auto* get = cmd->add_subcommand("get", "Show one");
  auto id = std::make_shared<std::string>();
  auto gw = std::make_shared<WatchFlags>();
  get->add_option("NAME", *id, "Name or id")->required();
  add_watch_flags(get, *gw);
  on_run(get, env, [&env, id, gw, base, cols] {
    return run_maybe_watching(env, *gw, [&env, id, base, cols] {
      return show(env, base + "/" + path_escape(*id), cols(), true);
    });
  });
  auto* create = cmd->add_subcommand("create", "Create from a JSON or YAML file");
  auto file = std::make_shared<std::string>();
  create->add_option("-f,--file", *file, "JSON or YAML document ('-' for stdin)")->required();
  create->footer(example);
  on_run(create, env, [&env, file, base, cols] { return post_file(env, base, *file, cols()); });
}

}  // namespace

void add_release_commands(CLI::App& root, Env& env) {
  auto* rel = root.add_subcommand("releases", "Releases: list, get, create (immutable)");
  rel->alias("release");
  rel->require_subcommand(1);
  add_list_get_create(
      rel, env, "/v1/releases", [] { return release_columns(); },
      "Examples:\n  fleetcommand ctl releases create -f 6.6.0.yaml\n\n"
      "6.6.0.yaml:\n  name: 6.6.0\n  image: rocketchat/rocket.chat:6.6.0\n"
      "  env: {LOG_LEVEL: info}\n  min_from: 6.5.0");

  auto* ro =
      root.add_subcommand("rollouts", "Rollouts: list, get, create, pause, resume, abort, promote");
  ro->alias("rollout");
  ro->require_subcommand(1);
  add_list_get_create(
      ro, env, "/v1/rollouts", [&env] { return rollout_columns(env); },
      "Examples:\n  fleetcommand ctl rollouts create -f stable-6.6.0.yaml\n\n"
      "stable-6.6.0.yaml:\n  channel: stable\n  to_release: 6.6.0\n"
      "  waves: {regions: [eu-west-1], percentages: [1, 10, 50, 100]}\n"
      "  max_unavailable: 2\n  bake_s: 300\n"
      "  gate: {min_running_fraction: 1.0, deadline_s: 600, max_failed: 0}\n"
      "  on_failure: pause");
  for (const char* action : {"pause", "resume", "abort", "promote"}) {
    auto* c = ro->add_subcommand(action, std::string(action) + " a rollout");
    auto id = std::make_shared<std::string>();
    c->add_option("ID", *id, "Rollout id (ro_…)")->required();
    c->footer(std::string("Examples:\n  fleetcommand ctl rollouts ") + action + " ro_01…");
    std::string a = action;
    on_run(c, env, [&env, id, a] {
      auto api = env.api();
      if (!api) return env.fail(api.error());
      auto r = api.value()->call("POST", "/v1/rollouts/" + path_escape(*id) + "/" + a);
      if (!r) return env.fail(r.error());
      if (env.structured()) return print_object(env, rollout_columns(env), r.value());
      *env.out << "rollout " << *id << " is " << r.value().value("state", std::string("?")) << "\n";
      return kExitOk;
    });
  }
}

}  // namespace fc::ctl
