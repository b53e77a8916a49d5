#include "config/detail/schema.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace fc::config::detail {

using nlohmann::json;

namespace {

std::string json_pointer(const std::string& path) {
  std::string p = "/" + path;
  std::replace(p.begin(), p.end(), '.', '/');
  return p;
}

std::string env_name(const std::string& path) {
  std::string n = "FLEETCOMMAND_";
  for (char c : path)
    n += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

bool valid_dns_name(const std::string& name) {
  // One trailing dot (BIND style, e.g. a TSIG key "xfr.") is allowed.
  std::string s = !name.empty() && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    if (label.front() == '-' || label.back() == '-') return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

bool valid_ip(const std::string& s, int family) {
  unsigned char buf[16];
  return inet_pton(family, s.c_str(), buf) == 1;
}

bool valid_ip_or_cidr(const std::string& s) {
  auto slash = s.find('/');
  std::string addr = s.substr(0, slash);
  int fam = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (!valid_ip(addr, fam)) return false;
  if (slash == std::string::npos) return true;
  std::string bits = s.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 || !std::all_of(bits.begin(), bits.end(), ::isdigit))
    return false;
  int b = std::stoi(bits);
  return b >= 0 && b <= (fam == AF_INET ? 32 : 128);
}

Validator string_v(bool nullable) {
  return [nullable](const json& v) -> std::string {
    if (v.is_null() && nullable) return "";
    if (!v.is_string() || v.get<std::string>().empty()) return "must be a non-empty string";
    return "";
  };
}

Validator int_v(std::int64_t lo, std::int64_t hi, const char* what = nullptr) {
  return [lo, hi, what](const json& v) -> std::string {
    if (!v.is_number_integer()) return "must be an integer";
    auto x = v.get<std::int64_t>();
    if (x < lo || x > hi) {
      if (what) return what;
      return "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
    }
    return "";
  };
}

Validator duration_v() {
  return int_v(1, 10LL * 365 * 86400, "must be a duration in seconds, at least 1");
}

// An origin-form request target (RFC 9112 §3.2.1): starts with '/', no
// spaces or control characters (probes.path).
Validator url_path_v() {
  return [](const json& v) -> std::string {
    if (!v.is_string() || v.get<std::string>().rfind('/', 0) != 0)
      return "must be a path starting with /";
    for (char ch : v.get<std::string>()) {
      if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
        return "must not contain spaces or control characters";
    }
    return "";
  };
}

Validator bool_v() {
  return [](const json& v) -> std::string { return v.is_boolean() ? "" : "must be true or false"; };
}

Validator enum_v(std::vector<std::string> allowed) {
  return [allowed](const json& v) -> std::string {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    if (!v.is_string()) return "must be one of " + list;
    if (std::find(allowed.begin(), allowed.end(), v.get<std::string>()) == allowed.end())
      return "must be one of " + list;
    return "";
  };
}

Validator host_port_v() {
  return [](const json& v) -> std::string {
    if (!v.is_string()) return "must be a \"host:port\" string";
    auto hp = parse_host_port(v.get<std::string>());
    return hp ? "" : hp.error().detail;
  };
}

Validator dns_name_v(bool nullable) {
  return [nullable](const json& v) -> std::string {
    if (v.is_null() && nullable) return "";
    if (!v.is_string() || !valid_dns_name(v.get<std::string>())) return "must be a DNS name";
    return "";
  };
}

template <class F>
Validator list_v(F item, bool nullable = false) {
  return [item, nullable](const json& v) -> std::string {
    if (v.is_null() && nullable) return "";
    if (!v.is_array()) return "must be a JSON list";
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string e = item(v[i]);
      if (!e.empty()) return "[" + std::to_string(i) + "]" + (e[0] == '.' ? "" : ": ") + e;
    }
    return "";
  };
}

// Checks an object's fields: required ones present, no unknown ones.
std::string check_fields(const json& v,
                         const std::map<std::string, std::pair<bool, Validator>>& fields) {
  if (!v.is_object()) return ": must be a JSON object";
  for (const auto& [k, spec] : fields) {
    if (spec.first && !v.contains(k)) return "." + k + ": is required";
  }
  for (const auto& [k, val] : v.items()) {
    auto it = fields.find(k);
    if (it == fields.end()) return "." + k + ": unknown key";
    std::string e = it->second.second(val);
    if (!e.empty()) return "." + k + (e[0] == '.' || e[0] == '[' ? "" : ": ") + e;
  }
  return "";
}

std::string tsig_item(const json& v) {
  return check_fields(v, {
                             {"name", {true, dns_name_v(false)}},
                             {"algorithm",
                              {false, enum_v({"hmac-sha1", "hmac-sha224", "hmac-sha256",
                                              "hmac-sha384", "hmac-sha512"})}},
                             {"secret", {true, string_v(false)}},
                         });
}

std::string ip_item(const json& v, int fam) {
  return v.is_string() && valid_ip(v.get<std::string>(), fam) ? "" : "must be an IP address";
}

std::string nameserver_item(const json& v) {
  return check_fields(
      v, {
             {"name", {true, dns_name_v(false)}},
             {"ipv4", {false, list_v([](const json& x) { return ip_item(x, AF_INET); })}},
             {"ipv6", {false, list_v([](const json& x) { return ip_item(x, AF_INET6); })}},
         });
}

std::string provider_item(const json& v) {
  return check_fields(
      v, {
             {"type", {true, enum_v({"rfc2136"})}},
             {"server", {true, host_port_v()}},
             {"zone", {true, dns_name_v(false)}},
             {"tsig", {false, [](const json& t) { return tsig_item(t); }}},
             {"retry_base_ms", {false, int_v(10, 3600000)}},  // provider sync backoff base (dns/)
             // DNS-01 propagation check (certs/dns01_propagation.cpp)
             {"nameservers", {false, list_v(host_port_v())}},
             {"nameserver_port", {false, int_v(1, 65535)}},
             {"propagation_timeout_ms", {false, int_v(0, 3600000)}},
         });
}

// The certs.issuers[] schema as one table: reads better whole.
std::string issuer_item(const json& v) {
  if (!v.is_object() || !v.contains("type")) return ": must be an object with a \"type\"";
  std::string e = enum_v({"acme", "internal"})(v["type"]);
  if (!e.empty()) return ".type: " + e;
  if (v["type"] == "internal")  // validity_s: leaf lifetime (short ones for tests), 10 s … 397 days
    return check_fields(
        v, {{"type", {true, string_v(false)}}, {"validity_s", {false, int_v(10, 397 * 86400)}}});
  auto url_v = [](const json& u) -> std::string {
    if (!u.is_string() || u.get<std::string>().rfind("https://", 0) != 0)
      return "must be an https:// URL";
    return "";
  };
  auto eab_v = [](const json& x) {
    return check_fields(x,
                        {{"kid", {true, string_v(false)}}, {"hmac_key", {true, string_v(false)}}});
  };
  // A token bucket: capacity tokens, refilled continuously over period_s.
  auto bucket_v = [](const json& x) {
    return check_fields(
        x, {{"capacity", {true, int_v(0, 1000000)}}, {"period_s", {true, int_v(1, 366 * 86400)}}});
  };
  auto budget_v = [bucket_v](const json& x) {
    return check_fields(x, {{"orders_per_3h", {false, int_v(0, 1000000)}},
                            {"certs_per_domain_per_week", {false, int_v(0, 1000000)}},
                            {"duplicates_per_week", {false, int_v(0, 1000000)}},
                            {"failed_validations_per_hour", {false, int_v(0, 1000000)}},
                            {"new_orders", {false, bucket_v}},
                            {"certs_per_domain", {false, bucket_v}},
                            {"duplicates", {false, bucket_v}},
                            {"failed_validations", {false, bucket_v}}});
  };
  return check_fields(v, {
                             {"type", {true, string_v(false)}},
                             {"directory", {true, url_v}},
                             {"email", {false, string_v(true)}},
                             {"ca_bundle", {false, string_v(true)}},
                             {"eab", {false, eab_v}},
                             {"caa_identities",
                              {false, list_v([](const json& x) { return dns_name_v(false)(x); })}},
                             {"preferred_chain", {false, string_v(true)}},
                             {"key_type", {false, enum_v({"ecdsa-p256", "rsa2048"})}},
                             {"budgets", {false, budget_v}},
                         });
}

// plans.<name>: the resources a workspace on the plan gets and the quotas of
// its tenant (docs/tenants.md "Plans"). Regions are not known at start (the
// API creates them), so allowed_regions are checked as names only.
std::string plan_item(const json& v) {
  auto resources_v = [](const json& r) {
    return check_fields(
        r, {{"memory_mib", {true, int_v(1, 1 << 30)}}, {"cpu_millis", {true, int_v(1, 1 << 30)}}});
  };
  return check_fields(v, {{"resources", {true, resources_v}},
                          {"max_workspaces", {false, int_v(1, 100000000)}},
                          {"max_custom_domains", {false, int_v(0, 100000)}},
                          {"allowed_regions", {false, list_v(string_v(false))}},
                          {"trial_days", {false, int_v(1, 3650, "must be from 1 to 3650 days")}},
                          {"suspend_after_trial", {false, bool_v()}}});
}

std::string plans_v(const json& v) {
  if (!v.is_object()) return "must be a JSON object of plan name -> plan";
  for (const auto& [name, plan] : v.items()) {
    bool ok_name = !name.empty() && name.size() <= 63;
    for (char ch : name)
      ok_name = ok_name && (std::islower(static_cast<unsigned char>(ch)) ||
                            std::isdigit(static_cast<unsigned char>(ch)) || ch == '-');
    if (!ok_name) return "." + name + ": a plan name is 1-63 of a-z, 0-9 and -";
    std::string e = plan_item(plan);
    if (!e.empty()) return "." + name + (e[0] == '.' ? "" : ": ") + e;
  }
  return "";
}

}  // namespace

// Every configuration key with its kind and validator, one line each: reads better whole.
Schema::Schema() {
  auto S = [&](const char* p, Kind k, Validator v) { leaves_[p] = Leaf{k, std::move(v)}; };
  S("database.path", Kind::kString, string_v(false));
  S("storage.backend", Kind::kString, enum_v({"sqlite", "postgres"}));
  S("storage.postgres_url", Kind::kString, string_v(true));
  S("storage.ha.advertise_url", Kind::kString, string_v(true));
  S("storage.ha.lease_ttl_ms", Kind::kInt, int_v(300, 60000));
  S("auth.admin_token_file", Kind::kString, string_v(false));
  S("api.listen", Kind::kString, host_port_v());
  S("api.tls.cert_file", Kind::kString, string_v(true));
  S("api.tls.key_file", Kind::kString, string_v(true));
  S("api.rate_limit.requests_per_second", Kind::kInt, int_v(0, 1000000));
  S("api.max_connections", Kind::kInt, int_v(1, 1000000));
  S("api.read_timeout_s", Kind::kInt, duration_v());
  S("api.idle_timeout_s", Kind::kInt, duration_v());
  S("api.metrics_require_admin", Kind::kBool, bool_v());
  S("acme_http.listen", Kind::kString, host_port_v());
  S("dns.listen", Kind::kString, host_port_v());
  S("dns.zone", Kind::kString, dns_name_v(false));
  S("dns.ttl", Kind::kInt, int_v(0, 2147483647));
  S("dns.nameservers", Kind::kJson, list_v(nameserver_item));
  S("dns.soa.mname", Kind::kString, dns_name_v(true));
  S("dns.soa.rname", Kind::kString, dns_name_v(true));
  for (const char* k : {"dns.soa.refresh", "dns.soa.retry", "dns.soa.expire", "dns.soa.minimum"})
    S(k, Kind::kInt, int_v(1, 2147483647));
  S("dns.rrl.responses_per_second", Kind::kInt, int_v(0, 1000000));
  S("dns.udp_workers", Kind::kInt, int_v(1, 64));
  S("dns.answer_cache_slots", Kind::kInt, int_v(0, 16777216));
  S("dns.secondaries", Kind::kJson, list_v(host_port_v()));
  S("dns.axfr_allow", Kind::kJson, list_v([](const json& v) -> std::string {
      return v.is_string() && valid_ip_or_cidr(v.get<std::string>()) ? ""
                                                                     : "must be an address or CIDR";
    }));
  S("dns.axfr_tsig", Kind::kJson, list_v(tsig_item));
  S("dns.providers", Kind::kJson, list_v(provider_item));
  S("resolver.servers", Kind::kJson, list_v(host_port_v(), true));
  S("agents.heartbeat_timeout_s", Kind::kInt, duration_v());
  S("scheduler.policy", Kind::kString, enum_v({"spread", "binpack"}));
  S("scheduler.changelog_retention", Kind::kInt, int_v(100, 100000000));
  S("scheduler.changelog_retention_s", Kind::kInt, duration_v());
  S("log.level", Kind::kString,
    enum_v({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  S("log.format", Kind::kString, enum_v({"text", "json"}));
  S("certs.issuers", Kind::kJson, [](const json& v) -> std::string {
    if (!v.is_array() || v.empty()) return "must be a non-empty JSON list";
    return list_v(issuer_item)(v);
  });
  S("certs.key_encryption_key_file", Kind::kString, string_v(true));
  S("certs.platform_wildcard", Kind::kBool, bool_v());
  S("certs.max_orders_in_flight", Kind::kInt, int_v(1, 1000));
  S("domains.recheck_interval_s", Kind::kInt, duration_v());
  S("domains.max_per_workspace", Kind::kInt, int_v(1, 100000));
  S("domains.moved_grace_s", Kind::kInt, duration_v());
  S("domains.reservation_s", Kind::kInt, duration_v());
  S("domains.verify_base_s", Kind::kInt, int_v(1, 86400, "must be from 1 to 86400 seconds"));
  S("domains.queries_per_second", Kind::kInt, int_v(1, 100000));
  // null (the default): derived from the query budget (derived_concurrent_checks).
  S("domains.max_concurrent_checks", Kind::kInt, [](const json& v) -> std::string {
    if (v.is_null()) return "";
    auto why = int_v(1, 1024)(v);
    return why.empty() ? "" : why + " (or null: derived from the query budget)";
  });
  S("jobs.concurrency", Kind::kInt, int_v(1, 1024));
  S("backup.interval_s", Kind::kInt,
    int_v(0, 10LL * 365 * 86400, "must be 0 (off) or a duration in seconds"));
  S("backup.dir", Kind::kString, string_v(true));
  S("backup.keep", Kind::kInt, int_v(1, 100000));
  S("backup.upload_command", Kind::kString, string_v(true));
  S("probes.enabled", Kind::kBool, bool_v());
  S("probes.interval_s", Kind::kInt, int_v(1, 86400, "must be from 1 to 86400 seconds"));
  S("probes.rate_per_s", Kind::kInt, int_v(1, 10000));
  S("probes.per_region_concurrency", Kind::kInt, int_v(1, 1024));
  S("probes.timeout_ms", Kind::kInt, int_v(100, 60000, "must be from 100 to 60000 milliseconds"));
  S("probes.https_port", Kind::kInt, int_v(1, 65535));
  S("probes.path", Kind::kString, url_path_v());
  S("probes.ca_bundle", Kind::kString, string_v(true));
  S("plans", Kind::kJson, plans_v);
  S("events.certificate_expiring_days", Kind::kInt, int_v(1, 365, "must be from 1 to 365 days"));
  S("events.retention_s", Kind::kInt,
    int_v(0, 10LL * 365 * 86400, "must be a duration in seconds (0 keeps events forever)"));
  S("webhooks.allow_private", Kind::kBool, bool_v());
  S("webhooks.timeout_ms", Kind::kInt, int_v(100, 60000, "must be from 100 to 60000 milliseconds"));
  S("webhooks.retry_base_ms", Kind::kInt, int_v(10, 3600000));
  S("webhooks.retry_max_ms", Kind::kInt, int_v(10, 86400000));
  S("webhooks.retry_window_s", Kind::kInt, duration_v());
  S("webhooks.lanes_per_endpoint", Kind::kInt, int_v(1, 64));
  S("webhooks.rotation_grace_s", Kind::kInt, int_v(0, 30LL * 86400));
  S("webhooks.record_ms", Kind::kInt, int_v(10, 600000, "must be from 10 to 600000 milliseconds"));
  S("webhooks.priority", Kind::kString, enum_v({"idle", "low", "normal"}));
}

json Schema::defaults() const { return json::parse(kDefaultConfigJson); }

bool Schema::is_object_prefix(const std::string& path) const {
  auto it = leaves_.lower_bound(path + ".");
  return it != leaves_.end() && it->first.rfind(path + ".", 0) == 0;
}

Status Schema::set_leaf(json& tree, const std::string& path, const json& v) const {
  const auto& leaf = leaves_.at(path);
  std::string e = leaf.check(v);
  if (!e.empty()) {
    return make_error(Code::kInvalidArgument, path + (e[0] == '.' || e[0] == '[' ? "" : ": ") + e);
  }
  tree[json::json_pointer(json_pointer(path))] = v;
  return ok();
}

Status Schema::merge(json& tree, const json& j, const std::string& prefix) const {
  for (const auto& [k, v] : j.items()) {
    std::string path = prefix.empty() ? k : prefix + "." + k;
    if (leaves_.count(path)) {
      BOOST_OUTCOME_TRY(set_leaf(tree, path, v));
    } else if (is_object_prefix(path)) {
      if (!v.is_object())
        return make_error(Code::kInvalidArgument, path + ": must be a JSON object");
      BOOST_OUTCOME_TRY(merge(tree, v, path));
    } else {
      return make_error(Code::kInvalidArgument, path + ": unknown configuration key");
    }
  }
  return ok();
}

Status Schema::merge_env(json& tree, const std::string& name, const std::string& value) const {
  for (const auto& [path, leaf] : leaves_) {
    if (env_name(path) != name) continue;
    json v;
    switch (leaf.kind) {
      case Kind::kString: v = value; break;
      case Kind::kBool:
        if (value != "true" && value != "false")
          return make_error(Code::kInvalidArgument,
                            path + " (from " + name + "): must be true or false");
        v = value == "true";
        break;
      case Kind::kInt:
      case Kind::kJson:
        v = json::parse(value, nullptr, false);
        if (v.is_discarded())
          return make_error(Code::kInvalidArgument,
                            path + " (from " + name + "): not a valid " +
                                (leaf.kind == Kind::kInt ? "integer" : "JSON value"));
        break;
    }
    auto st = set_leaf(tree, path, v);
    if (!st) return make_error(Code::kInvalidArgument, st.error().detail + " (from " + name + ")");
    return ok();
  }
  // An object key given as JSON, e.g. FLEETCOMMAND_DNS_SOA='{"refresh":60}'.
  for (const auto& [path, leaf] : leaves_) {
    for (auto dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
      std::string prefix = path.substr(0, dot);
      if (env_name(prefix) != name) continue;
      json v = json::parse(value, nullptr, false);
      if (v.is_discarded() || !v.is_object())
        return make_error(Code::kInvalidArgument,
                          prefix + " (from " + name + "): must be a JSON object");
      return merge(tree, v, prefix);
    }
  }
  return make_error(Code::kInvalidArgument, name + ": unknown configuration variable");
}

}  // namespace fc::config::detail
