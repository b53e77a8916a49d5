// ctl workspaces why / ctl domains why: the status chain of
// GET /v1/{workspaces,domains}/…/status as a checklist (docs/cli.md "Why").
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "CLI/CLI.hpp"
#include "ctl/detail/commands.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

// The first non-empty of LC_ALL, LC_CTYPE, LANG names a UTF-8 locale.
bool utf8_locale() {
  for (const char* var : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0') continue;
    std::string s(v);
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s.find("utf-8") != std::string::npos || s.find("utf8") != std::string::npos;
  }
  return false;
}

std::string why_mark(const std::string& status, const ChecklistStyle& s) {
  const bool ok = status == "True";
  const bool bad = status == "False";
  std::string mark = s.symbols ? (ok    ? "\u2713"
                                  : bad ? "\u2717"
                                        : "?")
                               : (ok    ? "[ok]"
                                  : bad ? "[FAIL]"
                                        : "[?]");
  // Padded to the widest mark, so the types line up (colour codes add no width).
  const std::string pad(s.symbols ? 0 : 6 - mark.size(), ' ');
  if (!s.colour) return mark + pad;
  const char* code = ok ? "\x1b[32m" : bad ? "\x1b[31m" : "\x1b[33m";
  return code + mark + "\x1b[0m" + pad;
}

int why_run(Env& env, const std::string& path) {
  auto f = env.format();
  if (!f) return env.usage(f.error().detail);
  auto api = env.api();
  if (!api) return env.fail(api.error());
  auto r = api.value()->call("GET", path);
  if (!r) return env.fail(r.error());
  const json& doc = r.value();
  if (env.structured()) {
    int rc = print_object(env, {}, doc);
    if (rc != kExitOk) return rc;
  } else {
    ChecklistStyle s{env.stdout_tty && env.style.colour && utf8_locale(), env.style.colour};
    *env.out << render_checklist(doc, s, env.now());
  }
  return doc.value("ok", false) ? kExitOk : kExitFail;
}

const char* kWhyFooter =
    "Prints the status chain as a checklist: [ok]/[FAIL]/[?] (on a UTF-8 terminal with\n"
    "colour: \u2713/\u2717/?), the fix under the first step that is not ok; -o json|yaml prints\n"
    "the API's document. Exit status: 0 when every step is ok (a domain's Live may be\n"
    "unprobed), 1 otherwise or when the request fails, 2 on bad usage.\n";

}  // namespace

std::string render_checklist(const json& doc, const ChecklistStyle& s, std::int64_t now) {
  std::string out;
  if (doc.contains("hostname"))
    out += "domain " + doc.value("hostname", "") + " (" + doc.value("status", "") + ")\n";
  else
    out += "workspace " + doc.value("name", "") + " (" + doc.value("id", "") + "), generation " +
           std::to_string(doc.value("generation", 0)) + "\n";
  size_t width = 0;
  const json conds = doc.value("conditions", json::array());
  for (const auto& c : conds) width = std::max(width, c.value("type", "").size());
  for (const auto& c : conds) {
    std::string type = c.value("type", "");
    std::string line = "  " + why_mark(c.value("status", ""), s) + " " + type +
                       std::string(width - type.size() + 2, ' ') + c.value("message", "");
    auto since = c.value("since", json());
    if (since.is_string()) line += " (" + rel_field(since, now) + ")";
    out += line + "\n";
    if (c.contains("fix") && c["fix"].is_string())
      out += "      fix: " + c["fix"].get<std::string>() + "\n";
  }
  return out;
}

void add_why_command(CLI::App* resource, Env& env, bool domain) {
  auto* w = resource->add_subcommand(
      "why", domain ? "Why a domain is not live yet: its status chain as a checklist"
                    : "Why a workspace is not ready: its status chain as a checklist");
  auto target = std::make_shared<std::string>();
  w->add_option(domain ? "HOST" : "NAME", *target, domain ? "Hostname" : "Workspace name or id")
      ->required();
  w->footer(std::string(kWhyFooter) + "Examples:\n" +
            (domain ? "  fleetcommand ctl domains why chat.example.com\n"
                      "  fleetcommand ctl domains why chat.example.com -o json"
                    : "  fleetcommand ctl workspaces why acme\n"
                      "  fleetcommand ctl workspaces why acme -o yaml"));
  on_run(w, env, [&env, target, domain] {
    return why_run(
        env, (domain ? "/v1/domains/" : "/v1/workspaces/") + path_escape(*target) + "/status");
  });
}

}  // namespace fc::ctl
