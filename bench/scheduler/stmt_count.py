#!/usr/bin/env python3
"""SQL statements per workspace create (docs/BENCHMARKS.md "Scheduler").

Starts the real daemon with stmt_count.so preloaded (counts every statement
execution on SQLite and every PQexec/PQexecPrepared round trip on
PostgreSQL), creates one region and N workspaces through the API one after
the other, stops it, and prints each statement run at least once per create
with its count per create, then the total per create.

--parallel P sends the creates from P threads at once, so that the group
commit batches them: statements run once per batch (the set-based flush of
each table, BEGIN, COMMIT) then count less than one per create, and the last
line gives every statement the daemon ran divided by the creates.

  FC_BIN=build-ft/app/fleetcommand bench/scheduler/stmt_count.py [--creates N] [--parallel P]
  FC_TEST_BACKEND=postgres ... (a throwaway cluster: tests/lib/pgcluster.py)
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "lib"))
import fctest  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--creates", type=int, default=300)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--show", type=float, default=0.99,
                    help="list the statements run at least this often per create")
    args = ap.parse_args()
    if not fctest.FC_BIN:
        sys.exit("stmt_count.py: set FC_BIN")
    tmp = tempfile.mkdtemp(prefix="fc-stmt-count-")
    shim = os.path.join(tmp, "stmt_count.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim, os.path.join(here, "stmt_count.c"),
                    "-ldl", "-lpthread"], check=True)
    out = os.path.join(tmp, "counts.tsv")
    d = fctest.Daemon(config={"log": {"level": "warn"}, "agents": {"heartbeat_timeout_s": 86400}},
                      env={"LD_PRELOAD": shim, "FC_STMT_COUNT_OUT": out})
    try:
        d.start()
        d.create_region("r1", capacity={"memory_mib": 1 << 30, "cpu_millis": 1 << 30,
                                        "workspaces": 1 << 30})
        d.heartbeat(d.agent_token("r1"))
        def create(k):
            r = d.request("POST", "/v1/workspaces",
                          {"name": f"c{k}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
            assert r.status == 201, r

        with concurrent.futures.ThreadPoolExecutor(max(1, args.parallel)) as pool:
            for _ in pool.map(create, range(args.creates)):
                pass
        d.stop()
        rows = []
        with open(out) as f:
            for line in f:
                n, sql = line.rstrip("\n").split("\t", 1)
                rows.append((int(n), sql))
    finally:
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    # Not statements: the PostgreSQL round trips (a pipeline's statements
    # share one, its sync) and the syncs themselves.
    trips = sum(n for n, sql in rows if sql == "(round trips)")
    syncs = sum(n for n, sql in rows if sql == "(pipeline sync)")
    rows = [r for r in rows if r[1] not in ("(round trips)", "(pipeline sync)")]
    rows.sort(key=lambda r: (-r[0], r[1]))
    total = 0.0
    backend = os.environ.get("FC_TEST_BACKEND", "sqlite")
    print(f"# {backend}: statements per create ({args.creates} creates, {args.parallel} at a time),"
          " those run >= once per create")
    for n, sql in rows:
        per = n / args.creates
        if per >= 0.99:
            total += per
        if per >= args.show:
            print(f"{per:6.2f}  {sql[:150]}")
    print(f"total {total:.2f} statements per create")
    print(f"all {sum(n for n, _ in rows) / args.creates:.2f} statements per create"
          " (every statement the daemon ran, start-up and the region's set-up included)")
    if trips:
        print(f"round trips {trips / args.creates:.2f} per create ({syncs / args.creates:.2f} of them"
              " pipeline syncs; PostgreSQL, every round trip the daemon made)")


if __name__ == "__main__":
    main()
