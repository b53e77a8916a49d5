"""Backup and restore with the real daemon, agent and Pebble: a populated state
(regions, workspaces, a custom domain, an ACME certificate from Pebble, jobs)
backed up by `fleetcommand backup` while a writer keeps creating workspaces,
restored into a new state directory, served by a new daemon: fsck clean, every
workspace acknowledged before the backup started is there, and the agent that
had seen newer revisions relists through 410. Also the refusals (live state
directory, non-empty database, corrupt backup, a file that is not a
fleetcommand database, a missing sealing key) and the periodic backup with its
upload command and /metrics. Loopback only; every wait bounded."""
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "certs"))
sys.path.insert(0, os.path.join(HERE, "..", "agent"))
import agent_itest  # noqa: E402  (the Agent helper; its tests are not collected here)
import daemon_util as du  # noqa: E402
import fctest  # noqa: E402

ZONE = "fleet.test"
BIG = {"memory_mib": 10_000_000, "cpu_millis": 10_000_000, "workspaces": 100_000}


def create_ws(d, name, region):
    r = d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1},
                                             "placement": {"regions": [region]}})
    return r.json() if r.status == 201 else None


class Writer(threading.Thread):
    """Creates workspaces in one region until stopped; remembers each one the
    API acknowledged (201), in order."""

    def __init__(self, d, region, limit=2000):
        super().__init__(daemon=True)
        self.d, self.region, self.limit = d, region, limit
        self.acked, self.lock, self.halt = [], threading.Lock(), threading.Event()

    def run(self):
        for i in range(self.limit):
            if self.halt.is_set():
                return
            try:
                ws = create_ws(self.d, f"load-{i}", self.region)
            except OSError:
                return
            if ws:
                with self.lock:
                    self.acked.append(ws["id"])

    def snapshot(self):
        with self.lock:
            return list(self.acked)


def metric(d, name):
    body = d.request("GET", "/metrics", auth=False).body.decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def sqlite_count(path, table):
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        c.close()


class BackupRestoreTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.d, self.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p)])
        # customer domains are checked against our own DNS only (REFUSED: they stay pending)
        self.d.config["resolver"] = {"servers": [f"127.0.0.1:{self.d.dns_port}"]}
        self.d2, self.agent, self.writer = None, None, None

    def tearDown(self):
        code2 = 0
        try:
            if self.writer:
                self.writer.halt.set()
                self.writer.join(timeout=30)
            if self.agent:
                self.agent.stop()
            if self.d2:
                code2, logs2 = self.d2.stop(), self.d2.logs()
                self.d2.cleanup()
        finally:  # Pebble and the first daemon whatever the restored one did
            du.stop_all(self.d, self.peb)
        self.assertIn(code2, (0, None), self.d2 and logs2[-3000:])

    def populate(self):
        d = self.d.start()
        d.create_region("r1", capacity=BIG, ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
        d.create_region("r2", capacity=BIG)
        tok1, tok2 = d.agent_token("r1"), d.agent_token("r2")
        d.heartbeat(tok2)
        self.agent = agent_itest.Agent(d, tok1).start()
        fctest.wait_until(lambda: d.request("GET", "/v1/regions/r1").json()["health"] == "healthy",
                          timeout=15, what="r1 healthy from the agent")
        base = [create_ws(d, f"base-{i}", "r1" if i % 2 else "r2") for i in range(10)]
        self.assertTrue(all(base), base)
        r = d.request("POST", f"/v1/workspaces/{base[1]['id']}/domains", {"hostname": "chat.customer.test"})
        self.assertEqual(r.status, 201, r)
        cid = du.post_cert(d, [f"crt.{ZONE}"], "dns-01")
        du.wait_cert(d, cid, lambda c: c["status"] == "valid", what="certificate from Pebble")
        self.assertGreater(sqlite_count(du.db_path(d), "jobs"), 0)  # renewal, domain checks
        return base, cid

    def agent_has(self, ws_id):
        return os.path.exists(self.agent.file("deployment", ws_id))

    def backup_under_load(self, target):
        self.writer = Writer(self.d, "r1")
        self.writer.start()
        fctest.wait_until(lambda: len(self.writer.snapshot()) >= 10, timeout=30, what="writer running")
        before = self.writer.snapshot()
        r = self.d.cli("backup", "--to", target, timeout=120)
        after_done = len(self.writer.snapshot())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.d.logs()[-2000:])
        self.assertIn("written and verified", r.stdout)
        fctest.wait_until(lambda: len(self.writer.snapshot()) >= after_done + 5, timeout=30,
                          what="writes after the backup")
        self.writer.halt.set()
        self.writer.join(timeout=30)
        later = self.writer.snapshot()[after_done:]
        print(f"acknowledged before the backup: {len(before)}, during it: {after_done - len(before)}, "
              f"after it: {len(later)}", file=sys.stderr)
        fctest.wait_until(lambda: all(self.agent_has(w) for w in later), timeout=30,
                          what="the agent applied workspaces newer than the backup")
        return before, later

    def refusals_while_live(self, backup):
        r = self.d.cli("restore", backup, "--state-dir", os.path.join(self.d.dir, "var"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("locked", r.stderr)
        # a database that is not a fleetcommand database is not backed up
        other = os.path.join(self.d.dir, "other.db")
        sqlite3.connect(other).execute("CREATE TABLE t(a)").connection.close()
        r = fctest.run_cli(["backup", "--to", other + ".bak"], cwd=self.d.dir,
                           env={"FLEETCOMMAND_DATABASE_PATH": other})
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("not a fleetcommand database", r.stderr)
        self.assertFalse(os.path.exists(other + ".bak"))
        # a truncated backup is refused before anything is written
        cut = os.path.join(self.d.dir, "cut.db")
        with open(backup, "rb") as f, open(cut, "wb") as g:
            g.write(f.read()[: os.path.getsize(backup) // 2])
        empty = os.path.join(self.d.dir, "empty-state")
        r = self.d.cli("restore", cut, "--state-dir", empty)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("refused", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(empty, "fleetcommand.db")))

    def start_restored(self, backup):
        self.d2 = fctest.Daemon(config=self.d.config)
        self.d2.api_port, self.d2.acme_port, self.d2.dns_port = self.d.api_port, self.d.acme_port, self.d.dns_port
        self.d2.config = self.d.config
        var2 = os.path.join(self.d2.dir, "var")
        r = self.d2.cli("restore", backup, "--state-dir", var2)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("key-encryption key", r.stdout)
        r = self.d2.cli("fsck")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # without the sealing key the daemon refuses to start and names it
        r = fctest.run_cli(["serve", "--config", self.d2.config_path()], cwd=self.d2.dir, timeout=60)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("key_encryption_key_file", r.stdout + r.stderr)
        for f in ("kek.key", "admin.token"):
            shutil.copy2(os.path.join(self.d.dir, "var", f), os.path.join(var2, f))
        self.d2.start()

    def check_restored(self, base, cid, before, later):
        d2 = self.d2
        for w in [b["id"] for b in base] + before:
            self.assertEqual(d2.request("GET", f"/v1/workspaces/{w}").status, 200, w)
        for w in later:
            self.assertEqual(d2.request("GET", f"/v1/workspaces/{w}").status, 404, w)
        self.assertEqual(d2.request("GET", "/v1/regions/r2").status, 200)
        self.assertEqual(d2.request("GET", "/v1/domains/chat.customer.test").status, 200)
        self.assertEqual(du.cert(d2, cid)["status"], "valid")
        self.assertGreater(sqlite_count(du.db_path(d2), "jobs"), 0)
        r = d2.cli("fsck")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # the agent's revision is past the restored log: 410, relist, converge
        fctest.wait_until(lambda: "revision expired (410)" in self.agent.logs(), timeout=30,
                          what="agent sees 410 after the restore")
        fctest.wait_until(lambda: not any(self.agent_has(w) for w in later), timeout=30,
                          what="objects newer than the backup removed by the relist")
        fctest.wait_until(lambda: all(self.agent_has(w) for w in before), timeout=30,
                          what="objects of the restored workspaces kept")
        # heartbeats are not durable: r1 takes placements again once its agent heartbeats
        fctest.wait_until(lambda: d2.request("GET", "/v1/regions/r1").json()["health"] == "healthy",
                          timeout=20, what="r1 healthy again")
        ws = create_ws(d2, "after-restore", "r1")
        self.assertIsNotNone(ws)
        fctest.wait_until(lambda: self.agent_has(ws["id"]), timeout=20, what="agent follows the restored daemon")

    def test_backup_under_load_restore_elsewhere(self):
        base, cid = self.populate()
        backup = os.path.join(self.d.dir, "backup.db")
        before, later = self.backup_under_load(backup)
        self.assertFalse([f for f in os.listdir(self.d.dir) if ".tmp-" in f])
        self.refusals_while_live(backup)
        self.assertEqual(self.d.stop(), 0, self.d.logs()[-3000:])
        r = self.d.cli("restore", backup)  # the stopped daemon's own, non-empty database
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("not empty", r.stderr)
        self.start_restored(backup)
        self.check_restored(base, cid, before, later)


class PeriodicBackupTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.d = fctest.Daemon({"backup": {
            "interval_s": 1, "keep": 2,
            "upload_command": 'test -e fail-upload && exit 3; mkdir -p up && cp "$FLEETCOMMAND_BACKUP_FILE" up/'}})

    def tearDown(self):
        code, logs = self.d.stop(), self.d.logs()
        self.d.cleanup()
        self.assertEqual(code, 0, logs[-3000:])

    def test_periodic_backups_kept_uploaded_and_counted(self):
        d = self.d.start()
        d.create_region("p1")
        fctest.wait_until(lambda: (metric(d, "fleetcommand_backup_success_total") or 0) >= 3, timeout=30,
                          what="three periodic backups")
        self.assertGreater(metric(d, "fleetcommand_backup_last_success_timestamp_seconds"), time.time() - 60)
        self.assertGreater(metric(d, "fleetcommand_backup_last_size_bytes"), 0)
        self.assertEqual(metric(d, "fleetcommand_backup_failures_total"), 0)
        self.assertEqual(metric(d, "fleetcommand_backup_upload_failures_total"), 0)
        kept = [f for f in os.listdir(os.path.join(d.dir, "var", "backups")) if f.endswith(".db")]
        self.assertLessEqual(len(kept), 2, kept)
        uploaded = sorted(os.listdir(os.path.join(d.dir, "up")))
        self.assertTrue(uploaded)
        c = sqlite3.connect(f"file:{os.path.join(d.dir, 'up', uploaded[-1])}?mode=ro", uri=True)
        try:
            self.assertEqual(c.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(c.execute("SELECT count(*) FROM regions").fetchone()[0], 1)
        finally:
            c.close()
        open(os.path.join(d.dir, "fail-upload"), "w").close()
        fctest.wait_until(lambda: (metric(d, "fleetcommand_backup_upload_failures_total") or 0) >= 1,
                          timeout=30, what="a failed upload counted")
        self.assertIn("backup upload failed", d.logs())
        self.assertEqual(d.request("GET", "/readyz", auth=False).status, 200)


class BackupCliTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.dir = tempfile.mkdtemp(prefix="fc-backup-cli-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_usage_and_configuration_errors(self):
        r = fctest.run_cli(["backup"], cwd=self.dir)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--to", r.stderr)
        r = fctest.run_cli(["restore"], cwd=self.dir)
        self.assertEqual(r.returncode, 2, r)
        r = fctest.run_cli(["backup", "--to", "x.db"], cwd=self.dir)  # no database at all
        self.assertEqual(r.returncode, 1, r)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "var", "fleetcommand.db")))
        r = fctest.run_cli(["restore", "missing.db", "--state-dir", "s"], cwd=self.dir)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no such file", r.stderr)
        r = fctest.run_cli(["check-config"], cwd=self.dir, env={"FLEETCOMMAND_BACKUP_KEEP": "0"})
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("backup.keep", r.stderr)
        r = fctest.run_cli(["check-config"], cwd=self.dir, env={"FLEETCOMMAND_BACKUP_INTERVAL_S": "-1"})
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("backup.interval_s", r.stderr)
        r = fctest.run_cli(["check-config"], cwd=self.dir)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn('"interval_s": 0', r.stdout)


if __name__ == "__main__":
    fctest.main()
