"""bench/ha/run.sh's driver: starts the daemons (tests/lib/fctest.py) on the
cluster pgcluster.py started (FC_TEST_PG_URL) and on SQLite, drives them with
wrk (bench/scheduler/create.lua) and prints one line per configuration."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
import fctest  # noqa: E402

DURATION = int(os.environ.get("DURATION", "10"))
CONNS = int(os.environ.get("CONNS", "32"))
QUIET = {"log": {"level": "warn"}}


def pg_url(name):
    base = os.environ["FC_TEST_PG_URL"]
    host_port = base.rsplit("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    import pgcluster
    subprocess.run([os.path.join(pgcluster.PG_BIN, "createdb"), "-h", host, "-p", port, "-U",
                    pgcluster.SUPERUSER, name], check=True, timeout=60, capture_output=True)
    return base.rsplit("/", 1)[0] + "/" + name


def daemon(storage, kek):
    cfg = dict(QUIET)
    if storage:
        cfg["storage"] = storage
    cfg["certs"] = {"key_encryption_key_file": kek}
    return fctest.Daemon(cfg)


def setup_region(d):
    """One region with room for every placement (create.lua names no region)."""
    d.create_region("r1", capacity={"memory_mib": 1 << 30, "cpu_millis": 1 << 30, "workspaces": 10000000})
    d.heartbeat(d.agent_token("r1"))


def wrk(d, token, tag, out):
    """bench/scheduler/create.lua: one new workspace (one placement) per request."""
    env = dict(os.environ, FC_TOKEN=token, RUN_TAG=tag)
    r = subprocess.run(["wrk", "-t1", f"-c{CONNS}", f"-d{DURATION}s", "--latency", "-s",
                        os.path.join(HERE, "..", "scheduler", "create.lua"), f"http://127.0.0.1:{d.api_port}"],
                       capture_output=True, text=True, env=env, timeout=DURATION + 60)
    m = re.search(r"created=(\d+) other=(\d+) seconds=([\d.]+) placements_per_s=\d+ p50_ms=([\d.]+) "
                  r"p99_ms=([\d.]+)", r.stdout)
    if not m:
        raise AssertionError(r.stdout + r.stderr)
    out.append((int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4)), float(m.group(5))))


def load(targets, token, tag):
    results, threads = [], []
    for i, d in enumerate(targets):
        t = threading.Thread(target=wrk, args=(d, token, f"{tag}{i}", results))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    created = sum(r[0] for r in results)
    other = sum(r[1] for r in results)
    secs = max(r[2] for r in results)
    p50 = max(r[3] for r in results)
    p99 = max(r[4] for r in results)
    return created / secs, created, other, p50, p99


def fsck(d):
    r = d.cli("fsck")
    return "clean" if r.returncode == 0 else "PROBLEMS: " + r.stdout[-500:]


def report(name, res, extra=""):
    rate, created, other, p50, p99 = res
    load1 = os.getloadavg()[0]
    print(f"{name:28s} {rate:9.0f} placements/s  created={created} non-201={other} "
          f"p50={p50:.1f}ms p99={p99:.1f}ms load1={load1:.1f} {extra}", flush=True)


def main():
    kekdir = fctest.tempfile.mkdtemp(prefix="fc-bench-kek-")
    kek = os.path.join(kekdir, "kek.key")
    print(f"wrk -t1 -c{CONNS} -d{DURATION}s per daemon; POST /v1/workspaces (one placement each)", flush=True)
    daemons = []
    try:
        # 1. SQLite, one daemon.
        d = daemon(None, kek).start()
        daemons.append(d)
        setup_region(d)
        report("sqlite, 1 daemon", load([d], d.token, "s"), fsck(d))
        d.stop()
        # 2. PostgreSQL, one daemon.
        st = {"backend": "postgres", "postgres_url": pg_url(f"bench1_{os.getpid()}")}
        d = daemon(st, kek).start()
        daemons.append(d)
        setup_region(d)
        report("postgres, 1 daemon", load([d], d.token, "p"), fsck(d))
        d.stop()
        # 3. PostgreSQL, two daemons: wrk on the leader and on the standby at once.
        st = {"backend": "postgres", "postgres_url": pg_url(f"bench2_{os.getpid()}")}
        a = daemon(st, kek).start()
        daemons.append(a)
        b = daemon(st, kek).start(wait_ready=False)
        daemons.append(b)
        fctest.wait_until(lambda: b.request("GET", "/readyz", auth=False).status == 200, timeout=20)
        b.token = a.token
        setup_region(a)
        report("postgres, 2 daemons (both)", load([a, b], a.token, "q"), fsck(a))
        report("postgres, via standby only", load([b], a.token, "r"))
        # 4. Failover: SIGKILL the leader while posting through the standby.
        first = {}
        stop = threading.Event()

        def post():
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = b.request("POST", "/v1/workspaces", {"name": f"f-{i}", "resources": {
                        "memory_mib": 1, "cpu_millis": 1}, "placement": {"regions": ["r1"]}}, timeout=10)
                except OSError:
                    continue
                if r.status == 201 and "kill" in first and "ok" not in first:
                    first["ok"] = time.monotonic() - first["kill"]
                if r.status != 201:
                    time.sleep(0.02)

        t = threading.Thread(target=post)
        t.start()
        time.sleep(1)
        a.proc.send_signal(signal.SIGKILL)
        first["kill"] = time.monotonic()
        a.proc.wait()
        fctest.wait_until(lambda: "ok" in first, timeout=30, interval=0.02)
        stop.set()
        t.join()
        print(f"failover: first placement acknowledged through the standby {first['ok']:.2f} s after SIGKILL "
              f"of the leader (lease TTL 3000 ms) load1={os.getloadavg()[0]:.1f} fsck={fsck(b)}", flush=True)
    finally:
        for d in daemons:
            d.stop()
            d.cleanup()
        fctest.shutil.rmtree(kekdir, ignore_errors=True)


if __name__ == "__main__":
    main()
