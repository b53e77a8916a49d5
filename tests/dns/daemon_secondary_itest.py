"""The real daemon as a hidden primary: BIND 9 is a TSIG secondary of its
zone; a workspace reported running → new serial → NOTIFY → BIND transfers →
`dig @bind` answers the new name. Also response rate limiting with slip
through the daemon's dns.rrl.responses_per_second."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fctest  # noqa: E402
import peers  # noqa: E402

SECRET = "c2Vjb25kYXJ5LXNlY3JldC1zZWNvbmRhcnktc2VjcmV0"
c = peers.Checks()
if not fctest.FC_BIN:
    print("FC_BIN not set")
    raise SystemExit(1)

bind_port = peers.free_port()
d = fctest.Daemon({"dns": {"zone": "fleet.test", "ttl": 45, "secondaries": ["127.0.0.1:%d" % bind_port],
                           "axfr_allow": [],
                           "axfr_tsig": [{"name": "sec", "algorithm": "hmac-sha256", "secret": SECRET}]}})
rrl = None
try:
    d.start()
    # BIND starts after the daemon: it transfers on its own first refresh at load
    work = peers.tmpdir("fc-bind-sec-")
    conf = '''key "sec" { algorithm hmac-sha256; secret "%s"; };
zone "fleet.test" {
  type secondary;
  primaries port %d { 127.0.0.1 key "sec"; };
  file "fleet.test.db";
};
''' % (SECRET, d.dns_port)
    named = peers.start_named(conf, work, bind_port)

    def bind_answer(name, rtype="A"):
        return peers.answers(peers.dig(bind_port, name, rtype, "+norec"))

    def our_serial():
        return int(peers.answers(peers.dig(d.dns_port, "fleet.test", "SOA"))[0][3].split()[2])

    soa = peers.wait_for(lambda: bind_answer("fleet.test", "SOA"), 30, "BIND loads the zone")
    c.check(int(soa[0][3].split()[2]) == our_serial(), "BIND has the daemon's serial", soa)

    d.create_region("r1", ingress={"ipv4": ["192.0.2.77"], "ipv6": [], "hostname": None})
    tok = d.agent_token("r1")
    d.heartbeat(tok)
    r = d.request("POST", "/v1/workspaces", {"name": "viabind", "resources": {"memory_mib": 1, "cpu_millis": 1}})
    c.check(r.status == 201, "workspace created", r)
    wid = r.json()["id"]
    t0 = time.monotonic()
    r = d.request("POST", "/v1/agent/status",
                  {"workspaces": [{"workspace_id": wid, "generation": 1, "phase": "running"}]}, token=tok)
    c.check(r.status == 200, "agent reported running", r)
    try:
        got = peers.wait_for(lambda: bind_answer("viabind.fleet.test"), 15, "NOTIFY-driven transfer")
    except AssertionError as e:
        got = str(e)
    elapsed = time.monotonic() - t0
    c.check(got == [("viabind.fleet.test.", 45, "A", "192.0.2.77")], "dig @bind answers the new name", got)
    c.check(elapsed < 15, "within %.1fs (BIND's refresh is 3600s: NOTIFY did it)" % elapsed)
    soa = bind_answer("fleet.test", "SOA")
    c.check(soa and int(soa[0][3].split()[2]) == our_serial(), "BIND's serial equals the daemon's", soa)
    # delete → NOTIFY → gone at BIND too
    d.request("DELETE", "/v1/workspaces/%s?force=true" % wid)
    gone = peers.wait_for(lambda: peers.status(peers.dig(bind_port, "viabind.fleet.test", "A", "+norec"))
                          == "NXDOMAIN", 15, "deleted at BIND")
    c.check(gone, "the deleted workspace disappears at BIND")
    named_log = open(os.path.join(work, "named.log")).read()
    c.check("Transfer status: success" in named_log, "named logged successful TSIG transfers", named_log[-1500:])
    c.check("notify from 127.0.0.1" in named_log.lower() or "received notify" in named_log.lower(),
            "named logged our NOTIFY", named_log[-1500:])
    # an unsigned AXFR from loopback is refused (axfr_allow is empty)
    out = peers.dig(d.dns_port, "fleet.test", "AXFR")
    c.check("Transfer failed" in out, "unsigned AXFR refused", out)

    # RRL: 5 responses/s per /24 with slip (every 2nd dropped answer is TC=1)
    rrl = fctest.Daemon({"dns": {"zone": "fleet.test", "rrl": {"responses_per_second": 5}}})
    rrl.start()
    answered = tc = dropped = 0
    t0 = time.monotonic()
    for i in range(60):
        resp = peers.udp_exchange(rrl.dns_port, peers.raw_query("fleet.test", 6, qid=i + 1), timeout=0.1)
        if resp is None:
            dropped += 1
        elif resp[2] & 0x02:
            tc += 1
        else:
            answered += 1
    elapsed = time.monotonic() - t0
    allowed = 5 * (elapsed + 2)  # the rate over the run plus a burst of up to 2 s
    c.check(answered <= allowed and answered < 40,
            "RRL limits answers (answered=%d of 60 in %.1fs, at most %.0f allowed)" % (answered, elapsed, allowed))
    c.check(tc > 5, "RRL slips TC=1 answers (tc=%d)" % tc)
    c.check(dropped > 5, "RRL drops the others (dropped=%d)" % dropped)
    out = peers.dig(rrl.dns_port, "fleet.test", "SOA", "+tcp")
    c.check(peers.status(out) == "NOERROR", "TCP is not rate limited", out)
finally:
    for x in (d, rrl):
        if x is not None:
            code = x.stop()
            if code != 0:
                c.check(False, "daemon exit code 0", x.logs()[-2000:])
            x.cleanup()
c.done()
