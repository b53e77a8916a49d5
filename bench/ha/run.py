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
import pg_ceiling  # noqa: E402

DURATION = int(os.environ.get("DURATION", "10"))
CONNS = int(os.environ.get("CONNS", "32"))
QUIET = {"log": {"level": "warn"}}
PROFILE = os.environ.get("PROFILE") == "1"  # perf record of the PostgreSQL daemon during its run
# pg_stat_statements during the one-daemon PostgreSQL run: statements per placement (run.sh sets
# FC_TEST_PG_OPTS so that the cluster preloads it).
STATEMENTS = os.environ.get("STATEMENTS") == "1"
# ONLY=pg1: only the one-daemon PostgreSQL load; ONLY=pg2: only the two daemons' (quick A/Bs).
ONLY = os.environ.get("ONLY", "")


def psql(dbname, sql):
    import pgcluster
    base = os.environ["FC_TEST_PG_URL"]
    host, port = base.rsplit("@", 1)[1].split("/", 1)[0].split(":")
    r = subprocess.run([os.path.join(pgcluster.PG_BIN, "psql"), "-h", host, "-p", port, "-U", pgcluster.SUPERUSER,
                        "-d", dbname, "-At", "-F", " | ", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60, check=True)
    return r.stdout


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


def cpu_s(pids):
    """User + system CPU seconds of these processes (their threads included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def pg_pids():
    """The postmaster of the bench's cluster and its children (backends, WAL writer, ...)."""
    try:
        with open(os.path.join(os.environ["FC_TEST_PG_DIR"], "data", "postmaster.pid")) as f:
            master = f.readline().strip()
    except (OSError, KeyError):
        return []
    out = [master]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == master:
                    out.append(pid)
        except OSError:
            pass
    return out


PHASES = ("begin", "callers", "flush", "commit")


def counters(d):
    """(transactions, commits, {phase: writer seconds}) of the daemon's
    group-commit writer (/metrics; the phases are empty for a binary without them)."""
    text = d.request("GET", "/metrics").body.decode()
    get = lambda name: float(re.search(rf"^{name} ([\d.e+]+)$", text, re.M).group(1))  # noqa: E731
    phases = {}
    for p in PHASES:
        m = re.search(rf'^fleetcommand_db_writer_seconds_total{{phase="{p}"}} ([\d.e+]+)$', text, re.M)
        if m:
            phases[p] = float(m.group(1))
    return get("fleetcommand_db_transactions_total"), get("fleetcommand_db_commits_total"), phases


def profile(pids, seconds, out):
    """PROFILE=1: perf record of the daemon and of the cluster's processes
    during the load; where the samples are, by process and library, then the
    top symbols."""
    data = os.path.join(fctest.tempfile.gettempdir(), f"fc-bench-ha-{os.getpid()}.perf")
    subprocess.run(["perf", "record", "-q", "-F", "499", "-p", ",".join(map(str, pids)), "-o", data, "--",
                    "sleep", str(seconds)], capture_output=True, timeout=seconds + 60)
    for sort, limit in (("comm,dso", "1"), ("comm,symbol", "1.2")):
        r = subprocess.run(["perf", "report", "-i", data, "--percent-limit", limit, "--stdio", "--sort", sort],
                           capture_output=True, text=True, timeout=300)
        lines = [ln.rstrip()[:160] for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
        out.append(f"  perf, by {sort}:\n" + "\n".join("  " + ln for ln in lines))
    os.unlink(data)


def load(targets, token, tag, prof=False, daemons=None):
    """wrk on each of `targets` at once; CPU counted over `daemons` (default
    the targets); the writer's counters are the leader's (a standby forwards
    /metrics to it), read through targets[0]."""
    pids = [d.proc.pid for d in (daemons or targets)]
    pg = pg_pids()
    c0 = counters(targets[0])
    cpu0, pgcpu0 = cpu_s(pids), cpu_s(pg)
    prof_out, prof_t = [], None
    if prof:
        prof_t = threading.Thread(target=profile, args=(pids + pg, max(DURATION - 4, 2), prof_out))
        prof_t.start()
    results, threads = [], []
    for i, d in enumerate(targets):
        t = threading.Thread(target=wrk, args=(d, token, f"{tag}{i}", results))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if prof_t:
        prof_t.join()
    cpu, pgcpu = cpu_s(pids) - cpu0, cpu_s(pg) - pgcpu0
    c1 = counters(targets[0])
    txs, commits = c1[0] - c0[0], c1[1] - c0[1]
    created = sum(r[0] for r in results)
    other = sum(r[1] for r in results)
    secs = max(r[2] for r in results)
    p50 = max(r[3] for r in results)
    p99 = max(r[4] for r in results)
    per = max(created, 1)
    extra = (f"daemon_cpu_us/placement={cpu / per * 1e6:.0f} pg_cpu_us/placement={pgcpu / per * 1e6:.0f} "
             f"tx/commit={txs / max(commits, 1):.1f}")
    if c1[2] and c0[2]:
        # The writer's wall time per batch by phase, and how busy it was.
        per_batch = {p: (c1[2][p] - c0[2][p]) / max(commits, 1) * 1e6 for p in PHASES}
        busy = sum(c1[2][p] - c0[2][p] for p in PHASES) / max(DURATION, 1)
        extra += " batch_us=" + "/".join(f"{per_batch[p]:.0f}" for p in PHASES) + \
            f" (begin/callers/flush/commit) writer_busy={busy:.2f}"
    if prof_out:
        extra += "\n" + "\n".join(prof_out)
    return created / secs, created, other, p50, p99, extra


def fsck(d):
    r = d.cli("fsck")
    return "clean" if r.returncode == 0 else "PROBLEMS: " + r.stdout[-500:]


def report(name, res, extra=""):
    rate, created, other, p50, p99, more = res
    load1 = os.getloadavg()[0]
    print(f"{name:28s} {rate:9.0f} placements/s  created={created} non-201={other} "
          f"p50={p50:.1f}ms p99={p99:.1f}ms load1={load1:.1f} {extra} {more}", flush=True)


def two_daemons(kek, daemons):
    """PostgreSQL, two daemons: wrk on the leader and on the standby at once."""
    st = {"backend": "postgres", "postgres_url": pg_url(f"bench2_{os.getpid()}")}
    a = daemon(st, kek).start()
    daemons.append(a)
    b = daemon(st, kek).start(wait_ready=False)
    daemons.append(b)
    fctest.wait_until(lambda: b.request("GET", "/readyz", auth=False).status == 200, timeout=20)
    b.token = a.token
    setup_region(a)
    report("postgres, 2 daemons (both)", load([a, b], a.token, "q"), fsck(a))
    return a, b


def main():
    kekdir = fctest.tempfile.mkdtemp(prefix="fc-bench-kek-")
    kek = os.path.join(kekdir, "kek.key")
    print(f"wrk -t1 -c{CONNS} -d{DURATION}s per daemon; POST /v1/workspaces (one placement each)", flush=True)
    daemons = []
    try:
        # 1. SQLite, one daemon.
        if not ONLY:
            d = daemon(None, kek).start()
            daemons.append(d)
            setup_region(d)
            report("sqlite, 1 daemon", load([d], d.token, "s"), fsck(d))
            d.stop()
        # 2. PostgreSQL, one daemon.
        if ONLY == "pg2":
            return two_daemons(kek, daemons)
        db1 = f"bench1_{os.getpid()}"
        st = {"backend": "postgres", "postgres_url": pg_url(db1)}
        d = daemon(st, kek).start()
        daemons.append(d)
        setup_region(d)
        if STATEMENTS:
            psql(db1, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()")
        wal0 = psql(db1, "SELECT pg_current_wal_lsn()").strip()
        ckpt0 = psql(db1, "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter").strip()
        res = load([d], d.token, "p", prof=PROFILE)
        # The WAL the load wrote (docs/storage.md "Recommended PostgreSQL
        # configuration": far below max_wal_size, no checkpoint in the run).
        wal = psql(db1, f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal0}')").strip()
        ckpts = int(psql(db1, "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter").strip()) - int(ckpt0)
        report("postgres, 1 daemon", res, fsck(d) + f" wal_bytes/placement={float(wal) / max(res[1], 1):.0f}"
               f" wal_mb={float(wal) / 1e6:.0f} checkpoints={ckpts}")
        if STATEMENTS:
            n = max(res[1], 1)
            print(f"  pg_stat_statements, per placement ({n} placements):", flush=True)
            print(psql(db1, f"SELECT round(sum(calls)::numeric / {n}, 1) AS calls,"
                            f" round((sum(total_exec_time) * 1000 / {n})::numeric, 0) AS exec_us"
                            " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
                            f" WHERE datname = '{db1}')"), flush=True)
            print(psql(db1, f"SELECT round(calls::numeric / {n}, 2), round((total_exec_time * 1000 / {n})::numeric, 0),"
                            " left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements"
                            f" WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{db1}')"
                            " ORDER BY calls DESC LIMIT 25"), flush=True)
        d.stop()
        if ONLY == "pg1":
            return
        # 2b. PostgreSQL's own ceiling for the same rows, on the same database (pg_ceiling.py).
        host, port = os.environ["FC_TEST_PG_URL"].rsplit("@", 1)[1].split("/", 1)[0].split(":")
        import pgcluster
        pg_ceiling.run(os.path.join(pgcluster.PG_BIN, "pgbench"), ["-h", host, "-p", port, "-U", pgcluster.SUPERUSER],
                       psql, db1, DURATION, pg_pids)
        # 3. PostgreSQL, two daemons: wrk on the leader and on the standby at once.
        a, b = two_daemons(kek, daemons)
        report("postgres, via standby only", load([b], a.token, "r", daemons=[a, b]))
        # 4. Failover: SIGKILL the leader while posting through the standby.
        first = {}
        stop = threading.Event()

        def post():
            i = 0
            while not stop.is_set():
                i += 1
                sent = time.monotonic()
                try:
                    r = b.request("POST", "/v1/workspaces", {"name": f"f-{i}", "resources": {
                        "memory_mib": 1, "cpu_millis": 1}, "placement": {"regions": ["r1"]}}, timeout=10)
                except OSError:
                    continue
                # Only a request sent after the kill: one the old leader answered does not count.
                if r.status == 201 and "kill" in first and sent > first["kill"] and "ok" not in first:
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
