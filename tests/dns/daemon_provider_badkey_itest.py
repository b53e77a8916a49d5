"""External RFC 2136 provider through the real daemon with a WRONG TSIG secret
for a real BIND primary (allow-update { key }): after a workspace is reported
running, GET /v1/dns/records shows the provider state failed with a last_error
naming the TSIG rejection (BIND answers NOTAUTH with TSIG error BADSIG), the
record never reaches BIND across retries, and the right key still works."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fctest  # noqa: E402
import peers  # noqa: E402

SECRET = "cHJvdmlkZXItc2VjcmV0LXByb3ZpZGVyLXNlY3JldCE="
WRONG = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="  # same key name, other bytes
c = peers.Checks()
if not fctest.FC_BIN:
    print("FC_BIN not set")
    raise SystemExit(1)

bind_port = peers.free_port()
work = peers.tmpdir("fc-bind-badkey-")
CONF, ZONE = peers.update_primary("pub.test", SECRET)
named = peers.start_named(CONF, work, bind_port, {"pub.test.db": ZONE})


def nsupdate(cmds, secret):
    return peers.nsupdate(bind_port, "pub.test", cmds, secret)


def at_bind(name, rtype="A"):
    return peers.rrset(bind_port, name, rtype)


provider = {"type": "rfc2136", "server": "127.0.0.1:%d" % bind_port, "zone": "pub.test",
            "tsig": {"name": "upd", "algorithm": "hmac-sha256", "secret": WRONG}, "retry_base_ms": 200}
d = fctest.Daemon({"dns": {"zone": "pub.test", "ttl": 40, "providers": [provider]}})


def state(name, rtype="A"):
    r = d.request("GET", "/v1/dns/records?name=" + name)
    assert r.status == 200, r
    item = {i["type"]: i for i in r.json()["items"]}.get(rtype)
    return item["providers"][0] if item and item["providers"] else None


def failed(name):
    st = state(name) or {}
    return st.get("state") == "failed" and st


try:
    # the peer itself: the wrong secret is refused, the right one accepted (the test is not vacuous)
    out = nsupdate("update add probe.pub.test 300 A 198.51.100.9", WRONG)
    c.check(out.returncode != 0 and "BADSIG" in (out.stdout + out.stderr).upper(),
            "BIND refuses nsupdate with the wrong secret (BADSIG)", out.stdout + out.stderr)
    out = nsupdate("update add probe.pub.test 300 A 198.51.100.9", SECRET)
    c.check(out.returncode == 0 and at_bind("probe.pub.test") == ["198.51.100.9"],
            "BIND accepts nsupdate with the right secret", out.stderr)

    d.start()
    d.create_region("p1", ingress={"ipv4": ["192.0.2.1"], "ipv6": [], "hostname": None})
    tok = d.agent_token("p1")
    d.heartbeat(tok)
    r = d.request("POST", "/v1/workspaces", {"name": "shop", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                             "placement": {"regions": ["p1"]}})
    c.check(r.status == 201, "workspace created", r)
    wid = r.json()["id"]
    r = d.request("POST", "/v1/agent/status",
                  {"workspaces": [{"workspace_id": wid, "generation": 1, "phase": "running"}]}, token=tok)
    c.check(r.status == 200, "workspace reported running", r)

    st = peers.wait_for(lambda: failed("shop.pub.test"), 15, "provider state failed")
    err = st.get("last_error") or ""
    print("last_error: %r" % err)
    c.check(st["server"] == provider["server"] and st["zone"] == "pub.test" and not st.get("synced_at"),
            "the failed state names the provider and was never synced", st)
    c.check("TSIG" in err and "BADSIG" in err, "last_error names the TSIG rejection (BADSIG)", err)
    c.check("NOTAUTH" in err, "last_error carries BIND's rcode NOTAUTH", err)

    # across several retries (retry_base_ms 200) nothing reaches BIND and the state stays failed
    t_end = time.monotonic() + 2.5
    seen = []
    while time.monotonic() < t_end:
        seen += at_bind("shop.pub.test")
        time.sleep(0.25)
    c.check(seen == [], "the record never appears at BIND", seen)
    st = state("shop.pub.test")
    c.check(st and st["state"] == "failed" and "BADSIG" in (st.get("last_error") or ""),
            "still failed with the TSIG error after retries", st)
    c.check(peers.status(peers.dig(bind_port, "shop.pub.test", "A", "+norec")) == "NXDOMAIN",
            "BIND answers NXDOMAIN for the workspace name")
    c.check(at_bind("probe.pub.test") == ["198.51.100.9"], "the zone at BIND is otherwise intact")
    c.check("BADSIG" in open(os.path.join(work, "named.log")).read().upper()
            or "signature failed" in open(os.path.join(work, "named.log")).read(),
            "BIND's own log shows the rejected signature", open(os.path.join(work, "named.log")).read()[-1500:])
finally:
    code = d.stop()
    if code not in (0, None):
        c.check(False, "daemon exit code 0", d.logs()[-2000:])
    d.cleanup()
c.done()
