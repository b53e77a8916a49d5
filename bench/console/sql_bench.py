#!/usr/bin/env python3
"""The workspace search's SQL alone (docs/BENCHMARKS.md "Console"): applies
migrations/*.sql to a fresh SQLite file, fills it with N workspaces
(bench/scheduler/populate.py: names pre-0 … pre-<N-1>), prints the query plan
of the `q=` statement (scheduler/detail/store.cpp) and p50/p99 per shape over
a bounded number of runs. No daemon: the HTTP figures come from
search_bench.py (run.sh).

  sql_bench.py [--workspaces 100000] [--runs 200] [--db PATH]"""
import argparse
import glob
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The statements of scheduler/detail/store.cpp list_workspaces (columns cut to id, name).
SEARCH = ("SELECT id, name FROM workspaces WHERE name >= ?5 AND name < ?6 AND name >"
          " COALESCE((SELECT name FROM workspaces WHERE id = ?1), '')"
          " AND (?2 = '' OR region = ?2) AND (?3 = '' OR state = ?3) ORDER BY name LIMIT ?4")
BY_ID = ("SELECT id, name FROM workspaces WHERE id > ?1 AND (?2 = '' OR region = ?2)"
         " AND (?3 = '' OR state = ?3) ORDER BY id LIMIT ?4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspaces", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--db")
    a = ap.parse_args()
    tmp = None
    db = a.db
    if not db:
        tmp = tempfile.mkdtemp(prefix="fc-console-sql-")
        db = os.path.join(tmp, "fc.db")
    c = sqlite3.connect(db)
    for f in sorted(glob.glob(os.path.join(REPO, "migrations", "*.sql"))):
        c.executescript(open(f, encoding="utf-8").read())
    c.commit()
    c.close()
    subprocess.run([sys.executable, os.path.join(REPO, "bench", "scheduler", "populate.py"), "populate", db,
                    "--regions", "10", "--workspaces", str(a.workspaces)], check=True)
    c = sqlite3.connect(db)
    plan = c.execute("EXPLAIN QUERY PLAN " + SEARCH, ("", "", "", 51, "pre-1", "pre-2")).fetchall()
    print("plan:", " | ".join(r[3] for r in plan))

    def shape(label, q, args):
        ts = []
        rows = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            rows = c.execute(q, args).fetchall()
            ts.append((time.perf_counter() - t0) * 1000)
        ts.sort()
        print(f"{label:34s} rows={len(rows):3d}  p50={ts[len(ts) // 2]:.3f} ms  p99={ts[int(len(ts) * .99) - 1]:.3f} ms")
        return rows

    shape("no q (id order)", BY_ID, ("", "", "", 51))
    shape("q=pre (all match)", SEARCH, ("", "", "", 51, "pre", "prf"))
    rows = shape("q=pre-1 (11,111 match)", SEARCH, ("", "", "", 51, "pre-1", "pre-2"))
    shape("q=pre-1, second page", SEARCH, (rows[49][0], "", "", 51, "pre-1", "pre-2"))
    shape("q=pre-4242 (11 match)", SEARCH, ("", "", "", 51, "pre-4242", "pre-4243"))
    shape("q=pre-99999 (1 match)", SEARCH, ("", "", "", 51, "pre-99999", "pre-9999:"))
    shape("q=zzz (none)", SEARCH, ("", "", "", 51, "zzz", "zz{"))
    shape("q=pre-1&region=r0003", SEARCH, ("", "r0003", "", 51, "pre-1", "pre-2"))
    c.close()
    if tmp:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
