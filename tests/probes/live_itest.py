"""Live checks against a real edge, all on loopback: BIND is the customer's
DNS, unbound resolves for the daemon (stub zones for the customer zone and
the daemon's own zone), the reference agent writes its GitOps output, and
nginx (built from that output by tests/lib/edge.py: a TLS server block per
Ingress host with the Secret's certificate) proxies to a tiny backend.
The internal issuer signs the custom domain's certificate; the platform
hostname is served under an operator's wildcard whose CA is probes.ca_bundle.

Cases: live (custom domain against our leaf, workspace hostname by chain and
name); nginx serving another (self-signed) certificate for the name →
failing at `certificate`, naming its issuer; backend down → failing at `http`
with 502; CNAME moved to a name with no address → failing at `dns`; the
certificate renewed → still live while the edge serves the previous leaf,
live with the new one once the agent has it, and the old leaf no longer
accepted after that. Each failing case first goes through one failed probe
that stays `live` (two in a row are needed). /metrics counts by result and
step."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "domains"))
import peers_env  # noqa: E402  (sets sys.path for the shared helpers)
import fctest  # noqa: E402
import peers  # noqa: E402
import edge  # noqa: E402
import eventfeed  # noqa: E402
from e2e_itest import Agent  # noqa: E402

ZONE = "fleet.test"
HOST = "chat.customer.test"
RES = {"memory_mib": 64, "cpu_millis": 50}


class LiveChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cls.agent = cls.nginx = cls.backend = None
        try:
            cls.start_all()
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def start_all(cls):
        fctest.require_tools("named", "unbound", "nsupdate", "openssl")
        if not edge.nginx_binary():
            raise unittest.SkipTest("nginx is not installed")
        cls.d = fctest.Daemon()
        certs_dir = os.path.join(cls.d.dir, "certs")
        os.makedirs(certs_dir)
        cls.operator_ca = edge.self_signed(certs_dir, "operator-ca", "operator test CA", ["ca.invalid"])
        cls.wildcard = edge.ca_signed(certs_dir, "wildcard", cls.operator_ca, ["*." + ZONE])
        cls.foreign = edge.self_signed(certs_dir, "foreign", "TRAEFIK DEFAULT CERT", [HOST])
        cls.backend = edge.Backend().start()
        cls.nginx = edge.Nginx(cls.d.dir, cls.backend.port, cls.wildcard)
        cls.bind = peers_env.CustomerDns(cls.d.dir).start()
        cls.unbound = peers_env.Resolver(cls.d.dir, {"customer.test": cls.bind.port, ZONE: cls.d.dns_port}).start()
        cls.d.config["dns"]["zone"] = ZONE
        cls.d.config["resolver"] = {"servers": [cls.unbound.addr()]}
        cls.d.config["domains"] = {"verify_base_s": 1}
        cls.d.config["events"] = {"certificate_expiring_days": 365}
        cls.d.config["probes"] = {"enabled": True, "interval_s": 1, "rate_per_s": 50, "timeout_ms": 2000,
                                  "https_port": cls.nginx.port, "path": "/api/info",
                                  "ca_bundle": cls.operator_ca[0]}
        cls.d.start()
        cls.d.create_region("r1", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
        cls.agent = Agent(cls.d, cls.d.agent_token("r1"), os.path.join(cls.d.dir, "agent-r1"))
        fctest.wait_until(lambda: cls.d.request("GET", "/v1/regions/r1").json().get("health") == "healthy",
                          timeout=30, interval=0.2, what="agent heartbeat")
        r = cls.d.request("POST", "/v1/workspaces", {"name": "shop", "resources": RES})
        assert r.status == 201, r
        cls.ws = r.json()
        fctest.wait_until(lambda: cls.d.request("GET", f"/v1/workspaces/{cls.ws['id']}").json()["dns"]["published"],
                          timeout=30, interval=0.2, what="workspace running and published")
        cls.make_domain_active()
        cls.nginx.write(edge.gitops_sites(cls.agent.out))
        cls.nginx.start()

    @classmethod
    def make_domain_active(cls):
        r = cls.d.request("POST", f"/v1/workspaces/{cls.ws['id']}/domains", {"hostname": HOST})
        assert r.status == 201, r
        token = r.json()["verification"]["value"]
        cls.bind.update(f"add _fleetcommand.{HOST} 1 TXT \"{token}\"", f"add {HOST} 1 CNAME shop.{ZONE}.")
        cls.d.request("POST", f"/v1/domains/{HOST}/check")
        fctest.wait_until(lambda: cls.d.request("GET", f"/v1/domains/{HOST}").json()["status"] == "active",
                          timeout=60, interval=0.3, what=f"{HOST} active")
        fctest.wait_until(lambda: edge.gitops_sites(cls.agent.out).get(HOST), timeout=30, interval=0.2,
                          what="the agent's Secret for " + HOST)

    @classmethod
    def stop_all(cls):
        code, logs = 0, ""
        try:
            for p in (cls.agent, cls.nginx, cls.backend):
                if p:
                    p.stop()
            if cls.d:
                code = cls.d.stop()
                logs = cls.d.logs()
        finally:  # BIND and unbound whatever the agent, nginx or the daemon did
            peers.cleanup()
            if cls.d:
                cls.d.cleanup()
        return code, logs

    @classmethod
    def tearDownClass(cls):
        code, logs = cls.stop_all()
        assert code == 0, f"daemon exited {code}\n{logs[-4000:]}"

    # --- helpers ---------------------------------------------------------
    def live(self):
        r = self.d.request("GET", f"/v1/domains/{HOST}")
        self.assertEqual(r.status, 200, r)
        return r.json()["live"]

    def probe(self):
        r = self.d.request("POST", f"/v1/domains/{HOST}/probe")
        self.assertEqual(r.status, 200, r)
        return r.json()["live"]

    def wait_live(self, what, **want):
        last = {}

        def reached():
            last["l"] = self.live()
            return all(last["l"].get(k) == v for k, v in want.items())

        try:
            fctest.wait_until(reached, timeout=30, interval=0.2, what=what)
        except AssertionError:
            self.fail(f"{what}: last live {last.get('l')}\n{self.d.logs()[-3000:]}")
        return last["l"]

    def peer(self):
        return f"127.0.0.1:{self.nginx.port}"

    def live_condition(self):
        r = self.d.request("GET", f"/v1/domains/{HOST}/status")
        self.assertEqual(r.status, 200, r)
        return [c for c in r.json()["conditions"] if c["type"] == "Live"][0]

    def cert_id(self):
        return self.d.request("GET", f"/v1/domains/{HOST}").json()["certificate"]["id"]

    # --- cases -----------------------------------------------------------
    def test_1_live(self):
        got = self.wait_live("domain live", status="live", step="http")
        self.assertEqual(got["detail"], f"HTTP 200 from {self.peer()}")
        self.assertIsNotNone(got["checked_at"])
        p = self.probe()
        self.assertEqual((p["status"], p["step"], p["failures"]), ("live", "http", 0))
        live = self.live_condition()
        self.assertEqual((live["status"], live["reason"]), ("True", "Live"), live)
        # The workspace hostname: the operator's wildcard, checked by chain and name.
        fctest.wait_until(lambda: self.d.request("GET", f"/v1/workspaces/{self.ws['id']}").json()["live"]["status"]
                          == "live", timeout=30, interval=0.2, what="workspace hostname live")

    def test_2_foreign_certificate(self):
        sites = edge.gitops_sites(self.agent.out)
        self.nginx.write(sites, overrides={HOST: self.foreign})
        self.nginx.reload(HOST, edge.file_fingerprint(self.foreign[0]))
        got = self.wait_live("failing at certificate", status="failing", step="certificate")
        self.assertEqual(got["detail"], "TLS: served certificate is not ours (issuer CN=TRAEFIK DEFAULT CERT)")
        self.assertGreaterEqual(got["failures"], 2)
        # The domain's status chain reads the same result: Live is False, with the detail.
        live = self.live_condition()
        self.assertEqual((live["status"], live["reason"]), ("False", "ProbeFailing"), live)
        self.assertIn("served certificate is not ours", live["message"])
        self.nginx.write(sites)
        self.nginx.reload(HOST, edge.pem_fingerprint(sites[HOST][0]))
        self.wait_live("live again", status="live", failures=0)

    def test_3_backend_down(self):
        self.backend.stop()
        try:
            got = self.wait_live("failing at http", status="failing", step="http")
            self.assertEqual(got["detail"], f"HTTP 502 from {self.peer()}")
        finally:
            self.backend.start()
        self.wait_live("live again", status="live")

    def test_4_cname_moved(self):
        self.bind.update(f"delete {HOST} CNAME", f"add {HOST} 1 CNAME old-provider.customer.test.")
        try:
            got = self.wait_live("failing at dns", status="failing", step="dns")
            self.assertEqual(got["detail"], f"DNS: {HOST} has no address (CNAME \u2192 old-provider.customer.test)")
        finally:
            self.bind.update(f"delete {HOST} CNAME", f"add {HOST} 1 CNAME shop.{ZONE}.")
        self.wait_live("live again", status="live")

    def test_5_renewed_certificate(self):
        old_sites = edge.gitops_sites(self.agent.out)
        old_fp = edge.pem_fingerprint(old_sites[HOST][0])
        cid = self.cert_id()
        version = self.d.request("GET", f"/v1/certificates/{cid}").json()["version"]
        self.assertEqual(self.d.request("POST", f"/v1/certificates/{cid}/renew").status, 202)
        fctest.wait_until(lambda: self.d.request("GET", f"/v1/certificates/{cid}").json()["version"] > version,
                          timeout=30, interval=0.2, what="a new certificate version")
        fctest.wait_until(lambda: edge.pem_fingerprint((edge.gitops_sites(self.agent.out).get(HOST) or
                                                        old_sites[HOST])[0]) != old_fp,
                          timeout=30, interval=0.2, what="the agent has the renewed certificate")
        # The edge still serves the previous leaf: it was ours at the last success.
        p = self.probe()
        self.assertEqual((p["status"], p["step"]), ("live", "http"), p)
        new_sites = edge.gitops_sites(self.agent.out)
        self.nginx.write(new_sites)
        self.nginx.reload(HOST, edge.pem_fingerprint(new_sites[HOST][0]))
        p = self.probe()
        self.assertEqual((p["status"], p["step"], p["failures"]), ("live", "http", 0), p)
        # Once the new leaf was seen, the old one is no longer ours.
        self.nginx.write(old_sites)
        self.nginx.reload(HOST, old_fp)
        try:
            # nginx's previous workers may still take a connection for a
            # moment after a reload (and serve the new leaf): probe until the
            # old leaf is what is seen, bounded.
            seen = {}

            def refused():
                seen["probe"] = self.probe()
                return seen["probe"]["step"] == "certificate"
            try:
                fctest.wait_until(refused, timeout=15, interval=0.2, what="the old leaf refused by a probe")
            except AssertionError:
                self.fail(f"the old leaf was not refused: last probe {seen.get('probe')}, served "
                          f"{edge.served_fingerprint(self.nginx.port, HOST)} (old {old_fp})\n"
                          f"{self.d.logs()[-3000:]}")
            got = self.wait_live("old leaf refused", status="failing", step="certificate")
            self.assertTrue(got["detail"].startswith("TLS: served certificate is not ours (issuer CN="), got)
        finally:
            self.nginx.write(new_sites)
            self.nginx.reload(HOST, edge.pem_fingerprint(new_sites[HOST][0]))
        self.wait_live("live again", status="live")

    def test_6_metrics(self):
        text = self.d.request("GET", "/metrics", auth=False).body.decode()
        self.assertRegex(text, r'fleetcommand_probe_results_total\{result="pass",step="http"\} [1-9]')
        self.assertIn('fleetcommand_probe_hostnames{status="live"}', text)
        self.assertRegex(text, r"fleetcommand_probe_rounds_total [1-9]")

    def test_7_certificate_events_once_per_version_across_restart(self):
        cid = self.cert_id()

        def mine(feed):
            return [e for e in feed if e["type"].startswith("certificate.") and e["subject"] == cid]

        want = [("certificate.issued", 1), ("certificate.expiring", 1), ("certificate.renewed", 2),
                ("certificate.expiring", 2)]
        # The renewal of test 5 is seconds old: its expiring comes at the next tick.
        fctest.wait_until(lambda: len(mine(eventfeed.read_all(self.d, "certificate.*"))) >= 4, timeout=15,
                          interval=0.3, what="certificate.expiring of version 2")
        feed = eventfeed.read_all(self.d)
        eventfeed.check_invariants(self, feed)
        got = mine(feed)
        self.assertEqual([(e["type"], e["data"]["version"]) for e in got], want, got)
        for e in got:
            v = e["data"]
            self.assertEqual((v["id"], v["workspace_id"], v["hostnames"]), (cid, self.ws["id"], [HOST]), e)
            self.assertEqual(e["workspace_id"], self.ws["id"])
            self.assertIn(v["status"], ("valid", "renewing"), e)
            self.assertRegex(v["not_after"], eventfeed.RFC3339)
        self.assertEqual(len({e["data"]["not_after"] for e in got}), 2, "two versions, two lifetimes")
        # A restart checks the window again at once: nothing new.
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.agent_sees_daemon()
        time.sleep(3)  # three chore ticks, the first of which runs the expiring check
        after = eventfeed.read_all(self.d)
        eventfeed.check_invariants(self, after)
        self.assertEqual([e["id"] for e in mine(after)], [e["id"] for e in got], mine(after))

    def agent_sees_daemon(self):
        fctest.wait_until(lambda: self.d.request("GET", "/v1/regions/r1").json().get("health") == "healthy",
                          timeout=30, interval=0.2, what="agent heartbeat after the restart")


if __name__ == "__main__":
    fctest.main()
