"""Stub resolver (fc-dns-fixture resolve → dns::resolve) against the fixture and BIND."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

c = peers.Checks()
big = [("big.fleet.test.", "TXT", 60, '"%s-%03d"' % ("y" * 150, i)) for i in range(40)]
fx = peers.Fixture(peers.zone(records=[("www.fleet.test.", "A", 60, "192.0.2.1"),
                                       ("alias.fleet.test.", "CNAME", 60, "www.fleet.test."),
                                       ("out.fleet.test.", "CNAME", 60, "app.customer.test.")] + big))

bind_port = peers.free_port()
work = peers.tmpdir("fc-bind-res-")
txt = "\n".join('bigtxt IN TXT "%s-%03d"' % ("z" * 200, i) for i in range(40))
zone_text = """$TTL 300
@ IN SOA ns1.customer.test. hostmaster.customer.test. 1 60 10 86400 30
@ IN NS ns1.customer.test.
ns1 IN A 127.0.0.1
app IN A 198.51.100.7
www IN CNAME app
ext IN CNAME target.fleet.test.
_fleetcommand.app IN TXT "fc-verify=abc123"
""" + txt + "\n"
peers.start_named('zone "customer.test" { type primary; file "customer.test.db"; };', work, bind_port,
                  {"customer.test.db": zone_text})


def resolve(servers, name, rtype="A", timeout_ms=800, attempts=1):
    args = ["resolve", "--name", name, "--type", rtype, "--timeout-ms", str(timeout_ms), "--attempts", str(attempts)]
    for s in servers:
        args += ["--server", s]
    return peers.run_fixture_cmd(args)


FX = fx.addr()
BIND = "127.0.0.1:%d" % bind_port
rc, out = resolve([FX], "www.fleet.test")
c.check(rc == 0 and out["rcode"] == "NOERROR" and out["aa"] and len(out["records"]) == 1, "A from the fixture", out)
rc, out = resolve([FX], "alias.fleet.test")
c.check(out.get("cname_chain") == ["www.fleet.test."] and "192.0.2.1" in out["records"][0], "CNAME chain returned", out)
rc, out = resolve([FX], "nope.fleet.test")
c.check(out.get("rcode") == "NXDOMAIN" and "SOA" in out["authority"][0], "NXDOMAIN with the SOA", out)
rc, out = resolve([FX], "big.fleet.test", "TXT")
c.check(rc == 0 and len(out["records"]) == 40, "TC → TCP fallback against the fixture", out)

rc, out = resolve([BIND], "www.customer.test")
c.check(out.get("cname_chain") == ["app.customer.test."] and "198.51.100.7" in out["records"][0],
        "CNAME chain from BIND", out)
rc, out = resolve([BIND], "bigtxt.customer.test", "TXT")
c.check(rc == 0 and len(out["records"]) == 40, "TC → TCP fallback against BIND (8 KB TXT RRset)", out)
rc, out = resolve([BIND], "_fleetcommand.app.customer.test", "TXT")
c.check(out.get("records") and '"fc-verify=abc123"' in out["records"][0], "verification TXT from BIND", out)
rc, out = resolve([BIND], "ext.customer.test")
c.check(out.get("cname_chain") == ["target.fleet.test."] and out["records"] == [],
        "CNAME leaving the server's zone: chain without records", out)

hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a server that never answers
hole.bind(("127.0.0.1", 0))
HOLE = "127.0.0.1:%d" % hole.getsockname()[1]
t0 = time.monotonic()
rc, out = resolve([HOLE], "www.fleet.test", timeout_ms=300, attempts=2)
el = time.monotonic() - t0
c.check(rc == 1 and out["error"]["code"] == "timeout" and 0.5 < el < 3, "timeout (2 × 300 ms) took %.2fs" % el, out)
dead = "127.0.0.1:%d" % peers.free_port()  # nothing listens at all
rc, out = resolve([dead], "www.fleet.test", timeout_ms=300)
c.check(rc == 1 and out["error"]["code"] in ("timeout", "io"), "nothing listening → error", out)
rc, out = resolve([HOLE, FX], "www.fleet.test", timeout_ms=300)
c.check(rc == 0 and out["server"] == FX, "retry moves on to the second server", out)
rc, out = resolve([FX], "www.customer.test")
c.check(rc == 0 and out["rcode"] == "REFUSED", "REFUSED is reported when no server does better", out)
hole.close()
c.done()
