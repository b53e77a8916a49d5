"""Rollout benchmark (issue #14): N workspaces in R regions following channel
`stable`, one simulated agent per region (a thread: long-poll the region's
assignments, report every new `apply` generation `running` at once, heartbeat),
then one rollout of the whole channel with waves [1, 10, 50, 100], bake_s 0.

Measured: each wave's wall time (from the pass that started it to the pass
that started the next), which with agents that answer at once is the control
plane's own overhead per wave plus the agents' round trips; and the daemon's
CPU time (utime + stime from /proc) during the rollout and per wave. Loopback only; every
loop bounded in count and time."""
import argparse
import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lib"))
import fctest  # noqa: E402


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Agent(threading.Thread):
    def __init__(self, d, region, token, stop):
        super().__init__(daemon=True)
        self.d, self.region, self.token, self.stop = d, region, token, stop
        self.reported = 0

    def call(self, conn, method, path, body=None):
        h = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return r.status, r.read()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.d.api_port, timeout=60)
        rev, last_hb = 0, 0.0
        deadline = time.time() + 3600
        while not self.stop.is_set() and time.time() < deadline:
            if time.time() - last_hb > 5:
                self.call(conn, "POST", "/v1/agent/heartbeat", {"agent_id": f"bench-{self.region}"})
                last_hb = time.time()
            status, body = self.call(conn, "GET", f"/v1/agent/assignments?since={rev}&wait=2")
            if status != 200:
                rev = 0
                continue
            page = json.loads(body)
            rev = page["revision"]
            items = [{"workspace_id": a["workspace_id"], "generation": a["generation"], "phase": "running"}
                     for a in page["assignments"] if a["action"] == "apply"]
            for i in range(0, len(items), 1000):
                self.call(conn, "POST", "/v1/agent/status", {"workspaces": items[i:i + 1000]})
            self.reported += len(items)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--regions", type=int, default=10)
    a = ap.parse_args()
    # Absolute: the daemon runs in its own temporary directory.
    fctest.FC_BIN = os.path.abspath(os.environ.get("FC_BIN") or os.path.join(a.build, "app", "fleetcommand"))
    d = fctest.Daemon({"log": {"level": "warn"}}).start()
    stop = threading.Event()
    try:
        regions = [f"r{i:02d}" for i in range(a.regions)]
        agents = []
        for r in regions:
            d.create_region(r, capacity={"memory_mib": 10 ** 9, "cpu_millis": 10 ** 9, "workspaces": a.n})
            ag = Agent(d, r, d.agent_token(r), stop)
            ag.start()
            agents.append(ag)
        fctest.wait_until(lambda: all(d.request("GET", f"/v1/regions/{r}").json()["health"] == "healthy"
                                      for r in regions), timeout=30, what="agents heartbeat")
        for name in ("v1", "v2"):
            assert d.request("POST", "/v1/releases", {"name": name, "image": f"chat:{name}"}).status == 201
        assert d.request("PUT", "/v1/channels/stable", {"release": "v1"}).status == 200
        t0 = time.time()
        for i in range(a.n):
            r = d.request("POST", "/v1/workspaces", {
                "name": f"w{i}", "resources": {"memory_mib": 1, "cpu_millis": 1},
                "placement": {"regions": [regions[i % a.regions]]}, "channel": "stable"})
            assert r.status == 201, r
        print(f"created {a.n} workspaces in {time.time() - t0:.1f} s")
        fctest.wait_until(lambda: sum(ag.reported for ag in agents) >= a.n, timeout=600, interval=0.5,
                          what="every workspace reported running")
        cpu0, t0 = cpu_s(d.proc.pid), time.time()
        r = d.request("POST", "/v1/rollouts", {"channel": "stable", "to_release": "v2",
                                                "waves": {"percentages": [1, 10, 50, 100]},
                                                "max_unavailable": a.n, "gate": {"deadline_s": 600}})
        assert r.status == 201, r
        ro = r.json()["id"]
        marks, cpus, wave, state = [t0], [cpu0], 0, "running"
        end = time.time() + 1800
        while state == "running" and time.time() < end:
            v = d.request("GET", f"/v1/rollouts/{ro}").json()
            state = v["state"]
            if v["current_wave"] != wave or state != "running":
                marks.append(time.time())
                cpus.append(cpu_s(d.proc.pid))
                wave = v["current_wave"]
            time.sleep(0.05)
        cpu1, t1 = cpu_s(d.proc.pid), time.time()
        sizes = [w["total"] for w in v["waves_progress"]]
        print(f"rollout {state}: {a.n} workspaces, {a.regions} regions, waves {sizes}")
        for i in range(1, len(marks)):
            print(f"  wave {i - 1}: {marks[i] - marks[i - 1]:.2f} s wall, daemon CPU {cpus[i] - cpus[i - 1]:.2f} s")
        print(f"whole rollout: {t1 - t0:.2f} s wall, daemon CPU {cpu1 - cpu0:.2f} s (bake_s 0)")
        assert state == "completed", v
    finally:
        stop.set()
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    main()
