// Env and the output, watch, wait and input helpers every command shares.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "client/client.hpp"
#include "ctl/detail/commands.hpp"
#include "ctl/detail/suggest.hpp"

namespace fc::ctl {

using nlohmann::json;

Result<Api*> Env::api() {
  if (api_) return api_.get();
  BOOST_OUTCOME_TRY(cfg, load_ctl_config(g.config_path));
  Environment e;
  if (const char* s = std::getenv("FLEETCOMMAND_SERVER"); s && *s) e.server = s;
  if (const char* t = std::getenv("FLEETCOMMAND_TOKEN"); t && *t) e.token = t;
  BOOST_OUTCOME_TRY(target, resolve_target(g.flags, e, cfg));
  BOOST_OUTCOME_TRY(timeout, parse_duration(g.timeout));
  api_ = std::make_unique<Api>(std::move(target), timeout, g.chunk_size);
  return api_.get();
}

std::int64_t Env::now() const { return static_cast<std::int64_t>(std::time(nullptr)); }

int Env::fail(const Error& e) {
  *err << "error: " << e.detail << "\n";
  return kExitFail;
}

int Env::usage(const std::string& msg) {
  *err << "error: " << msg << "\n";
  return kExitUsage;
}

int print_items(Env& env, const std::vector<Column>& cols, const std::vector<json>& items) {
  auto f = env.format();
  if (!f) return env.usage(f.error().detail);
  json doc = {{"items", items}};
  switch (f.value()) {
    case Format::kJson: *env.out << doc.dump(2) << "\n"; break;
    case Format::kYaml: *env.out << to_yaml(doc); break;
    case Format::kTable:
    case Format::kWide:
      if (items.empty()) {
        *env.err << "No resources found.\n";
        break;
      }
      *env.out << render_table(cols, items, f.value() == Format::kWide);
      break;
  }
  return kExitOk;
}

int print_object(Env& env, const std::vector<Column>& cols, const json& obj) {
  auto f = env.format();
  if (!f) return env.usage(f.error().detail);
  if (f.value() == Format::kJson) {
    *env.out << obj.dump(2) << "\n";
  } else if (f.value() == Format::kYaml) {
    *env.out << to_yaml(obj);
  } else {
    *env.out << render_table(cols, {obj}, f.value() == Format::kWide);
  }
  return kExitOk;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || i > 9)
    return make_error(Code::kInvalidArgument,
                      "bad duration '" + std::string(s) + "' (like 500ms, 30s, 10m, 1h)");
  std::int64_t n = std::stoll(std::string(s.substr(0, i)));
  auto unit = s.substr(i);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit.empty() || unit == "s") return std::chrono::milliseconds(n * 1000);
  if (unit == "m") return std::chrono::milliseconds(n * 60'000);
  if (unit == "h") return std::chrono::milliseconds(n * 3'600'000);
  return make_error(Code::kInvalidArgument,
                    "bad duration '" + std::string(s) + "' (like 500ms, 30s, 10m, 1h)");
}

namespace {

json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    json o = json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& v : n) a.push_back(yaml_to_json(v));
    return a;
  }
  if (!n.IsScalar()) return nullptr;
  // Plain scalars may be numbers or booleans; quoted ones ("!" tag) stay strings.
  const std::string& s = n.Scalar();
  if (n.Tag() != "!") {
    auto j = json::parse(s, nullptr, false);
    if (!j.is_discarded() && (j.is_number() || j.is_boolean() || j.is_null())) return j;
    if (s == "~") return nullptr;
  }
  return s;
}

}  // namespace

Result<json> read_document(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return make_error(Code::kIo, "cannot read " + path);
    ss << in.rdbuf();
  }
  std::string text = ss.str();
  auto j = json::parse(text, nullptr, false);
  if (!j.is_discarded()) return j;
  try {
    auto node = YAML::Load(text);
    if (!node.IsMap()) return make_error(Code::kParse, path + ": expected a JSON or YAML object");
    return yaml_to_json(node);
  } catch (const YAML::Exception& e) {
    return make_error(Code::kParse, path + ": neither JSON nor YAML (" + e.msg + " at line " +
                                        std::to_string(e.mark.line + 1) + ")");
  }
}

void add_watch_flags(CLI::App* cmd, WatchFlags& w) {
  cmd->add_flag("-w,--watch", w.watch, "Print again whenever the result changes (polls)");
  cmd->add_option("--interval", w.interval, "Polling interval of --watch (default 2s)");
}

int run_maybe_watching(Env& env, const WatchFlags& w, const std::function<int()>& once) {
  if (!w.watch) return once();
  auto iv = parse_duration(w.interval);
  if (!iv) return env.usage("--interval: " + iv.error().detail);
  if (iv.value() < std::chrono::milliseconds(200)) return env.usage("--interval: at least 200ms");
  return watch_loop(env, iv.value(), once);
}

// No change feed exists for operators' lists (the agent long-poll is per
// region and for agents), so --watch polls and says how often.
int watch_loop(Env& env, std::chrono::milliseconds interval, const std::function<int()>& once) {
  std::string last;
  std::ostream* real = env.out;
  for (;;) {
    std::ostringstream buf;
    env.out = &buf;
    int rc = once();
    env.out = real;
    if (rc != kExitOk) return rc;
    if (buf.str() != last) {
      std::time_t t = std::time(nullptr);
      char ts[32];
      std::strftime(ts, sizeof ts, "%H:%M:%S", std::gmtime(&t));
      if (env.stdout_tty) *real << "\x1b[H\x1b[2J";
      *real << "Every " << interval.count() / 1000.0 << "s (polling; Ctrl-C to stop) — " << ts
            << " UTC\n"
            << buf.str() << std::flush;
      last = buf.str();
    }
    std::this_thread::sleep_for(interval);
  }
}

void on_run(CLI::App* cmd, Env& env, std::function<int()> fn) {
  cmd->callback([&env, fn = std::move(fn)]() { env.action = fn; });
}

std::string path_escape(const std::string& s) { return client::url_encode(s); }

Error with_name_hint(Api& api, Error e, const std::string& list_path, const char* key,
                     const std::string& name, size_t scan) {
  if (e.code != Code::kNotFound) return e;
  auto items = api.list(list_path, "", scan);
  if (!items) return e;
  std::vector<std::string> names;
  for (const auto& it : items.value())
    if (it.contains(key) && it[key].is_string()) names.push_back(it[key].get<std::string>());
  auto best = nearest(name, names);
  if (best && *best != name) e.detail += " (did you mean " + *best + "?)";
  return e;
}

namespace {

std::string wait_stamp() {
  std::time_t t = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof ts, "%H:%M:%S", std::gmtime(&t));
  return ts;
}

}  // namespace

// Exit 0 when `want` is reached, 1 on a terminal state, a vanished object or
// the deadline; each state change is printed as it is seen.
int wait_for(Env& env, const WaitSpec& w) {
  auto deadline = std::chrono::steady_clock::now() + w.timeout;
  std::string last = "";
  for (;;) {
    auto got = w.fetch();
    if (!got) return env.fail(got.error());
    std::string st = got.value() ? w.state(*got.value()) : "deleted";
    if (st != last) {
      *env.out << wait_stamp() << "  " << w.what << "  " << colour_status(st, env.style);
      std::string why = got.value() ? w.reason(*got.value()) : "";
      if (!why.empty()) *env.out << "  (" << why << ")";
      *env.out << "\n" << std::flush;
      last = st;
    }
    if (st == w.want) return kExitOk;
    if (!got.value()) return env.fail(make_error(Code::kNotFound, w.what + " does not exist"));
    for (const auto& t : w.terminal) {
      if (st != t) continue;
      std::string why = w.reason(*got.value());
      return env.fail(make_error(Code::kInvalidArgument,
                                 w.what + " is " + st + (why.empty() ? "" : ": " + why)));
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(w.timeout).count();
      return env.fail(make_error(Code::kTimeout, "timed out after " + std::to_string(secs) +
                                                     "s waiting for " + w.what + " to be " +
                                                     w.want + " (it is " + st + ")"));
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(w.interval, deadline - now));
  }
}

}  // namespace fc::ctl
