"""The agent observes what it applied (issue #18): the real daemon and the real
`fleetcommand agent`, with a scripted stand-in for kubectl on the cluster side
(there is no kube-apiserver in Debian 12, see docs/agent.md). The apply command
records the List it is given; the status command prints a Kubernetes List the
test rewrites between steps, with Deployments and Pods shaped as the API server
returns them. Loopback only, every wait bounded, the agent stopped by pid."""
import copy
import datetime
import json
import os
import subprocess

import fctest
from agent_itest import Agent, create_workspace, k8s_name, observed

HASH = "7d9c5b8f6"


def ts(delta_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(name, generation, image, replicas=1, updated=1, available=1, meta_gen=2):
    """apps/v1 Deployment as `kubectl get -o json` prints it (API reference: DeploymentStatus)."""
    status = {"observedGeneration": meta_gen,
              "conditions": [
                  {"type": "Available", "status": "True" if available else "False",
                   "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                   "lastUpdateTime": ts(-60), "lastTransitionTime": ts(-60)},
                  {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                   "message": f'ReplicaSet "{name}-{HASH}" has successfully progressed.',
                   "lastUpdateTime": ts(-60), "lastTransitionTime": ts(-60)}]}
    for key, v in (("replicas", replicas), ("updatedReplicas", updated),
                   ("readyReplicas", available), ("availableReplicas", available)):
        if v:
            status[key] = v  # the API server omits zero counts
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "fleet", "generation": meta_gen,
                         "uid": "5b0f8c6e-8d7e-4f5e-9a3c-1f2e3d4c5b6a",
                         "creationTimestamp": ts(-600),
                         "labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                                    "fleetcommand.io/workspace": name},
                         "annotations": {"deployment.kubernetes.io/revision": str(meta_gen),
                                         "fleetcommand.io/generation": str(generation)}},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 600,
                     "selector": {"matchLabels": {"fleetcommand.io/workspace": name}},
                     "template": {"metadata": {"labels": {"fleetcommand.io/workspace": name}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": status}


def pod(name, image, waiting=None, since_s=-300, last_exit=None):
    """v1 Pod of the Deployment's ReplicaSet; `waiting` = (reason, message) of container app."""
    ready = "False" if waiting else "True"
    cs = {"name": "app", "ready": not waiting, "restartCount": 0, "image": image,
          "imageID": "", "state": {"running": {"startedAt": ts(since_s)}}, "lastState": {}}
    if waiting:
        cs["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    if last_exit:
        cs["restartCount"] = 5
        cs["lastState"] = {"terminated": {"exitCode": last_exit, "reason": "Error",
                                          "startedAt": ts(-40), "finishedAt": ts(-35)}}
    cond = {"status": ready, "lastTransitionTime": ts(since_s)}
    if waiting:
        cond.update(reason="ContainersNotReady", message="containers with unready status: [app]")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{name}-{HASH}-x2x9q", "namespace": "fleet",
                         "creationTimestamp": ts(-600),
                         "labels": {"app.kubernetes.io/managed-by": "fleetcommand",
                                    "fleetcommand.io/workspace": name, "pod-template-hash": HASH},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": f"{name}-{HASH}", "controller": True,
                                              "blockOwnerDeletion": True, "uid": "9e8d7c6b"}]},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": image}]},
            "status": {"phase": "Running" if not waiting else "Pending",
                       "conditions": [dict(cond, type="Ready"), dict(cond, type="ContainersReady")],
                       "containerStatuses": [cs]}}


class ObserverTest(fctest.DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d.create_region("eu")
        cls.token = cls.d.agent_token("eu")

    def setUp(self):
        self.agent = None
        self.d.heartbeat(self.token)  # the region takes workspaces before any agent runs

    def tearDown(self):
        if self.agent:
            self.agent.stop()

    def cluster(self, *items):
        """What the stand-in kubectl prints next; written atomically."""
        tmp = self.list_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                       "items": list(items)}, f)
        os.replace(tmp, self.list_path)

    def start_agent(self):
        self.agent = Agent(self.d, self.token)
        self.list_path = os.path.join(self.agent.root, "cluster.json")
        self.applied = os.path.join(self.agent.root, "applied.json")
        self.cluster()
        mode = ["--apply-command", f"cat > {self.applied}.tmp && mv {self.applied}.tmp {self.applied}",
                "--delete-command", "cat > /dev/null",
                "--status-command", f"cat {self.list_path}",
                "--status-interval", "1", "--failure-grace", "30"]
        self.agent.proc = None
        self.agent.log_path = os.path.join(self.agent.root, "agent.log")
        self.agent.log = open(self.agent.log_path, "ab")
        self.agent.proc = subprocess.Popen(self.agent.args("--poll-wait", "2", mode=mode),
                                           stdout=self.agent.log, stderr=subprocess.STDOUT)

    def wait_phase(self, ws_id, phase, generation, what, contains="", timeout=15):
        def check():
            o = observed(self.d, ws_id) or {}
            same = (o.get("phase"), o.get("generation")) == (phase, generation)
            return o if same and contains in o.get("message", "") else None
        return fctest.wait_until(check, timeout=timeout, what=f"{what} (agent log: {self.agent.logs()[-1500:]})")

    def published(self, ws_id):
        return self.d.request("GET", f"/v1/workspaces/{ws_id}").json()["dns"]["published"]

    def applied_image(self):
        with open(self.applied) as f:
            items = json.load(f)["items"]
        dep = next(i for i in items if i["kind"] == "Deployment")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(labels["app.kubernetes.io/managed-by"], "fleetcommand")  # status selector
        self.assertEqual(dep["spec"]["progressDeadlineSeconds"], 600)
        return dep["spec"]["template"]["spec"]["containers"][0]["image"]

    def test_broken_image_fails_then_a_fix_rolls_out(self):
        bad, good = "rocketchat/rocket.chat:9.9.9", "rocketchat/rocket.chat:6.5.0"
        ws = create_workspace(self.d, "observed", image=bad)
        name = k8s_name(ws["id"])
        self.start_agent()
        o = self.wait_phase(ws["id"], "progressing", 1, "applied, nothing in the cluster yet")
        self.assertIn("not found", o["message"])
        self.assertIsNotNone(o["since"])
        self.assertFalse(self.published(ws["id"]))
        self.assertEqual(self.applied_image(), bad)

        pull = ("ImagePullBackOff", f'Back-off pulling image "{bad}"')
        self.cluster(deployment(name, 1, bad, available=0), pod(name, bad, waiting=pull))
        o = self.wait_phase(ws["id"], "failed", 1, "the image pull failure")
        self.assertEqual(o["message"], f'container app: ImagePullBackOff: Back-off pulling image "{bad}"')
        self.assertFalse(self.published(ws["id"]), "DNS must wait for a running generation")

        r = self.d.request("PATCH", f"/v1/workspaces/{ws['id']}", {"spec": {"image": good}})
        self.assertEqual(r.status, 200, r)
        gen = r.json()["generation"]
        self.wait_phase(ws["id"], "progressing", gen, "the fix applied, old Deployment seen",
                        contains=f"is at generation 1, waiting for {gen}")
        self.assertEqual(self.applied_image(), good)
        self.cluster(deployment(name, gen, good, available=0, meta_gen=3),
                     pod(name, good, waiting=("ContainerCreating", ""), since_s=-2))
        self.wait_phase(ws["id"], "progressing", gen, "rolling out",
                        contains="0 of 1 updated replicas available; container app: ContainerCreating")
        self.assertFalse(self.published(ws["id"]), "DNS not published while progressing")

        self.cluster(deployment(name, gen, good, meta_gen=3), pod(name, good))
        o = self.wait_phase(ws["id"], "running", gen, "rollout finished")
        self.assertEqual(o["message"], "")
        fctest.wait_until(lambda: self.published(ws["id"]), timeout=5, what="DNS published once running")

    def test_running_workspace_degrades_and_recovers(self):
        img = "rocketchat/rocket.chat:6.5.0"
        ws = create_workspace(self.d, "flappy", image=img)
        name = k8s_name(ws["id"])
        self.start_agent()
        self.cluster(deployment(name, 1, img), pod(name, img))
        first = self.wait_phase(ws["id"], "running", 1, "running")
        fctest.wait_until(lambda: self.published(ws["id"]), timeout=5, what="DNS published")

        crash = ("CrashLoopBackOff", f"back-off 5m0s restarting failed container=app pod={name}-{HASH}-x2x9q")
        self.cluster(deployment(name, 1, img, available=0), pod(name, img, waiting=crash, last_exit=137))
        o = self.wait_phase(ws["id"], "degraded", 1, "its pods crash")
        self.assertIn("0 of 1 updated replicas available; container app: CrashLoopBackOff", o["message"])
        self.assertIn("(last exit: Error, code 137)", o["message"])
        self.assertGreater(o["since"], first["since"])
        self.assertTrue(self.published(ws["id"]), "a degraded generation keeps its records")

        self.cluster(deployment(name, 1, img), pod(name, img))
        self.wait_phase(ws["id"], "running", 1, "recovered")
        metrics = self.d.request("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r'fleetcommand_workspace_phase_transitions_total\{phase="degraded"\} [1-9]')

        self.cluster(deployment(name, 1, img, replicas=0, updated=0, available=0))
        o = self.wait_phase(ws["id"], "suspended", 1, "scaled to zero")
        self.assertEqual(o["message"], "scaled to zero")
        self.assertIn("workspace degraded", self.agent.logs())

    def test_status_command_failure_keeps_phases(self):
        ws = create_workspace(self.d, "blind")
        a = Agent(self.d, self.token)
        r = a.once(mode=["--apply-command", "cat > /dev/null",
                         "--status-command", "echo 'connection refused' >&2; exit 1"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("status command failed", r.stderr)
        self.assertIn("connection refused", r.stderr)
        o = observed(self.d, ws["id"])
        self.assertEqual((o["phase"], o["message"]), ("progressing", "applied"))
        r = a.once(mode=["--apply-command", "cat > /dev/null", "--status-command", "echo '{\"kind\":'"])
        self.assertIn("malformed JSON", r.stderr)

    def test_out_mode_without_status_command_says_not_observed(self):
        ws = create_workspace(self.d, "gitops")
        a = Agent(self.d, self.token)
        r = a.once()
        self.assertEqual(r.returncode, 0, r.stderr)
        o = observed(self.d, ws["id"])
        self.assertEqual((o["phase"], o["message"]), ("running", "written; not observed"))


if __name__ == "__main__":
    fctest.main()
