#include "agent/protocol.hpp"

#include <doctest/doctest.h>

namespace fc::agent::proto {
namespace {

const char* kAssignments = R"({
  "region": "eu-west-1", "revision": 42, "complete": false, "future_field": {"x": 1},
  "assignments": [
    {"workspace_id": "ws_01", "name": "acme", "generation": 3, "action": "apply",
     "resources": {"memory_mib": 600, "cpu_millis": 250, "gpu": 0},
     "spec": {"image": "rocketchat/rocket.chat:6.5.0", "env": {"KEY": "value"}},
     "hostnames": ["acme.fleet.test", "chat.customer.com"],
     "certificates": [{"id": "crt_1", "hostnames": ["chat.customer.com"], "version": 2}],
     "extra": true},
    {"workspace_id": "ws_02", "generation": 7, "action": "delete"}
  ]})";

TEST_SUITE("agent") {
  TEST_CASE("assignments response decodes the API.md shape, ignoring unknown fields") {
    auto r = decode_body<AssignmentsResponse>(kAssignments);
    REQUIRE(r);
    const auto& v = r.value();
    CHECK(v.region == "eu-west-1");
    CHECK(v.revision == 42);
    CHECK_FALSE(v.complete);
    REQUIRE(v.assignments.size() == 2);
    const auto& a = v.assignments[0];
    CHECK(a.workspace_id == "ws_01");
    CHECK(a.name == "acme");
    CHECK(a.generation == 3);
    CHECK(a.action == Action::kApply);
    CHECK(a.resources == Resources{600, 250});
    CHECK(a.spec.image == std::optional<std::string>("rocketchat/rocket.chat:6.5.0"));
    CHECK(a.spec.env.at("KEY") == "value");
    CHECK(a.hostnames == std::vector<std::string>{"acme.fleet.test", "chat.customer.com"});
    REQUIRE(a.certificates.size() == 1);
    CHECK(a.certificates[0] == CertificateRef{"crt_1", {"chat.customer.com"}, 2});
    CHECK(v.assignments[1].action == Action::kDelete);
    CHECK(v.assignments[1].name.empty());
  }

  TEST_CASE("every DTO round-trips through JSON") {
    auto r = decode_body<AssignmentsResponse>(kAssignments);
    REQUIRE(r);
    json j = r.value();
    auto back = decode<AssignmentsResponse>(j);
    REQUIRE(back);
    CHECK(back.value() == r.value());

    // "suspended" only when true; absent decodes as false.
    Assignment sus;
    sus.workspace_id = "ws_09";
    sus.name = "zzz";
    sus.generation = 4;
    sus.suspended = true;
    CHECK(json(sus)["suspended"] == true);
    CHECK(decode<Assignment>(json(sus)).value() == sus);
    sus.suspended = false;
    CHECK_FALSE(json(sus).contains("suspended"));
    CHECK(decode<Assignment>(json(sus)).value() == sus);

    Heartbeat hb{"agent-a", std::string("0.1.0")};
    CHECK(decode<Heartbeat>(json(hb)).value() == hb);
    Heartbeat hb2{"agent-b", std::nullopt};
    CHECK_FALSE(json(hb2).contains("version"));
    CHECK(decode<Heartbeat>(json(hb2)).value() == hb2);

    StatusReport rep{{{"ws_01", 3, Phase::kRunning, ""},
                      {"ws_02", 7, Phase::kFailed, "boom"},
                      {"ws_03", 1, Phase::kProvisioning, ""},
                      {"ws_04", 2, Phase::kDeleted, ""},
                      {"ws_05", 4, Phase::kProgressing, "1 of 2 new replicas updated"},
                      {"ws_06", 4, Phase::kDegraded, "0 of 1 updated replicas available"},
                      {"ws_07", 4, Phase::kSuspended, "scaled to zero"}}};
    json rj = rep;
    CHECK(rj["workspaces"][1]["phase"] == "failed");
    CHECK(rj["workspaces"][1]["message"] == "boom");
    CHECK(rj["workspaces"][4]["phase"] == "progressing");
    CHECK(rj["workspaces"][5]["phase"] == "degraded");
    CHECK(rj["workspaces"][6]["phase"] == "suspended");
    CHECK(decode<StatusReport>(rj).value() == rep);

    CertificateBundle b{"crt_1",
                        2,
                        {"chat.customer.com"},
                        "-----BEGIN CERTIFICATE-----\n",
                        "-----BEGIN PRIVATE KEY-----\n",
                        "2027-01-01T00:00:00Z"};
    CHECK(decode<CertificateBundle>(json(b)).value() == b);
  }

  TEST_CASE("missing or mistyped required fields name the field") {
    struct Case {
      const char* body;
      const char* detail;
    };
    const Case cases[] = {
        {R"({"revision":1,"assignments":[]})", "region: missing"},
        {R"({"region":"r","assignments":[]})", "revision: missing"},
        {R"({"region":"r","revision":1})", "assignments: missing"},
        {R"({"region":"r","revision":"1","assignments":[]})", "revision: must be an integer"},
        {R"({"region":"r","revision":-1,"assignments":[]})", "revision: must not be negative"},
        {R"({"region":"r","revision":1,)"
         R"("assignments":[{"workspace_id":"w","action":"apply","name":"n"}]})",
         "assignments[0].generation: missing"},
        {R"({"region":"r","revision":1,)"
         R"("assignments":[{"workspace_id":"w","generation":1,"action":"apply"}]})",
         "assignments[0].name: missing"},
        {R"({"region":"r","revision":1,)"
         R"("assignments":[{"workspace_id":"w","generation":1,"action":"apply","name":"n",)"
         R"("suspended":"yes"}]})",
         "assignments[0].suspended: must be true or false"},
        {R"({"region":"r","revision":1,)"
         R"("assignments":[{"workspace_id":"w","generation":1,"action":"move"}]})",
         "assignments[0].action: must be apply or delete"},
        {R"({"region":"r","revision":1,"assignments":[7]})", "assignments[0]: must be an object"},
        {R"({"region":"r","revision":1,"assignments":[{"workspace_id":"w","generation":1,)"
         R"("action":"apply","name":"n","certificates":[{"id":"c"}]}]})",
         "assignments[0].certificates[0].version: missing"},
        {R"({"region":"r","revision":1,"assignments":[{"workspace_id":"w","generation":1,)"
         R"("action":"apply","name":"n","spec":{"env":{"A":1}}}]})",
         "assignments[0].spec.env.A: must be a string"},
        {R"([])", "body: must be an object"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.body);
      auto r = decode_body<AssignmentsResponse>(c.body);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Code::kInvalidArgument);
      CHECK(r.error().detail == c.detail);
    }
  }

  TEST_CASE("status report and heartbeat validation") {
    auto bad_phase = decode_body<StatusReport>(
        R"({"workspaces":[{"workspace_id":"w","generation":1,"phase":"sleeping"}]})");
    REQUIRE_FALSE(bad_phase);
    CHECK(bad_phase.error().detail ==
          "workspaces[0].phase: must be provisioning, progressing, running, degraded, suspended, "
          "failed or deleted");
    auto no_msg = decode_body<StatusReport>(
        R"({"workspaces":[{"workspace_id":"w","generation":1,"phase":"running"}]})");
    REQUIRE(no_msg);
    CHECK(no_msg.value().workspaces[0].message.empty());
    CHECK_FALSE(decode_body<Heartbeat>(R"({"agent_id":""})"));
    CHECK_FALSE(decode_body<Heartbeat>(R"({"version":"1"})"));
    CHECK_FALSE(decode_body<CertificateBundle>(R"({"id":"c","version":1,"hostnames":[]})"));
  }

  TEST_CASE("truncated and mutated bodies never throw") {
    const std::string body = kAssignments;
    for (std::size_t n = 0; n <= body.size(); ++n) {
      CHECK_NOTHROW((void)decode_body<AssignmentsResponse>(body.substr(0, n)));
    }
    // Type confusion: every value replaced by each JSON type in turn.
    json doc = json::parse(body);
    const json kinds[] = {nullptr,         true, -1, 1.5, "s", json::array(), json::object(),
                          json(UINT64_MAX)};
    std::vector<json::json_pointer> ptrs;
    const json flat = doc.flatten();
    for (const auto& [k, v] : flat.items()) ptrs.emplace_back(k);
    REQUIRE(ptrs.size() > 20);
    for (const auto& p : ptrs) {
      for (const auto& k : kinds) {
        json m = doc;
        m[p] = k;
        CHECK_NOTHROW((void)decode<AssignmentsResponse>(m));
      }
    }
  }

  TEST_CASE("malformed JSON is a parse error, not an exception") {
    auto r = decode_body<AssignmentsResponse>("{\"region\": ");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kParse);
    CHECK_FALSE(decode_body<StatusReport>(""));
  }
}

}  // namespace
}  // namespace fc::agent::proto
