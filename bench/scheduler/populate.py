#!/usr/bin/env python3
"""Scheduler benchmark helper (docs/BENCHMARKS.md "Scheduler").

populate DB --regions N --workspaces M
    Fills a fleetcommand database (already migrated by one daemon start) with
    N healthy regions (ids r0000..) and M placed workspaces spread round-robin,
    in the daemon's schema: workspaces + placements + one `apply` assignment
    each, regions.alloc_* and regions.revision consistent (fsck-clean).
    Bulk speed, not durability: synchronous=OFF, one transaction.

ceiling DB --rows K --batch B
    The raw-SQLite ceiling for the daemon's placement transaction: K new
    workspaces, each as the same rows the daemon writes (UPDATE regions alloc,
    INSERT workspace, INSERT placement, UPDATE regions revision, INSERT
    assignment), B placements per durable commit (WAL, synchronous=FULL, like
    the daemon's group commit). Prints placements/s.
"""
import argparse
import json
import sqlite3
import time

CAP = (1 << 40, 1 << 40, 1 << 40)  # never the limit in a benchmark
ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ws_id(prefix, n):
    """A syntactically valid, unique, time-ordered-looking id (26 chars)."""
    s = ""
    for _ in range(26):
        s = ULID[n % 32] + s
        n //= 32
    return prefix + s


def body(wid, name, zone):
    return json.dumps({"workspace_id": wid, "name": name, "generation": 1, "action": "apply",
                       "resources": {"memory_mib": 1, "cpu_millis": 1}, "spec": {},
                       "hostnames": [f"{name}.{zone}"], "certificates": []}, separators=(",", ":"))


def populate(db, regions, workspaces, zone):
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA synchronous=OFF")
    now = int(time.time() * 1000)
    rids = [f"r{i:04d}" for i in range(regions)]
    counts = [workspaces // regions + (1 if i < workspaces % regions else 0) for i in range(regions)]
    c.execute("BEGIN")
    c.executemany(
        "INSERT INTO regions(id, name, labels, ingress, cap_memory_mib, cap_cpu_millis, cap_workspaces,"
        " alloc_memory_mib, alloc_cpu_millis, alloc_workspaces, state, revision, min_revision,"
        " last_heartbeat_at, created_at, updated_at) VALUES(?,?,'{}',?,?,?,?,?,?,?,'active',?,0,?,?,?)",
        [(r, r, '{"ipv4":["192.0.2.10"],"ipv6":[],"hostname":null}', *CAP, n, n, n, n + 1, now, now, now)
         for r, n in zip(rids, counts)])

    def rows():
        for i in range(workspaces):
            r = rids[i % regions]
            yield i, r, ws_id("ws_0", i), f"pre-{i}"
    batch = []
    for i, r, wid, name in rows():
        batch.append((i, r, wid, name))
        if len(batch) == 20000 or i == workspaces - 1:
            c.executemany("INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, created_at, updated_at)"
                          " VALUES(?,?,?,1,1,?,?)", [(w, n, r, now, now) for _, r, w, n in batch])
            c.executemany("INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis) VALUES(?,?,1,1)",
                          [(w, r) for _, r, w, _ in batch])
            # revisions start at 1 per region (an empty region's is 1): the k-th
            # workspace of a region gets revision k + 1
            c.executemany("INSERT INTO assignments(region, workspace_id, revision, action, body)"
                          " VALUES(?,?,?,'apply',?)",
                          [(r, w, i // regions + 2, body(w, n, zone)) for i, r, w, n in batch])
            batch = []
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


def ceiling(db, rows, batch, zone):
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    rids = [r for (r,) in c.execute("SELECT id FROM regions ORDER BY id")]
    now = int(time.time() * 1000)
    t0 = time.monotonic()
    for start in range(0, rows, batch):
        c.execute("BEGIN IMMEDIATE")
        for i in range(start, min(rows, start + batch)):
            r = rids[i % len(rids)]
            wid, name = ws_id("ws_9", i), f"ceil-{i}"
            c.execute("UPDATE regions SET alloc_memory_mib = alloc_memory_mib + 1, alloc_cpu_millis ="
                      " alloc_cpu_millis + 1, alloc_workspaces = alloc_workspaces + 1 WHERE id = ?", (r,))
            c.execute("INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, created_at, updated_at)"
                      " VALUES(?,?,?,1,1,?,?)", (wid, name, r, now, now))
            c.execute("INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis) VALUES(?,?,1,1)",
                      (wid, r))
            (rev,) = c.execute("UPDATE regions SET revision = revision + 1 WHERE id = ? RETURNING revision",
                               (r,)).fetchone()
            c.execute("INSERT INTO assignments(region, workspace_id, revision, action, body) VALUES(?,?,?,'apply',?)",
                      (r, wid, rev, body(wid, name, zone)))
        c.execute("COMMIT")
    dt = time.monotonic() - t0
    c.close()
    print(f"raw SQLite ceiling (python sqlite3, {batch}/commit, synchronous=FULL): "
          f"{rows} placements in {dt:.2f} s = {rows / dt:,.0f} placements/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["populate", "ceiling"])
    ap.add_argument("db")
    ap.add_argument("--regions", type=int, default=10)
    ap.add_argument("--workspaces", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--zone", default="fleet.test")
    a = ap.parse_args()
    t0 = time.monotonic()
    if a.mode == "populate":
        populate(a.db, a.regions, a.workspaces, a.zone)
        print(f"populated {a.regions} regions, {a.workspaces} workspaces in {time.monotonic() - t0:.1f} s")
    else:
        ceiling(a.db, a.rows, a.batch, a.zone)


if __name__ == "__main__":
    main()
