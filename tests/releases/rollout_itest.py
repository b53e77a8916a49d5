"""Rollouts end to end (issue #14): the real daemon and three real reference
agents, one per region, in GitOps output mode (--out), each with
tests/releases/fake_cluster.py as its status command (the cluster side: a
written Deployment rolls out, one whose image contains "broken" sits in
ImagePullBackOff and the agent reports `failed`). Loopback only, every wait
bounded, agents and daemon stopped by pid."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import fctest

REGIONS = ["eu", "us", "ap"]
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_cluster.py")


class Agent:
    def __init__(self, d, region, token):
        self.d, self.region = d, region
        self.root = tempfile.mkdtemp(prefix=f"fc-rel-{region}-", dir=d.dir)
        self.token_file = os.path.join(self.root, "token")
        with open(self.token_file, "w") as f:
            f.write(token + "\n")
        self.out = os.path.join(self.root, "out")
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.root, "agent.log"), "ab")
        args = [fctest.FC_BIN, "agent", "--api", f"http://127.0.0.1:{self.d.api_port}",
                "--token-file", self.token_file, "--state-dir", os.path.join(self.root, "state"),
                "--agent-id", f"rel-{self.region}", "--out", self.out,
                "--status-command", f"{sys.executable} {FAKE} {self.out}",
                "--status-interval", "1", "--failure-grace", "1", "--poll-wait", "2"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class RolloutTest(fctest.DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.agents = []
        for r in REGIONS:
            d.create_region(r)
            a = Agent(d, r, d.agent_token(r))
            a.start()
            cls.agents.append(a)
        fctest.wait_until(lambda: all(d.request("GET", f"/v1/regions/{r}").json()["health"] == "healthy"
                                      for r in REGIONS), timeout=20, what="every region's agent heartbeats")
        for name, image in (("v1", "chat:1"), ("v2", "chat:2"), ("v2-broken", "chat:broken-2")):
            r = d.request("POST", "/v1/releases", {"name": name, "image": image, "env": {"REL": name}})
            assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        for a in cls.agents:
            a.stop()
        super().tearDownClass()

    # --- helpers -----------------------------------------------------------
    def fleet(self, channel, per_region):
        r = self.d.request("PUT", f"/v1/channels/{channel}", {"release": "v1"})
        self.assertEqual(r.status, 200, r)
        ids = []
        for region in REGIONS:
            for i in range(per_region):
                r = self.d.request("POST", "/v1/workspaces", {
                    "name": f"{channel}-{region}-{i}", "resources": {"memory_mib": 1, "cpu_millis": 1},
                    "placement": {"regions": [region]}, "channel": channel})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.json()["spec"]["image"], "chat:1")
                ids.append(r.json()["id"])
        fctest.wait_until(lambda: all(self.ws(i)["observed"]["phase"] == "running" for i in ids),
                          timeout=30, what="the fleet running v1")
        return ids

    def ws(self, ws_id):
        r = self.d.request("GET", f"/v1/workspaces/{ws_id}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def rollout(self, ro_id):
        r = self.d.request("GET", f"/v1/rollouts/{ro_id}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def start(self, body):
        r = self.d.request("POST", "/v1/rollouts", body)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def wait_state(self, ro_id, states, timeout=60, check=None):
        def done():
            if check:
                check()
            v = self.rollout(ro_id)
            return v if v["state"] in states else None
        return fctest.wait_until(done, timeout=timeout, interval=0.1, what=f"rollout {ro_id} in {states}")

    def deployed_image(self, ws_id):
        w = self.ws(ws_id)
        a = next(a for a in self.agents if a.region == w["region"])
        name = "".join(c if c.isalnum() else "-" for c in ws_id.lower())
        path = os.path.join(a.out, "fleet", f"deployment-{name}.json")
        with open(path) as f:
            return json.load(f)["spec"]["template"]["spec"]["containers"][0]["image"]

    def ctl(self, *args):
        env = dict(os.environ, FLEETCOMMAND_SERVER=f"http://127.0.0.1:{self.d.api_port}",
                   FLEETCOMMAND_TOKEN=self.d.token, HOME=self.d.dir)
        r = subprocess.run([fctest.FC_BIN, "ctl", *args], env=env, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def in_flight_ok(self, ids, limit):
        per_region = {}
        for i in ids:
            w = self.ws(i)
            if w["generation"] > 1 and w["observed"]["generation"] < w["generation"]:
                per_region[w["region"]] = per_region.get(w["region"], 0) + 1
        for region, n in per_region.items():
            self.assertLessEqual(n, limit, f"{n} workspaces of {region} in flight at once")

    # --- tests -------------------------------------------------------------
    def test_a_full_rollout(self):
        ids = self.fleet("full", 2)
        ro = self.start({"channel": "full", "to_release": "v2",
                         "waves": {"regions": ["ap", "us"], "percentages": [20, 50, 100]},
                         "max_unavailable": 1, "bake_s": 1,
                         "gate": {"min_running_fraction": 1.0, "deadline_s": 60, "max_failed": 0}})
        v = self.rollout(ro)
        self.assertEqual([w["total"] for w in v["waves_progress"]], [2, 1, 3])
        v = self.wait_state(ro, {"completed"}, timeout=120, check=lambda: self.in_flight_ok(ids, 1))
        self.assertEqual([w["done"] for w in v["waves_progress"]], [2, 1, 3])
        for i in ids:
            w = self.ws(i)
            self.assertEqual(w["generation"], 2, "upgraded exactly once")
            self.assertEqual((w["observed"]["phase"], w["observed"]["generation"]), ("running", 2))
            self.assertEqual(w["spec"]["env"]["REL"], "v2")
            self.assertEqual(w["release"], {"channel": "full", "pinned": None, "current": "v2"})
            self.assertEqual(self.deployed_image(i), "chat:2")
        ch = {c["name"]: c["release"] for c in self.d.request("GET", "/v1/channels").json()["items"]}
        self.assertEqual(ch["full"], "v2")
        out = self.ctl("rollouts", "get", ro, "-o", "json")
        self.assertEqual(json.loads(out)["state"], "completed")
        self.assertIn("completed", self.ctl("rollouts", "list"))
        self.assertIn("chat:2", self.ctl("releases", "list"))
        r = self.d.request("POST", "/v1/rollouts", {"channel": "full", "to_release": "v2"})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["errors"][0]["field"], "to_release")
        r = self.d.request("POST", "/v1/rollouts", {"channel": "full", "to_release": "v1"})
        self.assertEqual(r.status, 422, r)  # a downgrade
        self.assertIn("downgrade", r.json()["errors"][0]["message"])

    def test_b_failed_canary_pauses_then_abort_rolls_back(self):
        ids = self.fleet("canary", 1)
        ro = self.start({"channel": "canary", "to_release": "v2-broken",
                         "waves": {"regions": ["eu"], "percentages": [1, 100]},
                         "gate": {"deadline_s": 60, "max_failed": 0}})
        v = self.wait_state(ro, {"paused"}, timeout=90)
        self.assertEqual(len(v["failed"]), 1)
        failed = v["failed"][0]
        self.assertEqual(failed["region"], "eu")
        self.assertIn("ImagePullBackOff", failed["message"])
        self.assertEqual(v["conditions"][0]["reason"], "GateFailed")
        for i in ids:
            if i != failed["workspace_id"]:
                self.assertEqual(self.ws(i)["generation"], 1, "the canary's failure stops the rollout")
        self.assertIn(f"rollout {ro} is aborting", self.ctl("rollouts", "abort", ro))
        self.wait_state(ro, {"aborted"}, timeout=20)
        canary = failed["workspace_id"]
        def back():
            o = self.ws(canary)["observed"]
            return (o["phase"], o["generation"]) == ("running", 3)  # created 1, upgraded 2, restored 3
        fctest.wait_until(back, timeout=30, what="the canary back on v1 and running")
        self.assertEqual(self.deployed_image(canary), "chat:1")
        self.assertEqual(self.ws(canary)["release"]["current"], "v1")

    def test_c_pause_resume_promote(self):
        ids = self.fleet("paced", 1)
        ro = self.start({"channel": "paced", "to_release": "v2",
                         "waves": {"percentages": [34, 100]}, "bake_s": 600,
                         "max_unavailable": 1})
        fctest.wait_until(lambda: self.rollout(ro)["waves_progress"][0]["status"] == "baking",
                          timeout=30, what="wave 0 baking")
        r = self.d.request("POST", f"/v1/rollouts/{ro}/pause")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["conditions"][0]["reason"], "Manual")
        self.assertEqual(self.d.request("POST", f"/v1/rollouts/{ro}/promote").status, 409)
        # A member's channel or release cannot change while its rollout is active.
        for body in ({"release": "v1"}, {"channel": "paced"}):
            r = self.d.request("PATCH", f"/v1/workspaces/{ids[0]}", body)
            self.assertEqual(r.status, 409, r)
            self.assertIn(ro, r.json()["detail"])
        self.assertEqual(self.ws(ids[0])["release"]["channel"], "paced")
        time.sleep(1)
        self.assertEqual(self.rollout(ro)["current_wave"], 0)
        self.assertEqual(self.d.request("POST", f"/v1/rollouts/{ro}/resume").status, 200)
        time.sleep(1)
        self.assertEqual(self.rollout(ro)["current_wave"], 0, "baking 600 s")
        self.assertEqual(self.d.request("POST", f"/v1/rollouts/{ro}/promote").status, 200)
        self.wait_state(ro, {"completed"}, timeout=90)
        for i in ids:
            self.assertEqual(self.ws(i)["generation"], 2)
        # Finished: the binding is the operator's again.
        r = self.d.request("PATCH", f"/v1/workspaces/{ids[0]}", {"release": "v2"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["release"]["pinned"], "v2")

    def test_d_on_failure_rollback(self):
        ids = self.fleet("rb", 1)
        ro = self.start({"channel": "rb", "to_release": "v2-broken", "on_failure": "rollback",
                         "waves": {"percentages": [100]}, "max_unavailable": 1,
                         "gate": {"deadline_s": 60, "max_failed": 0}})
        v = self.wait_state(ro, {"rolled_back"}, timeout=90)
        self.assertGreaterEqual(v["waves_progress"][0]["rolled_back"], 1)
        for i in ids:
            fctest.wait_until(lambda: self.ws(i)["observed"]["phase"] == "running"
                              and self.ws(i)["observed"]["generation"] == self.ws(i)["generation"],
                              timeout=30, what="every workspace running v1 again")
            self.assertEqual(self.deployed_image(i), "chat:1")
        ch = {c["name"]: c["release"] for c in self.d.request("GET", "/v1/channels").json()["items"]}
        self.assertEqual(ch["rb"], "v1")

    def test_z_sigkill_mid_wave_resumes(self):
        ids = self.fleet("kill", 3)
        ro = self.start({"channel": "kill", "to_release": "v2",
                         "waves": {"percentages": [50, 100]}, "max_unavailable": 1,
                         "gate": {"deadline_s": 120}})
        fctest.wait_until(lambda: self.rollout(ro)["waves_progress"][0]["done"] >= 1, timeout=30,
                          what="the first members upgraded")
        self.d.kill()  # SIGKILL mid-wave
        self.d.start()
        v = self.wait_state(ro, {"completed"}, timeout=120)
        self.assertEqual(sum(w["done"] for w in v["waves_progress"]), len(ids))
        for i in ids:
            self.assertEqual(self.ws(i)["generation"], 2, "nobody upgraded twice or skipped")
            self.assertEqual(self.deployed_image(i), "chat:2")


if __name__ == "__main__":
    fctest.main()
