"""A resolver hiccup must not fail a customer's domain (docs/domains.md
"Transient and definitive errors"), end to end with real peers on loopback.

The daemon's verifier resolves through its own unbound ("flaky"), which is
broken for a while in two real ways, while Pebble resolves through a healthy
unbound:
- an RPZ rule drops every query for exactly `customer.test` (`rpz-drop`: no
  answer at all), so the CAA climb of `chat.customer.test` times out at its
  parent;
- `_acme-challenge.app.ok.customer.test` is a stub zone whose server is the
  daemon's own authoritative DNS, lame for that name (REFUSED), so unbound
  answers SERVFAIL for the pre-flight's _acme-challenge lookup of
  `app.ok.customer.test` (whose CAA climb stops at ok.customer.test).
Both names verify (their TXT and CNAME resolve), then their pre-flight cannot
decide: they must stay `issuing` — never `failed`, no domain.failed event, no
order — with `last_error` naming the lookup and the status chain saying
PreflightOK Unknown/LookupFailed. Then the resolver is repaired (restarted on
its port without the breakage): both become `active`.
Meanwhile a CAA set that forbids our CA (`app.caa.customer.test`) still
fails the domain, with a last_error naming CAA, and no order is placed.

Then the CA: Pebble is down when a domain's order is due. The certificate
stays `pending` (a retryable error, docs/certs.md) and the domain `issuing`
with `last_error` "certificate <id>: … Connection refused" (CertificateIssued
OrderRetrying in the chain), never `failed`; Pebble back → `active`."""
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers_env  # noqa: E402  (sets sys.path for the shared helpers)
import fctest  # noqa: E402
import eventfeed  # noqa: E402
import peers  # noqa: E402
from e2e_itest import CustomerWorld, ZONE  # noqa: E402

CAA_HOST = "chat.customer.test"  # CAA climb: chat.customer.test, then customer.test (dropped)
ACME_HOST = "app.ok.customer.test"  # _acme-challenge lookup: SERVFAIL
FORBIDDEN_HOST = "app.caa.customer.test"  # CAA at caa.customer.test: another CA only
BROKEN_FOR_S = 12


class FlakyResolver(peers_env.Resolver):
    """unbound with the same stub zones, plus the breakage while `broken`."""

    def __init__(self, workdir, stubs, lame_port):
        super().__init__(workdir, stubs)
        self.lame_port = lame_port
        self.broken = True
        self.rpz = os.path.join(self.dir, "rpz.zone")

    def start(self):
        with open(self.rpz, "w") as f:
            f.write("$TTL 1\n@ IN SOA localhost. root.localhost. 1 3600 600 86400 1\n@ IN NS localhost.\n"
                    "customer.test CNAME rpz-drop.\n")
        super().start()
        self.write_conf()
        self.reload()
        return self

    def write_conf(self):
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf) as f:
            base = f.read().split("# breakage")[0]
        if self.broken:
            base = base.replace('module-config: "iterator"', 'module-config: "respip iterator"')
            base += ("# breakage\nrpz:\n  name: \"rpz.local\"\n  zonefile: \"%s\"\n"
                     "stub-zone:\n  name: \"_acme-challenge.%s\"\n  stub-addr: 127.0.0.1@%d\n"
                     % (self.rpz, ACME_HOST, self.lame_port))
        else:
            base = base.replace('module-config: "respip iterator"', 'module-config: "iterator"')
        with open(conf, "w") as f:
            f.write(base)

    def reload(self):
        """Restarts unbound on the same port with the configuration as written
        (an empty cache), and waits until it answers as configured."""
        peers.stop(self.proc)
        conf = os.path.join(self.dir, "unbound.conf")
        self.proc = peers.spawn(["unbound", "-d", "-c", conf], os.path.join(self.dir, "unbound.log"))
        want = "TIMEOUT" if self.broken else "NOERROR"
        fctest.wait_until(lambda: self.proc.poll() is None and self.answer("ns.customer.test", "A") == "NOERROR"
                          and self.answer("customer.test", "SOA") == want,
                          timeout=20, interval=0.3, what=f"flaky unbound answers customer.test {want}")

    def answer(self, name, qtype):
        out = peers.dig(self.port, name, qtype, timeout=5)
        return peers.status(out) or "TIMEOUT"

    def repair(self):
        self.broken = False
        self.write_conf()
        self.reload()


class ResolverHiccup(CustomerWorld):
    ISSUER_EXTRA = {"caa_identities": ["pebble.example"]}
    DOMAINS = {"recheck_interval_s": 30, "verify_base_s": 1}

    @classmethod
    def before_start(cls):
        stubs = {"customer.test": cls.bind.port, ZONE: cls.d.dns_port}
        cls.flaky = FlakyResolver(os.path.join(cls.d.dir, "flaky"), stubs, cls.d.dns_port).start()
        cls.d.config["resolver"] = {"servers": [cls.flaky.addr()]}

    @classmethod
    def after_start(cls):
        cls.ws = cls.published_ws("shop")

    def claim_and_publish(self, host):
        r = self.d.request("POST", f"/v1/workspaces/{self.ws['id']}/domains", {"hostname": host})
        self.assertEqual(r.status, 201, r)
        token = r.json()["verification"]["value"]
        self.bind.update(f"add _fleetcommand.{host} 1 TXT \"{token}\"", f"add {host} 1 CNAME shop.{ZONE}.")

    def test_1_transient_lookup_errors_keep_the_state_and_recover(self):
        # The customer's zone: CAA allowing our CA above app.ok, another CA above app.caa.
        self.bind.update("add ok.customer.test 1 CAA 0 issue \"pebble.example\"",
                         "add caa.customer.test 1 CAA 0 issue \"other-ca.example\"")
        for h in (CAA_HOST, ACME_HOST, FORBIDDEN_HOST):
            self.claim_and_publish(h)
        time.sleep(1.2)  # negative answers cached before the records existed (TTL 1) run out
        for h in (CAA_HOST, ACME_HOST, FORBIDDEN_HOST):
            self.assertEqual(self.d.request("POST", f"/v1/domains/{h}/check").status, 202)

        seen = {CAA_HOST: [], ACME_HOST: []}

        def poll():
            views = {h: self.domain(h) for h in seen}
            for h, v in views.items():
                if not seen[h] or seen[h][-1] != v["status"]:
                    seen[h].append(v["status"])
                self.assertNotEqual(v["status"], "failed",
                                    f"{h} failed on a resolver hiccup: {json.dumps(v)}\nstatuses: {seen[h]}")
            return views

        want_error = {CAA_HOST: "CAA lookup for customer.test failed (timeout)",
                      ACME_HOST: f"CNAME _acme-challenge.{ACME_HOST}: lookup failed (SERVFAIL)"}
        last = {}

        def both_show_the_lookup():
            last.update(poll())
            return all((last[h]["last_error"] or "") == want_error[h] for h in seen)

        try:
            fctest.wait_until(both_show_the_lookup, timeout=40, interval=0.3,
                              what="last_error naming the failed lookups")
        except AssertionError:
            self.fail(f"last views: {json.dumps(last)}\ndaemon log tail:\n{self.d.logs()[-3000:]}")
        for h in seen:
            v = last[h]
            self.assertEqual(v["status"], "issuing", v)
            self.assertIsNotNone(v["verification"]["verified_at"], v)
            self.assertIsNone(v["certificate"], "an order was placed without a pre-flight")
            chain = self.d.request("GET", f"/v1/domains/{h}/status")
            self.assertEqual(chain.status, 200, chain)
            pre = [c for c in chain.json()["conditions"] if c["type"] == "PreflightOK"]
            self.assertEqual(pre[0]["status"], "Unknown", pre)
            self.assertEqual(pre[0]["reason"], "LookupFailed", pre)
            self.assertEqual(pre[0]["message"], want_error[h], pre)

        # The definitive case fails, the hiccup notwithstanding.
        fctest.wait_until(lambda: self.domain(FORBIDDEN_HOST)["status"] == "failed", timeout=40, interval=0.3,
                          what=f"{FORBIDDEN_HOST} failed")
        forbidden = self.domain(FORBIDDEN_HOST)
        self.assertEqual(forbidden["last_error"],
                         "CAA at caa.customer.test forbids our CA: issue \"other-ca.example\" (ours: pebble.example)")
        self.assertIsNone(forbidden["certificate"])

        # Broken for a while longer: retried with backoff, still not failed.
        until = time.monotonic() + BROKEN_FOR_S
        while time.monotonic() < until:
            poll()
            time.sleep(0.3)
        self.assertEqual(seen[CAA_HOST][-1], "issuing")
        self.assertEqual(seen[ACME_HOST][-1], "issuing")
        metrics = self.d.request("GET", "/metrics").body
        metrics = metrics.decode() if isinstance(metrics, bytes) else metrics
        self.assertIn('fleetcommand_domain_answers_total{rcode="timeout"}', metrics)
        self.assertIn('fleetcommand_domain_answers_total{rcode="SERVFAIL"}', metrics)

        # The resolver recovers: both go on to active.
        self.flaky.repair()
        for h in seen:
            self.d.request("POST", f"/v1/domains/{h}/check")

        def both_active():
            last.update(poll())
            return all(last[h]["status"] == "active" for h in seen)

        try:
            fctest.wait_until(both_active, timeout=120, interval=0.5, what="both active after recovery")
        except AssertionError:
            self.fail(f"last views: {json.dumps(last)}\ndaemon log tail:\n{self.d.logs()[-3000:]}")
        for h in seen:
            self.assertIsNone(last[h]["last_error"], last[h])
            self.assertEqual(last[h]["certificate"]["status"], "valid", last[h])
            self.assertNotIn("failed", seen[h], seen[h])

        # Events: no domain.failed for the hiccups; one for the CAA refusal.
        feed = eventfeed.read_all(self.d)
        eventfeed.check_invariants(self, feed)
        for h in seen:
            kinds = [t for t, _ in eventfeed.of(feed, "domain.", h)]
            self.assertEqual(kinds, ["domain.verified", "domain.active"], h)
        failed = [e for e in feed if e["type"] == "domain.failed"]
        self.assertEqual([e["subject"] for e in failed], [FORBIDDEN_HOST], failed)
        self.assertIn("CAA at caa.customer.test forbids our CA", failed[0]["data"]["error"])

    def test_2_ca_unreachable_keeps_issuing(self):
        # The CA is down when the order is due: the certificate stays pending
        # (retryable), the domain issuing with the reason; then the CA is back
        # (a new Pebble on the same ports: the daemon registers again).
        host = "shop2.customer.test"
        if self.flaky.broken:  # run alone (test_1 repairs it)
            self.flaky.repair()
        self.peb.stop()
        self.claim_and_publish(host)
        time.sleep(1.2)
        self.assertEqual(self.d.request("POST", f"/v1/domains/{host}/check").status, 202)
        seen, last = [], {}

        def view():
            v = self.domain(host)
            if not seen or seen[-1] != v["status"]:
                seen.append(v["status"])
            self.assertNotEqual(v["status"], "failed", f"{host} failed while the CA was down: {json.dumps(v)}")
            last["v"] = v
            return v

        def waiting_for_the_ca():
            v = view()
            return v["status"] == "issuing" and "Connection refused" in (v["last_error"] or "")

        try:
            fctest.wait_until(waiting_for_the_ca, timeout=40, interval=0.3, what="issuing, CA unreachable")
        except AssertionError:
            self.fail(f"last view: {json.dumps(last.get('v'))}\ndaemon log tail:\n{self.d.logs()[-3000:]}")
        v = last["v"]
        self.assertTrue(v["last_error"].startswith(f"certificate {v['certificate']['id']}: "), v)
        self.assertEqual(v["certificate"]["status"], "pending", v)
        until = time.monotonic() + 5  # a few retries of the order, still not failed
        while time.monotonic() < until:
            view()
            time.sleep(0.3)
        chain = self.d.request("GET", f"/v1/domains/{host}/status").json()["conditions"]
        issued = [c for c in chain if c["type"] == "CertificateIssued"][0]
        self.assertEqual(issued["reason"], "OrderRetrying", issued)
        self.peb.restart()
        try:
            fctest.wait_until(lambda: view()["status"] == "active", timeout=120, interval=0.5,
                              what=f"{host} active once the CA is back")
        except AssertionError:
            self.fail(f"last view: {json.dumps(last.get('v'))}\ndaemon log tail:\n{self.d.logs()[-3000:]}")
        self.assertIsNone(last["v"]["last_error"], last["v"])
        self.assertNotIn("failed", seen, seen)
        kinds = [t for t, _ in eventfeed.of(eventfeed.read_all(self.d), "domain.", host)]
        self.assertEqual(kinds, ["domain.verified", "domain.active"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
