"""Certificates through the real daemon against real Pebble (whose DNS is
the daemon's embedded server): HTTP-01 answered from the database, DNS-01
through dns_challenges, the admin and agent endpoints, renewal reaching the
assignment, one order per name set."""
import http.client
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import daemon_util as du  # noqa: E402
import fctest  # noqa: E402

ZONE = "fleet.test"


class IssueTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        cls.d, cls.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p)],
                                               certs_extra={"platform_wildcard": True})
        try:
            cls.d.start()
            d = cls.d
            for rid in ("crt-r1", "crt-r2"):
                d.create_region(rid, ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
            cls.tok1, cls.tok2 = d.agent_token("crt-r1"), d.agent_token("crt-r2")
            d.heartbeat(cls.tok1)
            d.heartbeat(cls.tok2)
            r = d.request("POST", "/v1/workspaces", {"name": "shop", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                    "placement": {"regions": ["crt-r1"]}})
            assert r.status == 201, r
            cls.ws = r.json()
            # running → the zone publishes shop.fleet.test A 127.0.0.1 (Pebble's HTTP-01 lookup)
            r = d.request("POST", "/v1/agent/status", {"workspaces": [
                {"workspace_id": cls.ws["id"], "generation": cls.ws["generation"], "phase": "running"}]},
                token=cls.tok1)
            assert r.status == 200, r
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        du.stop_all(cls.d, cls.peb)

    def issue(self, names, challenge, ws=None):
        body = {"hostnames": names, "challenge": challenge}
        if ws:
            body["workspace_id"] = ws
        r = self.d.request("POST", "/v1/certificates", body)
        self.assertEqual(r.status, 202, r)
        return r.json()

    def test_01_validation(self):
        r = self.d.request("POST", "/v1/certificates", {"hostnames": ["Bad_Name"], "challenge": "smtp"})
        self.assertEqual(r.status, 422, r)
        fields = {e["field"] for e in r.json()["errors"]}
        self.assertIn("hostnames[0]", fields)
        self.assertIn("challenge", fields)
        r = self.d.request("POST", "/v1/certificates", {"hostnames": [f"*.{ZONE}"], "challenge": "http-01"})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(self.d.request("GET", "/v1/certificates/crt_nope").status, 404)
        # the HTTP-01 responder answers 404 for tokens it does not hold
        self.assertEqual(self.acme_get("nope")[0], 404)
        # answers come from the database (any instance, any restart): a row
        # written by someone else is served as is
        self.d.sql("INSERT INTO acme_http_tokens(token, key_authorization, cert_id, expires_at)"
                   " VALUES('tok-from-db', 'tok-from-db.thumb', 'crt_x', 9999999999999)")
        self.assertEqual(self.acme_get("tok-from-db"), (200, "text/plain", b"tok-from-db.thumb"))
        self.d.sql("DELETE FROM acme_http_tokens WHERE token = 'tok-from-db'")
        self.assertEqual(self.acme_get("tok-from-db")[0], 404)

    def acme_get(self, token):
        conn = http.client.HTTPConnection("127.0.0.1", self.d.acme_port, timeout=10)
        try:
            conn.request("GET", f"/.well-known/acme-challenge/{token}")
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type"), r.read()
        finally:
            conn.close()

    def test_02_http01_issue_agent_renew(self):
        name = f"shop.{ZONE}"
        c = self.issue([name], "http-01", self.ws["id"])
        self.assertTrue(c["id"].startswith("crt_"))
        self.assertIn(c["status"], ("pending", "valid"))
        c = du.wait_cert(self.d, c["id"], lambda x: x["status"] == "valid", what="http-01 certificate valid")
        self.assertEqual(c["version"], 1)
        self.assertTrue(c["issuer"].startswith("acme:https://127.0.0.1:"))
        self.assertIsNone(c["last_error"])
        for k in ("not_before", "not_after", "renew_after"):
            self.assertTrue(c[k], k)
        self.assertLess(c["not_before"], c["renew_after"])
        self.assertLess(c["renew_after"], c["not_after"])
        self.assertNotIn("private_key_pem", c)
        # the same names again: the same certificate, no second order
        again = self.issue([name], "http-01", self.ws["id"])
        self.assertEqual(again["id"], c["id"])
        orders = du.query(self.d, "SELECT order_url, result FROM cert_orders WHERE cert_id = ?", c["id"])
        self.assertEqual(len(orders), 1, orders)
        self.assertEqual(orders[0][1], "valid")
        # the agent of the serving region gets chain + key; everyone else does not
        r = self.d.request("GET", f"/v1/agent/certificates/{c['id']}", token=self.tok1)
        self.assertEqual(r.status, 200, r)
        m = r.json()
        self.assertEqual((m["id"], m["version"], m["hostnames"]), (c["id"], 1, [name]))
        v = du.verify_chain(self.peb, m["certificate_pem"], self.d.dir)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertTrue(du.key_matches(m["certificate_pem"], m["private_key_pem"]))
        self.assertEqual(m["not_after"], c["not_after"])
        self.assertEqual(self.d.request("GET", f"/v1/agent/certificates/{c['id']}", token=self.tok2).status, 404)
        r = self.d.request("GET", f"/v1/agent/certificates/{c['id']}")  # admin token
        self.assertIn(r.status, (403, 404), r)
        self.assertNotIn(b"PRIVATE KEY", r.body)
        # keys are sealed at rest
        rows = du.query(self.d, "SELECT key_sealed FROM certificates WHERE id = ?", c["id"])
        self.assertNotIn("PRIVATE KEY", rows[0][0])
        # the assignment carries the certificate ref
        self.assertEqual(self.assignment_cert_version(c["id"]), 1)
        # renew → version 2, new order, the assignment follows
        r = self.d.request("POST", f"/v1/certificates/{c['id']}/renew")
        self.assertEqual(r.status, 202, r)
        c2 = du.wait_cert(self.d, c["id"], lambda x: x["version"] == 2 and x["status"] == "valid",
                          what="renewed certificate")
        self.assertGreaterEqual(c2["not_after"], c["not_after"])
        fctest.wait_until(lambda: self.assignment_cert_version(c["id"]) == 2, timeout=10,
                          what="assignment certificate version 2")
        r = self.d.request("GET", f"/v1/agent/certificates/{c['id']}", token=self.tok1)
        self.assertEqual(r.json()["version"], 2)
        self.assertNotEqual(r.json()["certificate_pem"], m["certificate_pem"])
        orders = du.query(self.d, "SELECT count(*) FROM cert_orders WHERE cert_id = ?", c["id"])
        self.assertEqual(orders[0][0], 2)
        # the HTTP-01 answers were cleaned up
        self.assertEqual(du.query(self.d, "SELECT count(*) FROM acme_http_tokens")[0][0], 0)
        r = self.d.request("GET", f"/v1/certificates?hostname={name}")
        self.assertEqual([x["id"] for x in r.json()["items"]], [c["id"]])

    def assignment_cert_version(self, cid):
        r = self.d.request("GET", "/v1/agent/assignments?since=0", token=self.tok1)
        self.assertEqual(r.status, 200, r)
        for a in r.json()["assignments"]:
            if a.get("workspace_id") == self.ws["id"]:
                for ref in a.get("certificates") or []:
                    if ref["id"] == cid:
                        return ref["version"]
        return None

    def test_03_dns01_on_embedded_server(self):
        name = f"api-dns01.{ZONE}"  # not resolvable: only the TXT record can prove it
        c = self.issue([name], "dns-01")
        c = du.wait_cert(self.d, c["id"], lambda x: x["status"] == "valid", what="dns-01 certificate valid")
        self.assertEqual(c["version"], 1)
        self.assertEqual(du.query(self.d, "SELECT count(*) FROM dns_challenges")[0][0], 0)
        # platform certificates (no workspace) are not handed to agents
        self.assertEqual(self.d.request("GET", f"/v1/agent/certificates/{c['id']}", token=self.tok1).status, 404)

    def test_04_platform_wildcard_dns01(self):
        # certs.platform_wildcard: the daemon asked for *.<zone> at start
        r = self.d.request("GET", f"/v1/certificates?hostname=*.{ZONE}")
        self.assertEqual(r.status, 200, r)
        items = r.json()["items"]
        self.assertEqual(len(items), 1, items)
        c = du.wait_cert(self.d, items[0]["id"], lambda x: x["status"] == "valid", what="wildcard valid")
        self.assertEqual(c["hostnames"], [f"*.{ZONE}"])
        self.assertEqual(self.issue([f"*.{ZONE}"], "dns-01")["id"], c["id"])

    def test_05_unresolvable_http01_fails_with_backoff(self):
        name = f"nowhere.{ZONE}"  # no A record: Pebble cannot reach it
        c = self.issue([name], "http-01")
        # Pebble's `dns`/`connection` problem: pending for the first two
        # invalid orders (a name published moments before), failed at the third.
        c = du.wait_cert(self.d, c["id"], lambda x: x["status"] == "failed" and x["last_error"],
                         what="failed certificate with last_error")
        self.assertIn("acme:", c["last_error"])
        first = du.query(self.d, "SELECT failures, next_attempt_at, updated_at FROM certificates WHERE id = ?",
                         c["id"])[0]
        self.assertGreaterEqual(first[0], 3)
        self.assertGreater(first[1], first[2])  # the next attempt waits (backoff)
        fctest.wait_until(lambda: du.query(self.d, "SELECT failures FROM certificates WHERE id = ?",
                                           c["id"])[0][0] > first[0], timeout=30, what="next attempt")
        second = du.query(self.d, "SELECT failures, next_attempt_at, updated_at FROM certificates WHERE id = ?",
                          c["id"])[0]
        self.assertGreater(second[1] - second[2], (first[1] - first[2]) * 1.3)  # exponential
        self.assertEqual(du.query(self.d, "SELECT count(*) FROM cert_orders WHERE cert_id = ? AND result = 'invalid'",
                                  c["id"])[0][0], second[0])

    def test_06_name_published_after_the_first_validation_stays_pending(self):
        # The order is placed before the workspace's record is published (the
        # e2e flake: Pebble "could not resolve URL"): the invalid order is
        # retried with a new one and the certificate is never `failed`.
        r = self.d.request("POST", "/v1/workspaces", {"name": "late", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                     "placement": {"regions": ["crt-r1"]}})
        self.assertEqual(r.status, 201, r)
        ws = r.json()
        name = f"late.{ZONE}"
        c = self.issue([name], "http-01", ws["id"])
        seen = []

        def status(pred):
            def check(x):
                seen.append(x["status"])
                return pred(x)
            return check
        c = du.wait_cert(self.d, c["id"], status(lambda x: x["status"] == "pending" and x["last_error"]),
                         what="pending certificate with the CA's validation error")
        self.assertRegex(c["last_error"], r"error:(dns|connection)")
        r = self.d.request("POST", "/v1/agent/status", {"workspaces": [
            {"workspace_id": ws["id"], "generation": ws["generation"], "phase": "running"}]}, token=self.tok1)
        self.assertEqual(r.status, 200, r)
        c = du.wait_cert(self.d, c["id"], status(lambda x: x["status"] == "valid"), what="valid once published")
        self.assertNotIn("failed", seen)
        self.assertIsNone(c["last_error"])


if __name__ == "__main__":
    fctest.main()
