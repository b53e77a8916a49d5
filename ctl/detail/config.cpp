#include "ctl/detail/config.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fc::ctl {

using nlohmann::json;

namespace {

Result<std::optional<std::string>> opt_string(const json& j, const char* key,
                                              const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<std::string>();
  if (!j[key].is_string())
    return make_error(Code::kInvalidArgument, where + "." + key + " must be a string");
  return std::optional<std::string>(j[key].get<std::string>());
}

Result<Context> parse_context(const json& j, const std::string& name) {
  std::string where = "contexts." + name;
  if (!j.is_object()) return make_error(Code::kInvalidArgument, where + " must be an object");
  Context c;
  BOOST_OUTCOME_TRY(server, opt_string(j, "server", where));
  if (!server || server->empty())
    return make_error(Code::kInvalidArgument, where + ".server is required");
  c.server = *server;
  BOOST_OUTCOME_TRY(tf, opt_string(j, "token_file", where));
  BOOST_OUTCOME_TRY(ca, opt_string(j, "ca_file", where));
  c.token_file = tf;
  c.ca_file = ca;
  return c;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Code::kIo, "cannot read token file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = trim(ss.str());
  if (t.empty()) return make_error(Code::kInvalidArgument, "token file " + path + " is empty");
  return t;
}

std::string expand_home(const std::string& p) {
  const char* home = std::getenv("HOME");
  if (p.rfind("~/", 0) == 0 && home) return std::string(home) + p.substr(1);
  return p;
}

}  // namespace

Result<CtlConfig> parse_ctl_config(const json& j) {
  if (!j.is_object()) return make_error(Code::kInvalidArgument, "the file must hold an object");
  CtlConfig c;
  BOOST_OUTCOME_TRY(cur, opt_string(j, "current_context", "(top)"));
  c.current = cur.value_or("");
  if (j.contains("contexts")) {
    if (!j["contexts"].is_object())
      return make_error(Code::kInvalidArgument, "contexts must be an object");
    for (const auto& [name, v] : j["contexts"].items()) {
      BOOST_OUTCOME_TRY(ctx, parse_context(v, name));
      c.contexts.emplace(name, std::move(ctx));
    }
  }
  if (!c.current.empty() && !c.contexts.count(c.current))
    return make_error(Code::kInvalidArgument,
                      "current_context '" + c.current + "' is not among the contexts");
  return c;
}

json to_json(const CtlConfig& c) {
  json ctxs = json::object();
  for (const auto& [name, x] : c.contexts) {
    json o = {{"server", x.server}};
    if (x.token_file) o["token_file"] = *x.token_file;
    if (x.ca_file) o["ca_file"] = *x.ca_file;
    ctxs[name] = o;
  }
  json out = {{"contexts", ctxs}};
  if (!c.current.empty()) out["current_context"] = c.current;
  return out;
}

std::string ctl_config_path() {
  if (const char* p = std::getenv("FLEETCOMMAND_CTL_CONFIG"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    return std::string(x) + "/fleetcommand/ctl.json";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.config/fleetcommand/ctl.json";
}

Result<CtlConfig> load_ctl_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return CtlConfig{};
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return make_error(Code::kParse, path + ": not valid JSON");
  auto c = parse_ctl_config(j);
  if (!c) return make_error(c.error().code, path + ": " + c.error().detail);
  return c;
}

Status save_ctl_config(const std::string& path, const CtlConfig& c) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return make_error(Code::kIo, "cannot write " + tmp);
    out << to_json(c).dump(2) << "\n";
    if (!out.flush()) return make_error(Code::kIo, "cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0600);
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(Code::kIo, "cannot replace " + path + ": " + ec.message());
  return ok();
}

// Flags win over the environment, the environment over the context.
Result<Target> resolve_target(const Flags& f, const Environment& env, const CtlConfig& cfg) {
  const Context* ctx = nullptr;
  std::string ctx_name = f.context.value_or(cfg.current);
  if (!ctx_name.empty()) {
    auto it = cfg.contexts.find(ctx_name);
    if (it == cfg.contexts.end())
      return make_error(Code::kNotFound, "no context named '" + ctx_name + "'");
    ctx = &it->second;
  }
  Target t;
  if (f.server) {
    t.server = *f.server, t.source = "--server";
  } else if (env.server) {
    t.server = *env.server, t.source = "FLEETCOMMAND_SERVER";
  } else if (ctx) {
    t.server = ctx->server, t.source = "context " + ctx_name;
  } else {
    return make_error(Code::kInvalidArgument,
                      "no server: pass --server URL, set FLEETCOMMAND_SERVER or choose a context "
                      "(fleetcommand ctl context set NAME --server URL --token-file FILE)");
  }
  std::optional<std::string> token_file = f.token_file;
  if (!token_file && env.token) {
    t.token = *env.token;
  } else {
    if (!token_file && ctx) token_file = ctx->token_file;
    if (token_file) {
      BOOST_OUTCOME_TRY(tok, read_token_file(expand_home(*token_file)));
      t.token = std::move(tok);
    }
  }
  t.ca_file = f.ca_file ? f.ca_file : (ctx ? ctx->ca_file : std::nullopt);
  if (t.ca_file) t.ca_file = expand_home(*t.ca_file);
  return t;
}

}  // namespace fc::ctl
