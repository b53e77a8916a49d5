"""Bad live-check settings stop the start with a message naming the key:
probes.* values outside their range (configuration error, exit 2) and a
probes.ca_bundle that does not load (the daemon names the file and exits)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fctest  # noqa: E402


class ProbesConfig(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            self.skipTest("FC_BIN not set")

    def start_and_wait_exit(self, probes):
        d = fctest.Daemon({"probes": probes})
        try:
            d.start(wait_ready=False)
            code = d.proc.wait(timeout=20)
            return code, d.logs()
        finally:
            d.cleanup()

    def test_bad_values_name_the_key(self):
        for probes, key, reason in (({"https_port": 0}, "probes.https_port", "between 1 and 65535"),
                                    ({"path": "api/info"}, "probes.path", "starting with /"),
                                    ({"timeout_ms": 5}, "probes.timeout_ms", "from 100 to 60000")):
            with self.subTest(key=key):
                code, logs = self.start_and_wait_exit(probes)
                self.assertEqual(code, 2, logs)
                self.assertIn(key, logs)
                self.assertIn(reason, logs)

    def test_ca_bundle_that_does_not_load(self):
        missing = "/nonexistent/probes-ca.pem"
        code, logs = self.start_and_wait_exit({"enabled": True, "ca_bundle": missing})
        self.assertNotEqual(code, 0, logs)
        self.assertIn("live checks not started", logs)
        self.assertIn("probes.ca_bundle " + missing, logs)


if __name__ == "__main__":
    fctest.main()
