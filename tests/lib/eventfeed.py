"""The lifecycle events feed (GET /v1/events, docs/events.md) read the way a
pulling consumer reads it, and the invariants every emission test checks:
each event has a stable `evt_` id, a type, an RFC 3339 time, a global `seq`
in commit order, and per workspace a gap-free `workspace_seq` 1, 2, ...
(region.* and webhook.* events carry no workspace)."""
import re

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def read_all(d, type_filter=None, token=None, max_pages=100):
    """Every event of the feed (optionally one type or family), paging with
    after=next_after; bounded."""
    out, after = [], 0
    for _ in range(max_pages):
        q = f"/v1/events?after={after}&limit=1000" + (f"&type={type_filter}" if type_filter else "")
        r = d.request("GET", q, token=token)
        assert r.status == 200, r
        body = r.json()
        out += body["items"]
        if not body["items"]:
            return out
        after = body["next_after"]
    raise AssertionError("the events feed did not end within %d pages" % max_pages)


def check_invariants(test, events):
    """The whole feed (unfiltered): ids, times, seq order, gap-free workspace_seq."""
    ids = [e["id"] for e in events]
    test.assertEqual(len(ids), len(set(ids)), "duplicate event ids")
    seqs = [e["seq"] for e in events]
    test.assertEqual(seqs, sorted(seqs), "seq not increasing")
    test.assertEqual(len(seqs), len(set(seqs)), "duplicate seq")
    per_ws = {}
    for e in events:
        test.assertTrue(e["id"].startswith("evt_"), e)
        test.assertRegex(e["time"], RFC3339)
        test.assertTrue(e["type"], e)
        if e.get("workspace_id"):
            per_ws.setdefault(e["workspace_id"], []).append(e["workspace_seq"])
    for ws, s in per_ws.items():
        test.assertEqual(s, list(range(1, len(s) + 1)), f"workspace_seq of {ws} not 1..n without gaps")


def of(events, prefix, subject=None):
    """(type, subject) pairs of the events whose type starts with `prefix`."""
    return [(e["type"], e["subject"]) for e in events
            if e["type"].startswith(prefix) and (subject is None or e["subject"] == subject)]
