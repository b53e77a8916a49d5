"""BIND 9 as a TSIG-authenticated secondary of the fixture's zone:
serial change → NOTIFY → BIND transfers (multi-message, every message signed) → dig @bind sees it."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="
c = peers.Checks()
bind_port = peers.free_port()
records = [("www.fleet.test.", "A", 60, "192.0.2.1")]
records += [("ws%04d.fleet.test." % i, "TXT", 60, '"%s"' % ("t" * 100)) for i in range(1500)]
fx = peers.Fixture(peers.zone(serial=1, records=records),
                   ["--tsig", "hmac-sha256:k:" + SECRET, "--secondary", "127.0.0.1:%d" % bind_port])
work = peers.tmpdir("fc-bind-sec-")
conf = '''key "k" { algorithm hmac-sha256; secret "%s"; };
zone "fleet.test" {
  type secondary;
  primaries port %d { 127.0.0.1 key "k"; };
  file "fleet.test.db";
};
''' % (SECRET, fx.port)
named = peers.start_named(conf, work, bind_port)


def bind_answer(name, rtype="A"):
    return peers.answers(peers.dig(bind_port, name, rtype, "+norec"))


got = peers.wait_for(lambda: bind_answer("www.fleet.test"), 30, "BIND loads the zone")
c.check(got == [("www.fleet.test.", 60, "A", "192.0.2.1")], "BIND transferred the zone (TSIG, many messages)", got)
c.check(len(bind_answer("ws1499.fleet.test", "TXT")) == 1, "the last record of the large zone arrived")

t0 = time.monotonic()
fx.reload(peers.zone(serial=2, records=records + [("new.fleet.test.", "A", 60, "192.0.2.99")]))
try:
    got = peers.wait_for(lambda: bind_answer("new.fleet.test"), 15, "NOTIFY-driven transfer")
except AssertionError as e:
    got = str(e)
elapsed = time.monotonic() - t0
c.check(got == [("new.fleet.test.", 60, "A", "192.0.2.99")], "NOTIFY → BIND re-transferred serial 2", got)
c.check(elapsed < 15, "within %.1fs (refresh is 60s, so NOTIFY did it)" % elapsed)
soa = bind_answer("fleet.test", "SOA")
c.check(soa and soa[0][3].split()[2] == "2", "BIND's SOA serial is 2", soa)
log = open(fx.log).read()
c.check("event=notify_acked" in log and "serial=2" in log, "the fixture saw BIND acknowledge the NOTIFY", log[-600:])
named_log = open(os.path.join(work, "named.log")).read()
xfr = [l for l in named_log.splitlines() if "transfer" in l.lower()]
print("\n".join(xfr[-6:]))
c.check("Transfer status: success" in named_log, "named logged a successful transfer", named_log[-1500:])
c.done()
