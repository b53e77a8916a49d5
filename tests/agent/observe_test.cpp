#include "agent/detail/observe.hpp"

#include <doctest/doctest.h>

#include "observe_fixtures.hpp"

namespace fc::agent {
namespace {

using observe::Decision;
using proto::Phase;
using json = nlohmann::json;

const observe::SysTime kObsNow = *observe::parse_time("2026-12-06T12:10:00Z");

struct ObsCase {
  const char* name;
  std::optional<json> deployment;  // nullopt: not in the List
  std::vector<json> pods;
  bool was_running;
  Phase phase;
  const char* message;  // exact
};

json with_status(json d, std::int64_t replicas, std::int64_t updated, std::int64_t available) {
  d["status"]["replicas"] = replicas;
  d["status"]["updatedReplicas"] = updated;
  d["status"]["readyReplicas"] = available;
  d["status"]["availableReplicas"] = available;
  return d;
}

json deadline_exceeded(json d) {
  d["status"]["conditions"][1] = {
      {"type", "Progressing"},
      {"status", "False"},
      {"reason", "ProgressDeadlineExceeded"},
      {"message", "ReplicaSet \"ws-a-7d9c5b8f6\" has timed out progressing."},
      {"lastUpdateTime", "2026-12-06T12:10:00Z"},
      {"lastTransitionTime", "2026-12-06T12:10:00Z"}};
  return d;
}

json scaled_to_zero() {
  json d = test::deployment_available();
  d["spec"]["replicas"] = 0;
  json& s = d["status"];  // the API server omits zero counts
  s.erase("replicas");
  s.erase("updatedReplicas");
  s.erase("readyReplicas");
  s.erase("availableReplicas");
  return d;
}

json unavailable() {
  json d = with_status(test::deployment_available(), 1, 1, 0);
  d["status"]["unavailableReplicas"] = 1;
  d["status"]["conditions"][0]["status"] = "False";
  d["status"]["conditions"][0]["reason"] = "MinimumReplicasUnavailable";
  return d;
}

json other_generation() {
  json d = test::deployment_available();
  d["metadata"]["annotations"]["fleetcommand.io/generation"] = "2";
  return d;
}

json spec_not_observed() {
  json d = test::deployment_available();
  d["metadata"]["generation"] = 5;
  return d;
}

json terminating(json p) {
  p["metadata"]["deletionTimestamp"] = "2026-12-06T12:09:50Z";
  p["metadata"]["deletionGracePeriodSeconds"] = 30;
  return p;
}

json crash_looping(const char* since) {
  json p = test::pod_waiting(
      "CrashLoopBackOff", "back-off 5m0s restarting failed container=app pod=ws-a-7d9c5b8f6-x2x9q",
      since);
  auto& cs = p["status"]["containerStatuses"][0];
  cs["restartCount"] = 6;
  cs["lastState"] = {{"terminated",
                      {{"exitCode", 1},
                       {"reason", "Error"},
                       {"startedAt", "2026-12-06T12:07:00Z"},
                       {"finishedAt", "2026-12-06T12:07:04Z"}}}};
  return p;
}

json node_lost_pod() {
  json p = test::pod_running();
  p["status"]["conditions"][1] = {{"type", "Ready"},
                                  {"status", "False"},
                                  {"reason", "NodeNotReady"},
                                  {"message", "node node-1 is not ready"},
                                  {"lastTransitionTime", "2026-12-06T12:09:00Z"}};
  return p;
}

const char* kPullMsg = "Back-off pulling image \"rocketchat/rocket.chat:9.9.9\"";

// Reads better whole: the table is the specification.
std::vector<ObsCase> observer_cases() {
  json avail = test::deployment_available();
  json pod = test::pod_running();
  json old_pod = test::pod_of_old_replicaset();
  json pull_old = test::pod_waiting("ImagePullBackOff", kPullMsg, "2026-12-06T12:05:00Z");
  json pull_new = test::pod_waiting("ImagePullBackOff", kPullMsg, "2026-12-06T12:09:40Z");
  json bad_name = test::pod_waiting("InvalidImageName",
                                    "Failed to apply default image tag \"rocketchat/Rocket:x\"",
                                    "2026-12-06T12:00:00Z");
  return {
      {"available", avail, {pod}, false, Phase::kRunning, ""},
      {"available, again after degraded", avail, {pod}, true, Phase::kRunning, ""},
      {"rolling: 1 of 2 updated, old pod still serving",
       [&] {
         json d = with_status(avail, 2, 1, 1);
         d["spec"]["replicas"] = 2;
         return d;
       }(),
       {old_pod, pod},
       false,
       Phase::kProgressing,
       "1 of 2 new replicas updated"},
      {"rolling: new pod not ready yet",
       with_status(avail, 1, 1, 0),
       {test::pod_waiting("ContainerCreating", "", "2026-12-06T12:09:55Z")},
       false,
       Phase::kProgressing,
       "0 of 1 updated replicas available; container app: ContainerCreating"},
      {"scaled to zero", scaled_to_zero(), {}, true, Phase::kSuspended, "scaled to zero"},
      {"scaling to zero, a pod still terminating",
       scaled_to_zero(),
       {terminating(pod)},
       true,
       Phase::kProgressing,
       "scaling to zero: 1 pods remain"},
      {"deadline exceeded, pod pulling a missing image",
       deadline_exceeded(unavailable()),
       {pull_new},
       false,
       Phase::kFailed,
       "container app: ImagePullBackOff: Back-off pulling image "
       "\"rocketchat/rocket.chat:9.9.9\""},
      {"deadline exceeded, no pod to blame",
       deadline_exceeded(unavailable()),
       {},
       false,
       Phase::kFailed,
       "deployment fleet/ws-a: ProgressDeadlineExceeded: ReplicaSet \"ws-a-7d9c5b8f6\" has timed "
       "out progressing."},
      {"image pull failure past the grace period",
       unavailable(),
       {pull_old},
       false,
       Phase::kFailed,
       "container app: ImagePullBackOff: Back-off pulling image "
       "\"rocketchat/rocket.chat:9.9.9\""},
      {"image pull failure within the grace period",
       unavailable(),
       {pull_new},
       false,
       Phase::kProgressing,
       "0 of 1 updated replicas available; container app: ImagePullBackOff: Back-off pulling "
       "image \"rocketchat/rocket.chat:9.9.9\""},
      {"invalid image name",
       unavailable(),
       {bad_name},
       false,
       Phase::kFailed,
       "container app: InvalidImageName: Failed to apply default image tag "
       "\"rocketchat/Rocket:x\""},
      {"crash loop of a new generation",
       unavailable(),
       {crash_looping("2026-12-06T12:02:00Z")},
       false,
       Phase::kFailed,
       "container app: CrashLoopBackOff: back-off 5m0s restarting failed container=app "
       "pod=ws-a-7d9c5b8f6-x2x9q (last exit: Error, code 1)"},
      {"running workspace whose pods crash: degraded",
       unavailable(),
       {crash_looping("2026-12-06T12:02:00Z")},
       true,
       Phase::kDegraded,
       "0 of 1 updated replicas available; container app: CrashLoopBackOff: back-off 5m0s "
       "restarting failed container=app pod=ws-a-7d9c5b8f6-x2x9q (last exit: Error, code 1)"},
      {"running workspace whose node is gone: degraded",
       unavailable(),
       {node_lost_pod()},
       true,
       Phase::kDegraded,
       "0 of 1 updated replicas available; pod ws-a-7d9c5b8f6-x2x9q not ready: NodeNotReady node "
       "node-1 is not ready"},
      {"old ReplicaSet still terminating",
       with_status(avail, 2, 1, 1),
       {terminating(old_pod), pod},
       false,
       Phase::kProgressing,
       "1 old replicas pending termination"},
      {"old pod terminating, counts already settled",
       avail,
       {terminating(old_pod), pod},
       false,
       Phase::kProgressing,
       "1 old replicas pending termination"},
      {"deployment of another generation",
       other_generation(),
       {pod},
       false,
       Phase::kProgressing,
       "deployment fleet/ws-a is at generation 2, waiting for 3"},
      {"spec change not observed yet",
       spec_not_observed(),
       {pod},
       true,
       Phase::kProgressing,
       "waiting for the deployment spec update to be observed"},
      {"missing deployment",
       std::nullopt,
       {},
       false,
       Phase::kProgressing,
       "deployment fleet/ws-a not found"},
      {"missing deployment after running",
       std::nullopt,
       {},
       true,
       Phase::kDegraded,
       "deployment fleet/ws-a not found"},
  };
}

TEST_SUITE("agent") {
  TEST_CASE("observe: decide() over API-server-shaped objects") {
    for (const auto& c : observer_cases()) {
      CAPTURE(c.name);
      observe::Input in;
      in.generation = 3;
      in.deployment_name = "fleet/ws-a";
      in.deployment = c.deployment ? &*c.deployment : nullptr;
      for (const auto& p : c.pods) in.pods.push_back(&p);
      in.was_running = c.was_running;
      in.now = kObsNow;
      Decision d = observe::decide(in);
      CHECK(proto::to_string(d.phase) == proto::to_string(c.phase));
      CHECK(d.message == c.message);
    }
  }

  TEST_CASE("observe: ClusterView indexes a List by Deployment and owning ReplicaSet") {
    json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"metadata", {{"resourceVersion", ""}}}};
    json other = test::pod_running();
    other["metadata"]["name"] = "ws-b-6f7e8d9c0-zzzzz";
    other["metadata"]["labels"]["pod-template-hash"] = "6f7e8d9c0";
    other["metadata"]["ownerReferences"][0]["name"] = "ws-b-6f7e8d9c0";
    json bare = test::pod_running();  // no ownerReferences: not a Deployment's pod
    bare["metadata"].erase("ownerReferences");
    list["items"] = {test::deployment_available(), test::pod_running(),
                     test::pod_of_old_replicaset(), other, bare};
    auto v = observe::ClusterView::parse(list.dump());
    REQUIRE(v);
    CHECK(v.value().deployments() == 1);
    CHECK(v.value().pods() == 3);
    CHECK(v.value().deployment("fleet", "ws-a") != nullptr);
    CHECK(v.value().deployment("other", "ws-a") == nullptr);
    CHECK(v.value().pods_of("fleet", "ws-a").size() == 2);
    CHECK(v.value().pods_of("fleet", "ws-b").size() == 1);
    CHECK(v.value().pods_of("fleet", "ws-c").empty());
  }

  TEST_CASE("observe: ClusterView rejects what is not a List") {
    auto bad = observe::ClusterView::parse("{\"kind\":");
    REQUIRE(!bad);
    CHECK(bad.error().detail == "status command output: malformed JSON");
    auto not_list = observe::ClusterView::parse(R"({"kind":"Deployment","items":[]})");
    REQUIRE(!not_list);
    CHECK(not_list.error().detail ==
          "status command output: not a Kubernetes List (kind Deployment)");
    CHECK(observe::ClusterView::parse(R"({"kind":"DeploymentList","items":[]})"));
  }

  TEST_CASE("observe: parse_time reads the API server's RFC 3339") {
    using std::chrono::seconds;
    auto t = observe::parse_time("1970-01-01T00:00:10Z");
    REQUIRE(t);
    CHECK(t->time_since_epoch() == seconds(10));
    CHECK(*observe::parse_time("2026-12-06T12:10:00Z") -
              *observe::parse_time("2026-12-06T12:09:00.123456Z") ==
          seconds(60));
    CHECK(*observe::parse_time("2026-12-06T13:10:00+01:00") ==
          *observe::parse_time("2026-12-06T12:10:00Z"));
    CHECK(observe::parse_time("2024-02-29T00:00:00Z")->time_since_epoch() == seconds(1709164800));
    CHECK(!observe::parse_time(""));
    CHECK(!observe::parse_time("2026-13-01T00:00:00Z"));
    CHECK(!observe::parse_time("2026-12-06 12:10:00Z"));
    CHECK(!observe::parse_time("2026-12-06T12:10:00"));
  }
}

}  // namespace
}  // namespace fc::agent
