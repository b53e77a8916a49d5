"""Pending domains whose records appear after their first check are found
before their backoff time when the resolvers have spare capacity (BIND for the
customer zone, unbound as the resolver, on loopback): with verify_base_s 40 a
domain checked once waits 42 s for its next regular check, but an early check
(at most once per verify_base_s / 4 = 10 s) finds the records within about
10 s; early checks that found nothing did not count as attempts."""
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
BASE_S = 40


class EarlyChecks(peers_env.VerifierWorld):
    @classmethod
    def configure(cls, config):
        config["domains"] = {"verify_base_s": BASE_S, "queries_per_second": 50}

    def view(self, host):
        r = self.d.request("GET", f"/v1/domains/{host}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_records_after_the_first_check_are_found_before_the_backoff(self):
        hosts = [f"late{i}.customer.test" for i in range(3)]
        values = {}
        for h in hosts:
            r = self.d.request("POST", f"/v1/workspaces/{self.ws['id']}/domains", {"hostname": h})
            self.assertEqual(r.status, 201, r)
            values[h] = r.json()["verification"]["value"]
        fctest.wait_until(lambda: all(self.view(h)["last_checked_at"] for h in hosts), timeout=20,
                          interval=0.3, what="first checks")
        lines = []
        for h in hosts:
            lines += [f"add _fleetcommand.{h} 1 TXT \"{values[h]}\"", f"add {h} 1 CNAME {self.ws['name']}.{ZONE}."]
        self.bind.update(*lines)
        t0 = time.monotonic()
        fctest.wait_until(lambda: all(self.view(h)["verification"]["verified_at"] for h in hosts),
                          timeout=25, interval=0.5, what="verified before the 42 s backoff")
        took = time.monotonic() - t0
        self.assertLess(took, BASE_S * 0.75, took)
        text = self.d.request("GET", "/metrics").body
        text = text.decode() if isinstance(text, bytes) else text
        m = re.search(r"^fleetcommand_domain_early_checks_total ([0-9.]+)$", text, re.M)
        self.assertIsNotNone(m, text)
        self.assertGreater(float(m.group(1)), 0)


if __name__ == "__main__":
    unittest.main()
