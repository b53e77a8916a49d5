"""Migrations through the real binary: fresh migrate, re-run is a no-op, a
tampered checksum or a migration newer than the binary makes serve and
migrate refuse with a clear message."""
import os
import sqlite3
import unittest

import fctest


class Migrations(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            self.skipTest("FC_BIN not set")
        self.d = fctest.Daemon()
        self.db = os.path.join(self.d.dir, "var", "fleetcommand.db")

    def tearDown(self):
        self.d.cleanup()

    def rows(self):
        with sqlite3.connect(self.db) as c:
            return c.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version").fetchall()

    def migrate(self):
        return self.d.cli("migrate")

    def test_fresh_then_rerun_is_noop(self):
        r = self.migrate()
        self.assertEqual(r.returncode, 0, r.stderr)
        applied = [ln for ln in r.stderr.splitlines() if "migration applied" in ln]
        rows = self.rows()
        self.assertGreaterEqual(len(rows), 1)
        self.assertEqual(len(applied), len(rows))
        self.assertEqual(rows[0][0], 1)
        self.assertTrue(all(len(cs) == 64 for _, _, cs in rows))
        r2 = self.migrate()
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertNotIn("migration applied", r2.stderr)
        self.assertEqual(self.rows(), rows)
        # serve on the migrated file applies nothing either.
        self.d.start()
        self.assertNotIn("migration applied", self.d.logs())
        self.assertEqual(self.d.stop(), 0)

    def assert_refused(self, needle):
        r = self.migrate()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(needle, r.stderr)
        self.d.start(wait_ready=False)
        code = self.d.proc.wait(timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn(needle, self.d.logs())
        self.assertNotIn(" ready database=", self.d.logs())

    def test_concurrent_migrate_applies_each_once(self):
        # Four `fleetcommand migrate` at the same instant on one empty SQLite
        # file: each migration's transaction is BEGIN IMMEDIATE and checks its
        # version again inside, so each is applied once and none fails.
        import subprocess
        procs = [subprocess.Popen([fctest.FC_BIN, "migrate", "--config", self.d.config_path()], cwd=self.d.dir,
                                  env=self.d.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0] * 4, [e[-800:] for _, e in outs])
        applied = sum(e.count("migration applied name=0001_") for _, e in outs)
        self.assertEqual(applied, 1)
        versions = [v for v, _, _ in self.rows()]
        self.assertEqual(versions, sorted(set(versions)))
        self.assertEqual(len(versions), len([f for f in os.listdir(os.path.join(
            os.path.dirname(__file__), "..", "..", "migrations")) if f.endswith(".sql")]))

    def test_tampered_checksum_refused(self):
        self.assertEqual(self.migrate().returncode, 0)
        with sqlite3.connect(self.db) as c:
            c.execute("UPDATE schema_migrations SET checksum = '00' || substr(checksum, 3) WHERE version = 1")
        self.assert_refused("checksum mismatch")

    def test_newer_migration_refused(self):
        self.assertEqual(self.migrate().returncode, 0)
        with sqlite3.connect(self.db) as c:
            c.execute("INSERT INTO schema_migrations(version, name, checksum, applied_at)"
                      " VALUES (9000, '9000_from_a_newer_binary', 'ff', 0)")
        self.assert_refused("9000_from_a_newer_binary")
        self.assertIn("newer", self.d.logs())


if __name__ == "__main__":
    fctest.main()
