// fleetcommand's configuration: embedded defaults, a JSON file, then
// FLEETCOMMAND_* environment overrides (docs/configuration.md).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace fc::config {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;
};

struct TsigKey {
  std::string name;
  std::string algorithm;  // hmac-sha256 (default), hmac-sha1, hmac-sha512
  std::string secret;     // base64
};

struct NameServer {
  std::string name;
  std::vector<std::string> ipv4;
  std::vector<std::string> ipv6;
};

struct Soa {
  std::string mname;  // empty: ns1.<zone>
  std::string rname;  // empty: hostmaster.<zone>
  std::uint32_t refresh = 3600;
  std::uint32_t retry = 600;
  std::uint32_t expire = 1209600;
  std::uint32_t minimum = 60;
};

struct Config {
  std::string database_path;
  std::string storage_backend;       // "sqlite" (the default) or "postgres"
  std::string storage_postgres_url;  // libpq URL; its password is a secret
  // Several daemons on one PostgreSQL (docs/storage.md "Several daemons"): the
  // URL the standbys forward to while this one leads (empty: http://api.listen)
  // and the leader lease's lifetime (renewed every third of it).
  std::string storage_advertise_url;
  std::int64_t storage_lease_ttl_ms = 3000;
  std::string admin_token_file;
  HostPort api_listen;
  std::string api_tls_cert_file;  // both set: TLS on the API listener
  std::string api_tls_key_file;
  std::int64_t api_rate_limit_rps = 0;
  std::int64_t api_max_connections = 0;
  std::int64_t api_read_timeout_s = 0;
  std::int64_t api_idle_timeout_s = 0;
  bool api_metrics_require_admin = false;
  HostPort acme_http_listen;
  HostPort dns_listen;
  std::string dns_zone;
  std::uint32_t dns_ttl = 60;
  std::vector<NameServer> dns_nameservers;
  Soa dns_soa;
  std::int64_t dns_rrl_rps = 0;
  std::size_t dns_udp_workers = 1;             // UDP threads (recvmmsg, SO_REUSEPORT when > 1)
  std::size_t dns_answer_cache_slots = 65536;  // per UDP worker; 0 = off
  std::vector<HostPort> dns_secondaries;
  std::vector<std::string> dns_axfr_allow;
  std::vector<TsigKey> dns_axfr_tsig;
  nlohmann::json dns_providers;  // validated list, parsed by dns/
  std::vector<HostPort> resolver_servers;
  std::int64_t heartbeat_timeout_s = 30;
  std::int64_t changelog_retention = 0;
  std::int64_t changelog_retention_s = 0;
  std::string log_level;
  std::string log_format;
  std::string scheduler_policy;
  nlohmann::json certs_issuers;  // validated list, parsed by certs/
  std::string certs_kek_file;
  bool certs_platform_wildcard = false;         // *.<dns.zone> by DNS-01 on the embedded server
  std::int64_t certs_max_orders_in_flight = 4;  // ACME orders running at once
  std::int64_t domains_recheck_interval_s = 0;
  std::int64_t domains_max_per_workspace = 0;
  std::int64_t domains_moved_grace_s = 0;
  std::int64_t domains_reservation_s = 0;
  std::int64_t domains_verify_base_s = 60;       // first verification retry; grows 5% per attempt
  std::int64_t domains_queries_per_second = 50;  // the verifier's DNS query-rate cap (token bucket)
  // Domains checked at once: domains.max_concurrent_checks when set, else
  // derived_concurrent_checks(queries_per_second, resolver_servers.size()).
  std::int64_t domains_max_concurrent_checks = 8;
  std::int64_t jobs_concurrency = 0;
  // Live checks (probes/, docs/probes.md).
  bool probes_enabled = true;
  std::int64_t probes_interval_s = 60;             // between rounds, jittered ±10 %
  std::int64_t probes_rate_per_s = 10;             // probes started per second, at most
  std::int64_t probes_per_region_concurrency = 4;  // probes in flight per region
  std::int64_t probes_timeout_ms = 5000;           // per step
  std::int64_t probes_https_port = 443;
  std::string probes_path = "/api/info";
  std::string probes_ca_bundle;  // "" = the system store; the internal root is always trusted
  nlohmann::json plans;          // validated object name -> plan, parsed by tenants/
  // Lifecycle events (events/, docs/events.md) and webhooks (webhooks/, docs/webhooks.md).
  std::int64_t events_certificate_expiring_days = 14;  // certificate.expiring this long before
  std::int64_t events_retention_s = 2592000;       // delivered events/deliveries kept (0 = forever)
  bool webhooks_allow_private = false;             // deliver to loopback/private/link-local (tests)
  std::int64_t webhooks_timeout_ms = 10000;        // per delivery attempt
  std::int64_t webhooks_retry_base_ms = 5000;      // first retry; doubles, ±20 % jitter
  std::int64_t webhooks_retry_max_ms = 3600000;    // cap of one retry delay
  std::int64_t webhooks_retry_window_s = 259200;   // 72 h of failures disable the endpoint
  std::int64_t webhooks_lanes_per_endpoint = 4;    // parallel lanes, keyed by workspace
  std::int64_t webhooks_rotation_grace_s = 86400;  // old secret still signs after a rotation
  std::string webhooks_priority = "low";           // delivery thread: idle | low | normal
  std::int64_t webhooks_record_ms = 250;           // delivered-up-to cursors written this often

  nlohmann::json effective;  // every key with its effective value (secrets included)
};

// Loads the configuration: defaults, then `file` (when given), then `env`
// (FLEETCOMMAND_* variables). An unknown key or a bad value is an error whose
// detail names the key. `resolv_conf` supplies the system resolvers.
// The verifier's concurrency when domains.max_concurrent_checks is not set
// (docs/domains.md "Sizing"): enough checks in flight to spend the whole
// query budget — queries_per_second × resolvers, a check costing about five
// queries of about 50 ms each (Little's law: budget × 50 ms) — that is one
// check per 20 q/s of budget, at least 8 (the former fixed default) and at
// most 256.
std::int64_t derived_concurrent_checks(std::int64_t queries_per_second, std::size_t resolvers);

Result<Config> load(const std::optional<std::string>& file,
                    const std::map<std::string, std::string>& env,
                    const std::string& resolv_conf = "/etc/resolv.conf");

// The effective configuration with every secret replaced by "<redacted>".
nlohmann::json redacted(const Config& cfg);

// The dotted keys whose values differ between two configurations (objects are
// compared key by key, anything else whole: "dns.providers" when one provider
// changed). Names only, never values, so the result may be logged.
std::vector<std::string> changed_keys(const Config& before, const Config& after);

// The process environment as a map, for load().
std::map<std::string, std::string> process_env();

Result<HostPort> parse_host_port(const std::string& s);

}  // namespace fc::config
