"""Custom domains end to end, all on loopback with real peers: BIND plays the
customer's DNS (nsupdate + TSIG), unbound resolves for the daemon and Pebble,
Pebble issues by HTTP-01 through the daemon's responder, the reference agent
writes manifests in directory mode. Covers claim → verified → issued →
delivered (Secret + Ingress) → active; CAA forbidding → failed with no order;
tenant isolation; 409 for a name verified elsewhere; moved after the CNAME is
removed, with the route withdrawn after the grace period; deleted names stay
reserved; migration delivers the certificate to the target region. Last,
the lifecycle events all of that emitted (domain.verified/.active/.failed/
.moved, certificate.issued): once per transition, with the domain's or the
certificate's view, and not again after a daemon restart."""
import base64
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers_env  # noqa: E402  (sets sys.path for the shared helpers)
import fctest  # noqa: E402
import daemon_util  # noqa: E402
import eventfeed  # noqa: E402
import peers  # noqa: E402

ZONE = "fleet.test"
RES = {"memory_mib": 64, "cpu_millis": 50}


def find_files(root, pattern):
    return sorted(glob.glob(os.path.join(root, "**", pattern), recursive=True))


class Agent:
    def __init__(self, d, token, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.out = os.path.join(root, "out")
        tf = os.path.join(root, "token")
        with open(tf, "w") as f:
            f.write(token + "\n")
        self.log = open(os.path.join(root, "agent.log"), "ab")
        self.proc = subprocess.Popen(
            [fctest.FC_BIN, "agent", "--api", f"http://127.0.0.1:{d.api_port}", "--token-file", tf,
             "--state-dir", os.path.join(root, "state"), "--out", self.out, "--agent-id", "e2e-agent",
             "--poll-wait", "2"], stdout=self.log, stderr=subprocess.STDOUT)
        peers._procs.append(self.proc)  # stopped by pid at exit too

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def secrets(self):
        out = []
        for p in find_files(self.out, "secret-*.json"):
            with open(p) as f:
                out.append(json.load(f))
        return [s for s in out if s.get("type") == "kubernetes.io/tls"]

    def ingress_hosts(self):
        hosts = set()
        for p in find_files(self.out, "ingress-*.json"):
            with open(p) as f:
                ing = json.load(f)
            for rule in ing.get("spec", {}).get("rules", []):
                if rule.get("host"):
                    hosts.add(rule["host"])
        return hosts


class CustomerWorld(unittest.TestCase):
    """The whole world of a custom-domain test, on loopback: BIND for the
    customer zone, unbound resolving through it and the daemon's zone, Pebble
    validating through unbound, the daemon, and the reference agent of region
    r1 (healthy). Subclasses set PEBBLE, ISSUER_EXTRA, DOMAINS, may change
    the daemon's config in before_start() and add their own workspaces in
    after_start()."""
    PEBBLE = daemon_util.PebbleOnOurDns
    ISSUER_EXTRA = {}
    DOMAINS = {}
    EXTRA_CONFIG = {}  # more top-level config sections (e.g. plans)

    @classmethod
    def setUpClass(cls):
        cls.d = cls.peb = cls.agent = None
        try:
            cls.start_all()
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def start_all(cls):
        fctest.require_tools("named", "unbound", "nsupdate", "pebble")
        cls.d = fctest.Daemon()
        cls.bind = peers_env.CustomerDns(cls.d.dir).start()
        cls.unbound = peers_env.Resolver(cls.d.dir, {"customer.test": cls.bind.port, ZONE: cls.d.dns_port}).start()
        cls.peb = cls.PEBBLE(os.path.join(cls.d.dir, "pebble"), cls.d.acme_port, cls.unbound.port).start()
        cls.d.config["dns"]["zone"] = ZONE
        cls.d.config["resolver"] = {"servers": [cls.unbound.addr()]}
        cls.d.config["certs"] = {"issuers": [daemon_util.acme_issuer(cls.peb, **cls.ISSUER_EXTRA)]}
        cls.d.config["domains"] = dict(cls.DOMAINS)
        cls.d.config.update(cls.EXTRA_CONFIG)
        cls.before_start()
        cls.d.start()
        cls.d.create_region("r1", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
        cls.agent = Agent(cls.d, cls.d.agent_token("r1"), os.path.join(cls.d.dir, "agent-r1"))
        fctest.wait_until(lambda: cls.d.request("GET", "/v1/regions/r1").json().get("health")
                          == "healthy", timeout=30, interval=0.2, what="agent heartbeat")
        cls.after_start()

    @classmethod
    def before_start(cls):
        """Peers are up, the daemon's config is written but not started."""

    @classmethod
    def after_start(cls):
        pass

    @classmethod
    def published_ws(cls, name="shop"):
        """A new workspace, once it runs and is published in the platform zone."""
        r = cls.d.request("POST", "/v1/workspaces", {"name": name, "resources": RES})
        assert r.status == 201, r
        ws = r.json()
        fctest.wait_until(lambda: cls.d.request("GET", f"/v1/workspaces/{ws['id']}").json()["dns"]["published"],
                          timeout=30, what=f"workspace {name} running and published")
        return ws

    def domain(self, host, token=None):
        r = self.d.request("GET", f"/v1/domains/{host}", token=token)
        self.assertEqual(r.status, 200, r)
        return r.json()

    @classmethod
    def stop_all(cls):
        code, logs = 0, ""
        try:
            if cls.agent:
                cls.agent.stop()
            if cls.d:
                code = cls.d.stop()
                logs = cls.d.logs()
        finally:  # the peers, whatever the daemon or the agent did
            try:
                if cls.peb:
                    cls.peb.stop()
                peers.cleanup()
            finally:
                if cls.d:
                    cls.d.cleanup()
        return code, logs

    @classmethod
    def tearDownClass(cls):
        code, logs = cls.stop_all()
        assert code == 0, f"daemon exited {code}\n{logs[-4000:]}"


class DomainsE2E(CustomerWorld):
    ISSUER_EXTRA = {"caa_identities": ["pebble.example"]}
    DOMAINS = {"recheck_interval_s": 2, "moved_grace_s": 3, "verify_base_s": 1,
               "reservation_s": 3600, "max_per_workspace": 3}

    @classmethod
    def after_start(cls):
        cls.ws = cls.create_ws("shop")
        cls.ws2 = cls.create_ws("other")
        fctest.wait_until(lambda: cls.ws_json(cls.ws["id"])["dns"]["published"], timeout=30,
                          what="workspace running and published")

    @classmethod
    def create_ws(cls, name):
        r = cls.d.request("POST", "/v1/workspaces", {"name": name, "resources": RES})
        assert r.status == 201, r
        return r.json()

    @classmethod
    def ws_json(cls, ws_id):
        return cls.d.request("GET", f"/v1/workspaces/{ws_id}").json()

    def tenant(self, ws_id):
        r = self.d.request("POST", f"/v1/workspaces/{ws_id}/tenant-tokens")
        self.assertEqual(r.status, 201, r)
        return r.json()["token"]

    def claim(self, ws_id, host, token=None):
        return self.d.request("POST", f"/v1/workspaces/{ws_id}/domains", {"hostname": host}, token=token)

    def wait_status(self, host, want, timeout=90):
        last = {}

        def reached():
            last["d"] = self.domain(host)
            return last["d"]["status"] == want

        try:
            fctest.wait_until(reached, timeout=timeout, interval=0.5, what=f"{host} {want}")
        except AssertionError:
            self.fail(f"{host} never reached {want}; last view: {json.dumps(last.get('d'))}\n"
                      f"daemon log tail:\n{self.d.logs()[-3000:]}")
        return last["d"]

    def publish(self, host, ws, token):
        self.bind.update(f"add _fleetcommand.{host} 1 TXT \"{token}\"", f"add {host} 1 CNAME {ws['name']}.{ZONE}.")
        # Checks before the records existed left NXDOMAINs in unbound's cache
        # (negative TTL 1 s, peers_env). Pebble resolves through the same
        # unbound; an order placed within that second fails its first attempt
        # and the domain shows `failed` until the retry (domain.failed in the
        # event feed, seen once in a full run). Real resolvers cache longer;
        # here the test waits the cache out.
        time.sleep(1.2)

    def test_1_claim_verify_issue_deliver_active(self):
        host = "chat.customer.test"
        r = self.claim(self.ws["id"], "Chat.Customer.Test.")
        self.assertEqual(r.status, 201, r)
        d = r.json()
        self.assertEqual(d["hostname"], host)
        self.assertEqual(d["status"], "pending_verification")
        self.assertEqual(d["verification"]["name"], "_fleetcommand." + host)
        self.assertTrue(d["verification"]["value"].startswith("fc-verify="))
        self.assertEqual(d["routing"]["target"], f"shop.{ZONE}")
        self.assertIsNone(d["certificate"])
        # Nothing published yet: the status names the TXT record and what was found.
        self.d.request("POST", f"/v1/domains/{host}/check")
        fctest.wait_until(lambda: (self.domain(host)["last_error"] or "").startswith(
            f"TXT _fleetcommand.{host}: expected \"{d['verification']['value']}\", found none"),
            timeout=30, interval=0.3, what="last_error naming the TXT record")
        self.publish(host, self.ws, d["verification"]["value"])
        self.assertEqual(self.d.request("POST", f"/v1/domains/{host}/check").status, 202)
        final = self.wait_status(host, "active", timeout=120)
        self.assertTrue(final["routing"]["ok"])
        self.assertIsNotNone(final["verification"]["verified_at"])
        self.assertEqual(final["certificate"]["status"], "valid")
        self.assertIsNone(final["last_error"])
        # The agent's directory: a TLS Secret whose certificate has the SAN and
        # chains to Pebble's root, and an Ingress rule for the hostname.
        self.assertIn(host, self.agent.ingress_hosts())
        secrets = self.agent.secrets()
        self.assertTrue(secrets, "no kubernetes.io/tls Secret written by the agent")
        chain = None
        for s in secrets:
            pem = base64.b64decode(s["data"]["tls.crt"]).decode()
            if host in subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=pem,
                                      capture_output=True, text=True).stdout:
                chain = pem
        self.assertIsNotNone(chain, "no Secret carries a certificate for " + host)
        root, _ = self.peb.roots_and_intermediates()
        with tempfile.TemporaryDirectory() as t:
            leaf_end = chain.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
            files = {"root.pem": root, "leaf.pem": chain[:leaf_end] + "\n", "chain.pem": chain}
            for n, v in files.items():
                with open(os.path.join(t, n), "w") as f:
                    f.write(v)
            v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(t, "root.pem"), "-untrusted",
                                os.path.join(t, "chain.pem"), os.path.join(t, "leaf.pem")],
                               capture_output=True, text=True)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_2_conflict_and_tenant_isolation(self):
        host = "chat.customer.test"
        self.wait_status(host, "active", timeout=120)
        t1, t2 = self.tenant(self.ws["id"]), self.tenant(self.ws2["id"])
        # Verified by another workspace → 409 (admin or tenant alike).
        r = self.claim(self.ws2["id"], host, token=t2)
        self.assertEqual(r.status, 409, r)
        # A tenant cannot see, check, delete or list another workspace's domains.
        self.assertEqual(self.d.request("GET", f"/v1/domains/{host}", token=t2).status, 404)
        self.assertEqual(self.d.request("POST", f"/v1/domains/{host}/check", token=t2).status, 404)
        self.assertEqual(self.d.request("DELETE", f"/v1/domains/{host}", token=t2).status, 404)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{self.ws['id']}/domains", token=t2).status, 404)
        self.assertEqual(self.claim(self.ws["id"], "x.customer.test", token=t2).status, 404)
        # Its own workspace works; the owner sees its domain.
        self.assertEqual(self.domain(host, token=t1)["workspace_id"], self.ws["id"])
        lst = self.d.request("GET", f"/v1/workspaces/{self.ws2['id']}/domains", token=t2)
        self.assertEqual(lst.status, 200, lst)
        # Pending claims do not block each other.
        self.assertEqual(self.claim(self.ws["id"], "both.customer.test").status, 201)
        self.assertEqual(self.claim(self.ws2["id"], "both.customer.test", token=t2).status, 201)
        # Validation: 422 with a reason.
        for bad in ("192.0.2.1", "*.customer.test", "localhost", "a_b.customer.test", "shop.fleet.test"):
            r = self.claim(self.ws["id"], bad, token=t1)
            self.assertEqual(r.status, 422, (bad, r))
        # max_per_workspace = 3: shop has chat + both; a third fits, a fourth does not.
        self.assertEqual(self.claim(self.ws["id"], "third.customer.test").status, 201)
        r = self.claim(self.ws["id"], "fourth.customer.test")
        self.assertEqual(r.status, 422, r)
        for h in ("both.customer.test", "third.customer.test"):
            self.assertEqual(self.d.request("DELETE", f"/v1/domains/{h}", token=t1).status, 204)

    def test_3_caa_forbids_no_order(self):
        # The CAA set sits on the parent (a CNAME cannot share its name): the
        # check climbs from the name to its parents (RFC 8659 §3).
        host = "app.caa.customer.test"
        r = self.claim(self.ws2["id"], host)
        self.assertEqual(r.status, 201, r)
        self.bind.update("add caa.customer.test 1 CAA 0 issue \"other-ca.example\"")
        self.publish(host, self.ws2, r.json()["verification"]["value"])
        self.d.request("POST", f"/v1/domains/{host}/check")
        d = self.wait_status(host, "failed", timeout=60)
        self.assertIn("CAA", d["last_error"])
        self.assertIn("other-ca.example", d["last_error"])
        self.assertIsNone(d["certificate"], "an order was placed despite CAA")
        certs = self.d.request("GET", f"/v1/certificates?hostname={host}")
        if certs.status == 200:
            self.assertEqual(certs.json().get("items", []), [], certs)

    def test_4_migration_carries_certificate_to_target(self):
        host = "chat.customer.test"
        cert_id = self.wait_status(host, "active", timeout=120)["certificate"]["id"]
        self.d.create_region("r2", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
        tok2 = self.d.agent_token("r2")
        self.d.heartbeat(tok2, "r2-agent")
        r = self.d.request("POST", f"/v1/workspaces/{self.ws['id']}/migrate", {"region": "r2"})
        self.assertEqual(r.status, 202, r)
        a = self.d.request("GET", "/v1/agent/assignments?since=0", token=tok2)
        self.assertEqual(a.status, 200, a)
        mine = [x for x in a.json()["assignments"] if x["workspace_id"] == self.ws["id"]]
        self.assertTrue(mine, a.json())
        self.assertIn(host, mine[-1]["hostnames"])
        self.assertIn(cert_id, [c["id"] for c in mine[-1]["certificates"]])
        # Before the flip, DNS still points at r1 (the target has not reported running).
        self.assertEqual(self.ws_json(self.ws["id"])["dns"]["region"], "r1")

    def test_5_moved_then_route_withdrawn(self):
        host = "chat.customer.test"
        self.wait_status(host, "active", timeout=120)
        self.bind.update(f"delete {host} CNAME")
        self.d.request("POST", f"/v1/domains/{host}/check")
        d = self.wait_status(host, "moved", timeout=30)
        self.assertFalse(d["routing"]["ok"])
        self.assertIn(f"CNAME {host}", d["last_error"])
        # After moved_grace_s (3 s) the hostname leaves the assignment.
        fctest.wait_until(lambda: host not in self.agent.ingress_hosts(), timeout=40, interval=0.5,
                          what="route withdrawn from the agent's Ingress")

    def test_6_delete_keeps_reservation(self):
        host = "chat.customer.test"
        self.assertEqual(self.d.request("DELETE", f"/v1/domains/{host}").status, 204)
        self.assertEqual(self.d.request("GET", f"/v1/domains/{host}").status, 404)
        r = self.claim(self.ws2["id"], host)
        self.assertEqual(r.status, 409, r)
        self.assertIn("reserved", r.json().get("detail", ""))
        # The previous owner may claim it again.
        self.assertEqual(self.claim(self.ws["id"], host).status, 201)

    def test_7_deleted_workspace_releases_route_and_reserves_name(self):
        ws3 = self.create_ws("gone")
        fctest.wait_until(lambda: self.ws_json(ws3["id"])["dns"]["published"], timeout=30,
                          what="workspace gone published")
        host = "gone.customer.test"
        r = self.claim(ws3["id"], host)
        self.assertEqual(r.status, 201, r)
        self.publish(host, ws3, r.json()["verification"]["value"])
        self.d.request("POST", f"/v1/domains/{host}/check")
        fctest.wait_until(lambda: self.domain(host)["verification"]["verified_at"], timeout=60, interval=0.3,
                          what="gone.customer.test verified")
        self.assertEqual(self.d.request("DELETE", f"/v1/workspaces/{ws3['id']}").status, 202)
        fctest.wait_until(lambda: self.d.request("GET", f"/v1/domains/{host}").status == 404, timeout=30,
                          interval=0.3, what="the claim released with its workspace")
        r = self.claim(self.ws2["id"], host)
        self.assertEqual(r.status, 409, r)
        self.assertIn("reserved", r.json().get("detail", ""))

    def test_8_dns01_through_delegation(self):
        host = "dns01.customer.test"
        r = self.claim(self.ws2["id"], host)
        self.assertEqual(r.status, 201, r)
        d = r.json()
        target = d["acme_challenge_delegation"]["target"]
        self.assertTrue(target.endswith("._acme." + ZONE), target)
        self.bind.update(f"add _acme-challenge.{host} 1 CNAME {target}.")
        self.publish(host, self.ws2, d["verification"]["value"])
        self.d.request("POST", f"/v1/domains/{host}/check")
        final = self.wait_status(host, "active", timeout=120)
        self.assertEqual(final["certificate"]["status"], "valid")
        rows = daemon_util.query(self.d, "SELECT challenge FROM domains WHERE hostname = ?", host)
        self.assertEqual(rows, [("dns-01",)])

    def test_9_apex_by_addresses(self):
        host = "customer.test"  # the zone apex: no CNAME possible, A must be the region's ingress
        ws = self.create_ws("apex")
        fctest.wait_until(lambda: self.ws_json(ws["id"])["dns"]["published"], timeout=30, what="apex published")
        r = self.claim(ws["id"], host)
        self.assertEqual(r.status, 201, r)
        self.bind.update(f"add {host} 1 A 192.0.2.99")
        self.bind.update(f"add _fleetcommand.{host} 1 TXT \"{r.json()['verification']['value']}\"")
        self.d.request("POST", f"/v1/domains/{host}/check")
        fctest.wait_until(lambda: "A/AAAA customer.test: expected 127.0.0.1, found 192.0.2.99" in
                          (self.domain(host)["last_error"] or ""), timeout=30, interval=0.3,
                          what="last_error naming the apex addresses")
        self.bind.update(f"delete {host} A", f"add {host} 1 A 127.0.0.1")
        self.d.request("POST", f"/v1/domains/{host}/check")
        final = self.wait_status(host, "active", timeout=120)
        self.assertEqual(final["routing"]["type"], "A")
        self.assertTrue(final["routing"]["ok"])

    # "z" sorts after "test_9_": it reads what every test before emitted.
    def test_z_events_once_per_transition_and_not_again_after_restart(self):
        hosts = ("chat.customer.test", "dns01.customer.test", "customer.test")
        feed = eventfeed.read_all(self.d)
        eventfeed.check_invariants(self, feed)
        by_id = {e["id"]: e for e in feed}
        domain = [e for e in feed if e["type"].startswith("domain.")]
        for e in domain:
            v = e["data"]
            self.assertEqual((v["hostname"], v["workspace_id"]), (e["subject"], e["workspace_id"]), e)
            if e["type"] != "domain.verified":
                self.assertEqual(v["status"], e["type"].split(".")[1], e)
            if e["type"] in ("domain.verified", "domain.active"):
                self.assertIsNotNone(v["verified_at"], e)
        for h in hosts:
            kinds = [t for t, _ in eventfeed.of(feed, "domain.", h)]
            want = ["domain.verified", "domain.active"] + (["domain.moved"] if h == "chat.customer.test" else [])
            # On a mismatch, say why each unexpected transition happened.
            why = [(e["type"], e["data"].get("error")) for e in domain if e["subject"] == h]
            self.assertEqual(kinds, want, f"{h}: {why}")
        moved = [e for e in domain if e["type"] == "domain.moved"]
        self.assertEqual(len(moved), 1, moved)
        self.assertIsNotNone(moved[0]["data"]["moved_at"])
        self.assertIn("CNAME chat.customer.test", moved[0]["data"]["error"])
        self.assertEqual(moved[0]["workspace_id"], self.ws["id"])
        # gone.customer.test (test 7) races its workspace's deletion: verified,
        # then active or failed (Pebble no longer resolves the name) or neither.
        gone = [t for t, _ in eventfeed.of(feed, "domain.", "gone.customer.test")]
        self.assertIn(gone, (["domain.verified"], ["domain.verified", "domain.active"],
                             ["domain.verified", "domain.failed"]))
        failed = [e for e in domain if e["type"] == "domain.failed" and e["subject"] != "gone.customer.test"]
        self.assertEqual([e["subject"] for e in failed], ["app.caa.customer.test"])
        self.assertIn("CAA", failed[0]["data"]["error"])
        self.assertIsNone(failed[0]["data"]["certificate_id"])
        # certificate.issued: one per certificate Pebble issued, with its view.
        issued = [e for e in feed if e["type"].startswith("certificate.")]
        self.assertEqual({e["type"] for e in issued}, {"certificate.issued"}, issued)
        for e in issued:
            v = e["data"]
            self.assertEqual((v["id"], v["status"], v["version"]), (e["subject"], "valid", 1), e)
            self.assertRegex(v["not_after"], eventfeed.RFC3339)
            self.assertEqual(len(v["hostnames"]), 1, e)
        # gone.customer.test (test 7) may have been issued before its workspace went.
        names = sorted(e["data"]["hostnames"][0] for e in issued)
        self.assertIn(names, (sorted(hosts), sorted(hosts + ("gone.customer.test",))))
        for h in ("dns01.customer.test", "customer.test"):
            cert = self.domain(h)["certificate"]["id"]
            self.assertEqual([e["subject"] for e in issued if e["data"]["hostnames"] == [h]], [cert])
        # A restart re-reads every domain and certificate: no transition, no event.
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        checked = {h: self.domain(h)["last_checked_at"] for h in ("dns01.customer.test", "customer.test",
                                                                   "app.caa.customer.test")}
        for h in checked:
            self.d.request("POST", f"/v1/domains/{h}/check")
        fctest.wait_until(lambda: all(self.domain(h)["last_checked_at"] != t for h, t in checked.items()),
                          timeout=30, interval=0.3, what="every domain checked again after the restart")
        after = eventfeed.read_all(self.d)
        eventfeed.check_invariants(self, after)
        again = [e for e in after if e["id"] not in by_id and e["type"].startswith(("domain.", "certificate."))]
        self.assertEqual(again, [], "events emitted again after a restart")
        self.assertEqual([e["id"] for e in after if e["id"] in by_id], [e["id"] for e in feed])


if __name__ == "__main__":
    fctest.main()
