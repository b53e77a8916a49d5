// The CLI's commands (one file per resource, like gh's one package per noun):
// each add_*_commands registers its subcommands on the CLI11 tree and, when
// one is chosen, stores what to run in Env::action. CLI11 stays out of this
// header's includers but ctl/*.cpp (it is heavy).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "ctl/detail/api.hpp"
#include "ctl/detail/config.hpp"
#include "ctl/detail/output.hpp"

namespace CLI {
class App;
}

namespace fc::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitUsage = 2;

struct Globals {
  Flags flags;
  std::string output = "table";
  std::string timeout = "30s";  // per request
  size_t chunk_size = 500;      // page size when following pages
  std::string config_path;      // ctl.json
};

// What every command reaches: options, streams, style, the API (made on
// first use, so `context` and `completion` need no server).
struct Env {
  Globals g;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  Style style;
  bool stdout_tty = false;
  std::function<int()> action;  // set by the chosen subcommand's callback
  std::unique_ptr<Api> api_;

  Result<Api*> api();
  Result<Format> format() const { return parse_format(g.output); }
  // -o json or -o yaml (the format is checked before any command runs).
  bool structured() const {
    auto f = format();
    return f && (f.value() == Format::kJson || f.value() == Format::kYaml);
  }
  std::int64_t now() const;
  // Prints "error: …" for a failed step and returns kExitFail.
  int fail(const Error& e);
  int usage(const std::string& msg);  // "error: …", exit 2
};

// Output of one object or a list in the chosen format; lists in json/yaml are
// {"items":[…]} with every page merged (no next_cursor).
int print_items(Env& env, const std::vector<Column>& cols,
                const std::vector<nlohmann::json>& items);
int print_object(Env& env, const std::vector<Column>& cols, const nlohmann::json& obj);

// --watch: runs `once` every `interval`, printing again when the output changes,
// under a line naming the interval; until interrupted (or `max_rounds` > 0).
int watch_loop(Env& env, std::chrono::milliseconds interval, const std::function<int()>& once);

// "30s", "10m", "1h", "500ms", "2" (seconds) → milliseconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view s);

// Reads a JSON or YAML file ("-" = stdin) into JSON.
Result<nlohmann::json> read_document(const std::string& path);

// Common flags of list/get: --watch, --interval.
struct WatchFlags {
  bool watch = false;
  std::string interval = "2s";
};
void add_watch_flags(CLI::App* cmd, WatchFlags& w);
int run_maybe_watching(Env& env, const WatchFlags& w, const std::function<int()>& once);

// Sets env.action when `cmd` is chosen.
void on_run(CLI::App* cmd, Env& env, std::function<int()> fn);

void add_region_commands(CLI::App& root, Env& env);
void add_workspace_commands(CLI::App& root, Env& env);
void add_token_commands(CLI::App& root, Env& env);
void add_domain_commands(CLI::App& root, Env& env);
void add_certificate_commands(CLI::App& root, Env& env);
void add_dns_commands(CLI::App& root, Env& env);
void add_release_commands(CLI::App& root, Env& env);  // releases and rollouts
void add_context_commands(CLI::App& root, Env& env);
void add_completion_command(CLI::App& root, Env& env);

// Shell completion scripts from the command tree.
std::string completion_script(const CLI::App& root, const std::string& shell);

// Column sets (kubectl's get printers), shared by list, get and watch.
std::vector<Column> region_columns(const Env& env);
std::vector<Column> workspace_columns(const Env& env);
std::vector<Column> domain_columns(const Env& env);

// Polls `fetch` until the state `want` (exit 0), a terminal state or the
// deadline (exit 1), printing each transition. fetch → nullopt means 404.
struct WaitSpec {
  std::string what;  // "domain chat.example.com"
  std::string want;
  std::chrono::milliseconds timeout{0}, interval{0};
  std::function<Result<std::optional<nlohmann::json>>()> fetch;
  std::function<std::string(const nlohmann::json&)> state;
  std::function<std::string(const nlohmann::json&)> reason;  // why, for failures
  std::vector<std::string> terminal;                         // states that end the wait
};
int wait_for(Env& env, const WaitSpec& w);

std::string path_escape(const std::string& s);

// `why` under `workspaces` or `domains` (why.cpp): GET …/status as a checklist.
void add_why_command(CLI::App* resource, Env& env, bool domain);
struct ChecklistStyle {
  bool symbols = false;  // ✓/✗/? (a UTF-8 terminal with colour), else [ok]/[FAIL]/[?]
  bool colour = false;
};
// The chain document as lines "  [ok] Type   message (since)", the fix under
// the first step that is not ok; `now` in seconds since the epoch.
std::string render_checklist(const nlohmann::json& doc, const ChecklistStyle& s, std::int64_t now);

// A 404 for `name` gets "(did you mean …?)" from the names the list at
// `list_path` holds (field `key`, at most `scan` items looked at); any other
// error is returned unchanged.
Error with_name_hint(Api& api, Error e, const std::string& list_path, const char* key,
                     const std::string& name, size_t scan = 2000);

}  // namespace fc::ctl
