"""Region health across a restart (issue #15): a region's health is seeded
from its stored last heartbeat when the daemon starts (and when a standby
takes the lease over: tests/storage/ha_itest.py), so a restarted daemon
places at once instead of answering 503 "health unknown" until each agent's
next heartbeat (every 5 s).

- a live agent (`fleetcommand agent`) makes its region healthy; the daemon is
  SIGKILLed right after (before the scheduler's 1 s tick has stored any
  heartbeat) and restarted: the first placement is a 201, not a 503;
- a region whose stored heartbeat is older than agents.heartbeat_timeout_s is
  not healthy after the restart (503 naming the region) until its agent
  heartbeats again.

Runs on SQLite, and on PostgreSQL through FC_PG_ITESTS (tests/CMakeLists.txt)."""
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "reliability"))
import fctest  # noqa: E402
from campaign import Agent  # noqa: E402 - the reliability campaign's real agent process

TIMEOUT_S = 3


def ws_body(name):
    return {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1}}


class RestartHealthTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.agents = []
        # A short timeout for the old-heartbeat case; the default (30 s) would
        # cover the first case's restarts on a loaded machine just as well.
        timeout = TIMEOUT_S if "old_stored" in self._testMethodName else 30
        self.d = fctest.Daemon({"agents": {"heartbeat_timeout_s": timeout}})
        self.d.start()

    def tearDown(self):
        for a in self.agents:
            a.stop()
        self.d.stop()
        self.d.cleanup()

    def restart(self, kill=True):
        """SIGKILL (or SIGTERM) and start again. On PostgreSQL the new process
        stands by until the killed one's lease expires and then takes it over
        (the leader takeover case): wait until it leads."""
        if kill:
            self.d.kill()
        else:
            self.d.stop()
        self.d.start()
        def leads():
            # Ready (200) and not a standby; on SQLite /readyz names no role.
            r = self.d.request("GET", "/readyz", auth=False)
            return r.status == 200 and r.json().get("role", "leader") == "leader"
        fctest.wait_until(leads, timeout=20, interval=0.05, what="the restarted daemon leads")

    def health(self, region):
        return self.d.request("GET", f"/v1/regions/{region}").json()["health"]

    def test_killed_right_after_the_first_heartbeat_places_at_once(self):
        self.d.create_region("r1")
        agent = Agent(self.d, "r1", self.d.agent_token("r1"))
        self.agents.append(agent)
        agent.start()
        fctest.wait_until(lambda: self.health("r1") == "healthy", timeout=20, interval=0.01,
                          what="r1 healthy")
        self.restart()  # well within the tick that stores heartbeats (1 s)
        r = self.d.request("POST", "/v1/workspaces", ws_body("first-after-restart"))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["region"], "r1")
        # Again with the agent stopped (SIGSTOP): no heartbeat after the restart helps.
        agent.proc.send_signal(signal.SIGSTOP)
        self.restart()
        self.assertEqual(self.health("r1"), "healthy")
        r = self.d.request("POST", "/v1/workspaces", ws_body("second-after-restart"))
        self.assertEqual(r.status, 201, r)
        fsck = self.d.cli("fsck")
        self.assertEqual(fsck.returncode, 0, fsck.stdout + fsck.stderr)

    def test_an_old_stored_heartbeat_is_not_healthy_after_a_restart(self):
        self.d.create_region("r1")
        agent_token = self.d.agent_token("r1")
        self.d.heartbeat(agent_token)
        self.d.stop()
        time.sleep(TIMEOUT_S + 1.2)  # the stored heartbeat is now older than the timeout
        self.restart(kill=False)
        self.assertEqual(self.health("r1"), "unhealthy")
        r = self.d.request("POST", "/v1/workspaces", ws_body("too-early"))
        self.assertEqual(r.status, 503, r)
        self.assertIn("r1", r.body.decode())
        self.d.heartbeat(agent_token)
        r = self.d.request("POST", "/v1/workspaces", ws_body("after-heartbeat"))
        self.assertEqual(r.status, 201, r)
        # That heartbeat made r1 healthy again: it is stored before its answer,
        # so a kill right after it does not lose it (its time, not the health:
        # on PostgreSQL the takeover alone takes longer than this timeout).
        seen = self.d.request("GET", "/v1/regions/r1").json()["last_heartbeat_at"]
        self.restart()
        self.assertEqual(self.d.request("GET", "/v1/regions/r1").json()["last_heartbeat_at"], seen)


if __name__ == "__main__":
    fctest.main()
