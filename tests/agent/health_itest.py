"""`fleetcommand agent --health-listen`: /readyz is 503 with a reason until the
agent holds a snapshot and 200 once it fetched one from the real daemon; a
restart with the same --state-dir is ready from the restored snapshot before
the control plane is reachable; /healthz is 200 while the loop runs;
/metrics passes `promtool check metrics` (Debian package prometheus); bad
requests are refused and the listener lives on. Loopback only, every wait
bounded, every process stopped by pid."""
import http.client
import os
import subprocess

import fctest
from agent_itest import Agent, DaemonAgentCase, create_workspace, observed


def health_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read().decode()
    finally:
        conn.close()


def metric(text, name):
    """The value of the one sample `name` (with its labels) in `text`, or None."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def promtool(text):
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
    return check.returncode, (check.stdout + check.stderr).strip()


class AgentHealthTest(DaemonAgentCase):
    def setUp(self):
        super().setUp()
        self.port = fctest.free_port()

    def start_agent(self, root=None):
        self.agent = Agent(self.d, self.token, root=root).start(
            "--health-listen", f"127.0.0.1:{self.port}")
        fctest.wait_until(lambda: health_get(self.port, "/healthz")[0] == 200, timeout=10,
                          what="agent /healthz 200")

    def check_promtool(self):
        status, ctype, text = health_get(self.port, "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("text/plain", ctype)
        rc, out = promtool(text)
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, "", "promtool reported problems")
        return text

    def test_ready_after_snapshot_and_from_restored_state(self):
        self.d.create_region("eu")
        self.token = self.d.agent_token("eu")
        self.d.heartbeat(self.token)  # the region takes workspaces once an agent was seen
        ws = create_workspace(self.d, "hz")
        self.assertEqual(self.d.stop(), 0)  # no control plane yet: nothing to fetch

        self.start_agent()
        status, _, body = health_get(self.port, "/readyz")
        self.assertEqual(status, 503, body)
        self.assertTrue(body.startswith("not ready: no snapshot yet"), body)
        self.assertEqual(body.count("\n"), 1, "one line")
        text = self.check_promtool()
        self.assertEqual(metric(text, "fleetcommand_agent_ready"), 0)
        self.assertIsNone(metric(text, "fleetcommand_agent_snapshot_age_seconds"))

        self.restart_daemon()
        fctest.wait_until(lambda: health_get(self.port, "/readyz")[0] == 200, timeout=20,
                          what="/readyz 200 once the snapshot is fetched")
        status, _, body = health_get(self.port, "/readyz")
        self.assertIn("source=fetched", body)
        fctest.wait_until(lambda: (observed(self.d, ws["id"]) or {}).get("phase") == "running",
                          timeout=15, what="running reported")
        fctest.wait_until(
            lambda: metric(health_get(self.port, "/metrics")[2],
                           'fleetcommand_agent_reports_total{result="sent"}') >= 1,
            timeout=10, what="a status report counted")
        text = self.check_promtool()
        self.assertEqual(metric(text, "fleetcommand_agent_ready"), 1)
        self.assertGreater(metric(text, "fleetcommand_agent_revision"), 0)
        self.assertGreaterEqual(metric(text, 'fleetcommand_agent_applies_total{result="ok"}'), 1)
        self.assertEqual(metric(text, 'fleetcommand_agent_workspaces{phase="running"}'), 1)
        self.assertGreater(
            metric(text, "fleetcommand_agent_last_successful_poll_timestamp_seconds"), 1.6e9)
        self.assertGreaterEqual(metric(text, 'fleetcommand_agent_polls_total{result="ok"}'), 1)
        self.assertGreaterEqual(metric(text, 'fleetcommand_agent_polls_total{result="failed"}'), 0)
        print("agent metrics:", sum(1 for l in text.splitlines() if l.startswith("# TYPE")),
              "families, promtool clean")

        # Restart the agent with the same state dir while the control plane is down.
        root = self.agent.root
        self.assertEqual(self.agent.stop(), 0)
        self.assertEqual(self.d.stop(), 0)
        self.start_agent(root=root)
        status, _, body = health_get(self.port, "/readyz")
        self.assertEqual(status, 200, body)
        self.assertIn("source=restored", body)
        text = self.check_promtool()
        self.assertEqual(metric(text, 'fleetcommand_agent_polls_total{result="ok"}'), 0)
        self.assertGreaterEqual(metric(text, "fleetcommand_agent_snapshot_age_seconds"), 0)
        self.assertEqual(metric(text, 'fleetcommand_agent_workspaces{phase="running"}'), 1)

    def test_unknown_paths_and_bad_requests(self):
        self.d.create_region("eu")
        self.token = self.d.agent_token("eu")
        self.start_agent()
        self.assertEqual(health_get(self.port, "/")[0], 404)
        self.assertEqual(health_get(self.port, "/v1/agent/assignments")[0], 404)
        raw, _ = fctest.raw_exchange(self.port, b"\x16\x03\x01 not http\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw[:80])
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        raw, _ = fctest.raw_exchange(self.port, big)
        self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw[:80])
        body = (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
        raw, _ = fctest.raw_exchange(self.port, body)
        self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw[:80])
        self.assertEqual(health_get(self.port, "/healthz")[0], 200)
        self.assertIsNone(self.agent.proc.poll(), "the agent must survive bad requests")

    def test_bad_listen_address_is_a_usage_error(self):
        self.d.create_region("eu")
        self.token = self.d.agent_token("eu")
        a = Agent(self.d, self.token)
        for bad in ("9102", "localhost:9102", "[::1]:0"):
            r = a.once("--health-listen", bad)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("--health-listen", r.stderr)


if __name__ == "__main__":
    fctest.main()
