"""DNS-01 propagation to every authoritative server (issue #16 item 8): a real
BIND primary takes the RFC 2136 update; a real BIND secondary lags behind it
(the primary sends no NOTIFY and the SOA refresh is an hour), and Pebble's only
DNS server (-dnsserver) is that secondary. The daemon must not tell the CA to
validate until the secondary serves the TXT: had it done so, Pebble would have
seen no TXT and the order would be invalid. A NOTIFY sent by the test makes the
secondary transfer; only then is the certificate issued. For a second zone
whose secondary is never told, the attempt fails after propagation_timeout_ms
(retryable: the certificate stays pending) with a last_error that names the
lagging server and what it answered."""
import os
import struct
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "dns"))
import daemon_util as du  # noqa: E402
import fctest  # noqa: E402
import peers  # noqa: E402

SECRET = "ZG5zMDEtcmZjMjEzNi1zZWNyZXQtZm9yLXRlc3RzIQ=="
ZONES = ("customer.test", "lagging.test")
# refresh 3600 / retry 600: the secondary asks the primary again only when told
ZONE_TEXT = """$TTL 300
@ IN SOA ns1.%s. hostmaster.%s. 1 3600 600 86400 30
@ IN NS ns1.%s.
@ IN NS ns2.%s.
ns1 IN A 127.0.0.1
ns2 IN A 127.0.0.1
"""
PRIMARY = 'key "upd" { algorithm hmac-sha256; secret "%s"; };\n' % SECRET + "".join(
    'zone "%s" { type primary; file "%s.db"; notify no; allow-update { key "upd"; }; };\n' % (z, z)
    for z in ZONES)


def secondary_conf(primary_port):
    return "".join('zone "%s" { type secondary; file "%s.sec"; primaries { 127.0.0.1 port %d; }; };\n'
                   % (z, z, primary_port) for z in ZONES)


def notify(port, zone):
    """RFC 1996 NOTIFY (opcode 4, AA) for `zone` SOA, sent from 127.0.0.1 (the primary's address)."""
    msg = peers.raw_query(zone, 6, qid=0x5151, flags_=0x0400, opcode=4)
    return peers.udp_exchange(port, msg)


class Dns01PropagationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        cls.p1, cls.p2 = peers.free_port(), peers.free_port()
        cls.named1 = peers.start_named(PRIMARY, peers.tmpdir("fc-bind-pri-"), cls.p1,
                                       {f"{z}.db": ZONE_TEXT % (z, z, z, z) for z in ZONES})
        cls.named2 = peers.start_named(secondary_conf(cls.p1), peers.tmpdir("fc-bind-sec-"), cls.p2)
        for z in ZONES:
            peers.wait_for(lambda: peers.rrset(cls.p2, z, "SOA"), 20, "secondary loaded " + z)

        def provider(zone, timeout_ms):
            return {"type": "rfc2136", "server": f"127.0.0.1:{cls.p1}", "zone": zone,
                    "tsig": {"name": "upd", "algorithm": "hmac-sha256", "secret": SECRET},
                    "nameservers": [f"127.0.0.1:{cls.p1}", f"127.0.0.1:{cls.p2}"],
                    "propagation_timeout_ms": timeout_ms}
        cls.d = fctest.Daemon({"dns": {"providers": [provider("customer.test", 60000),
                                                     provider("lagging.test", 3000)]}})
        cls.peb = du.PebbleOnOurDns(os.path.join(cls.d.dir, "pebble"), cls.d.acme_port, cls.p2).start()
        cls.d.config["certs"] = {"issuers": [du.acme_issuer(cls.peb)]}
        try:
            cls.d.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        du.stop_all(cls.d, cls.peb, lambda: peers.stop(cls.named2), lambda: peers.stop(cls.named1))

    def txt(self, port, name):
        return peers.rrset(port, name, "TXT")

    def test_01_ca_asked_only_once_the_secondary_serves_it(self):
        owner = "_acme-challenge.www.customer.test"
        cid = du.post_cert(self.d, ["www.customer.test"])
        fctest.wait_until(lambda: self.txt(self.p1, owner), timeout=30, what="TXT at the primary")
        # The secondary lags: for 3 s the TXT is only at the primary, and the
        # order waits (an early validation would have made it invalid: Pebble
        # asks the secondary).
        end = time.monotonic() + 3
        while time.monotonic() < end:
            self.assertEqual(self.txt(self.p2, owner), [], "the secondary was meant to lag")
            self.assertEqual(du.cert(self.d, cid)["status"], "pending")
            time.sleep(0.3)
        self.assertNotIn("served by every authoritative server of customer.test", self.d.logs())
        notify(self.p2, "customer.test")
        fctest.wait_until(lambda: self.txt(self.p2, owner), timeout=20, what="secondary transferred")
        c = du.wait_cert(self.d, cid, lambda x: x["status"] == "valid", timeout=60, what="valid")
        self.assertEqual(c["version"], 1)
        self.assertIn(f"dns-01 TXT {owner} served by every authoritative server of customer.test",
                      self.d.logs())

    def test_02_timeout_names_the_lagging_secondary(self):
        cid = du.post_cert(self.d, ["www.lagging.test"])
        # Retryable (kUnavailable): the certificate stays pending, with the reason.
        c = du.wait_cert(self.d, cid, lambda x: x["status"] == "pending" and x.get("last_error"),
                         timeout=40, what="pending with last_error")
        err = c["last_error"]
        self.assertIn("DNS-01 TXT _acme-challenge.www.lagging.test not served by the authoritative "
                      f"server 127.0.0.1:{self.p2}: answered NXDOMAIN", err)
        self.assertNotIn(f"127.0.0.1:{self.p1}:", err)  # the primary served it
        self.assertIn("the CA was not asked to validate", err)
        self.assertEqual(self.txt(self.p1, "_acme-challenge.www.lagging.test") != [], True)


if __name__ == "__main__":
    fctest.main()
