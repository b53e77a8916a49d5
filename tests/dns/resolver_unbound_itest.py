"""Stub resolver (fc-dns-fixture resolve → dns::resolve) against a real unbound
acting as a recursive resolver, with stub-zones to the fixture (fleet.test) and
BIND (customer.test) on loopback: A, AAAA, CNAME chains of 2+ hops (within BIND
and across both servers), TXT with several strings, NXDOMAIN, SERVFAIL reported
as an rcode (a dead stub address and a lame one), and a silent first server
followed by unbound."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

c = peers.Checks()
fx = peers.Fixture(peers.zone(records=[("www.fleet.test.", "A", 60, "192.0.2.1"),
                                       ("www.fleet.test.", "AAAA", 60, "2001:db8::1"),
                                       ("start.fleet.test.", "CNAME", 60, "mid.customer.test."),
                                       ("end.fleet.test.", "A", 60, "192.0.2.9"),
                                       ("multi.fleet.test.", "TXT", 60, '"alpha" "beta gamma" "delta"')]))
bind_port = peers.free_port()
work = peers.tmpdir("fc-unbound-res-")
zone_text = """$TTL 300
@ IN SOA ns1.customer.test. hostmaster.customer.test. 1 60 10 86400 30
@ IN NS ns1.customer.test.
ns1 IN A 127.0.0.1
app IN A 198.51.100.7
app IN AAAA 2001:db8::7
a IN CNAME b
b IN CNAME c
c IN CNAME app
mid IN CNAME end.fleet.test.
multi IN TXT "v=spf1 -all" "second string" "third; with spaces"
"""
peers.start_named('zone "customer.test" { type primary; file "customer.test.db"; };', work, bind_port,
                  {"customer.test.db": zone_text})
dead_port = peers.free_port()  # nothing listens here
FX = fx.addr()
BIND = "127.0.0.1:%d" % bind_port
ub_port = peers.free_port()
stubs = {"fleet.test": [FX.replace(":", "@")], "customer.test": ["127.0.0.1@%d" % bind_port],
         "dead.test": ["127.0.0.1@%d" % dead_port],
         "lame.test": ["127.0.0.1@%d" % bind_port]}  # BIND is not authoritative there → REFUSED
# infra-cache-max-rtt keeps unbound's give-up on the dead stub well under a second
peers.start_unbound(stubs, work, ub_port, extra="  infra-cache-max-rtt: 300\n")
UB = "127.0.0.1:%d" % ub_port


def resolve(servers, name, rtype="A", timeout_ms=3000, attempts=1):
    args = ["resolve", "--name", name, "--type", rtype, "--timeout-ms", str(timeout_ms), "--attempts", str(attempts)]
    for s in servers:
        args += ["--server", s]
    return peers.run_fixture_cmd(args)


def rdata(out, rtype):
    """rdata of the answer records of one type ("name ttl IN TYPE rdata")."""
    rows = [r.split(None, 4) for r in out.get("records", [])]
    return sorted(p[4] for p in rows if len(p) == 5 and p[3] == rtype)


rc, out = resolve([UB], "www.fleet.test")
c.check(rc == 0 and out["rcode"] == "NOERROR" and not out["aa"] and out["server"] == UB
        and rdata(out, "A") == ["192.0.2.1"], "A via unbound (recursive: not aa)", out)
rc, out = resolve([UB], "www.fleet.test", "AAAA")
c.check(rc == 0 and rdata(out, "AAAA") == ["2001:db8::1"], "AAAA from the fixture via unbound", out)
rc, out = resolve([UB], "app.customer.test", "AAAA")
c.check(rc == 0 and rdata(out, "AAAA") == ["2001:db8::7"], "AAAA from BIND via unbound", out)
rc, out = resolve([UB], "a.customer.test")
c.check(rc == 0 and out.get("cname_chain") == ["b.customer.test.", "c.customer.test.", "app.customer.test."]
        and rdata(out, "A") == ["198.51.100.7"], "3-hop CNAME chain inside BIND's zone", out)
rc, out = resolve([UB], "start.fleet.test")
c.check(rc == 0 and out.get("cname_chain") == ["mid.customer.test.", "end.fleet.test."]
        and rdata(out, "A") == ["192.0.2.9"], "2-hop CNAME chain across fixture → BIND → fixture", out)
rc, out = resolve([UB], "multi.customer.test", "TXT")
c.check(rc == 0 and rdata(out, "TXT") == ['"v=spf1 -all" "second string" "third; with spaces"'],
        "TXT with several strings (BIND) kept apart and in order", out)
rc, out = resolve([UB], "multi.fleet.test", "TXT")
c.check(rc == 0 and rdata(out, "TXT") == ['"alpha" "beta gamma" "delta"'],
        "TXT with several strings (fixture) via unbound", out)
rc, out = resolve([UB], "nope.customer.test")
c.check(rc == 0 and out.get("rcode") == "NXDOMAIN" and out["records"] == []
        and out["authority"] and " SOA " in out["authority"][0], "NXDOMAIN with the SOA via unbound", out)
rc, out = resolve([UB], "nope.fleet.test", "TXT")
c.check(rc == 0 and out.get("rcode") == "NXDOMAIN", "NXDOMAIN from the fixture via unbound", out)

t0 = time.monotonic()
rc, out = resolve([UB], "x.dead.test", timeout_ms=8000)
el = time.monotonic() - t0
c.check(rc == 0 and out.get("rcode") == "SERVFAIL" and out["records"] == [],
        "stub-zone to a dead port → rcode SERVFAIL, not an error (%.2fs)" % el, out)
rc, out = resolve([UB], "x.lame.test", timeout_ms=8000)
c.check(rc == 0 and out.get("rcode") == "SERVFAIL", "lame stub-zone (REFUSED upstream) → rcode SERVFAIL", out)

hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a server that never answers
hole.bind(("127.0.0.1", 0))
HOLE = "127.0.0.1:%d" % hole.getsockname()[1]
try:
    t0 = time.monotonic()
    rc, out = resolve([HOLE, UB], "a.customer.test", timeout_ms=300)
    el = time.monotonic() - t0
    c.check(rc == 0 and out.get("server") == UB and rdata(out, "A") == ["198.51.100.7"] and el < 3,
            "silent first server → the second (unbound) answers (%.2fs)" % el, out)
    rc, out = resolve([HOLE, UB], "www.fleet.test", "AAAA", timeout_ms=300, attempts=2)
    c.check(rc == 0 and out.get("server") == UB and rdata(out, "AAAA") == ["2001:db8::1"],
            "silent first server, 2 attempts → unbound answers AAAA", out)
finally:
    hole.close()
c.done()
