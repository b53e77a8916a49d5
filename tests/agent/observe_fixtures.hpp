// Kubernetes objects shaped as the API server returns them (apps/v1
// Deployment and v1 Pod, `kubectl get -o json`; field names and condition
// reasons from the API reference: DeploymentStatus, DeploymentCondition,
// PodStatus, ContainerStatus/ContainerStateWaiting, OwnerReference), for the
// observer's table tests and benchmark. Each is one rolled-out workspace
// `ws-a` at generation 3; cases edit the fields that differ.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace fc::agent::test {

inline constexpr const char* kDeploymentAvailable = R"JSON({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {
    "name": "ws-a", "namespace": "fleet", "uid": "5b0f8c6e-8d7e-4f5e-9a3c-1f2e3d4c5b6a",
    "resourceVersion": "48213", "generation": 4,
    "creationTimestamp": "2026-12-06T12:00:00Z",
    "labels": {"app.kubernetes.io/managed-by": "fleetcommand", "fleetcommand.io/workspace": "ws-a"},
    "annotations": {"deployment.kubernetes.io/revision": "2", "fleetcommand.io/generation": "3",
                    "fleetcommand.io/workspace-name": "acme"}
  },
  "spec": {
    "replicas": 1, "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
    "selector": {"matchLabels": {"fleetcommand.io/workspace": "ws-a"}},
    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    "template": {
      "metadata": {"labels": {"app.kubernetes.io/managed-by": "fleetcommand", "fleetcommand.io/workspace": "ws-a"}},
      "spec": {"containers": [{"name": "app", "image": "rocketchat/rocket.chat:6.5.0"}]}
    }
  },
  "status": {
    "observedGeneration": 4, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
    "availableReplicas": 1,
    "conditions": [
      {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
       "message": "Deployment has minimum availability.",
       "lastUpdateTime": "2026-12-06T12:01:00Z", "lastTransitionTime": "2026-12-06T12:01:00Z"},
      {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
       "message": "ReplicaSet \"ws-a-7d9c5b8f6\" has successfully progressed.",
       "lastUpdateTime": "2026-12-06T12:01:00Z", "lastTransitionTime": "2026-12-06T12:00:00Z"}
    ]
  }
})JSON";

inline constexpr const char* kPodRunning = R"JSON({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {
    "name": "ws-a-7d9c5b8f6-x2x9q", "generateName": "ws-a-7d9c5b8f6-", "namespace": "fleet",
    "uid": "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f", "creationTimestamp": "2026-12-06T12:00:30Z",
    "labels": {"app.kubernetes.io/managed-by": "fleetcommand", "fleetcommand.io/workspace": "ws-a",
               "pod-template-hash": "7d9c5b8f6"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "ws-a-7d9c5b8f6",
                         "uid": "9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4", "controller": true,
                         "blockOwnerDeletion": true}]
  },
  "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "rocketchat/rocket.chat:6.5.0"}]},
  "status": {
    "phase": "Running", "hostIP": "10.0.0.11", "podIP": "10.244.1.17",
    "startTime": "2026-12-06T12:00:30Z", "qosClass": "Burstable",
    "conditions": [
      {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-12-06T12:00:30Z"},
      {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-06T12:00:55Z"},
      {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-12-06T12:00:55Z"},
      {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-12-06T12:00:30Z"}
    ],
    "containerStatuses": [{
      "name": "app", "ready": true, "started": true, "restartCount": 0,
      "image": "docker.io/rocketchat/rocket.chat:6.5.0",
      "imageID": "docker.io/rocketchat/rocket.chat@sha256:1111111111111111111111111111111111111111111111111111111111111111",
      "containerID": "containerd://2222222222222222222222222222222222222222222222222222222222222222",
      "state": {"running": {"startedAt": "2026-12-06T12:00:35Z"}},
      "lastState": {}
    }]
  }
})JSON";

inline nlohmann::json deployment_available() { return nlohmann::json::parse(kDeploymentAvailable); }
inline nlohmann::json pod_running() { return nlohmann::json::parse(kPodRunning); }

// The pod as kubelet reports a container that is not running (`waiting`):
// not ready since `since`, e.g. ImagePullBackOff / CrashLoopBackOff.
inline nlohmann::json pod_waiting(const std::string& reason, const std::string& message,
                                  const std::string& since) {
  nlohmann::json p = pod_running();
  p["status"]["phase"] = "Pending";
  for (auto& c : p["status"]["conditions"]) {
    if (c["type"] == "Ready" || c["type"] == "ContainersReady") {
      c["status"] = "False";
      c["reason"] = "ContainersNotReady";
      c["message"] = "containers with unready status: [app]";
      c["lastTransitionTime"] = since;
    }
  }
  auto& cs = p["status"]["containerStatuses"][0];
  cs["ready"] = false;
  cs["started"] = false;
  cs["state"] = {{"waiting", {{"reason", reason}, {"message", message}}}};
  return p;
}

// A pod of the previous ReplicaSet (another pod-template-hash), created earlier.
inline nlohmann::json pod_of_old_replicaset() {
  nlohmann::json p = pod_running();
  p["metadata"]["name"] = "ws-a-5c6b7d8e9-abcde";
  p["metadata"]["generateName"] = "ws-a-5c6b7d8e9-";
  p["metadata"]["labels"]["pod-template-hash"] = "5c6b7d8e9";
  p["metadata"]["ownerReferences"][0]["name"] = "ws-a-5c6b7d8e9";
  p["metadata"]["creationTimestamp"] = "2026-12-05T09:00:00Z";
  return p;
}

}  // namespace fc::agent::test
