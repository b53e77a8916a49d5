"""Time to issue N certificates from Pebble (PEBBLE_VA_NOSLEEP=1): through
the fleetcommand daemon (HTTP-01 answered from its database, names resolved
by its embedded DNS server) and through lego (HTTP-01 on its own listener),
in the same run. Prints a JSON summary. Usage: bench.py FC_BIN N."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "certs"))
FC_BIN = sys.argv[1]
N = max(1, min(int(sys.argv[2]) if len(sys.argv) > 2 else 10, 50))
os.environ["FC_BIN"] = FC_BIN
import fctest  # noqa: E402
fctest.FC_BIN = FC_BIN
import daemon_util as du  # noqa: E402
import pebble as pebble_mod  # noqa: E402


def daemon_side(work):
    d, peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p, budgets={"orders_per_3h": 100000,
                                                                          "certs_per_domain_per_week": 100000,
                                                                          "duplicates_per_week": 100000})])
    try:
        d.config["log"] = {"level": "warn"}
        d.start()
        d.create_region("bench", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None},
                        capacity={"memory_mib": 100000, "cpu_millis": 100000, "workspaces": 1000})
        tok = d.agent_token("bench")
        d.heartbeat(tok)
        wss = []
        for i in range(2 * N):
            r = d.request("POST", "/v1/workspaces", {"name": f"b{i}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
            assert r.status == 201, r
            wss.append(r.json())
        r = d.request("POST", "/v1/agent/status", {"workspaces": [
            {"workspace_id": w["id"], "generation": w["generation"], "phase": "running"} for w in wss]}, token=tok)
        assert r.status == 200, r

        def one(w):
            t0 = time.monotonic()
            r = d.request("POST", "/v1/certificates", {"hostnames": [f"{w['name']}.fleet.test"],
                                                       "workspace_id": w["id"], "challenge": "http-01"})
            assert r.status == 202, r
            return r.json()["id"], t0

        def valid(cid):
            return du.cert(d, cid)["status"] == "valid"
        seq = []
        for w in wss[:N]:  # one at a time: per-certificate latency
            cid, t0 = one(w)
            fctest.wait_until(lambda: valid(cid), timeout=60, interval=0.01, what="valid")
            seq.append(time.monotonic() - t0)
        t0 = time.monotonic()  # N at once: throughput
        ids = [one(w)[0] for w in wss[N:]]
        fctest.wait_until(lambda: all(valid(c) for c in ids), timeout=120, interval=0.02, what="batch valid")
        batch = time.monotonic() - t0
        return seq, batch
    finally:
        d.stop()
        peb.stop()
        d.cleanup()


def lego_side(work):
    http_port = pebble_mod.free_port()
    peb = pebble_mod.Pebble(os.path.join(work, "pebble-lego"), http_port).start()
    try:
        env = {**os.environ, "LEGO_CA_CERTIFICATES": peb.ca}
        times = []
        for i in range(N):
            t0 = time.monotonic()
            subprocess.run(["lego", "--server", peb.directory, "--email", "bench@example.com", "--accept-tos",
                            "--path", os.path.join(work, "lego"), "--domains", f"l{i}.example.com",
                            "--http", "--http.port", f"127.0.0.1:{http_port}", "run"],
                           env=env, check=True, capture_output=True, timeout=120)
            times.append(time.monotonic() - t0)
        return times
    finally:
        peb.stop()


def main():
    work = tempfile.mkdtemp(prefix="fc-bench-acme-")
    try:
        seq, batch = daemon_side(work)
        lego = lego_side(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {"n": N,
           "fleetcommand": {"per_cert_median_s": round(statistics.median(seq), 3),
                            "sequential_total_s": round(sum(seq), 3),
                            "concurrent_total_s": round(batch, 3)},
           "lego": {"per_cert_median_s": round(statistics.median(lego), 3),
                    "sequential_total_s": round(sum(lego), 3)}}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
