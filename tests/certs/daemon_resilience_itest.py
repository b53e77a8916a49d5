"""Certificates through the real daemon: the key-encryption key (generated
0600, wrong key refused at start), issuer fallback to `internal`, budgets
that stop an order before it is placed, and kill -9 in the middle of an
order followed by a restart that completes the same order."""
import os
import signal
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import daemon_util as du  # noqa: E402
import fctest  # noqa: E402

ZONE = "fleet.test"


class KekAndFallbackTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")

    def test_01_kek_generated_and_wrong_kek_refused(self):
        d = fctest.Daemon({"certs": {"issuers": [{"type": "internal"}]}})
        try:
            d.start()
            kek = os.path.join(d.dir, "var", "kek.key")
            self.assertEqual(stat.S_IMODE(os.stat(kek).st_mode), 0o600)
            cid = du.post_cert(d, [f"int.{ZONE}"])
            c = du.wait_cert(d, cid, lambda x: x["status"] == "valid", what="internal certificate")
            self.assertEqual(c["issuer"], "internal")
            self.assertEqual(d.stop(), 0)
            # same key: starts again and still reads the sealed keys
            d.start()
            self.assertEqual(du.cert(d, cid)["version"], 1)
            self.assertEqual(d.stop(), 0)
            with open(kek, "w") as f:
                f.write("00" * 32 + "\n")
            d.start(wait_ready=False)
            code = d.proc.wait(timeout=20)
            self.assertNotEqual(code, 0)
            self.assertIn("wrong key-encryption key", d.logs())
            os.remove(kek)
            d.start(wait_ready=False)
            self.assertNotEqual(d.proc.wait(timeout=20), 0)
            self.assertIn("is missing", d.logs())
        finally:
            d.cleanup()

    def test_02_fallback_to_internal_when_acme_keeps_failing(self):
        dead = fctest.free_port()  # nothing listens there
        d = fctest.Daemon({"certs": {"issuers": [
            {"type": "acme", "directory": f"https://127.0.0.1:{dead}/dir"}, {"type": "internal"}]}})
        try:
            d.start()
            cid = du.post_cert(d, [f"fallback.{ZONE}"])
            # Retryable (the CA unreachable): still pending, with the reason.
            c = du.wait_cert(d, cid, lambda x: x["status"] == "pending" and x.get("last_error"), timeout=20,
                             what="first failure")
            self.assertIn("Connection refused", c["last_error"])
            c = du.wait_cert(d, cid, lambda x: x["status"] == "valid", timeout=40, what="fallback to internal")
            self.assertEqual(c["issuer"], "internal")
            self.assertIn("falling back to issuer internal", d.logs())
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


class PebbleResilienceTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.d = self.peb = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()
        if self.peb:
            self.peb.stop()

    def test_01_budget_exhausted_waits_without_ordering(self):
        self.d, self.peb = du.daemon_with_pebble(
            lambda p: [du.acme_issuer(p, budgets={"orders_per_3h": 1})])
        d = self.d.start()
        first = du.post_cert(d, [f"budget-a.{ZONE}"])
        du.wait_cert(d, first, lambda x: x["status"] == "valid", what="first certificate")
        second = du.post_cert(d, [f"budget-b.{ZONE}"])
        c = du.wait_cert(d, second, lambda x: x["last_error"] and "budget" in x["last_error"], timeout=20,
                         what="budget reason")
        self.assertRegex(c["last_error"], r"budget new orders per account exhausted: next token in (2h5\dm|3h0m)")
        self.assertEqual(c["status"], "pending")
        time.sleep(1.5)  # the job runs again meanwhile: still no order
        self.assertEqual(du.query(d, "SELECT count(*) FROM cert_orders")[0][0], 1)
        self.assertIsNone(du.query(d, "SELECT order_url FROM certificates WHERE id = ?", second)[0][0])
        # the budget survives a restart (buckets persisted in cert_budget_buckets)
        self.assertEqual(d.stop(), 0)
        d.start()
        time.sleep(1.5)
        self.assertEqual(du.query(d, "SELECT count(*) FROM cert_orders")[0][0], 1)
        self.assertIn("budget", du.cert(d, second)["last_error"])
        self.assertEqual(d.stop(), 0)

    def test_02_kill_mid_order_resumes_same_order(self):
        # Pebble sleeps 0-15 s before validating: time to kill the daemon.
        self.d, self.peb = du.daemon_with_pebble(lambda p: [du.acme_issuer(p)],
                                                 pebble_env={"PEBBLE_VA_NOSLEEP": "0"})
        d = self.d.start()

        # Pebble's sleep may be 0 s: then the order is over before we can kill.
        cid, url = du.pending_order(d, "resume", ZONE)
        self.assertNotEqual(du.cert(d, cid)["status"], "valid", "every order finished before the kill")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(timeout=10)
        d.start()
        c = du.wait_cert(d, cid, lambda x: x["status"] == "valid", timeout=60, what="resumed order")
        self.assertEqual(c["version"], 1)
        orders = du.query(d, "SELECT order_url, result FROM cert_orders WHERE cert_id = ?", cid)
        self.assertEqual(orders, [(url, "valid")])
        self.assertIn(f"resumes order {url}", d.logs())
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    fctest.main()
