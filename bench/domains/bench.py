#!/usr/bin/env python3
"""10,000 pending custom domains whose DNS records appear at once.

Peers, all on loopback and private to this run: Knot (knotd) authoritative for
the customer zone `cust.test`, unbound as the resolver the daemon uses (stub
zones: cust.test → Knot, fleet.test → the daemon's embedded DNS), and the
daemon itself. The daemon claims N hostnames d00001.cust.test … spread over W
workspaces while the customer zone holds none of their records, so they stay
pending; then every TXT + CNAME appears at once (one zone file swap +
`knotc zone-reload`). Nobody calls POST /v1/domains/{host}/check: the verifier
must find them by itself.

Variants (one fresh daemon each, same peers):
  late   the records appear once every domain has been checked at least once
         (what a user who adds records after the first check sees)
  early  the records appear right after the claims, before most first checks

Reported per variant: per-domain time from "records appeared" to verified_at
(p50/p90/max), how many were verified within the budget, the queries the
daemon sent (counted at unbound: total.num.queries through unbound-control),
their mean rate and the highest one-second rate against the configured cap
`domains.queries_per_second`.

Usage: bench.py BUILD_DIR [--n 10000] [--workspaces 100] [--qps 400]
       [--concurrency 16|derived] [--budget-s 300] [--precheck-s 300] [--variants late,early]
Every wait is bounded; every process is stopped by pid at exit."""
import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))

ZONE = "cust.test"
PLATFORM = "fleet.test"
PROCS = []


def spawn(cmd, log):
    p = subprocess.Popen(cmd, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_until(pred, timeout, what, interval=0.2):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(interval)
    raise RuntimeError("timed out waiting for " + what)


def dig_ok(port, name, rtype):
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=1", "+tries=1", name, rtype],
                       capture_output=True, text=True)
    return "status: NOERROR" in r.stdout and "ANSWER: 0" not in r.stdout


class Knot:
    def __init__(self, w, port):
        self.dir, self.port = os.path.join(w, "knot"), port
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "knot.conf")
        self.zonefile = os.path.join(self.dir, ZONE + ".zone")
        self.serial = 1

    def write_zone(self, records):
        self.serial += 1
        tmp = self.zonefile + ".tmp"
        with open(tmp, "w") as f:
            f.write("$TTL 1\n@ IN SOA ns.%s. admin.%s. %d 60 60 3600 1\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n"
                    % (ZONE, ZONE, self.serial, ZONE))
            f.writelines(records)
        os.replace(tmp, self.zonefile)  # a file swap: the server sees the old or the new zone, never half

    def start(self):
        self.write_zone([])
        with open(self.conf, "w") as f:
            f.write(f"""server:
    rundir: "{self.dir}"
    listen: 127.0.0.1@{self.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "{self.dir}/knot.sock"
database:
    storage: "{self.dir}"
log:
  - target: stderr
    any: warning
zone:
  - domain: {ZONE}
    storage: "{self.dir}"
    file: "{ZONE}.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
""")
        self.proc = spawn(["knotd", "-c", self.conf], os.path.join(self.dir, "knot.log"))
        wait_until(lambda: dig_ok(self.port, "ns." + ZONE, "A"), 20, "knotd up")
        return self

    def reload(self):
        r = subprocess.run(["knotc", "-c", self.conf, "-b", "zone-reload", ZONE], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("knotc zone-reload: " + r.stdout + r.stderr)


class Unbound:
    def __init__(self, w, port, stubs):
        self.dir, self.port, self.stubs = os.path.join(w, "unbound"), port, stubs
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "unbound.conf")

    def start(self):
        lines = ["server:", f"  interface: 127.0.0.1@{self.port}", f"  port: {self.port}", '  chroot: ""',
                 '  username: ""', f'  directory: "{self.dir}"', f'  pidfile: "{self.dir}/unbound.pid"',
                 '  logfile: ""', "  use-syslog: no", "  verbosity: 0", "  do-ip6: no", "  num-threads: 1",
                 "  do-not-query-localhost: no", '  module-config: "iterator"', "  cache-max-ttl: 1",
                 "  cache-max-negative-ttl: 1", "  qname-minimisation: no", '  local-zone: "test." nodefault']
        lines += [f'  domain-insecure: "{z}"' for z in self.stubs]
        lines += ["remote-control:", "  control-enable: yes", f'  control-interface: "{self.dir}/ctl.sock"',
                  "  control-use-cert: no"]
        for z, port in self.stubs.items():
            lines += ["stub-zone:", f'  name: "{z}"', f"  stub-addr: 127.0.0.1@{port}"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = spawn(["unbound", "-d", "-c", self.conf], os.path.join(self.dir, "unbound.log"))
        wait_until(lambda: dig_ok(self.port, "ns." + ZONE, "A"), 20, "unbound up")
        return self

    def queries(self):
        r = subprocess.run(["unbound-control", "-c", self.conf, "stats_noreset"], capture_output=True, text=True,
                           timeout=10)
        for line in r.stdout.splitlines():
            if line.startswith("total.num.queries="):
                return int(line.split("=")[1])
        raise RuntimeError("unbound-control stats: " + r.stdout + r.stderr)


class Sampler(threading.Thread):
    """Reads unbound's query counter once a second: the per-second rates."""

    def __init__(self, unbound):
        super().__init__(daemon=True)
        self.unbound, self.samples, self.stop_flag = unbound, [], threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            t1 = time.time()
            n = self.unbound.queries()
            # The counter is read somewhere during the call: stamp its midpoint,
            # so the call's own 5–20 ms jitter does not show up as rate.
            self.samples.append(((t1 + time.time()) / 2, n))
            self.stop_flag.wait(1.0)

    def window(self, t_from, t_to, span=1):
        """Queries between the first and last sample in [t_from, t_to], their
        mean rate, and the highest rate over `span` consecutive sample
        intervals (span=1: one second; a longer span averages out the few ms
        by which each counter read may miss its time stamp)."""
        s = [x for x in self.samples if t_from <= x[0] <= t_to]
        if len(s) <= span:
            return 0, 0.0, 0.0
        rates = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(s, s[span:])]
        total = s[-1][1] - s[0][1]
        return total, total / (s[-1][0] - s[0][0]), max(rates)


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() if "." in s else datetime.datetime.strptime(
        s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def claim_all(args, d):
    d.create_region("bench", ingress={"ipv4": ["192.0.2.10"], "ipv6": [], "hostname": None},
                    capacity={"memory_mib": 1 << 20, "cpu_millis": 1 << 20, "workspaces": args.workspaces + 10})
    d.heartbeat(d.agent_token("bench"))  # placement needs a healthy region; no agent runs after this
    ws = []
    for k in range(args.workspaces):
        r = d.request("POST", "/v1/workspaces", {"name": "ws%03d" % k, "resources": {"memory_mib": 1,
                                                                                    "cpu_millis": 1}})
        assert r.status == 201, r
        ws.append(r.json())

    def claim(i):
        wsj = ws[i % len(ws)]
        host = "d%05d.%s" % (i + 1, ZONE)
        r = d.request("POST", f"/v1/workspaces/{wsj['id']}/domains", {"hostname": host})
        assert r.status == 201, r
        return host, r.json()["verification"]["value"], wsj["name"]

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return ws, list(ex.map(claim, range(args.n)))


def snapshot(d, ws):
    """Every domain's view, through the API (one list call per workspace)."""
    out = {}
    for wsj in ws:
        r = d.request("GET", f"/v1/workspaces/{wsj['id']}/domains", timeout=60)
        assert r.status == 200, r
        for item in r.json()["items"]:
            out[item["hostname"]] = item
    return out


def measure(args, variant, d, knot, unbound, samplers):
    """`unbound`: the first resolver (to see the records appear); `samplers`:
    one per resolver. Query totals are summed, the highest rates are per
    resolver (the cap is per resolver)."""
    d.start()
    text = d.request("GET", "/metrics").body
    text = text.decode() if isinstance(text, bytes) else text
    limit = [ln.split()[-1] for ln in text.splitlines()
             if ln.startswith("fleetcommand_domain_verifier_concurrent_checks_limit ")]
    print(f"[{variant}] max_concurrent_checks in force: {limit[0] if limit else '?'}", flush=True)
    t_start = time.time()
    ws, claims = claim_all(args, d)
    t_claimed = time.time()
    print(f"[{variant}] {len(claims)} claims in {t_claimed - t_start:.1f} s over {len(ws)} workspaces", flush=True)
    if variant == "late":
        def all_checked():
            snap = snapshot(d, ws)
            return all(v["last_checked_at"] for v in snap.values())
        try:
            wait_until(all_checked, args.precheck_s, "every domain checked once", interval=2)
            print(f"[{variant}] every domain checked once {time.time() - t_claimed:.1f} s after the claims",
                  flush=True)
        except RuntimeError:
            print(f"[{variant}] not every domain was checked once within {args.precheck_s} s", flush=True)
    before = snapshot(d, ws)
    checked_before = sum(1 for v in before.values() if v["last_checked_at"])
    records = []
    for host, token, wsname in claims:
        records.append(f'_fleetcommand.{host}. 1 IN TXT "{token}"\n{host}. 1 IN CNAME {wsname}.{PLATFORM}.\n')
    knot.write_zone(records)
    knot.reload()
    t0 = time.time()
    last = claims[-1][0]
    # unbound may still hold a negative answer for up to cache-max-negative-ttl (1 s).
    wait_until(lambda: dig_ok(unbound.port, "_fleetcommand." + last, "TXT"), 10, "records visible through unbound")
    print(f"[{variant}] records appeared at +{t0 - t_claimed:.1f} s after the claims; "
          f"{checked_before} of {len(claims)} had been checked before", flush=True)
    snap = {}
    t_end = t0
    deadline = t0 + args.budget_s
    while time.time() < deadline:
        snap = snapshot(d, ws)
        t_end = time.time()
        done = sum(1 for v in snap.values() if v["verification"]["verified_at"])
        if done == len(claims):
            break
        time.sleep(2)
    lat = [parse_time(v["verification"]["verified_at"]) - t0 for v in snap.values()
           if v["verification"]["verified_at"]]
    last_verified = t0 + max(lat) if lat else t_end
    wins = [sm.window(t0, last_verified + 1) for sm in samplers]
    total, mean_rate = sum(x[0] for x in wins), sum(x[1] for x in wins)
    max_rate = max(x[2] for x in wins)
    max_rate_all = max(sm.window(t_start, t_end)[2] for sm in samplers)
    max_rate_10s = max(sm.window(t_start, t_end, span=10)[2] for sm in samplers)
    return {"variant": variant, "n": len(claims), "verified": len(lat), "checked_before": checked_before,
            "p50": pct(lat, 50), "p90": pct(lat, 90), "max": max(lat) if lat else float("nan"),
            "queries": total, "mean_qps": mean_rate, "max_qps_window": max_rate, "max_qps_run": max_rate_all, "max_qps_10s": max_rate_10s,
            "cap": args.qps, "resolvers": len(samplers), "budget_s": args.budget_s, "observed_for": t_end - t0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--workspaces", type=int, default=100)
    ap.add_argument("--qps", type=int, default=400)
    # "derived": domains.max_concurrent_checks left unset (the daemon derives it
    # from queries_per_second × resolvers, docs/domains.md "Configuration").
    ap.add_argument("--concurrency", type=lambda v: None if v == "derived" else int(v), default=16)
    ap.add_argument("--budget-s", type=float, default=300, help="bound on the wait after the records appear")
    ap.add_argument("--precheck-s", type=float, default=300, help="late: bound on the wait for the first checks")
    ap.add_argument("--variants", default="late,early")
    ap.add_argument("--resolvers", type=int, default=1, help="unbound instances in resolver.servers")
    args = ap.parse_args()
    # FC_BIN in the environment wins (e.g. a saved binary to compare with).
    os.environ.setdefault("FC_BIN", os.path.abspath(os.path.join(args.build, "app", "fleetcommand")))
    print("binary:", os.environ["FC_BIN"], flush=True)
    w = tempfile.mkdtemp(prefix="fc-domainsbench-")
    results = []
    try:
        import fctest
        knot = Knot(w, fctest.free_port()).start()
        unbound_ports = [fctest.free_port() for _ in range(args.resolvers)]
        for variant in args.variants.split(","):
            # unbound needs the daemon's DNS port (a stub zone): one unbound per variant.
            results.append(run_one(args, variant, knot, unbound_ports, w))
    finally:
        stop_all()
        shutil.rmtree(w, ignore_errors=True)
    print("\n| variant | domains | resolvers | checked before records | verified | p50 | p90 | max | queries | "
          "mean q/s (all resolvers) | max 1-s q/s (one resolver) | max 10-s q/s (one resolver) | cap per resolver |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['variant']} | {r['n']} | {r['resolvers']} | {r['checked_before']} | {r['verified']} | {r['p50']:.1f} s | "
              f"{r['p90']:.1f} s | {r['max']:.1f} s | {r['queries']} | {r['mean_qps']:.0f} | "
              f"{max(r['max_qps_window'], r['max_qps_run']):.0f} | {r['max_qps_10s']:.1f} | {r['cap']} |")
    print(json.dumps(results))


def run_one(args, variant, knot, unbound_ports, w):
    import fctest
    dns_port = fctest.free_port()
    unbounds, samplers = [], []
    for i, port in enumerate(unbound_ports):
        unbound = Unbound(os.path.join(w, variant, f"r{i}"), port, {ZONE: knot.port, PLATFORM: dns_port})
        os.makedirs(os.path.join(w, variant, f"r{i}"), exist_ok=True)
        unbound.start()
        unbounds.append(unbound)
        samplers.append(Sampler(unbound))
        samplers[-1].start()
    knot.write_zone([])
    knot.reload()
    per_ws = (args.n + args.workspaces - 1) // args.workspaces
    d = fctest.Daemon({"log": {"level": "warn"}, "dns": {"zone": PLATFORM, "listen": f"127.0.0.1:{dns_port}"},
                       "resolver": {"servers": [f"127.0.0.1:{p}" for p in unbound_ports]},
                       "domains": {"max_per_workspace": per_ws, "queries_per_second": args.qps,
                                   **({} if args.concurrency is None else
                                      {"max_concurrent_checks": args.concurrency})}},
                      workdir=tempfile.mkdtemp(dir=w, prefix=variant + "-"))
    d.dns_port = dns_port
    try:
        return measure(args, variant, d, knot, unbounds[0], samplers)
    finally:
        for sm in samplers:
            sm.stop_flag.set()
            sm.join(timeout=5)
        d.stop()
        for unbound in unbounds:
            unbound.proc.terminate()
            unbound.proc.wait(timeout=10)


if __name__ == "__main__":
    main()
