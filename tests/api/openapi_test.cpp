// The OpenAPI document (api/openapi/openapi.yaml, embedded) against the
// daemon's real route tables: every route is documented with the token kinds
// its scope admits, and every documented operation is a route.
#include <doctest/doctest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "api/detail/openapi.hpp"
#include "api/server.hpp"
#include "certs/service.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "domains/service.hpp"
#include "releases/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/test_util.hpp"
#include "tenants/service.hpp"
#include "webhooks/service.hpp"

// In a namespace of its own: unity builds batch this file with the other api tests.
namespace fc::openapi_test {

using nlohmann::json;

namespace {

const std::set<std::string> kOasMethods = {"get",    "put",  "post",   "patch",
                                           "delete", "head", "options"};

std::string lower_method(std::string m) {
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m;
}

// The token kinds a route's scope lets reach its handler, as the document's
// security scheme names. kAnyToken serves only agents (others get 404).
std::set<std::string> oas_kinds_of(api::Scope s) {
  switch (s) {
    case api::Scope::kPublic: return {};
    case api::Scope::kAdmin: return {"admin"};
    case api::Scope::kAgent:
    case api::Scope::kAnyToken: return {"agent"};
    case api::Scope::kAdminOrTenant: return {"admin", "tenant"};
  }
  return {"?"};
}

// The scheme names of an operation's security (the document's default when
// absent); `public_ok` says whether an empty requirement ({}) is listed.
std::set<std::string> oas_security_names(const json& doc, const json& op, bool& public_ok) {
  const json& sec = op.contains("security") ? op["security"] : doc["security"];
  std::set<std::string> names;
  public_ok = sec.empty();
  for (const auto& req : sec) {
    if (req.empty()) public_ok = true;
    for (const auto& [name, _] : req.items()) names.insert(name);
  }
  return names;
}

// Builds the API service as the daemon does (certificates and domains
// included) on a fresh database and hands its two routers to `check`.
template <class F>
void with_daemon_routers(F check) {
  storage::test::TempDir dir;
  storage::test::open_migrated(dir.file("oas.db"));
  auto db = storage::Database::open({dir.file("oas.db")});
  REQUIRE(db);
  auto cfg = config::load(std::nullopt, {}, "/dev/null");
  REQUIRE(cfg);
  asio::io_context io;
  ManualClock clock;
  scheduler::Service sched(io, *db.value(), clock, scheduler::Service::Options{});
  certs::Service certs(io, *db.value(), clock, certs::ServiceOptions{});
  domains::Service doms(io, *db.value(), clock, sched, domains::Options{});
  api::Service svc(io, cfg.value(), *db.value(), clock, sched);
  svc.set_certs(&certs);
  svc.set_domains(&doms);
  releases::Service rel(io, *db.value(), sched, clock);
  svc.set_releases(&rel);
  tenants::Service ten(*db.value(), clock, sched, tenants::Plans{});
  svc.set_tenants(&ten);
  webhooks::Service hooks(io, *db.value(), clock, webhooks::Options{}, webhooks::Sealer{});
  svc.set_webhooks(&hooks);
  REQUIRE(svc.init());
  check(svc.router(), svc.acme_router());
}

}  // namespace

TEST_SUITE("api") {
  TEST_CASE("the OpenAPI document and the router's route table match in both directions") {
    const json doc = json::parse(api::detail::kOpenapiJson);
    REQUIRE(doc["openapi"].get<std::string>().rfind("3.1", 0) == 0);
    std::set<std::string> documented;
    for (const auto& [path, item] : doc["paths"].items())
      for (const auto& [method, _] : item.items())
        if (kOasMethods.count(method)) documented.insert(lower_method(method) + " " + path);
    with_daemon_routers([&](const api::Router& main, const api::Router& acme) {
      std::set<std::string> routed;
      for (const api::Router* rt : {&main, &acme}) {
        for (const auto& r : rt->routes()) {
          const std::string key = lower_method(r.method) + " " + r.pattern;
          routed.insert(key);
          INFO("route: " << key);
          CHECK_MESSAGE(documented.count(key), "route missing from api/openapi/openapi.yaml");
          if (!documented.count(key)) continue;
          bool public_ok = false;
          auto names =
              oas_security_names(doc, doc["paths"][r.pattern][lower_method(r.method)], public_ok);
          if (r.scope == api::Scope::kPublic)
            CHECK_MESSAGE(public_ok, "a public route must list an empty security requirement");
          else
            CHECK(names == oas_kinds_of(r.scope));
        }
      }
      for (const auto& key : documented) {
        INFO("documented operation: " << key);
        CHECK_MESSAGE(routed.count(key), "documented in openapi.yaml but not routed");
      }
      CHECK(routed.size() == documented.size());
    });
  }

  TEST_CASE("the embedded ETags differ and are quoted") {
    const std::string a = api::detail::kOpenapiJsonEtag, b = api::detail::kDocsHtmlEtag;
    CHECK(a.size() > 2);
    CHECK(a.front() == '"');
    CHECK(a.back() == '"');
    CHECK(a != b);
    CHECK(std::string(api::detail::kDocsHtml).find("<script") == std::string::npos);
  }
}

}  // namespace fc::openapi_test
