#!/usr/bin/env python3
"""Memory and start-up at fleet size (issue #16 item 10; docs/BENCHMARKS.md
"Scale"): one daemon over a database with W settled workspaces in R regions and
D custom domains (bench/scheduler/populate.py --running --domains), measured
from outside, on loopback:

* RSS after the start and after a burst of creates and list pages
  (/proc/PID/status VmRSS and VmHWM, /proc/PID/smaps_rollup anonymous vs
  file-backed);
* start to ready (process start → first /readyz 200) and restart to ready
  (SIGTERM → exit → start → /readyz 200), several times;
* GET /v1/workspaces?limit=1000 latency: one keep-alive client walking the
  cursor through the list (pages all over the 1M) and the first page
  repeated; p50/p99/max over a bounded number of requests; once more while
  a burst runs: creates from 8 clients plus deletes of populated workspaces
  (a delete changes the DNS zone, as an agent's `running` report does).

  scale.py FC_BIN WORKDIR [--workspaces 1000000] [--regions 100]
           [--domains 100000] [--pages 400] [--creates 2000] [--restarts 3]
           [--pin-daemon CPU --pin-client CPU] [--attribute]

--attribute: afterwards, the same database once more with no workspace
published in DNS (dns_region NULL, as before their agents report running):
start to ready, RSS and the list latency without the embedded zone's names,
so the difference is the zone's share; the column is restored at the end.
Prints one JSON object (and a readable summary on stderr).
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import sqlite3
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
POPULATE = os.path.join(HERE, "..", "scheduler", "populate.py")
sys.path.insert(0, os.path.join(HERE, "..", "scheduler"))
from populate import ws_id  # noqa: E402  the populated workspaces' ids


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def mem(pid):
    """VmRSS/VmHWM and the smaps_rollup split, MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = round(int(v.split()[0]) / 1024, 1)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Anonymous", "Private_Dirty", "Shared_Clean"):
                    out["smaps_" + k] = round(int(v.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Daemon:
    def __init__(self, fc_bin, wd, pin=None):
        self.bin, self.wd, self.pin = fc_bin, wd, pin
        self.port = free_port()
        cfg = {"api": {"listen": f"127.0.0.1:{self.port}"},
               "acme_http": {"listen": f"127.0.0.1:{free_port()}"},
               "dns": {"listen": f"127.0.0.1:{free_port()}"},
               "log": {"level": "warn"},
               "agents": {"heartbeat_timeout_s": 86400},
               "probes": {"enabled": False}}
        # The domain verifier asks the daemon's own server (loopback only).
        cfg["resolver"] = {"servers": [cfg["dns"]["listen"]]}
        self.cfg = os.path.join(wd, "fc.json")
        with open(self.cfg, "w") as f:
            json.dump(cfg, f)
        self.proc = None
        self.token = None

    def start(self, timeout=120):
        """Starts and waits for /readyz 200; returns the seconds it took."""
        cmd = [self.bin, "serve", "--config", self.cfg]
        if self.pin is not None:
            cmd = ["taskset", "-c", str(self.pin)] + cmd
        log = open(os.path.join(self.wd, "fc.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=self.wd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"daemon exited {self.proc.returncode} (see {self.wd}/fc.log)")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    dt = time.monotonic() - t0
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            time.sleep(0.005)
        else:
            raise SystemExit(f"daemon not ready in {timeout} s")
        with open(os.path.join(self.wd, "var", "admin.token")) as f:
            self.token = f.read().strip()
        return dt

    def stop(self):
        """SIGTERM; returns the seconds until it exited."""
        if not self.proc or self.proc.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("daemon did not exit within 60 s of SIGTERM")
        return time.monotonic() - t0

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, c, path):
        t0 = time.perf_counter()
        c.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        r = c.getresponse()
        body = r.read()
        return r.status, body, time.perf_counter() - t0


def list_latency(d, pages, walk=True):
    """`pages` GETs of limit=1000 on one keep-alive connection: following
    next_cursor (walk) or the first page again; ms."""
    c = d.conn()
    lat, cursor, items = [], None, 0
    for _ in range(pages):
        path = "/v1/workspaces?limit=1000" + (f"&cursor={cursor}" if walk and cursor else "")
        status, body, dt = d.get(c, path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:200]!r}")
        lat.append(dt * 1000)
        if walk:
            doc = json.loads(body)
            items += len(doc["items"])
            cursor = doc.get("next_cursor")
            if not cursor:
                cursor = None
    c.close()
    return {"requests": len(lat), "p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2),
            "max_ms": round(max(lat), 2), **({"items_walked": items} if walk else {})}


def burst(d, creates, deletes, workspaces, pages, threads=8):
    """`creates` POST /v1/workspaces and `deletes` DELETE of populated
    workspaces from `threads` keep-alive clients, while one more client walks
    the list (`pages` pages at most)."""
    h = {"Authorization": f"Bearer {d.token}", "Content-Type": "application/json"}
    every = (creates + deletes) // deletes if deletes else 0  # op i is a delete when i % every == 0
    salt = int(time.time())
    done = []

    def worker(k):
        c, ok, gone = d.conn(), 0, 0
        for i in range(k, creates + deletes, threads):
            if every and i % every == 0:
                c.request("DELETE", f"/v1/workspaces/{ws_id('ws_0', (i * 104729 + salt) % workspaces)}",
                          headers=h)
                r = c.getresponse()
                r.read()
                gone += r.status == 202
                continue
            body = json.dumps({"name": f"scale-{os.getpid()}-{i}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
            c.request("POST", "/v1/workspaces", body=body, headers=h)
            r = c.getresponse()
            r.read()
            ok += r.status == 201
        c.close()
        return ok, gone

    def lister():
        lat = []
        c, cursor = d.conn(), None
        while not done and len(lat) < pages:
            status, body, dt = d.get(c, "/v1/workspaces?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
            if status != 200:
                raise SystemExit(f"GET list during the burst: {status} {body[:200]!r}")
            lat.append(dt * 1000)
            cursor = json.loads(body).get("next_cursor")
        c.close()
        return lat
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads + 1) as pool:
        lf = pool.submit(lister)
        res = list(pool.map(worker, range(threads)))
        dt = time.monotonic() - t0
        done.append(True)
        lat = lf.result()
    ok, gone = sum(r[0] for r in res), sum(r[1] for r in res)
    out = {"creates": ok, "deletes": gone, "seconds": round(dt, 2), "writes_per_s": round((ok + gone) / dt)}
    if lat:
        out["list_during"] = {"requests": len(lat), "p50_ms": round(pct(lat, 50), 2),
                              "p99_ms": round(pct(lat, 99), 2), "max_ms": round(max(lat), 2)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fc_bin")
    ap.add_argument("workdir")
    ap.add_argument("--workspaces", type=int, default=1000000)
    ap.add_argument("--regions", type=int, default=100)
    ap.add_argument("--domains", type=int, default=100000)
    ap.add_argument("--pages", type=int, default=400)
    ap.add_argument("--creates", type=int, default=2000)
    ap.add_argument("--deletes", type=int, default=200)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--pin-daemon", type=int)
    ap.add_argument("--pin-client", type=int)
    ap.add_argument("--reuse", action="store_true", help="WORKDIR already holds a populated database")
    ap.add_argument("--attribute", action="store_true")
    a = ap.parse_args()
    if a.pin_client is not None:
        os.sched_setaffinity(0, {a.pin_client})
    wd = os.path.abspath(a.workdir)
    os.makedirs(wd, exist_ok=True)
    d = Daemon(a.fc_bin, wd, a.pin_daemon)
    res = {"workspaces": a.workspaces, "regions": a.regions, "domains": a.domains, "load_before": loadavg()}
    db = os.path.join(wd, "var", "fleetcommand.db")
    if not a.reuse:
        d.start()   # creates and migrates the database
        d.stop()
        t0 = time.monotonic()
        subprocess.run([sys.executable, POPULATE, "populate", db, "--regions", str(a.regions), "--workspaces",
                        str(a.workspaces), "--running", "--domains", str(a.domains)], check=True,
                       stdout=sys.stderr)
        res["populate_s"] = round(time.monotonic() - t0, 1)
        os.sync()
    res["db_mib"] = round(os.path.getsize(db) / 2**20)
    try:
        res["first_start_to_ready_s"] = round(d.start(), 3)
        time.sleep(2)  # let start-up work that runs after /readyz (jobs, zone build) settle
        res["rss_after_start"] = mem(d.proc.pid)
        res["list_walk"] = list_latency(d, a.pages, walk=True)
        res["list_first_page"] = list_latency(d, min(a.pages, 200), walk=False)
        res["burst"] = burst(d, a.creates, a.deletes, a.workspaces, a.pages)
        res["list_walk_after_burst"] = list_latency(d, a.pages, walk=True)
        res["rss_after_burst"] = mem(d.proc.pid)
        res["restarts"] = []
        for _ in range(a.restarts):
            stop_s = d.stop()
            start_s = d.start()
            res["restarts"].append({"sigterm_to_exit_s": round(stop_s, 3), "start_to_ready_s": round(start_s, 3),
                                    "restart_to_ready_s": round(stop_s + start_s, 3)})
        time.sleep(2)
        res["rss_after_restart"] = mem(d.proc.pid)
        if a.attribute:
            d.stop()
            c = sqlite3.connect(db, isolation_level=None)
            c.execute("UPDATE workspaces SET dns_region = NULL")
            c.close()
            try:
                res["no_dns"] = {"start_to_ready_s": round(d.start(), 3)}
                time.sleep(2)
                res["no_dns"]["rss_after_start"] = mem(d.proc.pid)
                res["no_dns"]["list_walk"] = list_latency(d, a.pages, walk=True)
                res["no_dns"]["list_first_page"] = list_latency(d, min(a.pages, 200), walk=False)
                d.stop()
            finally:
                c = sqlite3.connect(db, isolation_level=None)
                c.execute("UPDATE workspaces SET dns_region = region WHERE name LIKE 'pre-%'")
                c.close()
            d.start()
    finally:
        code = d.proc.poll()
        d.stop()
        if code is not None:
            res["daemon_exit"] = code
    res["load_after"] = loadavg()
    print(json.dumps(res, indent=2))
    rs = res.get("restarts") or [{}]
    print(f"scale: W={a.workspaces} D={a.domains} RSS start {res['rss_after_start'].get('VmRSS')} MiB, "
          f"after burst {res['rss_after_burst'].get('VmRSS')} MiB (HWM {res['rss_after_burst'].get('VmHWM')}); "
          f"restart to ready max {max(r.get('restart_to_ready_s', 0) for r in rs)} s; list p99 walk "
          f"{res['list_walk']['p99_ms']} ms, first page {res['list_first_page']['p99_ms']} ms; load {res['load_after']}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
