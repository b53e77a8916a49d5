"""Renewal timing and budgets through the real daemon.

* Pebble 2.4 has no renewalInfo: after issuance the daemon falls back to 2/3
  of the lifetime (minus up to 5 % jitter) and plans no further ARI request.
* A tiny per-domain budget (2 certificates per registered domain per week):
  the first two certificates under example.co.uk are issued, the third waits
  with the reason in last_error; the registered domain comes from the Public
  Suffix List (example.co.uk, not co.uk).
* Renewals are served before new orders: with 2 new orders per 3 h, a
  renewal asked for just before a new certificate gets the last token.
* A short-lived certificate (internal issuer, validity_s 30) renews on time
  (not before renew_after, within 2 s after it), its version goes up, and the
  reference agent of the serving region (`fleetcommand agent --out`) writes
  the new material into its Secret file."""
import base64
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime

sys.path.insert(0, os.path.dirname(__file__))
import daemon_util as du  # noqa: E402
import fctest  # noqa: E402


def ts(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


class PebbleRenewalAndBudgetTest(unittest.TestCase):
    ZONE = "fleet.example.co.uk"

    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        budgets = {"certs_per_domain": {"capacity": 2, "period_s": 7 * 86400}}
        cls.d, cls.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p, budgets=budgets)])
        cls.d.config["dns"]["zone"] = cls.ZONE
        try:
            cls.d.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        du.stop_all(cls.d, cls.peb)

    def test_01_no_ari_falls_back_to_two_thirds(self):
        cid = du.post_cert(self.d, [f"a.{self.ZONE}"])
        c = du.wait_cert(self.d, cid, lambda x: x["status"] == "valid", what="first certificate")
        nb, na, ra = ts(c["not_before"]), ts(c["not_after"]), ts(c["renew_after"])
        life = na - nb
        # 2/3 of the lifetime, minus up to 5 % jitter (1 s of RFC 3339 rounding)
        self.assertLessEqual(ra, nb + life * 2 / 3 + 1)
        self.assertGreaterEqual(ra, nb + life * (2 / 3 - 0.05) - 1)
        # the directory has no renewalInfo: no further request is planned,
        # and no window was stored
        fctest.wait_until(lambda: du.query(self.d, "SELECT ari_check_at FROM certificates WHERE id = ?",
                                           cid)[0][0] is None, timeout=10, what="no ARI request planned")
        self.assertEqual(du.query(self.d, "SELECT ari_window_start, ari_window_end FROM certificates"
                                          " WHERE id = ?", cid)[0], (None, None))
        self.assertEqual(du.cert(self.d, cid)["renew_after"], c["renew_after"])

    def test_02_budget_per_registered_domain(self):
        # test_01 took one token of example.co.uk; one more is left
        second = du.post_cert(self.d, [f"b.{self.ZONE}"])
        du.wait_cert(self.d, second, lambda x: x["status"] == "valid", what="second certificate")
        third = du.post_cert(self.d, [f"c.{self.ZONE}", f"www.c.{self.ZONE}"])
        c = du.wait_cert(self.d, third, lambda x: x["last_error"] and "budget" in x["last_error"], timeout=20,
                         what="budget reason")
        self.assertRegex(c["last_error"], r"^acme:https://127\.0\.0\.1:\d+/dir: budget certificates per registered"
                                          r" domain example\.co\.uk exhausted: next token in 3d1[12]h$")
        self.assertEqual(c["status"], "pending")
        self.assertEqual(c["version"], 0)
        time.sleep(1.5)  # the job looks again meanwhile: still no order for the third
        self.assertEqual(du.query(self.d, "SELECT count(*) FROM cert_orders WHERE cert_id = ?", third)[0][0], 0)
        rows = du.query(self.d, "SELECT bucket, key FROM cert_budget_buckets ORDER BY bucket, key")
        self.assertIn(("certs_per_domain", "example.co.uk"), rows)
        self.assertNotIn(("certs_per_domain", "co.uk"), rows)


class RenewalsBeforeNewOrdersTest(unittest.TestCase):
    """new_orders: 2 per 3 h. A certificate takes the first token. While the
    daemon is down its renewal comes due (renew_after moved into the past in
    the database, its job set to run 3 s after the restart, as if the daemon
    had been down over the renewal time). After the restart a new certificate
    is asked for at once: its order must leave the last token to the due
    renewal and wait; the renewal then takes it."""

    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        budgets = {"new_orders": {"capacity": 2, "period_s": 3 * 3600}}
        self.d, self.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p, budgets=budgets)])

    def tearDown(self):
        du.stop_all(self.d, self.peb)

    def test_due_renewal_keeps_the_last_token(self):
        d = self.d.start()
        first = du.post_cert(d, ["renew-first.fleet.test"])
        du.wait_cert(d, first, lambda x: x["status"] == "valid", what="first certificate")
        # The premise: the first certificate took one of the two tokens. On a
        # loaded machine Pebble's validation can fail once and the retry is a
        # second order (a second token): then no token is left for either and
        # the check below cannot tell a kept token from none (seen once under
        # ctest -j4, session 15).
        orders = du.query(d, "SELECT count(*) FROM cert_orders WHERE cert_id = ?", first)[0][0]
        if orders != 1:
            self.skipTest(f"the first certificate needed {orders} orders: both tokens are spent")
        self.assertEqual(d.stop(), 0)
        now_ms = int(time.time() * 1000)
        d.sql("UPDATE certificates SET renew_after = ? WHERE id = ?", now_ms - 1000, first)
        d.sql("UPDATE jobs SET run_at = ? WHERE kind = 'cert.order' AND key = ?", now_ms + 60000, first)
        d.start()
        # The renewal's job runs 10 s from now: the newcomer must be refused
        # while it is still due (3 s was too short once under a loaded ctest -j4).
        d.sql("UPDATE jobs SET run_at = ? WHERE kind = 'cert.order' AND key = ?", int(time.time() * 1000) + 10000, first)
        newcomer = du.post_cert(d, ["newcomer.fleet.test"])
        n = du.wait_cert(d, newcomer, lambda x: x["last_error"] and "budget" in x["last_error"], timeout=10,
                         what="newcomer waits")
        self.assertRegex(n["last_error"], r"budget new orders per account exhausted: next token in \S+"
                                          r" \(1 kept for due renewals\)$")
        du.wait_cert(d, first, lambda x: x["version"] == 2 and x["status"] == "valid", what="renewal")
        self.assertEqual(du.cert(d, newcomer)["version"], 0)
        self.assertEqual(du.query(d, "SELECT count(*) FROM cert_orders WHERE cert_id = ?", newcomer)[0][0], 0)
        self.assertEqual(du.query(d, "SELECT count(*) FROM cert_orders WHERE cert_id = ?", first)[0][0], 2)


class ShortLivedRenewalTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.d = fctest.Daemon({"certs": {"issuers": [{"type": "internal", "validity_s": 30}]}})
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.terminate()
            try:
                self.agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
            self.agent_log.close()
        code = self.d.stop()
        logs = self.d.logs()
        self.d.cleanup()
        self.assertEqual(code, 0, logs[-4000:])

    def wait_agent(self, pred, out, what):
        try:
            fctest.wait_until(pred, timeout=20, interval=0.05, what=what)
        except AssertionError:
            with open(self.agent_log.name, "rb") as f:
                log = f.read().decode(errors="replace")
            files = sorted(glob.glob(os.path.join(out, "*", "*")))
            raise AssertionError(f"{what}: files {files}, secret {self.secret_cert(out)!r:.200}\n{log[-3000:]}")

    def secret_cert(self, out):
        """The leaf PEM in the agent's Secret file, or None."""
        for path in glob.glob(os.path.join(out, "*", "secret-*.json")):
            with open(path) as f:
                try:
                    obj = json.load(f)
                except ValueError:
                    return None  # being rewritten
            data = obj.get("data") or {}
            if "tls.crt" in data:
                return base64.b64decode(data["tls.crt"]).decode()
        return None

    def test_short_lived_certificate_renews_on_time_and_reaches_the_agent(self):
        started = time.monotonic()
        d = self.d.start()
        d.create_region("sl-r1", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
        tok = d.agent_token("sl-r1")
        d.heartbeat(tok)
        r = d.request("POST", "/v1/workspaces", {"name": "short", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                "placement": {"regions": ["sl-r1"]}})
        self.assertEqual(r.status, 201, r)
        ws = r.json()["id"]
        cid = du.post_cert(d, ["short.example.com"], challenge="http-01", ws=ws)
        c1 = du.wait_cert(d, cid, lambda x: x["status"] == "valid", what="version 1")
        self.assertEqual(c1["version"], 1)
        life = ts(c1["not_after"]) - ts(c1["not_before"])
        self.assertAlmostEqual(life, 33, delta=1)  # 30 s + a tenth backdated
        # the reference agent of the serving region, GitOps mode
        root = tempfile.mkdtemp(prefix="agent-", dir=d.dir)
        with open(os.path.join(root, "token"), "w") as f:
            f.write(tok + "\n")
        out = os.path.join(root, "out")
        self.agent_log = open(os.path.join(root, "agent.log"), "ab")
        self.agent = subprocess.Popen([fctest.FC_BIN, "agent", "--api", f"http://127.0.0.1:{d.api_port}",
                                       "--token-file", os.path.join(root, "token"), "--state-dir",
                                       os.path.join(root, "state"), "--out", out, "--poll-wait", "2"],
                                      stdout=self.agent_log, stderr=subprocess.STDOUT)
        m1 = d.request("GET", f"/v1/agent/certificates/{cid}", token=tok).json()
        self.wait_agent(lambda: self.secret_cert(out) == m1["certificate_pem"], out, "agent wrote version 1")
        # renewal: never before renew_after, at most 2 s after it
        renew_after = ts(c1["renew_after"])
        seen = {}

        def renewed():
            c = du.cert(d, cid)
            if c["version"] >= 2:
                seen.setdefault("at", time.time())
                seen["c"] = c
                return True
            return False
        fctest.wait_until(renewed, timeout=max(5.0, renew_after - time.time() + 10), interval=0.05,
                          what="version 2")
        c2 = seen["c"]
        self.assertEqual(c2["status"], "valid")
        self.assertGreaterEqual(ts(c2["not_before"]) + 4, renew_after)  # issued at/after renew_after (3 s backdated, 1 s rounding)
        self.assertLessEqual(seen["at"], renew_after + 2.0)
        self.assertGreater(ts(c2["not_after"]), ts(c1["not_after"]))
        # the serving region's agent sees the new version and writes the new material
        m2 = d.request("GET", f"/v1/agent/certificates/{cid}", token=tok).json()
        self.assertGreaterEqual(m2["version"], 2)
        self.assertNotEqual(m2["certificate_pem"], m1["certificate_pem"])
        self.wait_agent(lambda: self.secret_cert(out) not in (None, m1["certificate_pem"]), out,
                        "agent wrote the renewed certificate")
        current = d.request("GET", f"/v1/agent/certificates/{cid}", token=tok).json()
        self.assertIn(self.secret_cert(out), (m2["certificate_pem"], current["certificate_pem"]))
        self.assertLess(time.monotonic() - started, 90)


if __name__ == "__main__":
    fctest.main()
