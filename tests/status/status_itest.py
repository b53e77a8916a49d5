"""Status chains end to end (docs/status.md): the daemon with the custom-domain
world of tests/domains (BIND as the customer's DNS, unbound resolving, Pebble
issuing, the reference agent delivering). Each failing step of the chain —
no TXT, a wrong CNAME, CAA forbidding the CA, the region's agent stopped, a
certificate not yet delivered — and the happy paths, through the API and
`fleetcommand ctl … why`; a tenant reads its own chains (200), not another
workspace's (404), and its messages name no internal endpoint or agent."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "domains"))
import peers_env  # noqa: E402,F401  (sets sys.path for the shared helpers)
import fctest  # noqa: E402
from e2e_itest import Agent, CustomerWorld, RES, ZONE  # noqa: E402

HEARTBEAT_TIMEOUT_S = 8  # the agents heartbeat every 5 s


def cond(chain, ctype):
    for c in chain["conditions"]:
        if c["type"] == ctype:
            return c
    raise AssertionError(f"no condition {ctype} in {chain}")


def first_failing(chain):
    for c in chain["conditions"]:
        if c["status"] != "True":
            return c
    return None


class StatusChains(CustomerWorld):
    ISSUER_EXTRA = {"caa_identities": ["pebble.example"]}
    DOMAINS = {"recheck_interval_s": 2, "verify_base_s": 1}

    @classmethod
    def setUpClass(cls):
        os.environ["FLEETCOMMAND_AGENTS_HEARTBEAT_TIMEOUT_S"] = str(HEARTBEAT_TIMEOUT_S)
        try:
            super().setUpClass()
        finally:
            del os.environ["FLEETCOMMAND_AGENTS_HEARTBEAT_TIMEOUT_S"]

    @classmethod
    def after_start(cls):
        cls.agent2 = None
        r = cls.d.request("POST", "/v1/workspaces", {"name": "shop", "resources": RES,
                                                     "placement": {"regions": ["r1"]}})
        assert r.status == 201, r
        cls.ws = r.json()
        # Region r2 with its own agent: stopped later (region down).
        cls.d.create_region("r2", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
        cls.agent2 = Agent(cls.d, cls.d.agent_token("r2"), os.path.join(cls.d.dir, "agent-r2"))
        fctest.wait_until(lambda: cls.d.request("GET", "/v1/regions/r2").json().get("health") == "healthy",
                          timeout=30, interval=0.2, what="agent r2 heartbeat")
        r = cls.d.request("POST", "/v1/workspaces", {"name": "alpha", "resources": RES,
                                                     "placement": {"regions": ["r2"]}})
        assert r.status == 201, r
        cls.alpha = r.json()

    @classmethod
    def stop_all(cls):
        if getattr(cls, "agent2", None):
            cls.agent2.stop()
        return super().stop_all()

    # ---- helpers ----
    def ctl(self, *args, token=None, timeout=60):
        e = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCOMMAND_") and k != "NO_COLOR"}
        e.update({"HOME": self.d.dir, "FLEETCOMMAND_SERVER": f"http://127.0.0.1:{self.d.api_port}",
                  "FLEETCOMMAND_TOKEN": token or self.d.token})
        return subprocess.run([fctest.FC_BIN, "ctl"] + list(args), env=e, capture_output=True, text=True,
                              timeout=timeout)

    def status(self, path, token=None):
        r = self.d.request("GET", path + "/status", token=token)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait_chain(self, path, pred, what, timeout=90):
        seen = {}

        def check():
            seen["chain"] = self.status(path)
            return pred(seen["chain"])
        try:
            fctest.wait_until(check, timeout=timeout, interval=0.3, what=what)
        except AssertionError:
            raise AssertionError(f"{what}; last chain: {json.dumps(seen.get('chain'), indent=1)}")
        return seen["chain"]

    def wait_failing(self, path, ctype, reason, timeout=90):
        def pred(chain):
            c = first_failing(chain)
            return c is not None and c["type"] == ctype and c["reason"] == reason
        chain = self.wait_chain(path, pred, f"{path}: first failing {ctype}/{reason}", timeout)
        c = first_failing(chain)
        self.assertEqual(c["status"], "False")
        self.assertIn("fix", c)
        after = chain["conditions"][chain["conditions"].index(c) + 1:]
        for b in after:
            self.assertEqual((b["status"], b["reason"]), ("Unknown", "Blocked"), b)
            self.assertNotIn("fix", b)
        self.assertFalse(chain["ok"])
        return chain, c

    def claim(self, host, ws="shop", txt=True, cname=None):
        r = self.d.request("POST", f"/v1/workspaces/{ws}/domains", {"hostname": host})
        self.assertEqual(r.status, 201, r)
        d = r.json()
        updates = []
        if txt:
            updates.append(f"add _fleetcommand.{host} 1 TXT \"{d['verification']['value']}\"")
        updates.append(f"add {host} 1 CNAME {cname or ws + '.' + ZONE}.")
        self.bind.update(*updates)
        self.assertEqual(self.d.request("POST", f"/v1/domains/{host}/check").status, 202)
        return d

    def internal_strings(self):
        """What a tenant must never read: the control plane's peers and agents."""
        ports = [self.d.api_port, self.d.dns_port, self.unbound.port, self.bind.port, self.peb.port]
        return [f"127.0.0.1:{p}" for p in ports] + ["e2e-agent", "revision", "/v1/agent", "/dir"]

    def assert_no_internal(self, text):
        for s in self.internal_strings():
            self.assertNotIn(s, text)

    # ---- workspaces ----
    def test_1_workspace_ready_chain_and_why_exit_0(self):
        path = f"/v1/workspaces/{self.ws['id']}"
        chain = self.wait_chain(path, lambda c: c["ok"], "shop ready")
        self.assertEqual([c["type"] for c in chain["conditions"]],
                         ["Placed", "AssignmentDelivered", "Applied", "Running", "DNSPublished", "Ready"])
        for c in chain["conditions"]:
            self.assertEqual(c["status"], "True", c)
            self.assertNotIn("fix", c)
            self.assertEqual(c["observed_generation"], chain["generation"])
        self.assertEqual(cond(chain, "AssignmentDelivered")["reason"], "Fetched")
        self.assertIn(f"shop.{ZONE} answers A 127.0.0.1", cond(chain, "DNSPublished")["message"])
        self.assertIsNotNone(cond(chain, "Running")["since"])
        # by name too, and ctl prints the checklist (piped: plain marks), exit 0
        self.assertEqual(self.status("/v1/workspaces/shop")["id"], self.ws["id"])
        r = self.ctl("workspaces", "why", "shop")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.strip().split("\n")
        self.assertEqual(lines[0], f"workspace shop ({self.ws['id']}), generation {chain['generation']}")
        self.assertEqual([ln.split()[:2] for ln in lines[1:]],
                         [["[ok]", t] for t in ["Placed", "AssignmentDelivered", "Applied", "Running",
                                                "DNSPublished", "Ready"]])
        self.assertNotIn("\x1b[", r.stdout)
        j = self.ctl("workspaces", "why", "shop", "-o", "json")
        self.assertEqual(j.returncode, 0, j.stderr)
        doc = json.loads(j.stdout)
        self.assertEqual([c["status"] for c in doc["conditions"]], ["True"] * 6)
        y = self.ctl("ws", "why", "shop", "-o", "yaml")
        self.assertEqual(y.returncode, 0, y.stderr)
        self.assertRegex(y.stdout, r'type: "?AssignmentDelivered"?\n')

    def test_2_region_down_after_agent_stopped(self):
        path = f"/v1/workspaces/{self.alpha['id']}"
        self.wait_chain(path, lambda c: c["ok"], "alpha ready in r2")
        self.agent2.stop()
        r = self.d.request("PATCH", path, {"resources": {"memory_mib": 80, "cpu_millis": 60}})
        self.assertEqual(r.status, 200, r)
        chain, c = self.wait_failing(path, "AssignmentDelivered", "RegionDown",
                                     timeout=HEARTBEAT_TIMEOUT_S + 30)
        self.assertEqual(chain["generation"], 2)
        self.assertRegex(c["fix"], r"^region r2 has had no heartbeat for \d+[sm]: its agent is down$")
        why = self.ctl("workspaces", "why", "alpha")
        self.assertEqual(why.returncode, 1, why.stdout + why.stderr)
        self.assertRegex(why.stdout, r"\[FAIL\] AssignmentDelivered +region r2 has no healthy agent")
        self.assertRegex(why.stdout, r"\n      fix: region r2 has had no heartbeat for \d+[sm]: its agent is down\n")
        self.assertRegex(why.stdout, r"\[\?\] +Applied +not evaluated: waiting for AssignmentDelivered")
        # the tenant of alpha reads the same fix, and nothing internal
        tok = self.d.request("POST", "/v1/workspaces/alpha/tenant-tokens").json()["token"]
        raw = self.d.request("GET", f"{path}/status", token=tok)
        self.assertEqual(raw.status, 200, raw)
        self.assertRegex(first_failing(raw.json())["fix"], r"^region r2 has had no heartbeat")
        self.assert_no_internal(raw.body.decode())

    # ---- domains ----
    def test_3_no_txt(self):
        host = "notxt.customer.test"
        d = self.claim(host, txt=False)
        _, c = self.wait_failing(f"/v1/domains/{host}", "OwnershipVerified", "TxtMissing")
        self.assertEqual(c["fix"], f"create TXT _fleetcommand.{host} with value {d['verification']['value']}")
        why = self.ctl("domains", "why", host)
        self.assertEqual(why.returncode, 1, why.stdout + why.stderr)
        self.assertIn(f"      fix: create TXT _fleetcommand.{host} with value", why.stdout)

    def test_4_wrong_cname(self):
        host = "wrong.customer.test"
        self.claim(host, cname="elsewhere.customer.test")
        _, c = self.wait_failing(f"/v1/domains/{host}", "RoutingOK", "CnameWrong")
        self.assertEqual(c["fix"], f"change CNAME {host} to point to shop.{ZONE} (found elsewhere.customer.test)")
        self.assertEqual(cond(self.status(f"/v1/domains/{host}"), "OwnershipVerified")["status"], "True")

    def test_5_caa_forbids(self):
        host = "app.caa.customer.test"
        self.bind.update("add caa.customer.test 1 CAA 0 issue \"other-ca.example\"")
        self.claim(host)
        _, c = self.wait_failing(f"/v1/domains/{host}", "PreflightOK", "CaaForbids")
        self.assertEqual(c["fix"], "remove the CAA record at caa.customer.test that allows only "
                                   "\"other-ca.example\", or add CAA caa.customer.test 0 issue \"pebble.example\"")
        for t in ("OwnershipVerified", "RoutingOK"):
            self.assertEqual(cond(self.status(f"/v1/domains/{host}"), t)["status"], "True")

    def test_6_domain_happy_path_and_tenant(self):
        host = "chat.customer.test"
        self.claim(host)
        path = f"/v1/domains/{host}"
        chain = self.wait_chain(path, lambda c: c["ok"], "chat active", timeout=150)
        self.assertEqual([c["type"] for c in chain["conditions"]],
                         ["OwnershipVerified", "RoutingOK", "PreflightOK", "CertificateIssued",
                          "CertificateDelivered", "Live"])
        for c in chain["conditions"][:-1]:
            self.assertEqual(c["status"], "True", c)
        live = chain["conditions"][-1]
        self.assertEqual((live["status"], live["reason"], live["message"]),
                         ("Unknown", "NotProbed", "live checks have not run"))
        self.assertNotIn("fix", live)
        why = self.ctl("domains", "why", host)
        self.assertEqual(why.returncode, 0, why.stdout + why.stderr)
        self.assertRegex(why.stdout, r"\[\?\] +Live +live checks have not run")
        # a tenant of shop: its own chains 200, another workspace's 404
        tok = self.d.request("POST", "/v1/workspaces/shop/tenant-tokens").json()["token"]
        own = self.d.request("GET", f"{path}/status", token=tok)
        self.assertEqual(own.status, 200, own)
        self.assertTrue(own.json()["ok"])
        ws_own = self.d.request("GET", f"/v1/workspaces/{self.ws['id']}/status", token=tok)
        self.assertEqual(ws_own.status, 200, ws_own)
        for p in (f"/v1/workspaces/{self.alpha['id']}/status", "/v1/workspaces/alpha/status"):
            other = self.d.request("GET", p, token=tok)
            self.assertEqual(other.status, 404, other)
        # the tenant's texts: the failing chains of its own domains included
        for p in (f"{path}/status", "/v1/domains/app.caa.customer.test/status",
                  "/v1/domains/notxt.customer.test/status"):
            r = self.d.request("GET", p, token=tok)
            self.assertEqual(r.status, 200, r)
            self.assert_no_internal(r.body.decode())
        # ctl with the tenant token: its own chain
        t = self.ctl("domains", "why", host, token=tok)
        self.assertEqual(t.returncode, 0, t.stdout + t.stderr)

    def test_7_certificate_not_yet_delivered(self):
        # alpha's region lost its agent in test_2: the certificate is issued
        # but never fetched
        host = "late.customer.test"
        self.claim(host, ws="alpha")
        path = f"/v1/domains/{host}"
        chain, c = self.wait_failing(path, "CertificateDelivered", "RegionDown", timeout=150)
        self.assertEqual(cond(chain, "CertificateIssued")["status"], "True")
        self.assertRegex(c["fix"], r"^region r2 has had no heartbeat for \d+[sm]: its agent is down$")
        self.assertEqual(cond(chain, "Live")["reason"], "Blocked")
        why = self.ctl("domains", "why", host, "-o", "json")
        self.assertEqual(why.returncode, 1, why.stderr)
        self.assertEqual(json.loads(why.stdout)["conditions"][4]["reason"], "RegionDown")

    def test_8_errors(self):
        self.assertEqual(self.d.request("GET", "/v1/domains/nope.customer.test/status").status, 404)
        self.assertEqual(self.d.request("GET", "/v1/workspaces/nope/status").status, 404)
        self.assertEqual(self.d.request("GET", "/v1/workspaces/shop/status", auth=False).status, 401)
        r = self.ctl("domains", "why", "nope.customer.test")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("error: "), r.stderr)
        self.assertEqual(self.ctl("domains", "why").returncode, 2)


if __name__ == "__main__":
    fctest.main()
