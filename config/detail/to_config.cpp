// Maps the validated configuration tree to the typed Config.
#include <arpa/inet.h>

#include "config/detail/schema.hpp"

namespace fc::config::detail {

using nlohmann::json;

namespace {

std::string opt_string(const json& v) {
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::vector<HostPort> host_ports(const json& list) {
  std::vector<HostPort> out;
  if (!list.is_array()) return out;
  for (const auto& s : list) out.push_back(parse_host_port(s.get<std::string>()).value());
  return out;
}

TsigKey tsig(const json& t) {
  return TsigKey{t.at("name").get<std::string>(), t.value("algorithm", std::string("hmac-sha256")),
                 t.at("secret").get<std::string>()};
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void fill_dns(Config& c, const json& d) {
  c.dns_listen = parse_host_port(d["listen"].get<std::string>()).value();
  c.dns_zone = lower(d["zone"].get<std::string>());
  c.dns_ttl = d["ttl"].get<std::uint32_t>();
  for (const auto& ns : d["nameservers"]) {
    c.dns_nameservers.push_back(NameServer{lower(ns["name"].get<std::string>()),
                                           ns.value("ipv4", std::vector<std::string>{}),
                                           ns.value("ipv6", std::vector<std::string>{})});
  }
  if (c.dns_nameservers.empty()) {
    NameServer ns{"ns1." + c.dns_zone, {}, {}};
    unsigned char buf[16];
    if (inet_pton(AF_INET, c.dns_listen.host.c_str(), buf) == 1)
      ns.ipv4.push_back(c.dns_listen.host);
    else
      ns.ipv6.push_back(c.dns_listen.host);
    c.dns_nameservers.push_back(ns);
  }
  const json& soa = d["soa"];
  c.dns_soa.mname =
      soa["mname"].is_string() ? lower(soa["mname"].get<std::string>()) : c.dns_nameservers[0].name;
  c.dns_soa.rname = soa["rname"].is_string() ? lower(soa["rname"].get<std::string>())
                                             : "hostmaster." + c.dns_zone;
  c.dns_soa.refresh = soa["refresh"].get<std::uint32_t>();
  c.dns_soa.retry = soa["retry"].get<std::uint32_t>();
  c.dns_soa.expire = soa["expire"].get<std::uint32_t>();
  c.dns_soa.minimum = soa["minimum"].get<std::uint32_t>();
  c.dns_rrl_rps = d["rrl"]["responses_per_second"].get<std::int64_t>();
  c.dns_udp_workers = d["udp_workers"].get<std::size_t>();
  c.dns_answer_cache_slots = d["answer_cache_slots"].get<std::size_t>();
  c.dns_secondaries = host_ports(d["secondaries"]);
  c.dns_axfr_allow = d["axfr_allow"].get<std::vector<std::string>>();
  for (const auto& t : d["axfr_tsig"]) c.dns_axfr_tsig.push_back(tsig(t));
  c.dns_providers = d["providers"];
}

// storage.backend: postgres needs a libpq connection string: a URL
// (postgresql://user:password@host:port/db?opts) or key=value pairs. Only its
// shape is checked here; check-config never connects (the database may not
// be up yet when the configuration is written).
Status fill_storage(Config& c, const json& s, const json& backup) {
  c.storage_backend = s["backend"].get<std::string>();
  c.storage_postgres_url = opt_string(s["postgres_url"]);
  c.storage_advertise_url = opt_string(s["ha"]["advertise_url"]);
  c.storage_lease_ttl_ms = s["ha"]["lease_ttl_ms"].get<std::int64_t>();
  const std::string& a = c.storage_advertise_url;
  if (!a.empty() && a.rfind("http://", 0) != 0 && a.rfind("https://", 0) != 0)
    return make_error(Code::kInvalidArgument,
                      "storage.ha.advertise_url: expected http://host:port or https://host:port");
  if (c.storage_backend != "postgres") return ok();
  const std::string& u = c.storage_postgres_url;
  if (u.empty())
    return make_error(Code::kInvalidArgument,
                      "storage.postgres_url: required when storage.backend is postgres");
  const bool url = u.rfind("postgresql://", 0) == 0 || u.rfind("postgres://", 0) == 0;
  if (!url && u.find('=') == std::string::npos)
    return make_error(Code::kInvalidArgument,
                      "storage.postgres_url: expected postgresql://user@host:port/database "
                      "or libpq key=value pairs");
  // The periodic backup copies the SQLite file (SQLite's online backup API).
  if (backup["interval_s"].get<std::int64_t>() > 0)
    return make_error(Code::kInvalidArgument,
                      "backup.interval_s: the periodic backup copies the SQLite database; with "
                      "storage.backend postgres use PostgreSQL's own (pg_basebackup, pg_dump)");
  return ok();
}

}  // namespace

// One assignment per configuration key, in the order of the schema: reads better whole.
Result<Config> to_config(const json& t) {
  Config c;
  c.database_path = t["database"]["path"].get<std::string>();
  BOOST_OUTCOME_TRY(fill_storage(c, t["storage"], t["backup"]));
  c.admin_token_file = t["auth"]["admin_token_file"].get<std::string>();
  const json& api = t["api"];
  c.api_listen = parse_host_port(api["listen"].get<std::string>()).value();
  c.api_tls_cert_file = opt_string(api["tls"]["cert_file"]);
  c.api_tls_key_file = opt_string(api["tls"]["key_file"]);
  if (c.api_tls_cert_file.empty() != c.api_tls_key_file.empty())
    return make_error(Code::kInvalidArgument,
                      "api.tls: cert_file and key_file must be set together");
  c.api_rate_limit_rps = api["rate_limit"]["requests_per_second"].get<std::int64_t>();
  c.api_max_connections = api["max_connections"].get<std::int64_t>();
  c.api_read_timeout_s = api["read_timeout_s"].get<std::int64_t>();
  c.api_idle_timeout_s = api["idle_timeout_s"].get<std::int64_t>();
  c.api_metrics_require_admin = api["metrics_require_admin"].get<bool>();
  c.acme_http_listen = parse_host_port(t["acme_http"]["listen"].get<std::string>()).value();
  fill_dns(c, t["dns"]);
  c.resolver_servers = host_ports(t["resolver"]["servers"]);
  c.heartbeat_timeout_s = t["agents"]["heartbeat_timeout_s"].get<std::int64_t>();
  c.scheduler_policy = t["scheduler"]["policy"].get<std::string>();
  c.changelog_retention = t["scheduler"]["changelog_retention"].get<std::int64_t>();
  c.changelog_retention_s = t["scheduler"]["changelog_retention_s"].get<std::int64_t>();
  c.log_level = t["log"]["level"].get<std::string>();
  c.log_format = t["log"]["format"].get<std::string>();
  c.certs_issuers = t["certs"]["issuers"];
  c.certs_platform_wildcard = t["certs"]["platform_wildcard"].get<bool>();
  c.certs_max_orders_in_flight = t["certs"]["max_orders_in_flight"].get<std::int64_t>();
  c.certs_kek_file = opt_string(t["certs"]["key_encryption_key_file"]);
  if (c.certs_kek_file.empty()) {
    auto slash = c.database_path.rfind('/');
    c.certs_kek_file =
        (slash == std::string::npos ? std::string(".") : c.database_path.substr(0, slash)) +
        "/kek.key";
  }
  const json& d = t["domains"];
  c.domains_recheck_interval_s = d["recheck_interval_s"].get<std::int64_t>();
  c.domains_max_per_workspace = d["max_per_workspace"].get<std::int64_t>();
  c.domains_moved_grace_s = d["moved_grace_s"].get<std::int64_t>();
  c.domains_reservation_s = d["reservation_s"].get<std::int64_t>();
  c.domains_verify_base_s = d["verify_base_s"].get<std::int64_t>();
  c.domains_queries_per_second = d["queries_per_second"].get<std::int64_t>();
  // null: derived from the query budget once the resolvers are known (load()).
  c.domains_max_concurrent_checks =
      d["max_concurrent_checks"].is_null() ? 0 : d["max_concurrent_checks"].get<std::int64_t>();
  c.jobs_concurrency = t["jobs"]["concurrency"].get<std::int64_t>();
  const json& p = t["probes"];
  c.probes_enabled = p["enabled"].get<bool>();
  c.probes_interval_s = p["interval_s"].get<std::int64_t>();
  c.probes_rate_per_s = p["rate_per_s"].get<std::int64_t>();
  c.probes_per_region_concurrency = p["per_region_concurrency"].get<std::int64_t>();
  c.probes_timeout_ms = p["timeout_ms"].get<std::int64_t>();
  c.probes_https_port = p["https_port"].get<std::int64_t>();
  c.probes_path = p["path"].get<std::string>();
  c.probes_ca_bundle = opt_string(p["ca_bundle"]);
  c.plans = t["plans"];
  c.events_certificate_expiring_days = t["events"]["certificate_expiring_days"].get<std::int64_t>();
  c.events_retention_s = t["events"]["retention_s"].get<std::int64_t>();
  const json& wh = t["webhooks"];
  c.webhooks_allow_private = wh["allow_private"].get<bool>();
  c.webhooks_timeout_ms = wh["timeout_ms"].get<std::int64_t>();
  c.webhooks_retry_base_ms = wh["retry_base_ms"].get<std::int64_t>();
  c.webhooks_retry_max_ms = wh["retry_max_ms"].get<std::int64_t>();
  c.webhooks_retry_window_s = wh["retry_window_s"].get<std::int64_t>();
  c.webhooks_lanes_per_endpoint = wh["lanes_per_endpoint"].get<std::int64_t>();
  c.webhooks_rotation_grace_s = wh["rotation_grace_s"].get<std::int64_t>();
  c.webhooks_priority = wh["priority"].get<std::string>();
  c.webhooks_record_ms = wh["record_ms"].get<std::int64_t>();
  c.effective = t;
  return c;
}

}  // namespace fc::config::detail
