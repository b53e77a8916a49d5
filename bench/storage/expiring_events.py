#!/usr/bin/env python3
"""The certificate.expiring check's event lookup, before and after
events::newest_about (certs/events.cpp), on migration 0015's `events` schema
with raw SQLite (no daemon): EVENTS workspace events written after CERTS
certificate.issued events (the certificates' events are the oldest, as in a
fleet whose certificates were issued long ago). `events` has no subject
index, so the old per-certificate query scans from the newest row down.

  python3 bench/storage/expiring_events.py [--events 1000000] [--certs 500] [--old-samples 10]

Bounded: one file in a fresh temporary directory, removed at the end.
"""
import argparse
import json
import os
import sqlite3
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "migrations", "0015_events.sql")
TYPES = ["certificate.issued", "certificate.renewed", "certificate.expiring"]
# certs/events.cpp before c92cdc7: events::last_about(c, id, "certificate.*"), once per certificate.
OLD = ("SELECT seq FROM events WHERE subject = ?1 AND (type = ?2 OR (?3 <> '' AND"
       " substr(type, 1, length(?3)) = ?3)) ORDER BY seq DESC LIMIT 1")
# events::newest_about: one query for a page of certificates.
NEW = ("SELECT seq, type FROM events WHERE seq IN (SELECT max(seq) FROM events WHERE type IN"
       " (SELECT value FROM json_each(?2)) AND subject IN (SELECT value FROM json_each(?1))"
       " GROUP BY subject)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--certs", type=int, default=500)
    ap.add_argument("--old-samples", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(os.path.join(tmp, "events.db"))
        db.executescript(open(SCHEMA).read())
        rows = [(k + 1, f"evt_c{k}", "certificate.issued", f"ws_{k}", 3, f"crt_{k}",
                 '{"version":1}', 0) for k in range(a.certs)]
        rows += [(a.certs + 1 + i, f"evt_{i}", "workspace.placed" if i % 2 else "workspace.created",
                  f"ws_{i // 2}", 1 + i % 2, f"ws_{i // 2}", '{"id":"x"}', 0)
                 for i in range(a.events)]
        db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", rows)
        db.commit()
        ids = [f"crt_{k}" for k in range(a.certs)]
        t = time.perf_counter()
        for cid in ids[:a.old_samples]:
            db.execute(OLD, (cid, "certificate.*", "certificate.")).fetchall()
        old = (time.perf_counter() - t) / a.old_samples
        t = time.perf_counter()
        got = db.execute(NEW, (json.dumps(ids), json.dumps(TYPES))).fetchall()
        new = time.perf_counter() - t
        assert len(got) == a.certs, len(got)
        print(f"events={a.events + a.certs} certificates={a.certs} load={os.getloadavg()[0]:.2f}")
        print(f"before: one query per certificate {old * 1000:.1f} ms "
              f"(x{a.certs} = {old * a.certs:.1f} s of the writer thread per check)")
        print(f"after:  one query for all {a.certs}: {new * 1000:.2f} ms")


if __name__ == "__main__":
    main()
