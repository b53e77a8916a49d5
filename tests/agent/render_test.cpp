#include "agent/detail/render.hpp"

#include <doctest/doctest.h>

namespace fc::agent {
namespace {

proto::Assignment sample() {
  proto::Assignment a;
  a.workspace_id = "ws_01JDABC";
  a.name = "acme";
  a.generation = 3;
  a.resources = {600, 250};
  a.hostnames = {"acme.fleet.test", "chat.customer.com"};
  a.certificates = {{"crt_9", {"chat.customer.com"}, 2}};
  return a;
}

proto::CertificateBundle bundle() {
  return {"crt_9", 2, {"chat.customer.com"}, "CERT-PEM", "KEY-PEM", "2027-01-01T00:00:00Z"};
}

const json* find(const std::vector<RenderedObject>& objs, const std::string& kind,
                 const std::string& name) {
  for (const auto& o : objs) {
    if (o.ref.kind == kind && o.ref.name == name) return &o.body;
  }
  return nullptr;
}

Result<std::vector<RenderedObject>> render_builtin(const proto::Assignment& a,
                                                   const std::map<std::string, std::string>& set) {
  auto t = parse_template(builtin_template_text());
  REQUIRE(t);
  auto b = bundle();
  CertLookup lookup = [&](const std::string& id) { return id == b.id ? &b : nullptr; };
  BOOST_OUTCOME_TRY(scope, workspace_scope(a, t.value(), set, lookup));
  return render(t.value(), scope);
}

TEST_SUITE("agent") {
  TEST_CASE("base64 known answers (RFC 4648 §10)") {
    CHECK(base64("") == "");
    CHECK(base64("f") == "Zg==");
    CHECK(base64("fo") == "Zm8=");
    CHECK(base64("foo") == "Zm9v");
    CHECK(base64("foob") == "Zm9vYg==");
    CHECK(base64("fooba") == "Zm9vYmE=");
    CHECK(base64("foobar") == "Zm9vYmFy");
    CHECK(base64(std::string("\xff\x00\x10", 3)) == "/wAQ");
  }

  TEST_CASE("built-in template: every hostname gets a rule with the ACME path") {
    auto objs = render_builtin(sample(), {});
    REQUIRE(objs);
    const json* ing = find(objs.value(), "Ingress", "ws-01jdabc");
    REQUIRE(ing != nullptr);
    const json& rules = (*ing)["spec"]["rules"];
    REQUIRE(rules.size() == 2);
    CHECK(rules[0]["host"] == "acme.fleet.test");
    CHECK(rules[1]["host"] == "chat.customer.com");
    for (const auto& r : rules) {
      const json& paths = r["http"]["paths"];
      REQUIRE(paths.size() == 2);
      CHECK(paths[0]["path"] == "/.well-known/acme-challenge/");
      CHECK(paths[0]["backend"]["service"]["name"] == "ws-01jdabc-acme");
      CHECK(paths[0]["backend"]["service"]["port"]["number"] == 8081);
      CHECK(paths[1]["backend"]["service"]["name"] == "ws-01jdabc");
    }
    CHECK((*ing)["spec"]["ingressClassName"] == "traefik");
    const json& tls = (*ing)["spec"]["tls"];
    REQUIRE(tls.size() == 1);
    CHECK(tls[0]["hosts"] == json::array({"chat.customer.com"}));
    CHECK(tls[0]["secretName"] == "ws-01jdabc-crt-9");
    const json* acme = find(objs.value(), "Service", "ws-01jdabc-acme");
    REQUIRE(acme != nullptr);
    CHECK((*acme)["spec"]["type"] == "ExternalName");
    CHECK((*acme)["spec"]["externalName"] == "fleetcommand-acme.fleet-system.svc.cluster.local");
  }

  TEST_CASE("a certificate becomes a kubernetes.io/tls Secret with base64 data") {
    auto objs = render_builtin(sample(), {});
    REQUIRE(objs);
    const json* sec = find(objs.value(), "Secret", "ws-01jdabc-crt-9");
    REQUIRE(sec != nullptr);
    CHECK((*sec)["type"] == "kubernetes.io/tls");
    CHECK((*sec)["data"]["tls.crt"] == base64("CERT-PEM"));
    CHECK((*sec)["data"]["tls.key"] == base64("KEY-PEM"));
    CHECK((*sec)["metadata"]["namespace"] == "fleet");
    CHECK(objs.value().size() == 5);  // Deployment, Service, acme Service, Ingress, Secret
  }

  TEST_CASE("--set overrides defaults; spec.image wins over --set image") {
    auto a = sample();
    auto objs = render_builtin(a, {{"namespace", "tenants"},
                                   {"replicas", "3"},
                                   {"image", "img:set"},
                                   {"acme_responder_port", "9090"},
                                   {"ingress_class", "traefik"}});
    REQUIRE(objs);
    const json* dep = find(objs.value(), "Deployment", "ws-01jdabc");
    REQUIRE(dep != nullptr);
    CHECK((*dep)["metadata"]["namespace"] == "tenants");
    CHECK((*dep)["spec"]["replicas"] == 3);
    const json& c = (*dep)["spec"]["template"]["spec"]["containers"][0];
    CHECK(c["image"] == "img:set");
    CHECK(c["resources"]["requests"]["memory"] == "600Mi");
    CHECK(c["resources"]["requests"]["cpu"] == "250m");
    // Rocket.Chat: port 3000, probes on /api/info.
    CHECK(c["ports"][0]["containerPort"] == 3000);
    CHECK(c["readinessProbe"]["httpGet"]["path"] == "/api/info");
    CHECK(c["readinessProbe"]["httpGet"]["port"] == 3000);
    CHECK(c["livenessProbe"]["httpGet"]["path"] == "/api/info");
    CHECK(find(objs.value(), "Ingress", "ws-01jdabc")->at("spec")["ingressClassName"] == "traefik");
    a.spec.image = "img:spec";
    a.spec.env = {{"LOG", "debug"}};
    auto objs2 = render_builtin(a, {{"image", "img:set"}});
    REQUIRE(objs2);
    const json& c2 = find(objs2.value(), "Deployment", "ws-01jdabc")
                         ->at("spec")["template"]["spec"]["containers"][0];
    CHECK(c2["image"] == "img:spec");
    CHECK(c2["env"].back() == json{{"name", "LOG"}, {"value", "debug"}});
    CHECK_FALSE(render_builtin(a, {{"replicas", "three"}}));  // |int needs an integer
  }

  TEST_CASE("suspended: replicas 0, \"/\" to the suspended page, the ACME path kept") {
    auto a = sample();
    a.suspended = true;
    auto objs = render_builtin(
        a, {{"suspended_service", "billing-page"}, {"suspended_port", "8080"}, {"replicas", "3"}});
    REQUIRE(objs);
    const json* dep = find(objs.value(), "Deployment", "ws-01jdabc");
    REQUIRE(dep);
    CHECK((*dep)["spec"]["replicas"] == 0);  // even over --set replicas
    const json* ing = find(objs.value(), "Ingress", "ws-01jdabc");
    REQUIRE(ing);
    for (const auto& rule : (*ing)["spec"]["rules"]) {
      const auto& paths = rule["http"]["paths"];
      CHECK(paths[0]["backend"]["service"]["name"] == "ws-01jdabc-acme");
      CHECK(paths[1]["backend"]["service"]["name"] == "billing-page");
      CHECK(paths[1]["backend"]["service"]["port"]["number"] == 8080);
    }
    // Resumed: the workspace's own Service again, --set replicas honoured.
    a.suspended = false;
    auto back = render_builtin(a, {{"replicas", "3"}});
    REQUIRE(back);
    CHECK((*find(back.value(), "Deployment", "ws-01jdabc"))["spec"]["replicas"] == 3);
    const json* ing2 = find(back.value(), "Ingress", "ws-01jdabc");
    CHECK((*ing2)["spec"]["rules"][0]["http"]["paths"][1]["backend"]["service"]["name"] ==
          "ws-01jdabc");
    CHECK((*ing2)["spec"]["rules"][0]["http"]["paths"][1]["backend"]["service"]["port"]["number"] ==
          80);
  }

  TEST_CASE("edge annotations: none by default, merged from the two variables") {
    auto plain = render_builtin(sample(), {});
    REQUIRE(plain);
    CHECK_FALSE(
        find(plain.value(), "Ingress", "ws-01jdabc")->at("metadata").contains("annotations"));
    CHECK_FALSE(
        find(plain.value(), "Service", "ws-01jdabc")->at("metadata").contains("annotations"));
    const std::string sticky =
        R"({"traefik.ingress.kubernetes.io/service.sticky.cookie":"true",)"
        R"("traefik.ingress.kubernetes.io/service.sticky.cookie.name":"fc_affinity"})";
    const std::string breaker =
        R"({"traefik.ingress.kubernetes.io/router.middlewares":"fleet-circuit-breaker@kubernetescrd",)"
        R"( "note":"{{name}} stays literal"})";
    auto objs = render_builtin(sample(),
                               {{"service_annotations", sticky}, {"ingress_annotations", breaker}});
    REQUIRE(objs);
    const json& svc = find(objs.value(), "Service", "ws-01jdabc")->at("metadata")["annotations"];
    CHECK(svc == json::parse(sticky));
    const json& ing = find(objs.value(), "Ingress", "ws-01jdabc")->at("metadata")["annotations"];
    CHECK(ing["traefik.ingress.kubernetes.io/router.middlewares"] ==
          "fleet-circuit-breaker@kubernetescrd");
    CHECK(ing["note"] == "{{name}} stays literal");
    // Only the workspace Service: the ExternalName one to the responder keeps none.
    CHECK_FALSE(
        find(objs.value(), "Service", "ws-01jdabc-acme")->at("metadata").contains("annotations"));
  }

  TEST_CASE("$merge: the template's own members win; a bad value is a render error") {
    auto tmpl = parse_template(R"({"objects":[{"apiVersion":"v1","kind":"ConfigMap",
      "metadata":{"name":"c","annotations":{"mine":"{{name}}","$merge":"extra"}}}]})");
    REQUIRE(tmpl);
    Scope root;
    root.vars = {{"name", "n"}, {"namespace", "fleet"}, {"extra", R"({"mine":"theirs","x":"1"})"}};
    auto objs = render(tmpl.value(), root);
    REQUIRE(objs);
    CHECK(objs.value()[0].body["metadata"]["annotations"] == json{{"mine", "n"}, {"x", "1"}});
    for (const char* bad : {"[1]", "{\"a\":1}", "not json", "{\"a\":{\"b\":\"c\"}}"}) {
      CAPTURE(bad);
      root.vars["extra"] = bad;
      auto r = render(tmpl.value(), root);
      REQUIRE_FALSE(r);
      CHECK(r.error().detail == "variable 'extra' must be a JSON object of strings ($merge)");
    }
    CHECK_FALSE(render_builtin(sample(), {{"ingress_annotations", "{"}}));
  }

  TEST_CASE("values with quotes, braces and placeholders cannot break the JSON") {
    auto a = sample();
    const std::string evil = R"(x", "kind": "ClusterRole"}, {"a": "{{name}} \u0000 ])";
    a.spec.env = {{"EVIL", evil}};
    auto objs = render_builtin(a, {{"mongo_url", "{{image}}\"}]"}});
    REQUIRE(objs);
    CHECK(objs.value().size() == 5);
    const json& env = find(objs.value(), "Deployment", "ws-01jdabc")
                          ->at("spec")["template"]["spec"]["containers"][0]["env"];
    CHECK(env.back()["value"] == evil);  // verbatim: substituted values are not re-expanded
    CHECK(env[2]["value"] == "{{image}}\"}]/ws-01jdabc");
    for (const auto& o : objs.value()) CHECK(o.ref.kind != "ClusterRole");
  }

  TEST_CASE("template errors: unknown variable, bad $each, bad names") {
    auto t1 = parse_template(
        R"({"objects":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{nope}}"}}]})");
    REQUIRE(t1);
    auto v1 = validate_template(t1.value(), {});
    REQUIRE_FALSE(v1);
    CHECK(v1.error().detail == "unknown variable 'nope'");
    CHECK(validate_template(t1.value(), {{"nope", "cm"}}));  // --set supplies it
    auto t2 = parse_template(R"({"objects":[{"$each":"bogus","item":{}}]})");
    REQUIRE(t2);
    CHECK_FALSE(validate_template(t2.value(), {}));
    auto t3 = parse_template(
        R"({"objects":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"../etc"}}]})");
    REQUIRE(t3);
    CHECK_FALSE(validate_template(t3.value(), {}));
    CHECK_FALSE(parse_template("{"));
    CHECK_FALSE(parse_template(R"({"objects":{}})"));
    CHECK_FALSE(parse_template(R"({"objects":[],"defaults":{"a":1}})"));
    auto t4 = parse_template(
        R"({"defaults":{"cm":"from-template"},"objects":[{"apiVersion":"v1","kind":"ConfigMap",)"
        R"("metadata":{"name":"{{ cm }}-{{name}}"}}]})");
    REQUIRE(t4);
    auto scope = workspace_scope(sample(), t4.value(), {}, nullptr);
    CHECK_FALSE(scope);  // the sample has a certificate and no lookup
    auto a = sample();
    a.certificates.clear();
    auto s2 = workspace_scope(a, t4.value(), {}, nullptr);
    REQUIRE(s2);
    auto objs = render(t4.value(), s2.value());
    REQUIRE(objs);
    CHECK(objs.value()[0].ref.key() == "fleet/configmap-from-template-acme.json");
  }

  TEST_CASE("k8s_name makes ids valid DNS labels") {
    CHECK(k8s_name("ws_01JDABC") == "ws-01jdabc");
    CHECK(k8s_name("crt_x.y") == "crt-x-y");
  }
}

}  // namespace
}  // namespace fc::agent
