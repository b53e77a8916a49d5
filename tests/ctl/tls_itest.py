"""`fleetcommand ctl` to an https:// server: the daemon's API over TLS with a
certificate from a test CA (made with the openssl CLI, as the agent's TLS
test does). With --ca-file (or a context's ca_file) the server is verified
and the request succeeds; with another CA or the system trust store the
handshake fails in one line naming the server."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "agent"))
import fctest  # noqa: E402
from agent_itest import TlsDaemon, issue, make_ca  # noqa: E402


class CtlTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        cls.pki = tempfile.mkdtemp(prefix="fc-ctl-pki-")
        cls.ca, ca_key = make_ca(cls.pki, "good")
        cls.other_ca, _ = make_ca(cls.pki, "other")
        crt, key = issue(cls.pki, "good", cls.ca, ca_key, "DNS:localhost,IP:127.0.0.1")
        cls.d = TlsDaemon(cls.ca, crt, key).start()
        cls.server = f"https://127.0.0.1:{cls.d.api_port}"

    @classmethod
    def tearDownClass(cls):
        code = cls.d.stop()
        cls.d.cleanup()
        subprocess.run(["rm", "-rf", cls.pki], check=False)
        assert code == 0, code

    def ctl(self, *args, env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCOMMAND_")}
        e.update({"HOME": self.pki, "FLEETCOMMAND_TOKEN": self.d.token})
        e.update(env or {})
        return subprocess.run([fctest.FC_BIN, "ctl"] + list(args), env=e, capture_output=True, text=True,
                              timeout=60)

    def test_verified_with_ca_file(self):
        r = self.ctl("regions", "list", "-o", "json", "--server", self.server, "--ca-file", self.ca)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"items": []})

    def test_context_ca_file(self):
        cfg = os.path.join(self.pki, "ctl.json")
        env = {"FLEETCOMMAND_CTL_CONFIG": cfg}
        r = self.ctl("context", "set", "tls", "--server", self.server, "--ca-file", self.ca, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("version", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"at {self.server}", r.stdout)

    def test_unverified_fails_in_one_line(self):
        for extra in (["--ca-file", self.other_ca], []):
            r = self.ctl("regions", "list", "--server", self.server, *extra)
            self.assertEqual(r.returncode, 1, (extra, r.stdout))
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
            self.assertIn(f"cannot reach {self.server}: tls handshake", r.stderr)
            self.assertIn("certificate verify failed", r.stderr)
        r = self.ctl("regions", "list", "--server", self.server, "--ca-file", os.path.join(self.pki, "none.pem"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("--ca-file", r.stderr)


if __name__ == "__main__":
    fctest.main()
