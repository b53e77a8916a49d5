#include "agent/detail/engine.hpp"

#include <doctest/doctest.h>

#include "observe_fixtures.hpp"
#include "test_util.hpp"

namespace fc::agent {
namespace {

namespace fs = std::filesystem;
using proto::Action;
using proto::Phase;

proto::Assignment ws(const std::string& id, const std::string& name, std::int64_t gen,
                     Action action = Action::kApply) {
  proto::Assignment a;
  a.workspace_id = id;
  a.name = name;
  a.generation = gen;
  a.action = action;
  a.resources = {512, 100};
  a.hostnames = {name + ".fleet.test"};
  return a;
}

// A sink that fails on demand, over a real DirSink.
class FlakySink final : public Sink {
 public:
  explicit FlakySink(fs::path root) : dir_(std::move(root)) {}
  Status apply(const std::vector<RenderedObject>& o) override {
    if (fail) return make_error(Code::kUnavailable, "cluster down");
    return dir_.apply(o);
  }
  Status remove(const std::vector<ObjectRef>& r) override {
    if (fail) return make_error(Code::kUnavailable, "cluster down");
    return dir_.remove(r);
  }
  bool fail = false;

 private:
  DirSink dir_;
};

struct Fixture {
  test::TempDir dir;
  FlakySink sink{dir.path()};
  Engine engine{parse_template(builtin_template_text()).value(), {}, sink};
  AgentState st;
  CertCache certs;
  fs::path file(const std::string& kind, const std::string& name) {
    return dir.path() / "fleet" / (kind + "-" + name + ".json");
  }
};

TEST_SUITE("agent") {
  TEST_CASE("complete snapshot applies, reports running, and replaces local state") {
    Fixture f;
    proto::AssignmentsResponse snap{"eu", 5, true, {ws("ws_a", "a", 1), ws("ws_b", "b", 2)}};
    auto out = f.engine.sync(f.st, snap, f.certs);
    REQUIRE(out.size() == 2);
    CHECK(out[0] == proto::WorkspaceStatus{"ws_a", 1, Phase::kRunning, ""});
    CHECK(out[1] == proto::WorkspaceStatus{"ws_b", 2, Phase::kRunning, ""});
    CHECK(f.st.revision == 5);
    CHECK(f.st.region == "eu");
    CHECK(fs::exists(f.file("deployment", "ws-a")));
    CHECK(fs::exists(f.file("ingress", "ws-b")));
    CHECK(f.st.workspaces.at("ws_a").objects.size() == 4);

    // A later snapshot without ws_a removes its objects.
    proto::AssignmentsResponse snap2{"eu", 9, true, {ws("ws_b", "b", 2)}};
    auto out2 = f.engine.sync(f.st, snap2, f.certs);
    CHECK(out2.size() == 1);
    CHECK_FALSE(fs::exists(f.file("deployment", "ws-a")));
    CHECK_FALSE(fs::exists(f.file("service", "ws-a-acme")));
    CHECK(fs::exists(f.file("deployment", "ws-b")));
    CHECK(f.st.workspaces.count("ws_a") == 0);
  }

  TEST_CASE("delete removes the workspace's objects and reports deleted") {
    Fixture f;
    f.engine.sync(f.st, {"eu", 1, true, {ws("ws_a", "a", 1)}}, f.certs);
    REQUIRE(fs::exists(f.file("deployment", "ws-a")));
    proto::Assignment del;
    del.workspace_id = "ws_a";
    del.generation = 2;
    del.action = Action::kDelete;  // no name: names come from the recorded objects
    auto out = f.engine.sync(f.st, {"eu", 2, false, {del}}, f.certs);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == proto::WorkspaceStatus{"ws_a", 2, Phase::kDeleted, ""});
    CHECK_FALSE(fs::exists(f.file("deployment", "ws-a")));
    CHECK_FALSE(fs::exists(f.file("ingress", "ws-a")));
    CHECK(f.st.workspaces.empty());
  }

  TEST_CASE("certificates: missing ones are listed, then rendered as Secrets; stale Secrets go") {
    Fixture f;
    auto a = ws("ws_a", "a", 1);
    a.hostnames.push_back("chat.example.com");
    a.certificates = {{"crt_1", {"chat.example.com"}, 1}};
    proto::AssignmentsResponse r{"eu", 1, false, {a}};
    auto missing = Engine::missing_certificates(r, f.certs);
    REQUIRE(missing.size() == 1);
    auto failed = f.engine.sync(f.st, r, f.certs);  // not fetched yet → failed, retried later
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].phase == Phase::kFailed);
    CHECK(failed[0].message.find("crt_1") != std::string::npos);

    f.certs["crt_1"] = {"crt_1", 1, {"chat.example.com"}, "PEM1", "KEY1", "2030-01-01T00:00:00Z"};
    CHECK(Engine::missing_certificates(r, f.certs).empty());
    auto retried = f.engine.retry_failed(f.st, f.certs);
    REQUIRE(retried.size() == 1);
    CHECK(retried[0].phase == Phase::kRunning);
    auto secret = f.file("secret", "ws-a-crt-1");
    REQUIRE(fs::exists(secret));
    CHECK(json::parse(test::slurp(secret))["data"]["tls.crt"] == base64("PEM1"));

    // A new version must be fetched again; dropping the certificate deletes its Secret.
    a.certificates[0].version = 2;
    CHECK(Engine::missing_certificates({"eu", 2, false, {a}}, f.certs).size() == 1);
    a.certificates.clear();
    a.generation = 2;
    auto out = f.engine.sync(f.st, {"eu", 3, false, {a}}, f.certs);
    CHECK(out[0].phase == Phase::kRunning);
    CHECK_FALSE(fs::exists(secret));
    CHECK(Engine::referenced_certificates(f.st).empty());
  }

  TEST_CASE("apply failure reports failed and keeps the previous objects (static stability)") {
    Fixture f;
    f.engine.sync(f.st, {"eu", 1, true, {ws("ws_a", "a", 1)}}, f.certs);
    f.sink.fail = true;
    auto out = f.engine.sync(f.st, {"eu", 2, false, {ws("ws_a", "a", 2)}}, f.certs);
    REQUIRE(out.size() == 1);
    CHECK(out[0].phase == Phase::kFailed);
    CHECK(out[0].generation == 2);
    CHECK(out[0].message == "apply: cluster down");
    CHECK(fs::exists(f.file("deployment", "ws-a")));
    // A complete snapshot that cannot delete keeps the record for later.
    auto out2 = f.engine.sync(f.st, {"eu", 3, true, {}}, f.certs);
    CHECK(out2.empty());
    CHECK(f.st.workspaces.count("ws_a") == 1);
    f.sink.fail = false;
    auto retried = f.engine.retry_failed(f.st, f.certs);
    REQUIRE(retried.size() == 1);
    CHECK(retried[0] == proto::WorkspaceStatus{"ws_a", 2, Phase::kRunning, ""});
  }

  TEST_CASE("re-applying the same generation is a no-op") {
    Fixture f;
    proto::AssignmentsResponse r{"eu", 1, true, {ws("ws_a", "a", 1)}};
    f.engine.sync(f.st, r, f.certs);
    f.sink.fail = true;  // would fail if it touched the sink
    auto out = f.engine.sync(f.st, r, f.certs);
    REQUIRE(out.size() == 1);
    CHECK(out[0].phase == Phase::kRunning);
  }

  TEST_CASE("observing: applied is progressing until the rollout is observed finished") {
    test::TempDir dir;
    FlakySink sink{dir.path()};
    ObserveMode mode;
    mode.observing = true;
    Engine engine{parse_template(builtin_template_text()).value(), {}, sink, mode};
    AgentState st;
    CertCache certs;
    auto a = ws("ws_a", "a", 3);
    auto out = engine.sync(st, {"eu", 1, true, {a}}, certs);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == proto::WorkspaceStatus{"ws_a", 3, Phase::kProgressing, "applied"});

    auto list = [](std::vector<nlohmann::json> items) {
      nlohmann::json l = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
      return observe::ClusterView::parse(l.dump()).value();
    };
    auto now = *observe::parse_time("2026-12-06T12:10:00Z");
    auto failed_pod = test::pod_waiting("ErrImagePull", "not found", "2026-12-06T12:00:00Z");
    nlohmann::json down_dep = test::deployment_available();
    down_dep["status"]["availableReplicas"] = 0;
    auto obs = engine.observe(st, list({down_dep, failed_pod}), now);
    REQUIRE(obs.size() == 1);
    CHECK(obs[0] == proto::WorkspaceStatus{"ws_a", 3, Phase::kFailed,
                                           "container app: ErrImagePull: not found"});
    sink.fail = true;  // a failed rollout is observed, never re-applied
    CHECK(engine.retry_failed(st, certs).empty());
    CHECK(engine.observe(st, list({down_dep, failed_pod}), now).empty());  // unchanged

    auto view = list({test::deployment_available(), test::pod_running()});
    obs = engine.observe(st, view, now);
    REQUIRE(obs.size() == 1);
    CHECK(obs[0] == proto::WorkspaceStatus{"ws_a", 3, Phase::kRunning, ""});
    obs = engine.observe(st, list({down_dep, failed_pod}), now);
    REQUIRE(obs.size() == 1);  // was running: losing availability is degraded
    CHECK(obs[0].phase == Phase::kDegraded);
    CHECK(obs[0].message ==
          "0 of 1 updated replicas available; container app: ErrImagePull: not found");

    sink.fail = false;
    auto b = ws("ws_a", "a", 4);  // a new generation is applied and observed afresh
    out = engine.sync(st, {"eu", 2, false, {b}}, certs);
    REQUIRE(out.size() == 1);
    CHECK(out[0].phase == Phase::kProgressing);
    obs = engine.observe(st, view, now);  // the Deployment still says generation 3
    REQUIRE(obs.size() == 1);
    CHECK(obs[0] ==
          proto::WorkspaceStatus{"ws_a", 4, Phase::kProgressing,
                                 "deployment fleet/ws-a is at generation 3, waiting for 4"});
  }

  TEST_CASE("not observing (--out alone): running at once, saying it was not observed") {
    test::TempDir dir;
    FlakySink sink{dir.path()};
    Engine engine{parse_template(builtin_template_text()).value(),
                  {},
                  sink,
                  ObserveMode{false, "written; not observed"}};
    AgentState st;
    auto out = engine.sync(st, {"eu", 1, true, {ws("ws_a", "a", 1)}}, {});
    REQUIRE(out.size() == 1);
    CHECK(out[0] == proto::WorkspaceStatus{"ws_a", 1, Phase::kRunning, "written; not observed"});
  }
}

}  // namespace
}  // namespace fc::agent
