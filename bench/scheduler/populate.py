#!/usr/bin/env python3
"""Scheduler benchmark helper (docs/BENCHMARKS.md "Scheduler").

populate DB --regions N --workspaces M
    Fills a fleetcommand database (already migrated by one daemon start) with
    N healthy regions (ids r0000..) and M placed workspaces spread round-robin,
    in the daemon's schema: workspaces + placements + one `apply` assignment
    each, regions.alloc_* and regions.revision consistent (fsck-clean).
    Bulk speed, not durability: synchronous=OFF, one transaction.
    --running: every workspace as its agent reported it (observed generation
    1, phase running, DNS published: dns_region set), as in a settled fleet.
    --domains D: D custom domains spread over the workspaces (workspace
    i * 7919 mod M, so some hold several) in a settled mix of states: 70 %
    active (verified, routed), 20 % pending_verification (next check within
    6 h), 5 % failed, 5 % deleted (reserved for 30 days); hostnames
    d<i>.customer<i mod 1000>.example.

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
ULID = "0123456789abcdefghjkmnpqrstvwxyz"  # common/ids.hpp's alphabet


def ws_id(prefix, n):
    """A syntactically valid, unique, time-ordered-looking id: the kind's
    prefix ("ws_", "dom_") and 26 characters of the id alphabet, the first of
    them whatever `prefix` has after its "_" ("ws_0": the populated set, "ws_9":
    the ceiling's), so the API accepts it as an id and as a cursor."""
    kind, _, tag = prefix.partition("_")
    s = ""
    for _ in range(26 - len(tag)):
        s = ULID[n % 32] + s
        n //= 32
    return f"{kind}_{tag}{s}"


def body(wid, name, zone):
    return json.dumps({"workspace_id": wid, "name": name, "generation": 1, "action": "apply",
                       "resources": {"memory_mib": 1, "cpu_millis": 1}, "spec": {},
                       "hostnames": [f"{name}.{zone}"], "certificates": []}, separators=(",", ":"))


def populate(db, regions, workspaces, zone, running=False, domains=0):
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
            if running:
                c.executemany("INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, observed_generation,"
                              " observed_phase, dns_region, observed_since, created_at, updated_at)"
                              " VALUES(?,?,?,1,1,1,'running',?,?,?,?)",
                              [(w, n, r, r, now, now, now) for _, r, w, n in batch])
            else:
                c.executemany("INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, created_at,"
                              " updated_at) VALUES(?,?,?,1,1,?,?)", [(w, n, r, now, now) for _, r, w, n in batch])
            c.executemany("INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis) VALUES(?,?,1,1)",
                          [(w, r) for _, r, w, _ in batch])
            # revisions start at 1 per region (an empty region's is 1): the k-th
            # workspace of a region gets revision k + 1
            c.executemany("INSERT INTO assignments(region, workspace_id, revision, action, body)"
                          " VALUES(?,?,?,'apply',?)",
                          [(r, w, i // regions + 2, body(w, n, zone)) for i, r, w, n in batch])
            batch = []
    if domains:
        populate_domains(c, workspaces, domains, now)
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


def populate_domains(c, workspaces, domains, now):
    """`domains` rows in the daemon's schema (migrations 0006, 0009), states as
    a settled fleet has them (see the module text)."""
    hour, day = 3600 * 1000, 24 * 3600 * 1000
    rows = []
    for i in range(domains):
        wid = ws_id("ws_0", (i * 7919) % workspaces)
        host = f"d{i}.customer{i % 1000}.example"
        token = f"fc-verify={i:032x}"
        k = i % 20
        created = now - (i % 90) * day
        if k < 14:    # active: verified, routed, certificate ordered over HTTP-01
            rows.append((ws_id("dom_", i), host, wid, "active", token, created + hour, 1, f"{wid}.fleet.test.",
                         "http-01", 1, None, 0, None, None, None, now + (i % 24) * hour, created, now))
        elif k < 18:  # pending: waiting for its TXT record, next check within 6 h
            rows.append((ws_id("dom_", i), host, wid, "pending_verification", token, None, 0, "", None, 0,
                         "TXT fc-verify not found", i % 8, None, None, None, now + (i % 360) * 60 * 1000,
                         created, now))
        elif k < 19:  # failed: gave up after its attempts
            rows.append((ws_id("dom_", i), host, wid, "failed", token, None, 0, "", None, 0,
                         "verification timed out after 7 days", 20, None, None, None, None, created, now))
        else:         # deleted: hostname reserved for 30 days
            rows.append((ws_id("dom_", i), host, wid, "deleted", token, created + hour, 0, "", None, 0, None, 0,
                         None, now - day, now + 29 * day, None, created, now))
    c.executemany("INSERT INTO domains(id, hostname, workspace_id, status, token, verified_at, routing_ok,"
                  " routing_found, challenge, routed, last_error, attempts, moved_at, deleted_at, reserved_until,"
                  " next_check_at, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)


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
    ap.add_argument("--running", action="store_true")
    ap.add_argument("--domains", type=int, default=0)
    a = ap.parse_args()
    t0 = time.monotonic()
    if a.mode == "populate":
        populate(a.db, a.regions, a.workspaces, a.zone, a.running, a.domains)
        print(f"populated {a.regions} regions, {a.workspaces} workspaces, {a.domains} domains"
              f" in {time.monotonic() - t0:.1f} s")
    else:
        ceiling(a.db, a.rows, a.batch, a.zone)


if __name__ == "__main__":
    main()
