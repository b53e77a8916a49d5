"""The daemon on PostgreSQL (issue #15 §2): `storage.backend: postgres` with a
throwaway cluster from Debian's binaries (tests/lib/pgcluster.py). It serves
the API from PostgreSQL with the password never shown (check-config, log),
`fsck` checks it there, it answers 503 with Retry-After while the database is
down and serves again once it is back (the cluster is stopped and restarted
under it), and `migrate-storage` moves a SQLite state into it, verified,
refusing a non-empty target. Skipped where the PostgreSQL binaries are
missing. Loopback only; every wait bounded."""
import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import fctest  # noqa: E402
import pgcluster  # noqa: E402

SECRET = "pw-n0t-in-l0gs"  # trust auth on loopback ignores it; it must never be shown


def url_with_password(url):
    return url.replace(f"{pgcluster.SUPERUSER}@", f"{pgcluster.SUPERUSER}:{SECRET}@")


def create_ws(d, name, region="r1"):
    r = d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1},
                                             "placement": {"regions": [region]}})
    return r


def region(d, rid):
    """A region with a heartbeat from its agent (placement needs a healthy region)."""
    d.create_region(rid)
    d.heartbeat(d.agent_token(rid))


def fsck(d):
    r = d.cli("fsck")
    return r.returncode, r.stdout + r.stderr


class PostgresDaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        why = pgcluster.available()
        if why:
            raise unittest.SkipTest(why)
        cls.pg = pgcluster.PgCluster().start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def setUp(self):
        self.daemons = []

    def tearDown(self):
        ended = []
        for d in self.daemons:  # all stopped before any check fails
            try:
                ended.append((d.stop(), d.logs()))
            finally:
                d.cleanup()
        for code, logs in ended:
            self.assertIn(code, (0, None), logs[-3000:])
            self.assertNotIn(SECRET, logs)

    def daemon(self, storage, workdir=None):
        d = fctest.Daemon({"storage": storage}, workdir=workdir)
        self.daemons.append(d)
        return d

    def test_serves_from_postgres_and_fsck(self):
        url = url_with_password(self.pg.create_database("serve"))
        d = self.daemon({"backend": "postgres", "postgres_url": url})
        shown = d.cli("check-config")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertNotIn(SECRET, shown.stdout + shown.stderr)
        self.assertIn('"backend": "postgres"', shown.stdout)
        d.start()
        region(d, "r1")
        ids = []
        for i in range(5):
            r = create_ws(d, f"ws-{i}")
            self.assertEqual(r.status, 201, r)
            ids.append(r.json()["id"])
        listed = d.request("GET", "/v1/workspaces").json()
        self.assertEqual(sorted(w["id"] for w in listed["items"]), sorted(ids))
        self.assertEqual(d.request("DELETE", f"/v1/workspaces/{ids[0]}").status, 202)
        code, out = fsck(d)
        self.assertEqual(code, 0, out)
        self.assertIn("fsck: 0 problem(s)", out)
        self.assertFalse(os.path.exists(os.path.join(d.dir, "var", "fleetcommand.db")),
                         "nothing may be written to the SQLite file on the postgres backend")

    def test_sigkilled_daemon_takes_its_own_lease_back_at_once(self):
        """A lone daemon SIGKILLed and restarted (systemd's Restart=, a
        container restarted in place) leads again at once: its previous run's
        lease is not waited out (30 s here), and the epoch moves on."""
        url = self.pg.create_database("relead")
        d = self.daemon({"backend": "postgres", "postgres_url": url,
                         "ha": {"lease_ttl_ms": 30000}})
        d.start()
        region(d, "r1")
        self.assertEqual(create_ws(d, "before-kill").status, 201)
        d.stop(sig=signal.SIGKILL)
        d.start()
        t0 = time.monotonic()
        while True:
            r = create_ws(d, "after-kill")
            if r.status == 201 or time.monotonic() - t0 > 10:
                break
            time.sleep(0.2)
        self.assertEqual(r.status, 201, f"{r}\n{d.logs()[-3000:]}")
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIn("leader lease held by a previous run of this daemon", d.logs())
        code, out = fsck(d)
        self.assertEqual(code, 0, out)

    def test_503_with_retry_after_while_the_database_is_down(self):
        d = self.daemon({"backend": "postgres", "postgres_url": self.pg.create_database("restart")})
        d.start()
        region(d, "r1")
        r = create_ws(d, "before")
        self.assertEqual(r.status, 201, f"{r}\n{d.logs()[-3000:]}")
        self.pg.stop_server()
        try:
            t0 = time.monotonic()
            r = create_ws(d, "while-down")
            self.assertLess(time.monotonic() - t0, 15)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.headers.get("retry-after"), "1", r.headers)
            self.assertEqual(r.headers.get("content-type"), "application/problem+json")
            self.assertNotIn("127.0.0.1", r.body.decode(), "the driver's message stays in the log")
        finally:
            self.pg.start_server()
        acked = []
        def write_ok():
            r = create_ws(d, f"after-{len(acked)}")
            if r.status == 201:
                acked.append(r.json()["id"])
            return bool(acked)
        t0 = time.monotonic()
        fctest.wait_until(write_ok, timeout=20, interval=0.2, what="writes after the restart")
        print(f"serving again {time.monotonic() - t0:.2f}s after PostgreSQL came back", file=sys.stderr)
        # The I/O thread's read connection finds out the server went away on
        # its first query after the restart (503 + Retry-After, like any
        # unavailable database) and reconnects for the next one.
        listed = fctest.wait_until(lambda: (lambda r: r.status == 200 and r)(d.request("GET", "/v1/workspaces")),
                                   timeout=10, interval=0.2, what="reads after the restart")
        names = sorted(w["name"] for w in listed.json()["items"])
        self.assertEqual(names, ["after-0", "before"])
        self.assertIsNone(d.proc.poll(), "the daemon kept running")
        self.assertEqual(fsck(d)[0], 0)

    def test_migrate_storage(self):
        src = self.daemon({"backend": "sqlite"})
        src.start()
        region(src, "r1")
        region(src, "r2")
        ids = []
        for i in range(8):
            r = create_ws(src, f"ws-{i}", "r1" if i % 2 else "r2")
            self.assertEqual(r.status, 201, r)
            ids.append(r.json()["id"])
        self.assertEqual(src.request("DELETE", f"/v1/workspaces/{ids[0]}").status, 202)
        before = src.request("GET", "/v1/workspaces").json()["items"]
        self.assertEqual(src.stop(), 0)
        sqlite_path = os.path.join(src.dir, "var", "fleetcommand.db")
        url = url_with_password(self.pg.create_database("moved"))

        def migrate(*args):
            return fctest.run_cli(["migrate-storage", *args], cwd=src.dir)
        r = migrate("--from", f"sqlite:{sqlite_path}", "--to", f"postgres:{url}")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("workspaces", r.stdout)
        self.assertIn("verified", r.stdout)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        again = migrate("--from", f"sqlite:{sqlite_path}", "--to", f"postgres:{url}")
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        self.assertIn("not empty", again.stderr)
        self.assertEqual(migrate("--from", sqlite_path, "--to", url).returncode, 2)

        self.daemons.remove(src)  # the new daemon serves (and removes) the same directory
        src.log.close()
        pg = self.daemon({"backend": "postgres", "postgres_url": url}, workdir=src.dir)
        pg.start()
        after = pg.request("GET", "/v1/workspaces").json()["items"]
        def key(items):
            return sorted((w["id"], w["name"], json.dumps(w.get("placement"), sort_keys=True)) for w in items)
        self.assertEqual(key(after), key(before))
        r = create_ws(pg, "new-after-move")  # identity sequences moved past the copied ids
        self.assertEqual(r.status, 201, r)
        pg.create_region("r3")
        self.assertEqual(fsck(pg)[0], 0, fsck(pg)[1])


if __name__ == "__main__":
    fctest.main()
