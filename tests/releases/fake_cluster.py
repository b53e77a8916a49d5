"""The cluster side of a GitOps region for the rollout itests: the real agent
writes every object under --out DIR (its GitOps output), and this script is
its --status-command. It prints the Kubernetes List the API server would
return once the written Deployments rolled out: every Deployment available,
except those whose image contains "broken", whose pod waits in
ImagePullBackOff (the agent then reports `failed` with the container's cause).
Shapes as in tests/agent/observer_itest.py (apps/v1 DeploymentStatus, v1 Pod)."""
import datetime
import json
import os
import sys

HASH = "7d9c5b8f6"


def ts(delta_s):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(written, available):
    meta = written["metadata"]
    name, image = meta["name"], written["spec"]["template"]["spec"]["containers"][0]["image"]
    status = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1,
              "conditions": [{"type": "Available", "status": "True" if available else "False",
                              "lastUpdateTime": ts(-60), "lastTransitionTime": ts(-60)}]}
    if available:
        status.update(readyReplicas=1, availableReplicas=1)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": meta.get("namespace", "fleet"), "generation": 2,
                         "labels": meta.get("labels", {}), "annotations": meta.get("annotations", {})},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": status}


def pod(written, broken):
    meta = written["metadata"]
    name, image = meta["name"], written["spec"]["template"]["spec"]["containers"][0]["image"]
    cs = {"name": "app", "ready": not broken, "restartCount": 0, "image": image,
          "state": {"running": {"startedAt": ts(-300)}}}
    if broken:
        cs["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                   "message": f'Back-off pulling image "{image}"'}}
    cond = {"status": "False" if broken else "True", "lastTransitionTime": ts(-300)}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{name}-{HASH}-x2x9q", "namespace": meta.get("namespace", "fleet"),
                         "creationTimestamp": ts(-300),
                         "labels": {"pod-template-hash": HASH},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": f"{name}-{HASH}", "controller": True}]},
            "spec": {"containers": [{"name": "app", "image": image}]},
            "status": {"phase": "Pending" if broken else "Running",
                       "conditions": [dict(cond, type="Ready"), dict(cond, type="ContainersReady")],
                       "containerStatuses": [cs]}}


def main(out_dir):
    items = []
    for root, _, files in os.walk(out_dir):
        for f in sorted(files):
            if not f.startswith("deployment-") or not f.endswith(".json"):
                continue
            try:
                with open(os.path.join(root, f)) as fh:
                    written = json.load(fh)
            except (OSError, ValueError):
                continue  # being replaced: the next round sees it
            image = written["spec"]["template"]["spec"]["containers"][0]["image"]
            broken = "broken" in image
            items += [deployment(written, not broken), pod(written, broken)]
    json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items},
              sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
