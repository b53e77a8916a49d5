"""DNS-01 for a zone served elsewhere: a real BIND primary (allow-update with
a TSIG key) hosts customer.test; the daemon's dns.providers[] names it; Pebble's
only DNS server (-dnsserver) is that BIND. A DNS-01 certificate for
www.customer.test is issued, the daemon's `_acme-challenge` TXT is gone from
BIND afterwards while a TXT someone else put at the same name stays, and a
provider with the wrong TSIG secret fails with a clear last_error, and a TXT
left behind by a crash (recorded, expired) is deleted after a restart."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "dns"))
import daemon_util as du  # noqa: E402
import fctest  # noqa: E402
import peers  # noqa: E402

SECRET = "ZG5zMDEtcmZjMjEzNi1zZWNyZXQtZm9yLXRlc3RzIQ=="
WRONG = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="
ZONES = {z: """$TTL 300
@ IN SOA ns1.%s. hostmaster.%s. 1 60 5 86400 30
@ IN NS ns1.%s.
ns1 IN A 127.0.0.1
""" % (z, z, z) for z in ("customer.test", "locked.test")}
CONF = '''key "upd" { algorithm hmac-sha256; secret "%s"; };
zone "customer.test" { type primary; file "customer.test.db"; allow-update { key "upd"; }; };
zone "locked.test" { type primary; file "locked.test.db"; allow-update { key "upd"; }; };
''' % SECRET


def provider(port, zone, secret):
    # nameserver_port: the propagation check asks the zone's NS set (ns1 →
    # 127.0.0.1, from the primary) on BIND's port instead of 53
    return {"type": "rfc2136", "server": f"127.0.0.1:{port}", "zone": zone,
            "tsig": {"name": "upd", "algorithm": "hmac-sha256", "secret": secret},
            "nameserver_port": port}


class Rfc2136Dns01Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        cls.bind_port = peers.free_port()
        cls.work = peers.tmpdir("fc-bind-dns01-")
        cls.named = peers.start_named(CONF, cls.work, cls.bind_port,
                                      {f"{z}.db": t for z, t in ZONES.items()})
        cls.d = fctest.Daemon({"dns": {"providers": [provider(cls.bind_port, "customer.test", SECRET),
                                                     provider(cls.bind_port, "locked.test", WRONG)]}})
        cls.peb = du.PebbleOnOurDns(os.path.join(cls.d.dir, "pebble"), cls.d.acme_port, cls.bind_port).start()
        cls.d.config["certs"] = {"issuers": [du.acme_issuer(cls.peb)]}
        try:
            cls.d.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        du.stop_all(cls.d, cls.peb, lambda: peers.stop(cls.named))

    def txt_at_bind(self, name):
        out = peers.dig(self.bind_port, name, "TXT", "+norec")
        return sorted(r[3] for r in peers.answers(out) if r[2] == "TXT")

    def nsupdate(self, cmds):
        script = "server 127.0.0.1 %d\nzone customer.test\n%s\nsend\n" % (self.bind_port, cmds)
        return subprocess.run(["nsupdate", "-y", "hmac-sha256:upd:" + SECRET], input=script, text=True,
                              capture_output=True, timeout=20)

    def post(self, names):
        r = self.d.request("POST", "/v1/certificates", {"hostnames": names, "challenge": "dns-01"})
        self.assertEqual(r.status, 202, r)
        return r.json()["id"]

    def test_01_dns01_through_bind(self):
        owner = "_acme-challenge.www.customer.test"
        out = self.nsupdate(f'update add {owner} 300 TXT "someone-else"')
        self.assertEqual(out.returncode, 0, out.stderr)
        cid = self.post(["www.customer.test", "customer.test"])
        c = du.wait_cert(self.d, cid, lambda x: x["status"] == "valid", what="dns-01 via RFC 2136 valid")
        self.assertEqual(c["version"], 1)
        m = du.query(self.d, "SELECT chain_pem FROM certificates WHERE id = ?", cid)[0][0]
        v = du.verify_chain(self.peb, m, self.d.dir)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # the daemon wrote to BIND (Pebble asks nobody else) …
        logs = self.d.logs()
        self.assertIn(f"dns-01 added TXT {owner}", logs)
        self.assertIn("dns-01 added TXT _acme-challenge.customer.test", logs)
        # the NS set (ns1.customer.test, its A from the primary) was asked first
        self.assertIn(f"dns-01 TXT {owner} served by every authoritative server of customer.test", logs)
        # … and removed only its own values afterwards
        fctest.wait_until(lambda: self.txt_at_bind(owner) == ['"someone-else"'], timeout=10,
                          what="only the foreign TXT left at BIND")
        fctest.wait_until(lambda: self.txt_at_bind("_acme-challenge.customer.test") == [], timeout=10,
                          what="apex challenge TXT gone from BIND")
        # nothing went through the embedded zone, and nothing is left to sweep
        self.assertEqual(du.query(self.d, "SELECT count(*) FROM dns_challenges")[0][0], 0)
        self.assertEqual(du.query(self.d, "SELECT count(*) FROM cert_dns01_external")[0][0], 0)

    def test_02_wrong_tsig_secret_is_a_clear_error(self):
        cid = self.post(["www.locked.test"])
        c = du.wait_cert(self.d, cid, lambda x: x["status"] == "failed" and x["last_error"], timeout=30,
                         what="failed with last_error")
        self.assertIn("RFC 2136 update of _acme-challenge.www.locked.test TXT at 127.0.0.1:", c["last_error"])
        self.assertRegex(c["last_error"], r"BADSIG|BADKEY|TSIG")
        self.assertNotIn(WRONG, self.d.logs())
        self.assertEqual(self.txt_at_bind("_acme-challenge.www.locked.test"), [])
        # BIND answered (BADSIG): nothing was written, so nothing is kept for the sweep
        self.assertEqual(du.query(self.d, "SELECT count(*) FROM cert_dns01_external WHERE zone = 'locked.test'")[0][0],
                         0)

    def test_03_leftover_txt_is_swept_after_a_restart(self):
        # A TXT the daemon wrote before it crashed (its cleanup never ran):
        # in BIND, and recorded as expired in cert_dns01_external.
        owner = "_acme-challenge.crashed.customer.test"
        out = self.nsupdate(f'update add {owner} 60 TXT "left-behind"\nupdate add {owner} 60 TXT "not-ours"')
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.txt_at_bind(owner), ['"left-behind"', '"not-ours"'])
        self.assertEqual(self.d.stop(), 0)
        self.d.sql("INSERT INTO cert_dns01_external(server, zone, name, value, expires_at)"
                   " VALUES(?, 'customer.test', ?, 'left-behind', 1)", f"127.0.0.1:{self.bind_port}", owner)
        self.d.start()
        fctest.wait_until(lambda: self.txt_at_bind(owner) == ['"not-ours"'], timeout=15,
                          what="leftover TXT deleted from BIND")
        fctest.wait_until(lambda: du.query(self.d, "SELECT count(*) FROM cert_dns01_external")[0][0] == 0,
                          timeout=10, what="leftover row forgotten")


if __name__ == "__main__":
    fctest.main()
