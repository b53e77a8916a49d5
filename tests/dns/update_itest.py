"""RFC 2136 client (fc-dns-fixture update → dns::send_update) against a BIND primary."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

S256 = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="
S512 = "YW5vdGhlci1zZWNyZXQtZm9yLXNoYTUxMi10ZXN0cy4uLg=="
S1 = "c2hhMS1zZWNyZXQtZm9yLXRlc3Rz"
c = peers.Checks()
port = peers.free_port()
work = peers.tmpdir("fc-bind-upd-")
zone_text = """$TTL 300
@ IN SOA ns1.customer.test. hostmaster.customer.test. 1 60 10 86400 30
@ IN NS ns1.customer.test.
ns1 IN A 127.0.0.1
old IN A 192.0.2.10
old IN A 192.0.2.11
"""
conf = '''key "k" { algorithm hmac-sha256; secret "%s"; };
key "k512" { algorithm hmac-sha512; secret "%s"; };
key "k1" { algorithm hmac-sha1; secret "%s"; };
zone "customer.test" {
  type primary;
  file "customer.test.db";
  allow-update { key "k"; key "k512"; key "k1"; };
};
''' % (S256, S512, S1)
peers.start_named(conf, work, port, {"customer.test.db": zone_text})
server = "127.0.0.1:%d" % port


def update(*ops, key="hmac-sha256:k:" + S256):
    args = ["update", "--server", server, "--zone", "customer.test."]
    if key:
        args += ["--key", key]
    for flag, val in ops:
        args += [flag, val]
    return peers.run_fixture_cmd(args)


def look(name, rtype="A"):
    return sorted(a[3] for a in peers.answers(peers.dig(port, name, rtype, "+norec")))


rc, out = update(("--add", "new.customer.test. 120 A 192.0.2.50"),
                 ("--add", "_acme-challenge.new.customer.test. 60 TXT \"tok en\""))
c.check(rc == 0 and out.get("rcode") == "NOERROR", "signed add answered NOERROR", out)
c.check(look("new.customer.test") == ["192.0.2.50"], "dig @bind sees the added A", look("new.customer.test"))
c.check(look("_acme-challenge.new.customer.test", "TXT") == ['"tok en"'], "and the TXT")

rc, out = update(("--delete", "old.customer.test. 0 A 192.0.2.10"))
c.check(rc == 0 and look("old.customer.test") == ["192.0.2.11"], "delete one record of an RRset", out)
rc, out = update(("--delete-rrset", "new.customer.test. 0 A"))
c.check(rc == 0 and look("new.customer.test") == [], "delete a whole RRset", out)
rc, out = update(("--delete-name", "_acme-challenge.new.customer.test. 0 ANY"))
c.check(rc == 0 and look("_acme-challenge.new.customer.test", "TXT") == [], "delete every RRset of a name", out)

rc, out = update(("--add", "s512.customer.test. 60 A 192.0.2.51"), key="hmac-sha512:k512:" + S512)
c.check(rc == 0 and look("s512.customer.test") == ["192.0.2.51"], "hmac-sha512 key works", out)
rc, out = update(("--add", "s1.customer.test. 60 A 192.0.2.52"), key="hmac-sha1:k1:" + S1)
c.check(rc == 0 and look("s1.customer.test") == ["192.0.2.52"], "hmac-sha1 key works", out)

rc, out = update(("--add", "evil.customer.test. 60 A 192.0.2.66"), key="hmac-sha256:k:d3Jvbmctd3Jvbmctd3Jvbmc=")
c.check(rc == 1 and out.get("error", {}).get("code") == "unauthorized" and "BADSIG" in out["error"]["detail"],
        "wrong secret → BADSIG surfaced as an error", out)
rc, out = update(("--add", "evil.customer.test. 60 A 192.0.2.66"), key="hmac-sha256:nokey:" + S256)
c.check(rc == 1 and "BADKEY" in out.get("error", {}).get("detail", ""), "unknown key → BADKEY error", out)
rc, out = update(("--add", "evil.customer.test. 60 A 192.0.2.66"), key=None)
c.check(rc == 0 and out.get("rcode") == "REFUSED", "unsigned update → REFUSED", out)
c.check(look("evil.customer.test") == [], "none of the rejected updates landed")

rc, out = update(("--add", "x.other.test. 60 A 192.0.2.1"))
c.check(rc == 1 and out["error"]["code"] == "invalid_argument", "record outside the zone rejected locally", out)
rc, out = peers.run_fixture_cmd(["update", "--server", "127.0.0.1:%d" % peers.free_port(), "--zone", "customer.test.",
                                 "--timeout-ms", "300", "--add", "a.customer.test. 60 A 192.0.2.1"])
c.check(rc == 1 and out["error"]["code"] == "timeout", "no server → timeout error", out)
c.done()
