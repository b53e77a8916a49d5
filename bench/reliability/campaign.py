#!/usr/bin/env python3
"""Reliability campaign (issue #16 item 11): SIGKILL the daemon at random
points of a mixed burst, restart it, and check what a user relies on.

Peers, all real and on loopback: the daemon binary (FC_BIN), one reference
agent per region (`fleetcommand agent --out DIR`, long-polling), and Pebble
whose DNS is the daemon's embedded server (DNS-01 certificates).

Each cycle: 8 client threads run a random mix — create a workspace (45 %),
migrate one (15 %), delete one (15 %), add a custom domain to one (10 %), ask
for a certificate (15 %) — for a random 0.3–1.5 s, then the daemon gets
SIGKILL. While it is down `fleetcommand fsck` must be clean; after the restart
every acknowledged write must be there: each 201'd workspace still exists
(unless a delete of it was acknowledged) in the region it was acknowledged in
or the target of an acknowledged migration; each 202'd delete is gone or
deleting; each 201'd domain and 202'd certificate exists. At the end (bounded
waits) the agents converge and no workspace's manifest is in two regions, each
region's allocation equals its workspaces, every certificate the daemon holds
is valid with version 1 (or failed with a stated cause) and has at most one
valid CA order (cert_orders), and fsck is clean.

"Maybe" operations: a delete or a migration whose answer the kill cut off (no
answer, or a 5xx) may have committed before the kill. The checker accepts
either outcome for those — the workspace gone or deleting, or still there; in
its old region or in the target — and counts them in the summary. It never
relaxes what an acknowledged answer promised. The certificates' issuer gets a
per-registered-domain and new-orders budget sized for the run (the defaults,
50 and 300, mirror Let's Encrypt and a long campaign asks for more than that
for its one zone).

  campaign.py [--kills N (100)] [--budget-s S (900)] [--seed X] [--json]
Exit 0 when there is no finding, 1 otherwise; a summary line either way.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("FC_SOURCE_DIR", os.path.join(HERE, "..", ".."))
for p in ("tests/lib", "tests/certs"):
    sys.path.insert(0, os.path.join(SRC, p))
import fctest  # noqa: E402
import daemon_util as du  # noqa: E402

REGIONS = ("rel-a", "rel-b", "rel-c")
CAP = {"memory_mib": 1 << 20, "cpu_millis": 1 << 20, "workspaces": 100000}
RES_RE = re.compile(r"ws-[0-9a-z]+")
ZONE = "fleet.test"


def manifests(out):
    found = {}
    for root, _, files in os.walk(out):
        for f in files:
            m = RES_RE.search(f)
            if m and f.endswith(".json"):
                found[m.group(0)] = found.get(m.group(0), 0) + 1
    return found


class Agent:
    def __init__(self, d, region, token):
        base = os.path.join(d.dir, f"agent-{region}")
        os.makedirs(base, exist_ok=True)
        self.d, self.region = d, region
        self.token_file = os.path.join(base, "token")
        with open(self.token_file, "w") as f:
            f.write(token)
        self.state, self.out = os.path.join(base, "state"), os.path.join(base, "out")
        self.log_path = os.path.join(base, "agent.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [fctest.FC_BIN, "agent", "--api", f"http://127.0.0.1:{self.d.api_port}",
             "--token-file", self.token_file, "--state-dir", self.state, "--out", self.out,
             "--agent-id", f"rel-{self.region}", "--poll-wait", "5"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a cycle left it stopped
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Ledger:
    """What the daemon acknowledged (under a lock: 8 client threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ws = {}           # id -> {"name", "regions": set of acceptable regions}
        self.deleted = set()   # ids whose DELETE got 202
        self.maybe_deleted = set()  # DELETE cut off by the kill: may have committed
        self.maybe_migrated = {}    # id -> targets of migrations cut off by the kill
        self.domains = {}      # hostname -> workspace id
        self.certs = {}        # certificate id -> hostname
        self.recent_moves = []      # the last workspaces a migration was asked for
        self.n = 0

    def next(self):
        with self.lock:
            self.n += 1
            return self.n

    def live_ids(self):
        with self.lock:
            return [i for i in self.ws if i not in self.deleted]


class Campaign:
    def __init__(self, kills, budget_s, seed, log=print):
        self.kills, self.budget_s = kills, budget_s
        self.rng = random.Random(seed)
        self.seed = seed
        self.log = log
        self.ledger = Ledger()
        self.findings = []
        self.ops = {}
        self.kills_done = 0
        self.restart_s = []
        self.healthy_s = []  # restart ready → every region healthy again

    # --- set-up -----------------------------------------------------------
    def setup(self):
        # Budgets sized for the run: every certificate is a new one in ZONE
        # (one registered domain), a few per cycle.
        budgets = {"certs_per_domain": {"capacity": 100000, "period_s": 604800},
                   "new_orders": {"capacity": 100000, "period_s": 10800}}
        self.d, self.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p, budgets=budgets)])
        self.d.config["agents"] = {"heartbeat_timeout_s": 30}
        # The domain verifier asks the daemon's own DNS server (REFUSED for
        # these names): loopback only, and the domains stay pending.
        self.d.config["resolver"] = {"servers": [f"127.0.0.1:{self.d.dns_port}"]}
        self.d.start()
        self.agents = []
        for rid in REGIONS:
            self.d.create_region(rid, capacity=CAP)
            a = Agent(self.d, rid, self.d.agent_token(rid))
            a.start()
            self.agents.append(a)
        for rid in REGIONS:
            fctest.wait_until(lambda r=rid: self.d.request("GET", f"/v1/regions/{r}").json()["health"] == "healthy",
                              timeout=30, what=f"{rid} healthy")

    def teardown(self):
        for a in getattr(self, "agents", []):
            a.stop()
        if hasattr(self, "d"):
            code = self.d.stop()
            if code not in (0, None):
                self.finding(f"daemon exited {code} at the final SIGTERM")
            self.peb.stop()
            if not os.environ.get("FC_KEEP"):
                self.d.cleanup()

    def finding(self, what):
        self.log("FINDING " + what)
        self.findings.append(what)

    # --- the burst ----------------------------------------------------------
    class Refused:
        status = 0  # the daemon was down: the request never reached it

    def request(self, method, path, body=None):
        try:
            return self.d.request(method, path, body, timeout=5)
        except ConnectionRefusedError:
            time.sleep(0.01)  # down until the restart: do not spin
            return self.Refused()
        except (OSError, ValueError, http.client.HTTPException):  # reset, cut: not acknowledged
            return None

    @staticmethod
    def cut_off(r):
        """No answer (or a 5xx): the write may or may not have committed."""
        return r is None or r.status >= 500

    def one_op(self, rng):
        L = self.ledger
        kind = rng.choices(("create", "migrate", "delete", "domain", "cert"), (45, 15, 15, 10, 15))[0]
        live = L.live_ids()
        if kind != "create" and kind != "cert" and not live:
            kind = "create"
        n = L.next()
        if kind == "create":
            r = self.request("POST", "/v1/workspaces",
                             {"name": f"rel-{self.seed}-{n}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
            if r and r.status == 201:
                w = r.json()
                with L.lock:
                    L.ws[w["id"]] = {"name": w["name"], "regions": {w["region"]}}
        elif kind == "migrate":
            wid = rng.choice(live)
            target = rng.choice(REGIONS)
            r = self.request("POST", f"/v1/workspaces/{wid}/migrate", {"region": target})
            with L.lock:
                L.recent_moves = (L.recent_moves + [wid])[-16:]
            if r and r.status == 202:
                with L.lock:
                    L.ws[wid]["regions"].add(target)
            elif self.cut_off(r):
                with L.lock:
                    L.maybe_migrated.setdefault(wid, set()).add(target)
        elif kind == "delete":
            # Half the deletes remove a workspace that was just moved (a user
            # moving and then retiring it), the rest any live one.
            with L.lock:
                recent = [w for w in L.recent_moves if w in L.ws and w not in L.deleted]
            wid = rng.choice(recent) if recent and rng.random() < 0.5 else rng.choice(live)
            r = self.request("DELETE", f"/v1/workspaces/{wid}")
            if r and r.status == 202:
                with L.lock:
                    L.deleted.add(wid)
            elif self.cut_off(r):
                with L.lock:
                    L.maybe_deleted.add(wid)
        elif kind == "domain":
            wid = rng.choice(live)
            host = f"d{n}.rel{self.seed}.example"
            r = self.request("POST", f"/v1/workspaces/{wid}/domains", {"hostname": host})
            if r and r.status == 201:
                with L.lock:
                    L.domains[host] = wid
        else:
            host = f"c{n}.{ZONE}"
            r = self.request("POST", "/v1/certificates", {"hostnames": [host], "challenge": "dns-01"})
            if r and r.status == 202:
                with L.lock:
                    L.certs[r.json()["id"]] = host
        if r is not None and r.status >= 500 and self.ops.get((kind, r.status), 0) < 2:
            self.log(f"note: {kind} answered {r.status}: {r.body[:300]!r}")  # the first two of each kind
        key = (kind, ("refused" if r.status == 0 else r.status) if r else "no answer")
        with L.lock:
            self.ops[key] = self.ops.get(key, 0) + 1

    def burst_until(self, stop, seed):
        rng = random.Random(seed)
        deadline = time.monotonic() + 30  # bounded even if the kill never comes
        while not stop.is_set() and time.monotonic() < deadline:
            self.one_op(rng)

    def cycle(self, i):
        stop = threading.Event()
        # Half the cycles have a slow agent: one region's agent is stopped
        # (SIGSTOP) for the burst and continued after the kill, so its
        # confirmations lag the other regions' (a migration away from it
        # finishes before it releases the workspace).
        slow = self.rng.choice(self.agents) if self.rng.random() < 0.5 else None
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            if slow:
                slow.proc.send_signal(signal.SIGSTOP)
            futs = [pool.submit(self.burst_until, stop, self.rng.random()) for _ in range(8)]
            time.sleep(self.rng.uniform(0.3, 1.5))
            self.d.proc.send_signal(signal.SIGKILL)
            self.d.proc.wait()
            if slow:
                slow.proc.send_signal(signal.SIGCONT)
            stop.set()
            concurrent.futures.wait(futs, timeout=60)
            for f in futs:
                if f.exception():
                    self.finding(f"cycle {i}: client thread failed: {f.exception()!r}")
        self.kills_done += 1
        r = self.d.cli("fsck")
        if r.returncode != 0:
            self.finding(f"cycle {i}: fsck after SIGKILL: {(r.stdout + r.stderr).strip()[-500:]}")
        t0 = time.monotonic()
        self.d.start()
        self.restart_s.append(time.monotonic() - t0)
        self.check_acknowledged(i)
        # Region health is seeded from the stored heartbeats, and the one that
        # made a region healthy is stored before its answer (branch w-ha2), so
        # the regions should be healthy at once; the wait stays, and
        # healthy_again_s measures it (it was up to 3.9 s: a kill within the
        # second before the first heartbeat was stored left "health unknown").
        t1 = time.monotonic()
        try:
            fctest.wait_until(self.regions_healthy, timeout=30, interval=0.1, what="regions healthy again")
        except AssertionError as e:
            self.finding(f"cycle {i}: {e}")
        self.healthy_s.append(time.monotonic() - t1)

    def regions_healthy(self):
        return all(self.d.request("GET", f"/v1/regions/{r}").json()["health"] == "healthy" for r in REGIONS)

    # --- checks -------------------------------------------------------------
    def check_acknowledged(self, i):
        L = self.ledger
        with L.lock:
            ws = {k: (v["name"], set(v["regions"]) | L.maybe_migrated.get(k, set())) for k, v in L.ws.items()}
            deleted, domains, certs = set(L.deleted), dict(L.domains), dict(L.certs)
            maybe_deleted = set(L.maybe_deleted)
        gone = set()  # deleted or deleting now (acknowledged or maybe)
        for wid, (name, regions) in ws.items():
            r = self.d.request("GET", f"/v1/workspaces/{wid}")
            deleting = r.status == 404 or (r.status == 200 and r.json().get("state") == "deleting")
            if wid in deleted:
                if not deleting:
                    self.finding(f"cycle {i}: acknowledged delete of {wid} undone: {r.status} {r.body[:200]!r}")
                gone.add(wid)
                continue
            if wid in maybe_deleted and deleting:
                gone.add(wid)  # the cut-off delete committed
                continue
            if r.status != 200:
                self.finding(f"cycle {i}: acknowledged workspace {name} ({wid}) lost: {r.status}")
            elif r.json()["region"] not in regions:
                self.finding(f"cycle {i}: {wid} in {r.json()['region']}, acknowledged in {sorted(regions)}")
        for host, wid in domains.items():
            if wid in gone:
                continue  # removed with its workspace
            r = self.d.request("GET", f"/v1/domains/{host}")
            if r.status != 200:
                self.finding(f"cycle {i}: acknowledged domain {host} lost: {r.status}")
        for cid in certs:
            r = self.d.request("GET", f"/v1/certificates/{cid}")
            if r.status != 200:
                self.finding(f"cycle {i}: acknowledged certificate {cid} lost: {r.status}")

    def final_checks(self):
        try:
            fctest.wait_until(self.no_pending_moves, timeout=90, interval=1, what="migrations and deletes settled")
        except AssertionError as e:
            self.finding(f"final: {e}")
        try:
            fctest.wait_until(lambda: self.agents_match(), timeout=90, interval=1, what="agents converged")
        except AssertionError:
            pass  # agents_match records what differs below
        by_region = {a.region: set(manifests(a.out)) for a in self.agents}
        for x in REGIONS:
            for y in REGIONS:
                if x < y and by_region[x] & by_region[y]:
                    self.finding(f"final: placed twice (manifests in {x} and {y}): {sorted(by_region[x] & by_region[y])[:5]}")
        self.agents_match(report=True)
        for rid in REGIONS:
            alloc = self.d.request("GET", f"/v1/regions/{rid}").json()["allocated"]["workspaces"]
            n = du.query(self.d, "SELECT count(*) FROM workspaces WHERE region = ?", rid)[0][0]
            if alloc != n:
                self.finding(f"final: region {rid} allocates {alloc} workspaces, holds {n}")
        self.check_certs()
        r = self.d.cli("fsck")
        if r.returncode != 0:
            self.finding(f"final fsck: {(r.stdout + r.stderr).strip()[-500:]}")

    def no_pending_moves(self):
        rows = du.query(self.d, "SELECT count(*) FROM workspaces WHERE state <> 'scheduled'")
        return rows[0][0] == 0

    def agents_match(self, report=False):
        want = {}
        for rid, wid in du.query(self.d, "SELECT region, id FROM workspaces"):
            want.setdefault(rid, set()).add(wid.lower().replace("_", "-"))
        ok = True
        for a in self.agents:
            have = set(manifests(a.out))
            if have != want.get(a.region, set()):
                ok = False
                if report:
                    self.finding(f"final: agent {a.region} has {len(have)} manifests, {len(want.get(a.region, ()))}"
                                 f" workspaces assigned (missing {sorted(want.get(a.region, set()) - have)[:3]},"
                                 f" extra {sorted(have - want.get(a.region, set()))[:3]})")
        return ok

    def check_certs(self):
        # Every certificate the daemon holds: the acknowledged ones (which the
        # cycle checks already found) and those whose 202 the kill cut off.
        certs = [c for (c,) in du.query(self.d, "SELECT id FROM certificates")]
        missing = set(self.ledger.certs) - set(certs)
        if missing:
            self.finding(f"final: acknowledged certificates missing: {sorted(missing)[:5]}")
        if not certs:
            return

        def all_done():
            return all(du.cert(self.d, c)["status"] in ("valid", "failed") for c in certs)
        try:
            fctest.wait_until(all_done, timeout=120, interval=1, what="every certificate issued or failed")
        except AssertionError as e:
            self.finding(f"final: {e}")
        orders_total = 0
        self.cert_status = {}
        for cid in certs:
            c = du.cert(self.d, cid)
            self.cert_status[c["status"]] = self.cert_status.get(c["status"], 0) + 1
            if c["status"] == "failed" and c.get("last_error"):
                self.log(f"certificate {cid} failed: {c['last_error']}")  # clearly failed: not a loss
            elif c["status"] != "valid":
                self.finding(f"final: certificate {cid} is {c['status']}: {c.get('last_error')}")
            if c.get("version", 0) > 1:
                self.finding(f"final: certificate {cid} issued {c['version']} times")
            rows = du.query(self.d, "SELECT result FROM cert_orders WHERE cert_id = ?", cid)
            orders_total += len(rows)
            if sum(1 for (res,) in rows if res == "valid") > 1:
                self.finding(f"final: certificate {cid} ordered twice (two valid CA orders)")
        self.orders_per_cert = orders_total / len(certs)

    # --- driver -------------------------------------------------------------
    def run(self):
        started = time.monotonic()
        self.setup()
        try:
            for i in range(self.kills):
                if time.monotonic() - started > self.budget_s:
                    self.log(f"time budget of {self.budget_s} s reached after {i} kills")
                    break
                self.cycle(i)
            self.final_checks()
        finally:
            self.teardown()
        return self.summary(time.monotonic() - started)

    def summary(self, secs):
        L = self.ledger
        rs = sorted(self.restart_s) or [0]
        hs = sorted(self.healthy_s) or [0]
        return {"kills": self.kills_done, "seconds": round(secs, 1), "seed": self.seed,
                "acknowledged": {"workspaces": len(L.ws), "deletes": len(L.deleted), "domains": len(L.domains),
                                 "certificates": len(L.certs),
                                 "migrations": sum(n for (k, s), n in self.ops.items() if k == "migrate" and s == 202)},
                "maybe": {"deletes": len(L.maybe_deleted),
                          "migrations": sum(len(t) for t in L.maybe_migrated.values())},
                "certificates": getattr(self, "cert_status", {}),
                "ops": {f"{k} {s}": n for (k, s), n in sorted(self.ops.items(), key=str)},
                "restart_s": {"p50": round(rs[len(rs) // 2], 2), "max": round(rs[-1], 2)},
                "healthy_again_s": {"p50": round(hs[len(hs) // 2], 2), "max": round(hs[-1], 2)},
                "orders_per_certificate": round(getattr(self, "orders_per_cert", 0), 3),
                "findings": self.findings}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--budget-s", type=float, default=900)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not fctest.FC_BIN:
        sys.exit("FC_BIN must name the fleetcommand binary")
    if not 1 <= a.kills <= 1000 or a.budget_s <= 0:
        sys.exit("--kills 1..1000 and a positive --budget-s")
    s = Campaign(a.kills, a.budget_s, a.seed).run()
    print(json.dumps(s, indent=None if a.json else 2))
    print(f"reliability: kills={s['kills']} findings={len(s['findings'])} seconds={s['seconds']}")
    sys.exit(1 if s["findings"] else 0)


if __name__ == "__main__":
    main()
