"""The zone the daemon serves, checked by an external validator: an AXFR of
fleet.test (apex SOA/NS with glue, A/AAAA and CNAME workspaces, an ACME
challenge TXT) taken with dig is accepted by BIND's
`named-checkzone -i full` (integrity checks on NS/MX/SRV targets, glue and
CNAME-and-other-data)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fctest  # noqa: E402
import peers  # noqa: E402

CONFIG = {"dns": {"zone": "fleet.test", "ttl": 30, "axfr_allow": ["127.0.0.1"],
                  "nameservers": [{"name": "ns1.fleet.test", "ipv4": ["192.0.2.53"],
                                   "ipv6": ["2001:db8::53"]}]}}


class AxfrCheckzoneTest(unittest.TestCase):
    def setUp(self):
        self.d = fctest.Daemon(CONFIG).start()

    def tearDown(self):
        code = self.d.stop()
        logs = self.d.logs()
        self.d.cleanup()
        self.assertEqual(code, 0, logs[-3000:])

    def populate(self):
        ingress = {"r-v4": {"ipv4": ["192.0.2.10", "192.0.2.11"], "ipv6": ["2001:db8::10"],
                            "hostname": None},
                   "r-cname": {"ipv4": [], "ipv6": [], "hostname": "lb.edge.example.net"}}
        for rid, ing in ingress.items():
            self.d.create_region(rid, ingress=ing)
            tok = self.d.agent_token(rid)
            self.d.heartbeat(tok)
            for i in range(3):
                r = self.d.request("POST", "/v1/workspaces",
                                   {"name": f"{rid}-w{i}", "placement": {"regions": [rid]},
                                    "resources": {"memory_mib": 1, "cpu_millis": 1}})
                self.assertEqual(r.status, 201, r)
                w = r.json()
                r = self.d.request("POST", "/v1/agent/status", {"workspaces": [
                    {"workspace_id": w["id"], "generation": w["generation"], "phase": "running"}]},
                    token=tok)
                self.assertEqual(r.status, 200, r)

    def test_axfr_passes_named_checkzone_full(self):
        self.populate()
        fctest.wait_until(lambda: "r-cname-w2.fleet.test" in peers.dig(
            self.d.dns_port, "r-cname-w2.fleet.test", "CNAME"), what="records published")
        out = peers.dig(self.d.dns_port, "fleet.test", "AXFR", "+nocmd", "+nostats")
        self.assertIn("SOA", out)
        self.assertIn("CNAME", out)
        self.assertIn("AAAA", out)
        path = os.path.join(self.d.dir, "fleet.test.axfr")
        with open(path, "w") as f:
            f.write(out)
        r = subprocess.run(["named-checkzone", "-i", "full", "-k", "fail", "-n", "ignore",
                            "fleet.test", path], capture_output=True, text=True, timeout=60)
        print(r.stdout.strip())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("OK", r.stdout)


if __name__ == "__main__":
    fctest.main()
