// config::load: defaults, file, FLEETCOMMAND_* overrides, errors naming the key,
// and redaction of secrets.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "config/config.hpp"

using fc::config::load;
using Env = std::map<std::string, std::string>;

namespace {

// A config file in a private temp dir, removed at scope exit.
struct TempFile {
  std::filesystem::path dir;
  std::filesystem::path path;
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/fc-config-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    path = dir / "config.json";
    std::ofstream(path) << text;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::optional<std::string> str() const { return path.string(); }
};

const std::string kNoResolv = "/nonexistent/resolv.conf";

std::string load_error(const std::string& file_text, const Env& env = {}) {
  TempFile f(file_text);
  auto c = load(f.str(), env, kNoResolv);
  REQUIRE_FALSE(c);
  return c.error().detail;
}

std::string env_error(const Env& env) {
  auto c = load(std::nullopt, env, kNoResolv);
  REQUIRE_FALSE(c);
  return c.error().detail;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("embedded defaults load and match config/fleetcommand.json") {
    auto c = load(std::nullopt, {}, kNoResolv);
    REQUIRE(c);
    CHECK(c.value().api_listen.host == "127.0.0.1");
    CHECK(c.value().api_listen.port == 8080);
    CHECK(c.value().api_max_connections == 4096);
    CHECK(c.value().api_read_timeout_s == 10);
    CHECK(c.value().dns_zone == "fleet.test");
    CHECK(c.value().log_format == "text");
    CHECK(c.value().jobs_concurrency == 16);
    CHECK(c.value().certs_max_orders_in_flight == 4);
    const auto& backup = c.value().effective["backup"];
    CHECK(backup["interval_s"] == 0);  // periodic backup off
    CHECK(backup["keep"] == 7);
    CHECK(backup["dir"].is_null());  // app/: backups/ beside database.path
    CHECK(backup["upload_command"].is_null());
    CHECK(c.value().probes_enabled);
    CHECK(c.value().probes_interval_s == 60);
    CHECK(c.value().probes_https_port == 443);
    CHECK(c.value().probes_path == "/api/info");
    CHECK(c.value().probes_ca_bundle.empty());
    // No resolv.conf: the fallback resolver.
    REQUIRE(c.value().resolver_servers.size() == 1);
    CHECK(c.value().resolver_servers[0].str() == "127.0.0.1:53");
  }

  TEST_CASE("domains.max_concurrent_checks follows the query budget unless set") {
    using fc::config::derived_concurrent_checks;
    // One check per 20 q/s of budget (queries_per_second × resolvers), 8…256.
    CHECK(derived_concurrent_checks(50, 1) == 8);
    CHECK(derived_concurrent_checks(400, 1) == 20);
    CHECK(derived_concurrent_checks(400, 3) == 60);  // BENCHMARKS.md: 64 needed, 16 too few
    CHECK(derived_concurrent_checks(100000, 4) == 256);
    CHECK(derived_concurrent_checks(1, 0) == 8);
    // The default: derived (null in config/fleetcommand.json).
    auto def = load(std::nullopt, {}, kNoResolv);
    REQUIRE(def);
    CHECK(def.value().effective["domains"]["max_concurrent_checks"].is_null());
    CHECK(def.value().domains_max_concurrent_checks == 8);
    TempFile three(R"({"resolver":{"servers":["127.0.0.1:53","127.0.0.2:53","127.0.0.3:53"]},)"
                   R"("domains":{"queries_per_second":400}})");
    auto big = load(three.str(), {}, kNoResolv);
    REQUIRE(big);
    CHECK(big.value().domains_max_concurrent_checks == 60);
    // The resolvers from resolv.conf count too.
    TempFile resolv("nameserver 127.0.0.1\nnameserver 127.0.0.2\n");
    auto sys = load(std::nullopt, {{"FLEETCOMMAND_DOMAINS_QUERIES_PER_SECOND", "1000"}},
                    resolv.path.string());
    REQUIRE(sys);
    CHECK(sys.value().domains_max_concurrent_checks == 100);
    // An explicit setting is authoritative, above or below the derived value.
    TempFile set_low(R"({"resolver":{"servers":["127.0.0.1:53","127.0.0.2:53","127.0.0.3:53"]},)"
                     R"("domains":{"queries_per_second":400,"max_concurrent_checks":4}})");
    auto low = load(set_low.str(), {}, kNoResolv);
    REQUIRE(low);
    CHECK(low.value().domains_max_concurrent_checks == 4);
    auto env =
        load(three.str(), {{"FLEETCOMMAND_DOMAINS_MAX_CONCURRENT_CHECKS", "500"}}, kNoResolv);
    REQUIRE(env);
    CHECK(env.value().domains_max_concurrent_checks == 500);
    // null from the environment: derived again.
    auto null_env =
        load(three.str(), {{"FLEETCOMMAND_DOMAINS_MAX_CONCURRENT_CHECKS", "null"}}, kNoResolv);
    REQUIRE(null_env);
    CHECK(null_env.value().domains_max_concurrent_checks == 60);
    // Out of range or not an integer: named.
    auto zero = load_error(R"({"domains":{"max_concurrent_checks":0}})");
    CHECK(contains(zero, "domains.max_concurrent_checks"));
    CHECK(contains(zero, "must be between 1 and 1024 (or null: derived from the query budget)"));
    auto text = load_error(R"({"domains":{"max_concurrent_checks":"64"}})");
    CHECK(contains(text, "domains.max_concurrent_checks"));
    CHECK(contains(text, "must be an integer"));
  }

  TEST_CASE("an unknown key is an error naming the key") {
    CHECK(
        contains(load_error(R"({"api":{"listen":"127.0.0.1:1","bogus_key":1}})"), "api.bogus_key"));
    CHECK(contains(load_error(R"({"no_such_section":{}})"), "no_such_section"));
    CHECK(contains(load_error(R"({"api":{"tls":{"cert":"x"}}})"), "api.tls.cert"));
  }

  TEST_CASE("bad values of each type name the key and the reason") {
    struct Case {
      const char* text;
      const char* key;
      const char* reason;
    };
    const Case cases[] = {
        {R"({"api":{"listen":"nohost"}})", "api.listen", "host:port"},
        {R"({"api":{"listen":"127.0.0.1:70000"}})", "api.listen", "port"},
        {R"({"api":{"listen":"example.com:80"}})", "api.listen", "IP address"},
        {R"({"api":{"read_timeout_s":"ten"}})", "api.read_timeout_s", "integer"},
        {R"({"api":{"read_timeout_s":0}})", "api.read_timeout_s", "at least 1"},
        {R"({"api":{"max_connections":1.5}})", "api.max_connections", "integer"},
        {R"({"api":{"metrics_require_admin":"yes"}})", "api.metrics_require_admin",
         "true or false"},
        {R"({"log":{"level":"loud"}})", "log.level", "one of"},
        {R"({"probes":{"enabled":"yes"}})", "probes.enabled", "true or false"},
        {R"({"probes":{"interval_s":0}})", "probes.interval_s", "from 1 to 86400"},
        {R"({"probes":{"rate_per_s":0}})", "probes.rate_per_s", "between 1 and 10000"},
        {R"({"probes":{"per_region_concurrency":2000}})", "probes.per_region_concurrency",
         "between 1 and 1024"},
        {R"({"probes":{"timeout_ms":10}})", "probes.timeout_ms", "from 100 to 60000"},
        {R"({"probes":{"https_port":70000}})", "probes.https_port", "between 1 and 65535"},
        {R"({"probes":{"path":"api/info"}})", "probes.path", "starting with /"},
        {R"({"probes":{"path":"/a b"}})", "probes.path", "spaces"},
        {R"({"probes":{"ca_bundle":""}})", "probes.ca_bundle", "non-empty string"},
        {R"({"log":{"format":"xml"}})", "log.format", "text, json"},
        {R"({"dns":{"zone":"bad zone"}})", "dns.zone", "DNS name"},
        {R"({"dns":{"axfr_allow":["10.0.0.0/33"]}})", "dns.axfr_allow", "CIDR"},
        {R"({"dns":{"secondaries":"127.0.0.1:53"}})", "dns.secondaries", "JSON list"},
        {R"({"dns":{"axfr_tsig":[{"name":"k."}]}})", "dns.axfr_tsig[0].secret", "required"},
        {R"({"certs":{"issuers":[]}})", "certs.issuers", "non-empty"},
        {R"({"certs":{"max_orders_in_flight":0}})", "certs.max_orders_in_flight", "between"},
        {R"({"certs":{"issuers":[{"type":"acme","directory":"http://x"}]}})",
         "certs.issuers[0].directory", "https://"},
        {R"({"certs":{"issuers":[{"type":"internal","validity_s":5}]}})",
         "certs.issuers[0].validity_s", "between 10 and"},
        {R"({"certs":{"issuers":[{"type":"internal","budgets":{}}]}})", "certs.issuers[0].budgets",
         "unknown key"},
        {R"({"certs":{"issuers":[{"type":"acme","directory":"https://ca/dir",)"
         R"("budgets":{"new_orders":{"capacity":3}}}]}})",
         "certs.issuers[0].budgets.new_orders.period_s", "required"},
        {R"({"certs":{"issuers":[{"type":"acme","directory":"https://ca/dir",)"
         R"("budgets":{"duplicates":{"capacity":-1,"period_s":60}}}]}})",
         "certs.issuers[0].budgets.duplicates.capacity", "between 0 and"},
        {R"({"certs":{"issuers":[{"type":"acme","directory":"https://ca/dir",)"
         R"("budgets":{"orders_per_day":3}}]}})",
         "certs.issuers[0].budgets.orders_per_day", "unknown key"},
        {R"({"plans":[]})", "plans", "JSON object"},
        {R"({"plans":{"Small":{"resources":{"memory_mib":1,"cpu_millis":1}}}})", "plans.Small",
         "a-z"},
        {R"({"plans":{"small":{}}})", "plans.small.resources", "required"},
        {R"({"plans":{"small":{"resources":{"memory_mib":0,"cpu_millis":1}}}})",
         "plans.small.resources.memory_mib", "between 1 and"},
        {R"({"plans":{"s":{"resources":{"memory_mib":1,"cpu_millis":1},"max_workspaces":0}}})",
         "plans.s.max_workspaces", "between 1 and"},
        {R"({"plans":{"s":{"resources":{"memory_mib":1,"cpu_millis":1},"allowed_regions":"eu"}}})",
         "plans.s.allowed_regions", "JSON list"},
        {R"({"plans":{"s":{"resources":{"memory_mib":1,"cpu_millis":1},"trial_days":0}}})",
         "plans.s.trial_days", "1 to 3650"},
        {R"({"plans":{"s":{"resources":{"memory_mib":1,"cpu_millis":1},"price":3}}})",
         "plans.s.price", "unknown key"},
        {R"({"database":{"path":""}})", "database.path", "non-empty"},
        {R"({"api":"127.0.0.1:1"})", "api", "JSON object"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto e = load_error(c.text);
      CAPTURE(e);
      CHECK(contains(e, c.key));
      CHECK(contains(e, c.reason));
    }
  }

  TEST_CASE("a file that is not JSON, or not an object, or missing") {
    CHECK(contains(load_error("{not json"), "not valid JSON"));
    CHECK(contains(load_error("[1,2]"), "JSON object"));
    auto c = load(std::string("/nonexistent/fc.json"), {}, kNoResolv);
    REQUIRE_FALSE(c);
    CHECK(contains(c.error().detail, "/nonexistent/fc.json"));
  }

  TEST_CASE("environment overrides: strings, integers, booleans, JSON lists and objects") {
    Env env = {{"FLEETCOMMAND_API_LISTEN", "127.0.0.1:9999"},
               {"FLEETCOMMAND_API_READ_TIMEOUT_S", "3"},
               {"FLEETCOMMAND_API_METRICS_REQUIRE_ADMIN", "true"},
               {"FLEETCOMMAND_DNS_SECONDARIES", R"(["127.0.0.1:5300","[::1]:5301"])"},
               {"FLEETCOMMAND_DNS_SOA", R"({"refresh":77})"},
               {"PATH", "/usr/bin"}};
    auto c = load(std::nullopt, env, kNoResolv);
    REQUIRE(c);
    CHECK(c.value().api_listen.port == 9999);
    CHECK(c.value().api_read_timeout_s == 3);
    CHECK(c.value().api_metrics_require_admin);
    REQUIRE(c.value().dns_secondaries.size() == 2);
    CHECK(c.value().dns_secondaries[1].host == "::1");
    CHECK(c.value().dns_secondaries[1].port == 5301);
    CHECK(c.value().dns_soa.refresh == 77);
    CHECK(c.value().dns_soa.retry == 600);  // the rest of the object keeps its defaults
  }

  TEST_CASE("the environment wins over the file") {
    TempFile f(R"({"api":{"listen":"127.0.0.1:1111","read_timeout_s":5},"log":{"level":"debug"}})");
    auto c = load(f.str(), {{"FLEETCOMMAND_API_LISTEN", "127.0.0.1:2222"}}, kNoResolv);
    REQUIRE(c);
    CHECK(c.value().api_listen.port == 2222);
    CHECK(c.value().api_read_timeout_s == 5);  // from the file
    CHECK(c.value().log_level == "debug");
  }

  TEST_CASE("bad environment values name the key and the variable") {
    auto e = env_error({{"FLEETCOMMAND_API_READ_TIMEOUT_S", "soon"}});
    CHECK(contains(e, "api.read_timeout_s"));
    CHECK(contains(e, "FLEETCOMMAND_API_READ_TIMEOUT_S"));
    e = env_error({{"FLEETCOMMAND_API_METRICS_REQUIRE_ADMIN", "1"}});
    CHECK(contains(e, "true or false"));
    e = env_error({{"FLEETCOMMAND_DNS_SECONDARIES", "[\"nope\"]"}});
    CHECK(contains(e, "dns.secondaries[0]"));
    e = env_error({{"FLEETCOMMAND_DNS_AXFR_ALLOW", "[1,"}});
    CHECK(contains(e, "not a valid JSON value"));
    e = env_error({{"FLEETCOMMAND_NO_SUCH_THING", "1"}});
    CHECK(contains(e, "FLEETCOMMAND_NO_SUCH_THING"));
    e = env_error({{"FLEETCOMMAND_API_LISTEN", "127.0.0.1:99999"}});
    CHECK(contains(e, "api.listen"));
  }

  TEST_CASE(
      "issuer budgets (legacy counts and token buckets) and the internal validity are accepted") {
    TempFile f(R"({"certs":{"issuers":[
      {"type":"acme","directory":"https://127.0.0.1:14000/dir",
       "budgets":{"orders_per_3h":10,"certs_per_domain":{"capacity":2,"period_s":604800},
                  "failed_validations":{"capacity":0,"period_s":3600}}},
      {"type":"internal","validity_s":30}]}})");
    auto c = load(f.str(), {}, kNoResolv);
    if (!c) FAIL(c.error().detail);
    CHECK(c.value().certs_issuers[1]["validity_s"] == 30);
    CHECK(c.value().certs_issuers[0]["budgets"]["certs_per_domain"]["capacity"] == 2);
  }

  TEST_CASE("redacted() hides TSIG secrets and EAB HMAC keys, and nothing else changes") {
    TempFile f(R"({
      "dns":{"axfr_tsig":[{"name":"xfr.fleet.test","secret":"c2VjcmV0LXRzaWctdmFsdWU="}],
             "providers":[{"type":"rfc2136","server":"127.0.0.1:53","zone":"fleet.test",
                           "tsig":{"name":"up.fleet.test","secret":"cHJvdmlkZXItc2VjcmV0"}}]},
      "certs":{"issuers":[{"type":"acme","directory":"https://127.0.0.1:14000/dir",
                           "eab":{"kid":"kid-1","hmac_key":"ZWFiLWhtYWMta2V5"}}]}})");
    auto c = load(f.str(), {}, kNoResolv);
    if (!c) FAIL(c.error().detail);
    std::string full = c.value().effective.dump();
    CHECK(contains(full, "c2VjcmV0LXRzaWctdmFsdWU="));  // the loaded value keeps it
    auto r = fc::config::redacted(c.value());
    std::string shown = r.dump();
    CHECK_FALSE(contains(shown, "c2VjcmV0LXRzaWctdmFsdWU="));
    CHECK_FALSE(contains(shown, "cHJvdmlkZXItc2VjcmV0"));
    CHECK_FALSE(contains(shown, "ZWFiLWhtYWMta2V5"));
    CHECK(r["dns"]["axfr_tsig"][0]["secret"] == "<redacted>");
    CHECK(r["dns"]["axfr_tsig"][0]["name"] == "xfr.fleet.test");
    CHECK(r["certs"]["issuers"][0]["eab"]["kid"] == "kid-1");
    CHECK(r["api"] == c.value().effective["api"]);
  }

  TEST_CASE("storage.backend: sqlite by default; postgres needs a connection string") {
    auto c = load(std::nullopt, {}, kNoResolv);
    REQUIRE(c);
    CHECK(c.value().storage_backend == "sqlite");
    CHECK(contains(load_error(R"({"storage":{"backend":"mysql"}})"), "storage.backend"));
    CHECK(contains(load_error(R"({"storage":{"backend":"postgres"}})"),
                   "storage.postgres_url: required when storage.backend is postgres"));
    const auto e = load_error(R"({"storage":{"backend":"postgres","postgres_url":"db.internal"}})");
    CHECK(contains(e, "storage.postgres_url: expected postgresql://"));
    for (const char* url :
         {"postgresql://fc:pw@127.0.0.1/fc", "postgres://db/fc", "host=db dbname=fc password=pw"}) {
      TempFile f(std::string(R"({"storage":{"backend":"postgres","postgres_url":")") + url +
                 R"("}})");
      auto p = load(f.str(), {}, kNoResolv);
      CHECK_MESSAGE(p, url);
      if (p) CHECK(p.value().storage_postgres_url == url);
    }
  }

  TEST_CASE("redacted() hides the password of storage.postgres_url") {
    TempFile f(R"({"storage":{"postgres_url":"postgresql://fc:s3cr3t@db:5432/fleet"}})");
    auto c = load(f.str(), {}, kNoResolv);
    if (!c) FAIL(c.error().detail);
    auto r = fc::config::redacted(c.value());
    CHECK(r["storage"]["postgres_url"] == "postgresql://fc:<redacted>@db:5432/fleet");
    TempFile g(R"({"storage":{"postgres_url":"host=db password='a b' dbname=fleet"}})");
    auto d = load(g.str(), {}, kNoResolv);
    REQUIRE(d);
    CHECK(fc::config::redacted(d.value())["storage"]["postgres_url"] ==
          "host=db password=<redacted> dbname=fleet");
  }

  TEST_CASE("changed_keys names the dotted keys that differ, never their values") {
    auto a = load(std::nullopt, {}, kNoResolv);
    REQUIRE(a);
    CHECK(fc::config::changed_keys(a.value(), a.value()).empty());
    TempFile f(R"({"log":{"level":"debug"},"api":{"rate_limit":{"requests_per_second":5}},
      "dns":{"axfr_tsig":[{"name":"xfr.fleet.test","secret":"c2VjcmV0LXRzaWctdmFsdWU="}]}})");
    auto b = load(f.str(), {{"FLEETCOMMAND_API_LISTEN", "127.0.0.1:2222"}}, kNoResolv);
    if (!b) FAIL(b.error().detail);
    auto keys = fc::config::changed_keys(a.value(), b.value());
    std::vector<std::string> want = {"api.listen", "api.rate_limit.requests_per_second",
                                     "dns.axfr_tsig", "log.level"};
    CHECK(keys == want);
    for (const auto& k : keys) CHECK_FALSE(contains(k, "c2VjcmV0"));
  }

  TEST_CASE("parse_host_port") {
    CHECK(fc::config::parse_host_port("[::1]:53").value().str() == "[::1]:53");
    CHECK(fc::config::parse_host_port("localhost:80").value().host == "127.0.0.1");
    CHECK_FALSE(fc::config::parse_host_port("::1:53"));
    CHECK_FALSE(fc::config::parse_host_port("[::1]53"));
    CHECK_FALSE(fc::config::parse_host_port("127.0.0.1:"));
    CHECK_FALSE(fc::config::parse_host_port("127.0.0.1:-1"));
  }

  TEST_CASE("plans: a valid set loads whole") {
    auto c = load(std::nullopt,
                  {{"FLEETCOMMAND_PLANS",
                    R"({"small":{"resources":{"memory_mib":256,"cpu_millis":100},)"
                    R"("max_workspaces":3,"max_custom_domains":2,"allowed_regions":["eu"],)"
                    R"("trial_days":14}})"}},
                  kNoResolv);
    REQUIRE(c);
    CHECK(c.value().plans["small"]["max_workspaces"] == 3);
    CHECK(c.value().plans["small"]["allowed_regions"][0] == "eu");
  }

  TEST_CASE("backup keys: set and validated") {
    auto c = load(std::nullopt,
                  {{"FLEETCOMMAND_BACKUP_INTERVAL_S", "3600"},
                   {"FLEETCOMMAND_BACKUP_UPLOAD_COMMAND", "true"}},
                  kNoResolv);
    REQUIRE(c);
    CHECK(c.value().effective["backup"]["interval_s"] == 3600);
    CHECK(c.value().effective["backup"]["upload_command"] == "true");
    for (const auto& [k, v] : Env{{"FLEETCOMMAND_BACKUP_KEEP", "0"},
                                  {"FLEETCOMMAND_BACKUP_INTERVAL_S", "-1"},
                                  {"FLEETCOMMAND_BACKUP_DIR", ""}}) {
      auto bad = load(std::nullopt, {{k, v}}, kNoResolv);
      REQUIRE_FALSE(bad);
      CHECK(bad.error().detail.find("backup.") != std::string::npos);
    }
  }

  TEST_CASE("webhooks.priority: low by default, idle and normal accepted, else named") {
    auto d = load(std::nullopt, {}, kNoResolv);
    REQUIRE(d);
    CHECK(d.value().webhooks_priority == "low");
    auto idle = load(std::nullopt, {{"FLEETCOMMAND_WEBHOOKS_PRIORITY", "idle"}}, kNoResolv);
    REQUIRE(idle);
    CHECK(idle.value().webhooks_priority == "idle");
    CHECK(contains(load_error(R"({"webhooks":{"priority":"fast"}})"), "webhooks.priority"));
    CHECK(contains(env_error({{"FLEETCOMMAND_WEBHOOKS_PRIORITY", "realtime"}}), "one of"));
  }
}
