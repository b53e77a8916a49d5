"""The domain verifier's resolver client with real peers on loopback: BIND
serves the customer zone, two unbound instances resolve for the daemon
(`resolver.servers` lists both). 24 pending domains whose records appear at
once are all verified; the verifier uses both resolvers in parallel, each
within `domains.queries_per_second` (read from the daemon's own per-resolver
counters once a second, and from the total: more than one resolver's cap
means both were used at once); /metrics carries the query counts by
resolver, the answers by rcode (NXDOMAIN before the records appear, NOERROR
after), cached/coalesced lookups (the pre-flight's CAA climb to the customer
zone is shared) and the checks due (queue depth)."""
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers_env  # noqa: E402  (sets sys.path for the shared helpers)
import fctest  # noqa: E402

ZONE = "fleet.test"
CAP = 20  # domains.queries_per_second, per resolver
N = 24


def metric_values(text, name):
    """{label value or '': number} of one series in Prometheus text."""
    out = {}
    for m in re.finditer(r"^%s(?:\{[a-z]+=\"([^\"]*)\"\})? ([0-9.e+-]+)$" % re.escape(name), text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


class VerifierResolvers(peers_env.VerifierWorld):
    RESOLVERS = 2

    @classmethod
    def configure(cls, config):
        config["domains"] = {"verify_base_s": 1, "max_per_workspace": N,
                             "queries_per_second": CAP, "max_concurrent_checks": 8}

    def metrics(self):
        r = self.d.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        return r.body.decode() if isinstance(r.body, bytes) else r.body

    def test_many_domains_two_resolvers_under_the_cap(self):
        hosts = [f"d{i:02d}.customer.test" for i in range(N)]
        tokens = {}
        for h in hosts:
            r = self.d.request("POST", f"/v1/workspaces/{self.ws['id']}/domains", {"hostname": h})
            self.assertEqual(r.status, 201, r)
            tokens[h] = r.json()["verification"]["value"]
        # Checks run before the records exist: NXDOMAIN answers, checks queued.
        fctest.wait_until(lambda: metric_values(self.metrics(), "fleetcommand_domain_answers_total")
                          .get("NXDOMAIN", 0) > 0, timeout=30, interval=0.5, what="NXDOMAIN answers")
        lines = []
        for h in hosts:
            lines += [f"add _fleetcommand.{h} 1 TXT \"{tokens[h]}\"", f"add {h} 1 CNAME {self.ws['name']}.{ZONE}."]
        self.bind.update(*lines)
        per_second, totals = [], []
        prev, prev_t = None, None
        deadline = time.monotonic() + 90
        verified = 0
        while time.monotonic() < deadline:
            text = self.metrics()
            q = metric_values(text, "fleetcommand_domain_queries_total")
            t = time.monotonic()
            if prev is not None:
                dt = t - prev_t
                per_second.append({k: (v - prev.get(k, 0)) / dt for k, v in q.items()})
                totals.append(sum(q.values()) - sum(prev.values()))
            prev, prev_t = q, t
            verified = sum(1 for h in hosts
                           if self.d.request("GET", f"/v1/domains/{h}").json().get("verification", {})
                           .get("verified_at"))
            if verified == N:
                break
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
        self.assertEqual(verified, N, self.d.logs()[-3000:])
        text = self.metrics()
        q = metric_values(text, "fleetcommand_domain_queries_total")
        self.assertEqual(set(q), {r.addr() for r in self.res}, text)
        for addr, n in q.items():
            self.assertGreater(n, 10, f"{addr} got {n} queries: not used in parallel\n{text}")
        # Per resolver, never above its cap (+1 slot, +timing of the reads).
        worst = max((v for s in per_second for v in s.values()), default=0)
        self.assertLessEqual(worst, CAP * 1.25 + 1, per_second)
        # Together above one resolver's cap: both were used at once.
        best_total = max((sum(s.values()) for s in per_second), default=0)
        self.assertGreater(best_total, CAP * 1.3, per_second)
        answers = metric_values(text, "fleetcommand_domain_answers_total")
        self.assertGreater(answers.get("NOERROR", 0), 0, text)
        self.assertGreater(answers.get("NXDOMAIN", 0), 0, text)
        self.assertIn("fleetcommand_domain_checks_due ", text)
        self.assertIn("fleetcommand_domain_checks_in_flight ", text)
        self.assertIn("fleetcommand_domain_lookups_coalesced_total ", text)
        self.assertIn("fleetcommand_domain_lookups_cached_total ", text)
        shared = [metric_values(text, f"fleetcommand_domain_lookups_{k}_total").get("", 0)
                  for k in ("cached", "coalesced")]
        sys.stderr.write(f"per-resolver q/s (1-s reads): {per_second}; cached, coalesced: {shared}\n")
        # The customer zone's CAA set (asked by every pre-flight) is shared.
        self.assertGreater(sum(shared), 0, text)


if __name__ == "__main__":
    unittest.main()
