"""`fleetcommand ctl domains wait` against the real custom-domain world of
tests/domains (BIND as the customer's DNS, unbound resolving, Pebble issuing,
the reference agent delivering): exit 0 once a domain turns active, with each
transition printed; exit 1 with the reason when CAA forbids the issuer (a
terminal failure); the certificates table and -o json of a real certificate."""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "domains"))
import peers_env  # noqa: E402,F401  (sets sys.path for the shared helpers)
import fctest  # noqa: E402
from e2e_itest import CustomerWorld, RES, ZONE  # noqa: E402


class CtlDomainWait(CustomerWorld):
    ISSUER_EXTRA = {"caa_identities": ["pebble.example"]}
    DOMAINS = {"recheck_interval_s": 2, "verify_base_s": 1}

    @classmethod
    def after_start(cls):
        r = cls.d.request("POST", "/v1/workspaces", {"name": "shop", "resources": RES})
        assert r.status == 201, r
        cls.ws = r.json()
        fctest.wait_until(lambda: cls.d.request("GET", f"/v1/workspaces/{cls.ws['id']}").json()["dns"]["published"],
                          timeout=30, what="workspace running and published")

    def ctl_env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCOMMAND_") and k != "NO_COLOR"}
        e.update({"HOME": self.d.dir, "FLEETCOMMAND_SERVER": f"http://127.0.0.1:{self.d.api_port}",
                  "FLEETCOMMAND_TOKEN": self.d.token})
        return e

    def ctl(self, *args, timeout=200):
        return subprocess.run([fctest.FC_BIN, "ctl"] + list(args), env=self.ctl_env(), capture_output=True,
                              text=True, timeout=timeout)

    def claim(self, host):
        r = self.ctl("domains", "add", host, "--workspace", "shop", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def publish(self, host, value):
        self.bind.update(f"add _fleetcommand.{host} 1 TXT \"{value}\"", f"add {host} 1 CNAME shop.{ZONE}.")

    def test_1_wait_active_exit_0(self):
        host = "chat.customer.test"
        # The CNAME first: a claim checks at once, and an NXDOMAIN for the host
        # cached by unbound (negative TTL 1 s) could meet Pebble's lookup right
        # after verification; the first certificate attempt then fails, the
        # domain shows `failed` until its retry, and `wait` stops there (seen
        # once in a full run). The TXT needs the claim's token.
        self.bind.update(f"add {host} 1 CNAME shop.{ZONE}.")
        d = self.claim(host)
        # `wait` starts while the domain cannot verify yet (no TXT): its first
        # line is that status, and the transitions come after (started once
        # the domain was already active, it printed `active` alone).
        w = subprocess.Popen([fctest.FC_BIN, "ctl", "domains", "wait", host, "--for=active", "--timeout=150s",
                              "--interval=300ms"], env=self.ctl_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            first = w.stdout.readline().strip()
            self.assertRegex(first, rf"^\d\d:\d\d:\d\d  domain {re.escape(host)}  pending_verification"
                                    rf"  \(TXT _fleetcommand\.{re.escape(host)}: .*found none\)$")
            self.bind.update(f"add _fleetcommand.{host} 1 TXT \"{d['verification']['value']}\"")
            self.assertEqual(self.ctl("domains", "check", host).returncode, 0)
            out, err = w.communicate(timeout=200)
        finally:
            if w.poll() is None:
                w.kill()
                w.communicate()
        self.assertEqual(w.returncode, 0, out + err + self.d.logs()[-3000:])
        lines = [first] + out.strip().split("\n")
        self.assertRegex(lines[-1], rf"^\d\d:\d\d:\d\d  domain {re.escape(host)}  active$")
        self.assertGreaterEqual(len(lines), 2, "no transition printed before active")
        # The certificate it got, as a table and as the API's JSON.
        out = self.ctl("certificates", "list", "--hostname", host)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = [re.split(r"\s{2,}", x.strip()) for x in out.stdout.strip().split("\n")]
        self.assertEqual(rows[0], ["ID", "HOSTNAMES", "ISSUER", "STATUS", "EXPIRES", "RENEWS"])
        self.assertEqual(rows[1][1], host)
        self.assertEqual(rows[1][3], "valid")
        self.assertRegex(rows[1][4], r"^in \d+[dh]$")
        api = self.d.request("GET", f"/v1/certificates?hostname={host}").json()
        self.assertEqual(json.loads(self.ctl("certs", "list", "--hostname", host, "-o", "json").stdout), api)
        cid = api["items"][0]["id"]
        got = self.ctl("certificates", "get", cid, "-o", "json")
        self.assertEqual(json.loads(got.stdout), self.d.request("GET", f"/v1/certificates/{cid}").json())
        renew = self.ctl("certificates", "renew", cid)
        self.assertEqual(renew.returncode, 0, renew.stderr)
        self.assertIn(cid, renew.stdout)
        self.assertEqual(self.ctl("certificates", "renew", "crt_nope").returncode, 1)

    def test_2_caa_forbids_exit_1_with_reason(self):
        host = "app.caa.customer.test"
        d = self.claim(host)
        self.bind.update("add caa.customer.test 1 CAA 0 issue \"other-ca.example\"")
        self.publish(host, d["verification"]["value"])
        self.assertEqual(self.ctl("domains", "check", host).returncode, 0)
        r = self.ctl("domains", "wait", host, "--for=active", "--timeout=120s", "--interval=300ms")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, rf"^error: domain {re.escape(host)} is failed: .*CAA")
        self.assertIn("other-ca.example", r.stderr)
        self.assertIn("failed", r.stdout.strip().split("\n")[-1])


if __name__ == "__main__":
    fctest.main()
