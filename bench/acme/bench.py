"""Time to issue N certificates from one Pebble (PEBBLE_VA_NOSLEEP=1), in one
run: through the fleetcommand daemon (HTTP-01 answered from its database,
names resolved by its embedded DNS server) and through lego (one process per
certificate, as from cron), for the same N names. Prints a JSON summary.

Usage: bench.py FC_BIN [N] [K]   (N certificates, default 100; K parallel lego
processes for the fairness run, default 10, 0 = skip it). Environment:
FC_BENCH_MAX_ORDERS=M sets certs.max_orders_in_flight; FC_BENCH_DAEMON_ONLY=1
skips lego (tuning runs).

Daemon: "sequential" = one request at a time (request -> status valid);
"concurrent" = N more requested at once (at most certs.max_orders_in_flight
orders run; the rest wait for a slot). Latency is measured by the client
(POST /v1/certificates -> first GET that shows `valid`) and by the daemon's own
rows (certificate row created -> version stored; CA order placed -> stored).
lego: the daemon is restarted with its HTTP-01 listener on another port (same
database, same DNS), lego's webroot is served on Pebble's httpPort by a small
static server, and `lego run` is started once per name: sequentially, then K
at a time."""
import http.server
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "certs"))
FC_BIN = sys.argv[1]
N = max(1, min(int(sys.argv[2]) if len(sys.argv) > 2 else 100, 500))
K = max(0, min(int(sys.argv[3]) if len(sys.argv) > 3 else 10, 50))
os.environ["FC_BIN"] = FC_BIN
import fctest  # noqa: E402
fctest.FC_BIN = FC_BIN
import daemon_util as du  # noqa: E402

BUDGETS = {"orders_per_3h": 1000000, "certs_per_domain_per_week": 1000000, "duplicates_per_week": 1000000}


def stats(xs):
    xs = sorted(xs)
    if not xs:
        return {}
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return {"n": len(xs), "p50_s": round(statistics.median(xs), 3), "p90_s": round(p90, 3),
            "max_s": round(xs[-1], 3)}


def setup_workspaces(d, count):
    d.create_region("bench", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None},
                    capacity={"memory_mib": 1000000, "cpu_millis": 1000000, "workspaces": 100000})
    tok = d.agent_token("bench")
    d.heartbeat(tok)
    wss = []
    for i in range(count):
        r = d.request("POST", "/v1/workspaces", {"name": f"b{i}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
        assert r.status == 201, r
        wss.append(r.json())
    r = d.request("POST", "/v1/agent/status", {"workspaces": [
        {"workspace_id": w["id"], "generation": w["generation"], "phase": "running"} for w in wss]}, token=tok)
    assert r.status == 200, r
    return wss


def order(d, w):
    r = d.request("POST", "/v1/certificates", {"hostnames": [f"{w['name']}.fleet.test"],
                                               "workspace_id": w["id"], "challenge": "http-01"})
    assert r.status == 202, r
    return r.json()["id"]


def sequential(d, wss):
    lat = []
    for w in wss:
        t0 = time.monotonic()
        cid = order(d, w)
        fctest.wait_until(lambda: du.cert(d, cid)["status"] == "valid", timeout=60, interval=0.005,
                          what=f"{cid} valid")
        lat.append(time.monotonic() - t0)
    return lat


def concurrent(d, wss):
    t0 = time.monotonic()
    posted = {}
    for w in wss:
        cid = order(d, w)
        posted[cid] = time.monotonic()
    seen = {}
    deadline = time.monotonic() + 300
    while len(seen) < len(posted) and time.monotonic() < deadline:
        r = d.request("GET", "/v1/certificates")
        assert r.status == 200, r
        now = time.monotonic()
        for c in r.json()["items"]:
            if c["id"] in posted and c["id"] not in seen and c["status"] == "valid":
                seen[c["id"]] = now
        time.sleep(0.02)
    assert len(seen) == len(posted), f"only {len(seen)}/{len(posted)} valid after 300 s"
    return [seen[c] - posted[c] for c in posted], max(seen.values()) - t0


def daemon_side_rows(d, ids):
    """Per certificate, from the daemon's database: row created -> stored, and
    CA order placed -> stored (milliseconds in the rows)."""
    rows = du.query(d, "SELECT c.id, c.created_at, o.created_at, o.finished_at FROM certificates c"
                       " JOIN cert_orders o ON o.cert_id = c.id WHERE o.result = 'valid'")
    by = {r[0]: r for r in rows}
    req = [(by[i][3] - by[i][1]) / 1000 for i in ids if i in by]
    ca = [(by[i][3] - by[i][2]) / 1000 for i in ids if i in by]
    return stats(req), stats(ca)


class Webroot(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def serve_webroot(root, port):
    handler = lambda *a, **kw: Webroot(*a, directory=root, **kw)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def lego_one(peb, work, webroot, name):
    t0 = time.monotonic()
    subprocess.run(["lego", "--server", peb.directory, "--email", "bench@example.com", "--accept-tos",
                    "--path", os.path.join(work, "lego"), "--domains", name,
                    "--http", "--http.webroot", webroot, "run"],
                   env={**os.environ, "LEGO_CA_CERTIFICATES": peb.ca}, check=True, capture_output=True,
                   timeout=120)
    return time.monotonic() - t0


def lego_parallel(peb, work, webroot, names, k):
    lat, errors, lock = [], [], threading.Lock()
    todo = list(names)

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                name = todo.pop(0)
            try:
                t = lego_one(peb, work, webroot, name)
                with lock:
                    lat.append(t)
            except (subprocess.SubprocessError, OSError) as e:
                with lock:
                    errors.append(f"{name}: {e}")
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not errors, errors[:3]
    return lat, time.monotonic() - t0


def lego_side(d, peb, work, names):
    # Free Pebble's httpPort for lego's webroot: the daemon moves its HTTP-01
    # listener (same database and DNS, so the names still resolve).
    d.stop()
    d.config["acme_http"] = {"listen": f"127.0.0.1:{fctest.free_port()}"}
    d.start()
    webroot = os.path.join(work, "webroot")
    os.makedirs(webroot, exist_ok=True)
    srv = serve_webroot(webroot, peb.http_port)
    try:
        t0 = time.monotonic()
        seq = [lego_one(peb, work, webroot, n) for n in names]
        out = {"sequential": {"total_s": round(time.monotonic() - t0, 3), "latency": stats(seq)}}
        if K > 0:
            par, total = lego_parallel(peb, work, webroot, names, K)
            out[f"parallel_{K}"] = {"total_s": round(total, 3), "latency": stats(par)}
        return out
    finally:
        srv.shutdown()


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    work = tempfile.mkdtemp(prefix="fc-bench-acme-")
    out = {"n": N, "uptime_before": uptime()}
    d, peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p, budgets=BUDGETS)])
    try:
        d.config["log"] = {"level": "warn"}
        if os.environ.get("FC_BENCH_MAX_ORDERS"):
            d.config["certs"]["max_orders_in_flight"] = int(os.environ["FC_BENCH_MAX_ORDERS"])
        d.start()
        wss = setup_workspaces(d, 2 * N)
        t0 = time.monotonic()
        seq = sequential(d, wss[:N])
        seq_total = time.monotonic() - t0
        conc, conc_total = concurrent(d, wss[N:])
        ids = [c["id"] for c in d.request("GET", "/v1/certificates").json()["items"]]
        req, ca = daemon_side_rows(d, ids)
        out["fleetcommand"] = {
            "max_orders_in_flight": d.config.get("certs", {}).get("max_orders_in_flight", 4),
            "sequential": {"total_s": round(seq_total, 3), "latency": stats(seq)},
            "concurrent": {"total_s": round(conc_total, 3), "latency": stats(conc)},
            "daemon_rows_all_2N": {"request_to_stored": req, "ca_order_to_stored": ca}}
        if os.environ.get("FC_BENCH_DAEMON_ONLY"):  # for tuning runs: no lego, no ratios
            print(json.dumps(out, indent=2))
            return
        out["lego"] = lego_side(d, peb, work, [f"{w['name']}.fleet.test" for w in wss[:N]])
    finally:
        d.stop()
        peb.stop()
        d.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    fc = out["fleetcommand"]
    lego_seq = out["lego"]["sequential"]["total_s"]
    out["throughput_ratio"] = {
        "fleetcommand_concurrent_vs_lego_sequential": round(lego_seq / fc["concurrent"]["total_s"], 1),
        "fleetcommand_sequential_vs_lego_sequential": round(lego_seq / fc["sequential"]["total_s"], 1)}
    if K > 0:
        out["throughput_ratio"][f"fleetcommand_concurrent_vs_lego_parallel_{K}"] = round(
            out["lego"][f"parallel_{K}"]["total_s"] / fc["concurrent"]["total_s"], 1)
    out["uptime_after"] = uptime()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
