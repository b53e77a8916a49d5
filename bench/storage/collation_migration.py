#!/usr/bin/env python3
"""What migration 0027 (text columns to COLLATE "C", docs/storage.md
"Collation") costs an existing PostgreSQL database with a linguistic default.

A throwaway cluster (tests/lib/pgcluster.py; FC_PG_LOCALE, default icu), the
schema by `fleetcommand migrate`, then made to look like a database created
before 0027 (every text column in the default collation, 0027 not recorded),
filled with WORKSPACES workspaces (each with its placement and assignment)
and 3 events per workspace, and `fleetcommand migrate` timed: it applies
0027 alone (the column changes and the index rebuilds); the peer in the same
run is `REINDEX DATABASE` (every index of the database rebuilt). Prints the
figures, the database size and the load average. Loopback only; everything bounded.

    FC_BIN=build/app/fleetcommand WORKSPACES=100000 python3 bench/storage/collation_migration.py
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
import fctest  # noqa: E402
import pgcluster  # noqa: E402

N = int(os.environ.get("WORKSPACES", "100000"))
LOCALE = os.environ.get("FC_PG_LOCALE", "icu")

TO_DEFAULT = """DO $$ DECLARE t record; BEGIN FOR t IN
  SELECT c.relname, string_agg(format('ALTER COLUMN %I TYPE text COLLATE "default"', a.attname), ', ') AS alters
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
     AND NOT a.attisdropped AND a.atttypid = 'text'::regtype GROUP BY c.relname
  LOOP EXECUTE format('ALTER TABLE %I ', t.relname) || t.alters; END LOOP; END $$"""

NOT_C = """SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
   AND NOT a.attisdropped AND a.atttypid = 'text'::regtype
   AND a.attcollation <> 'pg_catalog."C"'::regcollation"""

FILL = [
    "INSERT INTO regions(id, name, cap_memory_mib, cap_cpu_millis, cap_workspaces, created_at, updated_at)"
    f" VALUES ('eu-1', 'eu-1', {N}, {N}, {N}, 0, 0)",
    "INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, created_at, updated_at)"
    f" SELECT 'ws_' || lpad(i::text, 26, '0'), 'w-' || i, 'eu-1', 1, 1, 0, 0 FROM generate_series(1, {N}) i",
    "INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis) SELECT id, 'eu-1', 1, 1 FROM workspaces",
    "INSERT INTO assignments(region, workspace_id, revision, action, body)"
    " SELECT 'eu-1', id, row_number() OVER (ORDER BY id), 'apply', '{\"image\":\"example/app:1\"}' FROM workspaces",
    "INSERT INTO events(id, type, workspace_id, workspace_seq, subject, data, created_at)"
    f" SELECT 'evt_' || lpad(i::text, 26, '0'), 'workspace.created', 'ws_' || lpad(((i - 1) % {N} + 1)::text, 26, '0'),"
    f" (i - 1) / {N} + 1, '', '{{}}', 0 FROM generate_series(1, {3 * N}) i",
    "VACUUM ANALYZE",
]


def main():
    if not fctest.FC_BIN:
        print("FC_BIN not set", file=sys.stderr)
        return 2
    why = pgcluster.available()
    if why:
        print(f"skipped: {why}")
        return 77
    with pgcluster.PgCluster(locale=LOCALE) as pg:
        url = pg.create_database("bench")
        d = fctest.Daemon({"storage": {"backend": "postgres", "postgres_url": url}})
        try:
            r = d.cli("migrate", timeout=300)
            assert r.returncode == 0, r.stdout + r.stderr
            pg.query("bench", TO_DEFAULT)
            pg.query("bench", "DELETE FROM schema_migrations WHERE version = 27")
            t0 = time.monotonic()
            for sql in FILL:
                pg.query("bench", sql)
            fill_s = time.monotonic() - t0
            before = pg.query("bench", NOT_C)[0][0]
            q9 = ("SELECT name FROM workspaces WHERE name >= 'w-9' AND name < 'w-:'"
                  " ORDER BY name LIMIT 3")  # the range of GET /v1/workspaces?q=w-9
            names_before = [n[0] for n in pg.query("bench", q9)]
            size = pg.query("bench", "SELECT pg_size_pretty(pg_database_size('bench'))")[0][0]
            load = os.getloadavg()
            t0 = time.monotonic()
            r = d.cli("migrate", timeout=600)
            took = time.monotonic() - t0
            assert r.returncode == 0, r.stdout + r.stderr
            after = pg.query("bench", NOT_C)[0][0]
            t0 = time.monotonic()
            pg.query("bench", "REINDEX DATABASE bench")
            reindex = time.monotonic() - t0
            names = [n[0] for n in pg.query("bench", q9)]
            print(f"locale={LOCALE} workspaces={N} events={3 * N} database={size} (filled in {fill_s:.1f} s)")
            print(f"text columns not \"C\": before={before} after={after}")
            print(f"migrate (0027 alone): {took:.2f} s  REINDEX DATABASE: {reindex:.2f} s"
                  f"  load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            print(f"q=w-9 before: {names_before} after: {names}")
        finally:
            d.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
