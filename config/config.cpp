#include "config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/detail/schema.hpp"

extern char** environ;

namespace fc::config {

using nlohmann::json;

std::string HostPort::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return make_error(Code::kInvalidArgument, "expected [ipv6]:port, got '" + s + "'");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return make_error(Code::kInvalidArgument, "expected host:port, got '" + s + "'");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return make_error(Code::kInvalidArgument, "IPv6 addresses need brackets: [addr]:port");
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
    return make_error(Code::kInvalidArgument, "bad port in '" + s + "'");
  long p = std::strtol(port.c_str(), nullptr, 10);
  if (p < 0 || p > 65535)
    return make_error(Code::kInvalidArgument, "port out of range in '" + s + "'");
  unsigned char buf[16];
  bool is_ip =
      inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
  if (!is_ip && host != "localhost")
    return make_error(Code::kInvalidArgument,
                      "host must be an IP address or localhost: '" + host + "'");
  return HostPort{host == "localhost" ? "127.0.0.1" : host, static_cast<std::uint16_t>(p)};
}

std::map<std::string, std::string> process_env() {
  std::map<std::string, std::string> m;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) m[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return m;
}

namespace {

Result<json> read_file_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Code::kIo, "cannot read configuration file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded())
    return make_error(Code::kParse, "configuration file '" + path + "' is not valid JSON");
  if (!j.is_object())
    return make_error(Code::kInvalidArgument,
                      "configuration file '" + path + "' must hold a JSON object");
  return j;
}

std::vector<HostPort> system_resolvers(const std::string& resolv_conf) {
  std::vector<HostPort> out;
  std::ifstream in(resolv_conf);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string word, addr;
    ls >> word >> addr;
    if (word != "nameserver" || addr.empty()) continue;
    auto hp =
        parse_host_port(addr.find(':') != std::string::npos ? "[" + addr + "]:53" : addr + ":53");
    if (hp) out.push_back(hp.value());
  }
  if (out.empty()) out.push_back(HostPort{"127.0.0.1", 53});
  return out;
}

}  // namespace

std::int64_t derived_concurrent_checks(std::int64_t queries_per_second, std::size_t resolvers) {
  constexpr std::int64_t kBudgetPerCheck = 20;  // q/s one check in flight uses (5 × 50 ms)
  constexpr std::int64_t kMin = 8, kMax = 256;
  const std::int64_t budget = std::max<std::int64_t>(1, queries_per_second) *
                              std::max<std::int64_t>(1, static_cast<std::int64_t>(resolvers));
  return std::clamp<std::int64_t>((budget + kBudgetPerCheck - 1) / kBudgetPerCheck, kMin, kMax);
}

Result<Config> load(const std::optional<std::string>& file,
                    const std::map<std::string, std::string>& env, const std::string& resolv_conf) {
  detail::Schema schema;
  json tree = schema.defaults();
  if (file) {
    BOOST_OUTCOME_TRY(j, read_file_json(*file));
    BOOST_OUTCOME_TRY(schema.merge(tree, j, ""));
  }
  for (const auto& [name, value] : env) {
    if (name.rfind("FLEETCOMMAND_", 0) != 0) continue;
    // The operator CLI's own variables (docs/cli.md), not the daemon's: an
    // operator's shell may export them on the host that runs the daemon.
    if (name == "FLEETCOMMAND_SERVER" || name == "FLEETCOMMAND_TOKEN" ||
        name == "FLEETCOMMAND_CTL_CONFIG")
      continue;
    BOOST_OUTCOME_TRY(schema.merge_env(tree, name, value));
  }
  BOOST_OUTCOME_TRY(cfg, detail::to_config(tree));
  if (cfg.resolver_servers.empty()) cfg.resolver_servers = system_resolvers(resolv_conf);
  if (cfg.domains_max_concurrent_checks == 0)  // not set: follows the query budget
    cfg.domains_max_concurrent_checks =
        derived_concurrent_checks(cfg.domains_queries_per_second, cfg.resolver_servers.size());
  return cfg;
}

namespace {
// postgresql://user:secret@host/db and password=secret: the password only.
std::string redact_url_password(std::string s) {
  const auto scheme = s.find("://");
  if (scheme != std::string::npos) {
    const auto at = s.find('@', scheme + 3);
    const auto colon = s.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      s.replace(colon + 1, at - colon - 1, "<redacted>");
  }
  for (std::size_t p = 0; (p = s.find("password=", p)) != std::string::npos;) {
    p += 9;
    std::size_t end = p;
    if (end < s.size() && s[end] == '\'') {
      const auto close = s.find('\'', end + 1);
      end = close == std::string::npos ? s.size() : close + 1;
    } else {
      while (end < s.size() && s[end] != ' ' && s[end] != '&') ++end;
    }
    s.replace(p, end - p, "<redacted>");
  }
  return s;
}
}  // namespace

nlohmann::json redacted(const Config& cfg) {
  json j = cfg.effective;
  auto scrub = [](json& list, const char* field) {
    if (!list.is_array()) return;
    for (auto& item : list) {
      if (item.is_object() && item.contains(field)) item[field] = "<redacted>";
    }
  };
  scrub(j["dns"]["axfr_tsig"], "secret");
  for (auto& p : j["dns"]["providers"]) {
    if (p.is_object() && p.contains("tsig") && p["tsig"].is_object())
      p["tsig"]["secret"] = "<redacted>";
  }
  if (j["storage"]["postgres_url"].is_string())
    j["storage"]["postgres_url"] =
        redact_url_password(j["storage"]["postgres_url"].get<std::string>());
  for (auto& i : j["certs"]["issuers"]) {
    if (i.is_object() && i.contains("eab") && i["eab"].is_object())
      i["eab"]["hmac_key"] = "<redacted>";
  }
  return j;
}

namespace {

void diff_keys(const json& a, const json& b, const std::string& prefix,
               std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      auto key = prefix.empty() ? k : prefix + "." + k;
      if (!b.contains(k)) {
        out.push_back(key);
      } else {
        diff_keys(v, b.at(k), key, out);
      }
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) out.push_back(prefix.empty() ? k : prefix + "." + k);
    }
    return;
  }
  if (a != b) out.push_back(prefix);
}

}  // namespace

std::vector<std::string> changed_keys(const Config& before, const Config& after) {
  std::vector<std::string> out;
  diff_keys(before.effective, after.effective, "", out);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fc::config
