#!/usr/bin/env python3
"""dnsperf against the real daemon's embedded server: starts `fleetcommand
serve` (pinned to core 0) in a temp dir, creates N workspaces in one region
through the API and reports them running (so the zone comes from the database
through the publisher), then runs dnsperf (core 1) on the same kind of query
file as run.sh. Usage: daemon_bench.py BUILD_DIR N DURATION CLIENTS [WORKERS]"""
import concurrent.futures
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
build, n, duration, clients = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
workers = int(sys.argv[5]) if len(sys.argv) > 5 else 1
cpus = "0" if workers == 1 else "0-%d" % (workers - 1)
os.environ["FC_BIN"] = os.path.abspath(os.path.join(build, "app", "fleetcommand"))
import fctest  # noqa: E402

d = fctest.Daemon({"log": {"level": "warn"}, "dns": {"udp_workers": workers, "answer_cache_slots": 262144}})
try:
    d.start()
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(d.proc.pid)], check=True, capture_output=True)
    d.create_region("bench", ingress={"ipv4": ["10.0.0.1"], "ipv6": [], "hostname": None},
                    capacity={"memory_mib": 10 * n, "cpu_millis": 10 * n, "workspaces": n + 10})
    tok = d.agent_token("bench")
    d.heartbeat(tok)

    def create(i):
        r = d.request("POST", "/v1/workspaces", {"name": "ws%05d" % i, "resources": {"memory_mib": 1, "cpu_millis": 1}})
        assert r.status == 201, r
        return r.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ids = list(ex.map(create, range(n)))
    for k in range(0, n, 500):
        items = [{"workspace_id": w, "generation": 1, "phase": "running"} for w in ids[k:k + 500]]
        r = d.request("POST", "/v1/agent/status", {"workspaces": items}, token=tok)
        assert r.status == 200, r
    last = "ws%05d.fleet.test" % (n - 1)
    fctest.wait_until(lambda: "10.0.0.1" in subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(d.dns_port), "+short", last], capture_output=True, text=True).stdout,
        60, what="zone published")
    q = ["ws%05d.fleet.test. A" % i for i in range(n)] + ["missing%d.fleet.test. A" % i for i in range(n // 10)]
    random.Random(42).shuffle(q)
    qf = os.path.join(tempfile.mkdtemp(dir=d.dir), "queries.txt")
    with open(qf, "w") as f:
        f.write("\n".join(q) + "\n")
    out = subprocess.run(["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p", str(d.dns_port), "-d", qf,
                          "-l", duration, "-c", clients, "-q", "200"], capture_output=True, text=True).stdout
    val = {}
    for line in out.splitlines():
        key, _, rest = line.partition(":")
        if rest.split():
            val[key.strip()] = rest.split()[0]
    print("%-28s %12s q/s  avg latency %8.3f ms  lost %s" % (
        "fleetcommand daemon", val.get("Queries per second"), float(val.get("Average Latency (s)", "0")) * 1000,
        val.get("Queries lost")))
finally:
    d.stop()
    d.cleanup()
