"""The daemon as a systemd service: the units in deploy/systemd pass
`systemd-analyze verify` and rate low on `systemd-analyze security`, and the
real daemon speaks the sd_notify protocol (READY/WATCHDOG/RELOADING/STOPPING)
to a NOTIFY_SOCKET the test binds, and reloads on SIGHUP."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import fctest

SRC = os.environ.get("FC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
UNITS = os.path.join(SRC, "deploy", "systemd")
MAX_EXPOSURE = 2.0


def unit_copy(name, dest_dir, instance=None):
    """The unit with /usr/bin/fleetcommand pointing at the binary under test
    (verify checks that ExecStart is executable)."""
    with open(os.path.join(UNITS, name)) as f:
        text = f.read().replace("/usr/bin/fleetcommand", fctest.FC_BIN)
    out = os.path.join(dest_dir, name)
    with open(out, "w") as f:
        f.write(text)
    return out if instance is None else os.path.join(dest_dir, name.replace("@", "@" + instance))


def directives(path):
    found = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.strip().split("=", 1)
                found.setdefault(k, []).append(v)
    return found


class UnitFilesTest(unittest.TestCase):
    def setUp(self):
        if not shutil.which("systemd-analyze"):
            self.fail("systemd-analyze is missing (Debian package systemd)")
        self.dir = tempfile.mkdtemp(prefix="fc-units-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def analyze(self, *args):
        return subprocess.run(["systemd-analyze"] + list(args), capture_output=True, text=True,
                              timeout=60, cwd=self.dir)

    def exposure(self, unit):
        r = self.analyze("security", "--offline=true", unit)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        return float(m.group(1))

    def test_daemon_unit_verifies_and_is_hardened(self):
        unit = unit_copy("fleetcommand.service", self.dir)
        r = self.analyze("verify", unit)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "verify printed warnings")
        score = self.exposure(unit)
        print(f"systemd-analyze security: fleetcommand.service exposure {score}")
        self.assertLessEqual(score, MAX_EXPOSURE)
        d = directives(unit)
        self.assertEqual(d["Type"], ["notify"])
        self.assertEqual(d["CapabilityBoundingSet"], ["CAP_NET_BIND_SERVICE"])
        self.assertIn("fleetcommand", d["StateDirectory"])
        for key in ("ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
                    "MemoryDenyWriteExecute", "RestrictAddressFamilies", "SystemCallFilter"):
            self.assertIn(key, d, key)
        self.assertNotIn("root", d["User"])

    def test_agent_unit_verifies_and_is_hardened(self):
        unit = unit_copy("fleetcommand-agent@.service", self.dir, instance="eu-west-1")
        r = self.analyze("verify", unit)
        self.assertEqual(r.returncode, 0, r.stderr)
        score = self.exposure(unit)
        print(f"systemd-analyze security: fleetcommand-agent@eu-west-1.service exposure {score}")
        self.assertLessEqual(score, MAX_EXPOSURE)


class Notifications:
    """The service manager's side: a datagram socket collecting sd_notify messages."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.seen = []

    def wait_for(self, field, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.seen.append(msg)
            if field in msg.split("\n"):
                return msg
        raise AssertionError(f"no {field} within {timeout}s; got {self.seen}")

    def count(self, field, seconds):
        n = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.seen.append(msg)
            n += field in msg.split("\n")
        return n


class NotifyAndReloadTest(unittest.TestCase):
    def setUp(self):
        self.d = fctest.Daemon()
        self.notify = Notifications(os.path.join(self.d.dir, "notify.sock"))
        # WATCHDOG_USEC 0.6 s: the daemon pings every 0.3 s.
        self.d.env.update({"NOTIFY_SOCKET": os.path.join(self.d.dir, "notify.sock"),
                           "WATCHDOG_USEC": "600000"})

    def tearDown(self):
        self.notify.sock.close()
        self.d.cleanup()

    def test_ready_watchdog_reload_stopping(self):
        self.d.start(wait_ready=False)
        msg = self.notify.wait_for("READY=1")
        self.assertIn("STATUS=serving", msg)
        # READY=1 means serving: the API answers at once.
        self.assertEqual(self.d.request("GET", "/readyz", auth=False).status, 200)
        fctest.wait_until(lambda: os.path.exists(os.path.join(self.d.dir, "var", "admin.token")))
        with open(os.path.join(self.d.dir, "var", "admin.token")) as f:
            self.d.token = f.read().strip()
        self.assertGreaterEqual(self.notify.count("WATCHDOG=1", 1.5), 3)

        # Reload: the log level and the rate limit apply; a new listen address
        # needs a restart and says so; the daemon keeps its old address.
        self.d.config["log"] = {"level": "debug"}
        self.d.config["api"]["rate_limit"] = {"requests_per_second": 1}
        # The domain verifier's pacing applies live too.
        self.d.config["domains"] = {"queries_per_second": 7, "max_concurrent_checks": 3}
        # … and the live checks' pacing; probes.path still needs a restart.
        self.d.config["probes"] = {"enabled": False, "rate_per_s": 3, "interval_s": 120, "per_region_concurrency": 2,
                                   "path": "/healthz"}
        metrics = self.d.request("GET", "/metrics", auth=False).body.decode()
        self.assertIn("fleetcommand_domain_verifier_queries_per_second_limit 50\n", metrics)
        self.assertIn("fleetcommand_probe_rate_per_second_limit 10\n", metrics)
        old_port = self.d.api_port
        self.d.config["api"]["listen"] = f"127.0.0.1:{fctest.free_port()}"
        self.d.config_path()
        self.d.proc.send_signal(signal.SIGHUP)
        self.notify.wait_for("RELOADING=1")
        self.notify.wait_for("READY=1")
        logs = self.d.logs()
        self.assertIn("setting reloaded key=log.level", logs)
        self.assertIn("setting reloaded key=api.rate_limit.requests_per_second", logs)
        self.assertIn("setting changed but needs a restart key=api.listen", logs)
        self.assertIn("setting reloaded key=domains.queries_per_second", logs)
        self.assertIn("setting reloaded key=domains.max_concurrent_checks", logs)
        self.d.api_port = old_port
        metrics = self.d.request("GET", "/metrics", auth=False).body.decode()
        self.assertIn("fleetcommand_domain_verifier_queries_per_second_limit 7\n", metrics)
        self.assertIn("fleetcommand_domain_verifier_concurrent_checks_limit 3\n", metrics)
        for key in ("probes.rate_per_s", "probes.interval_s", "probes.per_region_concurrency"):
            self.assertIn("setting reloaded key=" + key, logs)
        self.assertIn("setting changed but needs a restart key=probes.path", logs)
        self.assertIn("fleetcommand_probe_rate_per_second_limit 3\n", metrics)
        self.assertIn("fleetcommand_probe_interval_seconds 120\n", metrics)
        self.assertIn("fleetcommand_probe_per_region_concurrency_limit 2\n", metrics)
        statuses = [self.d.request("GET", "/v1/regions").status for _ in range(3)]
        self.assertIn(429, statuses, statuses)

        # A configuration that does not load changes nothing.
        with open(os.path.join(self.d.dir, "config.json"), "w") as f:
            f.write("{not json")
        self.d.proc.send_signal(signal.SIGHUP)
        self.notify.wait_for("READY=1")
        self.assertIn("reload failed, configuration unchanged", self.d.logs())
        self.assertEqual(self.d.request("GET", "/readyz", auth=False).status, 200)

        self.d.proc.send_signal(signal.SIGTERM)
        self.notify.wait_for("STOPPING=1")
        self.assertEqual(self.d.proc.wait(timeout=15), 0, self.d.logs()[-3000:])


if __name__ == "__main__":
    fctest.main()
