"""DNS through the real daemon: records derived from the database (workspace
running → A/AAAA or CNAME; migrate, region ingress PATCH, delete; ACME
challenge TXT rows with expiry), SOA/NS/glue, serial strictly increasing also
across a restart, and the protocol answers (AA, NXDOMAIN/NODATA + SOA,
REFUSED, TC then TCP, EDNS, ANY, AXFR refused / TSIG-allowed) with dig/kdig."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fctest  # noqa: E402
import peers  # noqa: E402
from fctest import Daemon, wait_until  # noqa: E402

SECRET = "eGZyLXNlY3JldC14ZnItc2VjcmV0LXhmci1zZWNyZXQ="
CONFIG = {"dns": {"zone": "fleet.test", "ttl": 30,
                  "soa": {"minimum": 20, "refresh": 3600, "retry": 600, "expire": 1209600,
                          "mname": None, "rname": None},
                  "axfr_allow": ["10.9.9.9"],
                  "axfr_tsig": [{"name": "xfr", "algorithm": "hmac-sha256", "secret": SECRET}]}}


class DaemonDnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        cls.d = Daemon(CONFIG).start()
        cls.port = cls.d.dns_port

    @classmethod
    def tearDownClass(cls):
        code = cls.d.stop()
        logs = cls.d.logs()
        cls.d.cleanup()
        assert code == 0, logs[-3000:]

    # helpers
    def dig(self, *args):
        return peers.dig(self.port, *args)

    def a(self, name, rtype="A"):
        return sorted(r[3] for r in peers.answers(self.dig(name, rtype, "+norec")) if r[2] == rtype)

    def serial(self):
        return int(peers.answers(self.dig("fleet.test", "SOA"))[0][3].split()[2])

    def region(self, rid, ipv4=("192.0.2.10",), ipv6=(), hostname=None):
        self.d.create_region(rid, ingress={"ipv4": list(ipv4), "ipv6": list(ipv6), "hostname": hostname})
        tok = self.d.agent_token(rid)
        self.d.heartbeat(tok)
        return tok

    def ws(self, name, rid):
        r = self.d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                      "placement": {"regions": [rid]}})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def report(self, tok, wid, gen, phase="running"):
        r = self.d.request("POST", "/v1/agent/status",
                           {"workspaces": [{"workspace_id": wid, "generation": gen, "phase": phase}]}, token=tok)
        self.assertEqual(r.status, 200, r)

    def running(self, name, rid, tok):
        w = self.ws(name, rid)
        self.report(tok, w["id"], 1)
        return w

    # tests
    def test_01_workspace_published_once_running(self):
        tok = self.region("r-a", ipv4=["192.0.2.10", "192.0.2.11"], ipv6=["2001:db8::10"])
        s0 = self.serial()
        w = self.ws("acme", "r-a")
        out = self.dig("acme.fleet.test", "A")
        self.assertEqual(peers.status(out), "NXDOMAIN", out)
        self.report(tok, w["id"], 1)
        got = wait_until(lambda: self.a("acme.fleet.test"), 5, what="acme A")
        self.assertEqual(got, ["192.0.2.10", "192.0.2.11"])
        out = self.dig("acme.fleet.test", "A")
        self.assertIn("aa", peers.flags(out))
        self.assertEqual({r[1] for r in peers.answers(out)}, {30}, out)  # dns.ttl
        self.assertEqual(self.a("acme.fleet.test", "AAAA"), ["2001:db8::10"])
        self.assertGreater(self.serial(), s0)

    def test_02_negative_answers_refused_soa_ns(self):
        out = self.dig("nope.fleet.test", "A")
        self.assertEqual(peers.status(out), "NXDOMAIN", out)
        self.assertIn("aa", peers.flags(out))
        self.assertIn("SOA", out.split("AUTHORITY SECTION")[1], out)
        out = self.dig("acme.fleet.test", "TXT")  # NODATA: the name exists
        self.assertEqual(peers.status(out), "NOERROR", out)
        self.assertEqual(peers.answers(out), [])
        auth = out.split("AUTHORITY SECTION:")[1].strip().splitlines()[0].split()
        self.assertEqual((auth[3], int(auth[1])), ("SOA", 20), out)  # min(minimum, SOA TTL)
        out = self.dig("example.com", "A")
        self.assertEqual(peers.status(out), "REFUSED", out)
        out = self.dig("fleet.test", "NS")
        self.assertEqual([r[3] for r in peers.answers(out)], ["ns1.fleet.test."], out)
        self.assertIn("ns1.fleet.test.", out.split("ADDITIONAL SECTION:")[1], out)  # glue
        soa = peers.answers(self.dig("fleet.test", "SOA"))[0][3].split()
        self.assertEqual(soa[:2], ["ns1.fleet.test.", "hostmaster.fleet.test."])

    def test_03_tc_then_tcp_edns_any(self):
        many = ["198.51.100.%d" % i for i in range(1, 61)]
        tok = self.region("r-big", ipv4=many)
        self.running("big", "r-big", tok)
        wait_until(lambda: self.a("big.fleet.test"), 5, what="big A")
        out = self.dig("big.fleet.test", "A", "+noedns", "+ignore")
        self.assertIn("tc", peers.flags(out), out)
        out = self.dig("big.fleet.test", "A", "+noedns")  # dig retries over TCP
        self.assertEqual(len(peers.answers(out)), 60, out)
        out = self.dig("big.fleet.test", "A", "+tcp")
        self.assertEqual(len(peers.answers(out)), 60)
        out = self.dig("acme.fleet.test", "A", "+edns=0", "+bufsize=4096")
        self.assertIn("EDNS: version: 0", out, out)
        self.assertIn("udp: 1232", out, out)
        out = self.dig("acme.fleet.test", "A", "+edns=1", "+noednsneg")
        self.assertEqual(peers.status(out), "BADVERS", out)
        out = self.dig("acme.fleet.test", "ANY")
        self.assertEqual(peers.status(out), "NOERROR", out)
        self.assertTrue(peers.answers(out), out)
        out = peers.kdig(self.port, "acme.fleet.test", "A")
        self.assertIn("NOERROR", out, out)
        self.assertIn("192.0.2.10", out, out)

    def test_04_cname_ingress_patch_migrate_delete(self):
        tok_h = self.region("r-host", ipv4=[], hostname="lb.example.net")
        self.running("cn", "r-host", tok_h)
        got = wait_until(lambda: self.a("cn.fleet.test", "CNAME"), 5, what="CNAME")
        self.assertEqual(got, ["lb.example.net."])
        # PATCH the region's ingress: its workspaces' records move
        r = self.d.request("PATCH", "/v1/regions/r-host", {"ingress": {"ipv4": ["203.0.113.7"], "hostname": None}})
        self.assertEqual(r.status, 200, r)
        got = wait_until(lambda: self.a("cn.fleet.test"), 5, what="A after PATCH")
        self.assertEqual(got, ["203.0.113.7"])
        self.assertEqual(self.a("cn.fleet.test", "CNAME"), [])
        # migrate to another region: moves when the new region reports running
        tok_m = self.region("r-mig", ipv4=["203.0.113.99"])
        w = self.d.request("GET", "/v1/workspaces/cn").json()
        r = self.d.request("POST", f"/v1/workspaces/{w['id']}/migrate", {"region": "r-mig"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.a("cn.fleet.test"), ["203.0.113.7"])
        self.report(tok_m, w["id"], r.json()["generation"])
        got = wait_until(lambda: self.a("cn.fleet.test") == ["203.0.113.99"], 5, what="A after migrate")
        self.assertTrue(got)
        # delete: the records disappear
        r = self.d.request("DELETE", f"/v1/workspaces/{w['id']}?force=true")
        self.assertEqual(r.status, 202, r)
        wait_until(lambda: peers.status(self.dig("cn.fleet.test", "A")) == "NXDOMAIN", 5, what="NXDOMAIN after delete")

    def test_05_challenges_published_and_expire(self):
        now = int(time.time() * 1000)
        for row in (("_acme-challenge.acme.fleet.test", "tok-one", now, now + 60000),
                    ("_acme-challenge.acme.fleet.test", "tok-two", now, now + 60000),
                    ("c1d2._acme.fleet.test", "tok-deleg", now, now + 3000),
                    ("old._acme.fleet.test", "tok-old", now - 10000, now - 1)):
            self.d.sql("INSERT INTO dns_challenges(name, value, created_at, expires_at) VALUES (?,?,?,?)", *row)
        # the rows were written behind the daemon's back: any DNS change re-reads them
        tok = self.region("r-ch")
        self.running("chtrigger", "r-ch", tok)
        got = wait_until(lambda: self.a("_acme-challenge.acme.fleet.test", "TXT"), 5, what="challenge TXT")
        self.assertEqual(got, ['"tok-one"', '"tok-two"'])
        self.assertEqual(self.a("c1d2._acme.fleet.test", "TXT"), ['"tok-deleg"'])
        self.assertEqual(peers.status(self.dig("old._acme.fleet.test", "TXT")), "NXDOMAIN")
        # past expires_at it goes away by itself (no other change happens)
        s = self.serial()
        wait_until(lambda: peers.status(self.dig("c1d2._acme.fleet.test", "TXT")) == "NXDOMAIN", 8,
                   what="delegated challenge expired")
        self.assertGreater(self.serial(), s)
        self.assertEqual(len(self.a("_acme-challenge.acme.fleet.test", "TXT")), 2)

    def test_06_axfr_refused_then_tsig(self):
        out = self.dig("fleet.test", "AXFR")
        self.assertIn("Transfer failed", out, out)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:  # raw: the rcode itself
            peers.tcp_send(s, peers.raw_query("fleet.test", 252))
            resp = peers.tcp_recv(s)
        self.assertEqual(peers.rcode_of(resp), 5)  # REFUSED
        out = self.dig("fleet.test", "AXFR", "-y", "hmac-sha256:xfr:" + SECRET)
        self.assertNotIn("failed", out, out)
        self.assertIn("acme.fleet.test.", out)
        self.assertIn("big.fleet.test.", out)
        self.assertEqual(sum(1 for l in out.splitlines() if "\tSOA\t" in l), 2, out)
        out = peers.kdig(self.port, "fleet.test", "AXFR", "-y", "hmac-sha256:xfr:" + SECRET)
        self.assertIn("acme.fleet.test.", out, out)
        out = self.dig("fleet.test", "AXFR", "-y", "hmac-sha256:xfr:" + SECRET.replace("e", "f"))
        self.assertNotIn("acme.fleet.test.", out, out)

    def test_07_records_endpoint(self):
        r = self.d.request("GET", "/v1/dns/records?name=acme.fleet.test")
        self.assertEqual(r.status, 200, r)
        items = {i["type"]: i for i in r.json()["items"]}
        self.assertEqual(items["A"]["data"], ["192.0.2.10", "192.0.2.11"])
        self.assertEqual(items["A"]["ttl"], 30)
        self.assertEqual(items["A"]["providers"], [])
        self.assertEqual(self.d.request("GET", "/v1/dns/records?name=none.fleet.test").json()["items"], [])
        self.assertEqual(self.d.request("GET", "/v1/dns/records").status, 422)
        self.assertEqual(self.d.request("GET", "/v1/dns/records?name=acme.fleet.test", auth=False).status, 401)

    def test_08_serial_increases_across_restart(self):
        s1 = self.serial()
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        s2 = self.serial()
        self.assertGreater(s2, s1)
        self.assertEqual(self.a("acme.fleet.test"), ["192.0.2.10", "192.0.2.11"])  # rebuilt from the database
        tok = self.d.agent_token("r-a")
        self.d.heartbeat(tok)
        self.running("after-restart", "r-a", tok)
        wait_until(lambda: self.a("after-restart.fleet.test"), 5, what="record after restart")
        self.assertGreater(self.serial(), s2)


if __name__ == "__main__":
    fctest.main()
