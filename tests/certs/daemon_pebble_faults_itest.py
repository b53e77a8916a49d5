"""Certificates through the real daemon against a misbehaving real Pebble:
half of the nonces rejected (badNonce retried), and Pebble stopped in the
middle of an order and started again on the same ports (it forgot every
account and order and has a new root): the daemon registers again, places a
new order and still ends with a valid certificate."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import daemon_util as du  # noqa: E402
import fctest  # noqa: E402

ZONE = "fleet.test"


class PebbleFaultsTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.d = self.peb = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()
        if self.peb:
            self.peb.stop()

    def assert_issued_by_pebble(self, d, c):
        self.assertTrue(c["issuer"].startswith("acme:https://127.0.0.1:"), c)
        self.assertIsNone(c["last_error"], c)
        self.assertEqual(c["version"], 1, c)
        chain = du.query(d, "SELECT chain_pem FROM certificates WHERE id = ?", c["id"])[0][0]
        v = du.verify_chain(self.peb, chain, d.dir)  # against Pebble's current root
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_01_half_of_the_nonces_rejected(self):
        self.d, self.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p)],
                                                 pebble_env={"PEBBLE_WFE_NONCEREJECT": "50"})
        d = self.d.start()
        ids = [du.post_cert(d, [f"nonce{i}.{ZONE}"]) for i in range(5)]
        for cid in ids:
            c = du.wait_cert(d, cid, lambda x: x["status"] == "valid", timeout=45,
                             what=f"certificate {cid} valid despite badNonce")
            self.assert_issued_by_pebble(d, c)
        # Pebble really rejected nonces (otherwise this test proves nothing):
        # it logs every request but only the accepted ones create an order or
        # finalize one; with 50 % rejected, > 10 requests all accepted is < 0.1 %.
        with open(os.path.join(self.peb.dir, "pebble.log")) as f:
            log = f.read()
        self.assertIn("Configured to reject 50% of good nonces", log)
        rejected = (log.count("POST /order-plz ") - log.count("Added order")
                    + log.count("POST /finalize-order/") - log.count("Processing finalization"))
        self.assertGreater(rejected, 0, "no request was rejected")
        self.assertEqual(d.stop(), 0)

    def test_02_pebble_restarted_mid_order(self):
        # Pebble sleeps 0-15 s before validating: time to stop it with the
        # order pending. The restarted Pebble validates at once.
        self.d, self.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p)],
                                                 pebble_env={"PEBBLE_VA_NOSLEEP": "0"})
        d = self.d.start()

        # Pebble's sleep may be 0 s: then the order is over before we can stop it.
        cid, old_url = du.pending_order(d, "restart", ZONE)
        self.peb.stop()
        c = du.cert(d, cid)
        self.assertNotEqual(c["status"], "valid", f"every order finished before Pebble stopped: {c}")
        self.assertEqual(du.order_url(d, cid), old_url)
        time.sleep(3)  # the daemon tries meanwhile: connection refused
        self.peb.restart(env={"PEBBLE_VA_NOSLEEP": "1"})
        try:
            fctest.wait_until(lambda: du.cert(d, cid)["status"] == "valid", timeout=40, interval=0.1,
                              what="valid certificate after Pebble restart")
        except AssertionError:
            self.fail(self.diagnose(d, cid))
        c = du.cert(d, cid)
        self.assert_issued_by_pebble(d, c)
        # the old order is gone with the old Pebble: a new one was placed
        orders = du.query(d, "SELECT order_url, result FROM cert_orders WHERE cert_id = ? ORDER BY id", cid)
        self.assertGreaterEqual(len(orders), 2, orders)
        self.assertEqual(orders[0][0], old_url, orders)
        self.assertNotEqual(orders[0][1], "valid", orders)
        self.assertEqual(orders[-1][1], "valid", orders)
        self.assertEqual(d.stop(), 0)

    def diagnose(self, d, cid):
        """What a user (and the operator) sees when the daemon did not recover."""
        c = du.cert(d, cid)
        row = du.query(d, "SELECT failures, order_url FROM certificates WHERE id = ?", cid)[0]
        orders = du.query(d, "SELECT order_url, result FROM cert_orders WHERE cert_id = ? ORDER BY id", cid)
        # would a user's "renew now" get it out? (diagnostic only: the test fails anyway)
        r = d.request("POST", f"/v1/certificates/{cid}/renew")
        try:
            fctest.wait_until(lambda: du.cert(d, cid)["status"] == "valid", timeout=8, interval=0.1,
                              what="valid after POST renew")
            after_renew = "POST renew -> valid"
        except AssertionError:
            after_renew = f"POST renew ({r.status}) -> still {du.cert(d, cid)}"
        lines = [ln for ln in d.logs().splitlines() if " access " not in ln]
        return (f"no valid certificate after Pebble restart: {after_renew}\nbefore renew: status={c['status']} "
                f"last_error={c['last_error']!r} failures={row[0]} stored order_url={row[1]}\n"
                f"orders={orders}\ndaemon log (without access lines):\n" + "\n".join(lines[-25:]))


if __name__ == "__main__":
    fctest.main()
