"""A moved domain that comes back resumes renewal, end to end with real peers on
loopback: BIND plays the customer's DNS (nsupdate + TSIG), unbound resolves
for the daemon and Pebble, Pebble issues short-lived certificates (60 s, its
`certificateValidityPeriod`) by HTTP-01 through the daemon's responder, the
reference agent writes manifests in directory mode.

1. The customer removes the CNAME → `moved` → after the grace period the route
   is withdrawn and the certificate's `renew_after` disappears (renewal
   stopped); the CNAME comes back → the Ingress rule is back, the status is
   `active` again and `renew_after` is set again (same certificate).
2. Same, but the certificate expires while the domain points elsewhere: when
   the CNAME comes back a new order is placed (version + 1, `valid`, a
   `not_after` in the future) and delivered to the agent → `active`.
3. The lifecycle events of all that, once per transition: domain.verified,
   then .active, .moved, .active, .moved, .active; one certificate.issued
   (version 1) and one .renewed per later version; with
   events.certificate_expiring_days 1 every 60 s version is expiring from
   birth, so exactly one certificate.expiring per version, after it."""
import base64
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers_env  # noqa: E402  (sets sys.path for the shared helpers)
import fctest  # noqa: E402
import daemon_util  # noqa: E402
import eventfeed  # noqa: E402
from e2e_itest import CustomerWorld, ZONE  # noqa: E402

VALIDITY_S = 60


class ShortLivedPebble(daemon_util.PebbleOnOurDns):
    """Pebble whose certificates live VALIDITY_S seconds (config key
    certificateValidityPeriod, seconds), so that expiry happens within a test."""

    def _spawn(self, name, cmd, env):
        cfg = cmd[cmd.index("-config") + 1]
        with open(cfg) as f:
            conf = json.load(f)
        conf["pebble"]["certificateValidityPeriod"] = VALIDITY_S
        with open(cfg, "w") as f:
            json.dump(conf, f)
        return super()._spawn(name, cmd, env)


class MovedBack(CustomerWorld):
    PEBBLE = ShortLivedPebble
    DOMAINS = {"recheck_interval_s": 2, "moved_grace_s": 3, "verify_base_s": 1}
    EXTRA_CONFIG = {"events": {"certificate_expiring_days": 1}}

    @classmethod
    def after_start(cls):
        cls.ws = cls.published_ws("shop")

    def cert(self, cid):
        r = self.d.request("GET", f"/v1/certificates/{cid}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait(self, pred, what, timeout):
        try:
            fctest.wait_until(pred, timeout=timeout, interval=0.5, what=what)
        except AssertionError:
            self.fail(f"{what} never happened\n{self.d.logs()[-3000:]}")

    def wait_status(self, host, want, timeout=90):
        last = {}

        def reached():
            last["d"] = self.domain(host)
            return last["d"]["status"] == want

        self.wait(reached, f"{host} {want} (last: {json.dumps(last.get('d'))})", timeout)
        return last["d"]

    def cname(self, host, present):
        if present:
            self.bind.update(f"add {host} 1 CNAME shop.{ZONE}.")
        else:
            self.bind.update(f"delete {host} CNAME")
        self.assertEqual(self.d.request("POST", f"/v1/domains/{host}/check").status, 202)

    def secret_valid_for(self, host):
        """True when the agent's directory holds a TLS Secret for `host` whose
        certificate has not expired (openssl x509 -checkend 0)."""
        for s in self.agent.secrets():
            pem = base64.b64decode(s["data"]["tls.crt"]).decode()
            san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=pem,
                                 capture_output=True, text=True).stdout
            if host in san and subprocess.run(["openssl", "x509", "-noout", "-checkend", "0"], input=pem,
                                              capture_output=True, text=True).returncode == 0:
                return True
        return False

    def move_away_until_withdrawn(self, host, cid):
        self.cname(host, False)
        d = self.wait_status(host, "moved", timeout=30)
        self.assertFalse(d["routing"]["ok"])
        self.wait(lambda: host not in self.agent.ingress_hosts(), "route withdrawn from the agent's Ingress", 40)
        self.wait(lambda: self.cert(cid)["renew_after"] is None, "renewal stopped (renew_after null)", 20)
        self.assertEqual(self.domain(host)["status"], "moved")

    def test_1_comes_back_with_a_valid_certificate(self):
        host = "back.customer.test"
        r = self.d.request("POST", f"/v1/workspaces/{self.ws['id']}/domains", {"hostname": host})
        self.assertEqual(r.status, 201, r)
        token = r.json()["verification"]["value"]
        self.bind.update(f"add _fleetcommand.{host} 1 TXT \"{token}\"")
        self.cname(host, True)
        d = self.wait_status(host, "active", timeout=120)
        cid = d["certificate"]["id"]
        c = self.cert(cid)
        self.assertIsNotNone(c["renew_after"])
        self.assertIn(host, self.agent.ingress_hosts())
        self.move_away_until_withdrawn(host, cid)
        # The customer points the CNAME back: route, renewal and `active` return.
        self.cname(host, True)
        d = self.wait_status(host, "active", timeout=60)
        self.assertTrue(d["routing"]["ok"])
        self.assertIsNone(d["last_error"])
        self.assertEqual(d["certificate"]["id"], cid)
        self.wait(lambda: host in self.agent.ingress_hosts(), "route back in the agent's Ingress", 30)
        c = self.cert(cid)
        self.assertIsNotNone(c["renew_after"], c)
        self.assertIn(c["status"], ("valid", "renewing"))
        self.assertTrue(self.secret_valid_for(host))
        MovedBack.cert_id = cid

    def test_2_comes_back_after_the_certificate_expired(self):
        host = "back.customer.test"
        cid = getattr(MovedBack, "cert_id", None)
        if not cid:
            self.skipTest("test_1 did not get the domain active")
        self.wait_status(host, "active", timeout=60)
        self.move_away_until_withdrawn(host, cid)
        before = self.cert(cid)
        # Renewal is off: the certificate runs out while the name points elsewhere.
        self.wait(lambda: self.cert(cid)["status"] == "expired", "certificate expired unrenewed",
                  VALIDITY_S + 90)
        self.assertEqual(self.domain(host)["status"], "moved")
        self.assertEqual(self.cert(cid)["version"], before["version"])
        self.cname(host, True)
        d = self.wait_status(host, "active", timeout=120)
        c = self.cert(cid)
        self.assertEqual(d["certificate"]["id"], cid)
        self.assertEqual(c["status"], "valid")
        self.assertGreater(c["version"], before["version"])
        self.assertIsNotNone(c["renew_after"])
        not_after = time.mktime(time.strptime(c["not_after"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        self.assertGreater(not_after, time.time())
        self.wait(lambda: host in self.agent.ingress_hosts() and self.secret_valid_for(host),
                  "the new certificate and the route in the agent's directory", 30)

    def test_3_events_once_per_transition(self):
        host = "back.customer.test"
        cid = getattr(MovedBack, "cert_id", None)
        if not cid:
            self.skipTest("test_1 did not get the domain active")
        feed = eventfeed.read_all(self.d)
        eventfeed.check_invariants(self, feed)
        self.assertEqual([t for t, _ in eventfeed.of(feed, "domain.", host)],
                         ["domain.verified", "domain.active", "domain.moved", "domain.active", "domain.moved",
                          "domain.active"])

        def cert_events():
            return [e for e in eventfeed.read_all(self.d, "certificate.*") if e["subject"] == cid]
        # The newest version's expiring comes at the tick after it is stored.
        version = self.cert(cid)["version"]
        self.wait(lambda: any(e["type"] == "certificate.expiring" and e["data"]["version"] == version
                              for e in cert_events()), f"certificate.expiring of version {version}", 15)
        got = cert_events()
        born = [(e["type"], e["data"]["version"]) for e in got if e["type"] != "certificate.expiring"]
        self.assertEqual(born, [("certificate.issued", 1)] + [("certificate.renewed", v)
                                                              for v in range(2, len(born) + 1)], got)
        self.assertGreaterEqual(len(born), 2, "the order after expiry is a new version")
        for v in range(1, len(born) + 1):
            stored = [e["seq"] for e in got if e["type"] != "certificate.expiring" and e["data"]["version"] == v]
            expiring = [e for e in got if e["type"] == "certificate.expiring" and e["data"]["version"] == v]
            self.assertEqual(len(expiring), 1, (v, got))
            self.assertGreater(expiring[0]["seq"], stored[0])
            self.assertEqual((expiring[0]["data"]["id"], expiring[0]["data"]["hostnames"]), (cid, [host]))
            self.assertIn(expiring[0]["data"]["status"], ("valid", "renewing"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
