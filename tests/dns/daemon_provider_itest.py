"""External RFC 2136 provider through the real daemon, against a real BIND
primary with allow-update { key }: a running workspace appears at BIND;
migrate / delete update / remove it; records added by hand with nsupdate in
the same zone survive; BIND down → state failed with last_error, BIND back →
synced (GET /v1/dns/records shows the sync state)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fctest  # noqa: E402
import peers  # noqa: E402

SECRET = "cHJvdmlkZXItc2VjcmV0LXByb3ZpZGVyLXNlY3JldCE="
c = peers.Checks()
if not fctest.FC_BIN:
    print("FC_BIN not set")
    raise SystemExit(1)

bind_port = peers.free_port()
work = peers.tmpdir("fc-bind-prov-")
CONF, ZONE = peers.update_primary("pub.test", SECRET)
named = peers.start_named(CONF, work, bind_port, {"pub.test.db": ZONE})


def nsupdate(cmds):
    return peers.nsupdate(bind_port, "pub.test", cmds, SECRET)


def at_bind(name, rtype="A"):
    return peers.rrset(bind_port, name, rtype)


provider = {"type": "rfc2136", "server": "127.0.0.1:%d" % bind_port, "zone": "pub.test",
            "tsig": {"name": "upd", "algorithm": "hmac-sha256", "secret": SECRET}, "retry_base_ms": 200}
d = fctest.Daemon({"dns": {"zone": "pub.test", "ttl": 40, "providers": [provider]}})


def records(name):
    r = d.request("GET", "/v1/dns/records?name=" + name)
    assert r.status == 200, r
    return {i["type"]: i for i in r.json()["items"]}


def state(name, rtype="A"):
    item = records(name).get(rtype)
    return item["providers"][0] if item and item["providers"] else None


def running(name, rid, tok):
    r = d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1},
                                             "placement": {"regions": [rid]}})
    assert r.status == 201, r
    wid = r.json()["id"]
    r = d.request("POST", "/v1/agent/status",
                  {"workspaces": [{"workspace_id": wid, "generation": 1, "phase": "running"}]}, token=tok)
    assert r.status == 200, r
    return wid


try:
    d.start()
    out = nsupdate("update add manual.pub.test 300 A 198.51.100.1\nupdate add shop.pub.test 300 TXT \"hand-made\"")
    c.check(out.returncode == 0, "nsupdate added hand-made records", out.stderr)
    for rid, ip in (("p1", "192.0.2.1"), ("p2", "192.0.2.2")):
        d.create_region(rid, ingress={"ipv4": [ip], "ipv6": [], "hostname": None})
    tok1, tok2 = d.agent_token("p1"), d.agent_token("p2")
    d.heartbeat(tok1)
    d.heartbeat(tok2)

    wid = running("shop", "p1", tok1)
    got = peers.wait_for(lambda: at_bind("shop.pub.test"), 10, "record pushed to BIND")
    c.check(got == ["192.0.2.1"], "the workspace's A record appears at BIND", got)
    ttl = peers.answers(peers.dig(bind_port, "shop.pub.test", "A"))[0][1]
    c.check(ttl == 40, "pushed with dns.ttl", ttl)
    st = peers.wait_for(lambda: (state("shop.pub.test") or {}).get("state") == "synced" and state("shop.pub.test"),
                        10, "synced state")
    c.check(st["server"] == provider["server"] and st["zone"] == "pub.test" and st["synced_at"],
            "GET /v1/dns/records shows synced with synced_at", st)

    # migrate: the record at BIND is replaced
    r = d.request("POST", "/v1/workspaces/%s/migrate" % wid, {"region": "p2"})
    c.check(r.status == 202, "migrate accepted", r)
    r = d.request("POST", "/v1/agent/status", {"workspaces": [
        {"workspace_id": wid, "generation": r.json()["generation"], "phase": "running"}]}, token=tok2)
    got = peers.wait_for(lambda: at_bind("shop.pub.test") == ["192.0.2.2"] and at_bind("shop.pub.test"), 10,
                         "record moved at BIND")
    c.check(got == ["192.0.2.2"], "migration updated the record at BIND", got)

    # BIND down: a new record fails with last_error, then syncs when BIND is back
    peers.stop(named)
    running("late", "p1", tok1)
    st = peers.wait_for(lambda: (state("late.pub.test") or {}).get("state") == "failed" and state("late.pub.test"),
                        15, "failed state")
    c.check(bool(st["last_error"]), "state failed with last_error while BIND is down", st)
    named = peers.start_named(CONF, work, bind_port)
    got = peers.wait_for(lambda: at_bind("late.pub.test"), 20, "pushed after BIND is back")
    c.check(got == ["192.0.2.1"], "the record reached BIND after it came back (retry with backoff)", got)
    st = peers.wait_for(lambda: (state("late.pub.test") or {}).get("state") == "synced" and state("late.pub.test"),
                        10, "synced after recovery")
    c.check(st["last_error"] is None, "state synced again, last_error cleared", st)

    # delete: our record is removed, the hand-made ones survive
    d.request("DELETE", "/v1/workspaces/%s?force=true" % wid)
    gone = peers.wait_for(lambda: peers.status(peers.dig(bind_port, "shop.pub.test", "A", "+norec")) == "NOERROR"
                          and not at_bind("shop.pub.test"), 10, "record removed at BIND")
    c.check(gone, "deleting the workspace removed its A record at BIND")
    c.check(at_bind("shop.pub.test", "TXT") == ['"hand-made"'], "hand-made TXT at the same name survives",
            at_bind("shop.pub.test", "TXT"))
    c.check(at_bind("manual.pub.test") == ["198.51.100.1"], "hand-made A record survives")

    # a restart pushes nothing new and keeps the state
    code = d.stop()
    c.check(code == 0, "daemon stopped cleanly", d.logs()[-1500:])
    d.start()
    st = state("late.pub.test")
    c.check(st and st["state"] == "synced", "state kept across a restart", st)
finally:
    code = d.stop()
    if code not in (0, None):
        c.check(False, "daemon exit code 0", d.logs()[-2000:])
    d.cleanup()
c.done()
