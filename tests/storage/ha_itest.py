"""Several daemons on one PostgreSQL (issue #15 §2, docs/storage.md "Several
daemons"): one leader under a lease with a fencing token, standbys that serve
the API by forwarding to it. Real daemons on a throwaway PostgreSQL 15
cluster (tests/lib/pgcluster.py), over loopback:

- placements through the leader and through standbys, and an agent's
  long-poll on a standby woken by a placement made through another daemon;
- SIGKILL of the leader during a create burst through two standbys: one of
  them takes over within 5 s, every acknowledged placement is there, `fsck`
  is clean;
- a paused (SIGSTOP) leader resumed after a takeover cannot write: its
  writes fail (503), it exits, and nothing it was asked to write is stored.

Skipped where the PostgreSQL binaries are missing. Every wait is bounded."""
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import fctest  # noqa: E402
import pgcluster  # noqa: E402

TTL_MS = 3000


def ws_body(name, region="r1"):
    return {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1}, "placement": {"regions": [region]}}


def list_workspaces(d):
    """Every workspace, following next_cursor (name by id)."""
    out, cursor = {}, None
    for _ in range(100):
        r = d.request("GET", "/v1/workspaces?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r
        out.update({w["id"]: w["name"] for w in r.json()["items"]})
        cursor = r.json().get("next_cursor")
        if not cursor:
            return out
    raise AssertionError("too many pages")


def retryable(e):
    """A connection refused/reset during a takeover, or a standby's 503
    no-leader (every operation documents it: components/responses/Unavailable)."""
    return isinstance(e, OSError) or "problems/no-leader" in str(e)


def role(d):
    """'leader', 'standby' or None (not answering / not ready)."""
    try:
        r = d.request("GET", "/readyz", auth=False, timeout=3)
    except OSError:
        return None
    if r.status != 200:
        return None
    return r.json().get("role", "leader")


class HaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        why = pgcluster.available()
        if why:
            raise unittest.SkipTest(why)
        cls.pg = pgcluster.PgCluster().start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def setUp(self):
        self.daemons = []
        HaTest.n += 1
        self.url = self.pg.create_database(f"ha{HaTest.n}")
        # Every daemon opens the keys the others sealed: one key-encryption key.
        self.kekdir = tempfile.mkdtemp(prefix="fc-ha-kek-")

    def tearDown(self):
        for i, d in enumerate(self.daemons):
            if d.proc and d.proc.poll() is None:
                os.kill(d.proc.pid, signal.SIGCONT)
            d.stop()
            if os.environ.get("FC_HA_DEBUG"):
                print(f"--- daemon {i} log tail\n{d.logs()[-2500:]}")
            d.cleanup()
        shutil.rmtree(self.kekdir, ignore_errors=True)

    def daemon(self):
        d = fctest.Daemon({"storage": {"backend": "postgres", "postgres_url": self.url,
                                       "ha": {"lease_ttl_ms": TTL_MS}},
                           "certs": {"key_encryption_key_file": os.path.join(self.kekdir, "kek.key")}})
        self.daemons.append(d)
        return d

    def start_leader(self):
        d = self.daemon().start()
        self.assertEqual(role(d), "leader", d.logs()[-3000:])
        self.token = d.token
        return d

    def start_standby(self):
        d = self.daemon().start(wait_ready=False)
        fctest.wait_until(lambda: role(d) == "standby", timeout=20, what="standby /readyz")
        d.token = self.token
        return d

    def fsck_clean(self, d):
        r = d.cli("fsck")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("fsck: 0 problem(s)", r.stdout)

    def setup_region(self, d):
        d.create_region("r1")
        agent = d.agent_token("r1")
        d.heartbeat(agent)
        return agent

    def test_placements_through_every_daemon_and_longpoll_on_a_standby(self):
        a = self.start_leader()
        b = self.start_standby()
        c = self.start_standby()
        agent = self.setup_region(b)  # region, agent token and heartbeat, all forwarded
        created = []
        for i in range(24):
            d = (a, b, c)[i % 3]
            r = d.request("POST", "/v1/workspaces", ws_body(f"ws-{i}"))
            self.assertEqual(r.status, 201, r)
            created.append(r.json()["id"])
        # Every daemon answers with the same state.
        for d in (a, b, c):
            self.assertEqual(set(list_workspaces(d)), set(created))
        # A long-poll on standby c is woken by a placement made through b.
        r = c.request("GET", "/v1/agent/assignments?since=0", token=agent)
        self.assertEqual(r.status, 200, r)
        rev = r.json()["revision"]
        got = {}

        def poll():
            t0 = time.monotonic()
            got["resp"] = c.request("GET", f"/v1/agent/assignments?since={rev}&wait=30", token=agent,
                                    timeout=45)
            got["s"] = time.monotonic() - t0

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(1.0)
        self.assertTrue(t.is_alive(), "the long-poll returned before any change")
        r = b.request("POST", "/v1/workspaces", ws_body("woken"))
        self.assertEqual(r.status, 201, r)
        t.join(timeout=40)
        self.assertFalse(t.is_alive())
        self.assertEqual(got["resp"].status, 200, got["resp"])
        self.assertLess(got["s"], 10, "woken by the commit, not by the wait's end")
        names = {a_["workspace_id"] for a_ in got["resp"].json()["assignments"]}
        self.assertIn(r.json()["id"], names)
        self.assertEqual(got["resp"].headers.get("via"), "1.1 fleetcommand-standby")
        self.fsck_clean(a)

    def test_sigkill_leader_during_burst_standby_takes_over(self):
        a = self.start_leader()
        b = self.start_standby()
        c = self.start_standby()
        agent = self.setup_region(a)
        acked, unexpected, stop = [], [], threading.Event()
        first_ok_after_kill = {}
        kill_at = {}

        def burst(d, tag):
            i = 0
            deadline = time.monotonic() + 40
            while not stop.is_set() and time.monotonic() < deadline:
                i += 1
                try:
                    r = d.request("POST", "/v1/workspaces", ws_body(f"{tag}-{i}"), timeout=10)
                except Exception as e:  # noqa: BLE001
                    if not retryable(e):
                        unexpected.append(repr(e))
                    time.sleep(0.05)
                    continue
                if r.status == 201:
                    acked.append(r.json()["id"])
                    if "t" in kill_at and tag not in first_ok_after_kill:
                        first_ok_after_kill[tag] = time.monotonic() - kill_at["t"]
                else:
                    if r.status != 503:  # 503: no leader for a moment, retry later
                        unexpected.append(r)
                    time.sleep(0.05)

        def agent_loop():
            # The region's agent heartbeats every half second through a standby, as
            # a real agent does: region health lives in the leader's memory.
            while not stop.is_set():
                for d in (b, c):
                    try:
                        d.request("POST", "/v1/agent/heartbeat", {"agent_id": "agent-1"}, token=agent, timeout=5)
                    except Exception as e:  # noqa: BLE001
                        if not retryable(e):
                            unexpected.append(repr(e))
                stop.wait(0.5)

        threads = [threading.Thread(target=burst, args=(d, t)) for d, t in ((b, "b"), (c, "c"))]
        threads.append(threading.Thread(target=agent_loop))
        for t in threads:
            t.start()
        fctest.wait_until(lambda: len(acked) >= 20, timeout=30, what="20 placements before the kill")
        before = len(acked)
        a.proc.kill()
        kill_at["t"] = time.monotonic()
        a.proc.wait()
        fctest.wait_until(lambda: first_ok_after_kill, timeout=15, interval=0.05,
                          what="a placement acknowledged after the leader was killed")
        takeover = min(first_ok_after_kill.values())
        print(f"takeover: first placement acknowledged {takeover:.2f} s after SIGKILL "
              f"(lease TTL {TTL_MS} ms, {before} placements before)")
        fctest.wait_until(lambda: len(acked) >= before + 20, timeout=30, what="20 placements after the kill")
        stop.set()
        for t in threads:
            t.join(timeout=20)
        self.assertEqual(unexpected, [])
        self.assertLessEqual(takeover, 5.0)
        roles = {d: role(d) for d in (b, c)}
        self.assertEqual(sorted(roles.values()), ["leader", "standby"], roles)
        leader = b if roles[b] == "leader" else c
        stored = set(list_workspaces(leader))
        self.assertEqual(set(acked) - stored, set(), "an acknowledged placement was lost")
        self.fsck_clean(leader)

    def test_paused_leader_is_fenced_after_takeover(self):
        a = self.start_leader()
        b = self.start_standby()
        agent = self.setup_region(a)
        os.kill(a.proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        fctest.wait_until(lambda: role(b) == "leader", timeout=15, interval=0.1, what="takeover by b")
        print(f"takeover of a paused leader: {time.monotonic() - t0:.2f} s")
        b.heartbeat(agent)  # as the agent does every few seconds: health is the leader's memory
        r = b.request("POST", "/v1/workspaces", ws_body("by-new-leader"))
        self.assertEqual(r.status, 201, r)
        os.kill(a.proc.pid, signal.SIGCONT)
        # The old leader still has its in-memory state and its sockets; every
        # write it tries is refused by the database (the fencing token).
        try:
            r = a.request("POST", "/v1/workspaces", ws_body("by-old-leader"), timeout=10)
            self.assertEqual(r.status, 503, r)
        except OSError:
            pass  # already gone
        fctest.wait_until(lambda: a.proc.poll() is not None, timeout=20, what="the old leader exits")
        self.assertEqual(a.proc.returncode, 1)
        self.assertIn("leader lease lost", a.logs())
        self.assertEqual(set(list_workspaces(b).values()), {"by-new-leader"})
        self.fsck_clean(b)
        # Restarted, the old leader stands by behind the new one.
        a.start(wait_ready=False)
        fctest.wait_until(lambda: role(a) == "standby", timeout=20, what="old leader back as a standby")
        a.token = self.token
        r = a.request("POST", "/v1/workspaces", ws_body("through-old"))
        self.assertEqual(r.status, 201, r)


if __name__ == "__main__":
    fctest.main()
