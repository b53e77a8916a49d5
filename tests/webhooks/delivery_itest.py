"""Webhooks end to end against the real daemon and real receivers on loopback
(tests/webhooks/receiver.py, which checks every signature with Python's hmac):
lifecycle events from workspace changes and agent reports reach a subscribed
endpoint signed, in order per workspace, duplicates only with the same
webhook-id; the /v1/events feed holds the same events; a receiver that is down
for a compressed "hour" (retry delays capped at 300 ms) loses nothing; a
receiver answering 500 every other time; a slow endpoint (1 s attempt timeout)
never delays a fast one; secret rotation signs with both secrets; an endpoint
failing past webhooks.retry_window_s is disabled and an event says so; a
redirect is not followed; a reply body is read to 64 KiB at most (a 1 MiB
reply that stalls after 128 KiB is delivered at the first attempt)."""
import collections
import datetime
import os
import time

import fctest
from receiver import Receiver

RES = {"memory_mib": 1, "cpu_millis": 1}


CONFIG = {"agents": {"heartbeat_timeout_s": 3600},
          "webhooks": {"allow_private": True, "timeout_ms": 1000, "retry_base_ms": 50,
                       "retry_max_ms": 300, "retry_window_s": 6, "lanes_per_endpoint": 4,
                       "rotation_grace_s": 3600}}


class Helpers:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d.create_region("wh-a")
        cls.agent = cls.d.agent_token("wh-a")
        cls.d.heartbeat(cls.agent)
        cls.counter = 0

    def endpoint(self, rcv, types=None):
        body = {"url": rcv.url()}
        if types is not None:
            body["event_types"] = types
        r = self.d.request("POST", "/v1/webhooks", body)
        self.assertEqual(r.status, 201, r)
        ep = r.json()
        self.assertTrue(ep["secret"].startswith("whsec_"))
        rcv.secrets.append(ep["secret"])
        # Each test's endpoints go with it: later events never pile up on them.
        self.addCleanup(self.d.request, "DELETE", f"/v1/webhooks/{ep['id']}")
        # The secret is shown once: never in a read.
        got = self.d.request("GET", f"/v1/webhooks/{ep['id']}")
        self.assertEqual(got.status, 200, got)
        self.assertNotIn("secret", got.json())
        self.assertNotIn(ep["secret"], got.body.decode())
        return ep

    def lifecycle(self, n, prefix):
        """n workspaces: created, placed, running, deleted (4 events each)."""
        ids = []
        for _ in range(n):
            type(self).counter += 1
            r = self.d.request("POST", "/v1/workspaces",
                               {"name": f"{prefix}{type(self).counter}", "resources": RES})
            self.assertEqual(r.status, 201, r)
            ids.append((r.json()["id"], r.json()["generation"]))
        items = [{"workspace_id": w, "generation": g, "phase": "running", "message": ""} for w, g in ids]
        r = self.d.request("POST", "/v1/agent/status", {"workspaces": items}, token=self.agent)
        self.assertEqual(r.status, 200, r)
        # A repeated running report is not a second workspace.running.
        r = self.d.request("POST", "/v1/agent/status", {"workspaces": items}, token=self.agent)
        self.assertEqual(r.status, 200, r)
        for w, _ in ids:
            r = self.d.request("DELETE", f"/v1/workspaces/{w}?force=true")
            self.assertEqual(r.status, 202, r)
        return [w for w, _ in ids]

    def check_order(self, rcv, workspaces, per_ws=4):
        """Every workspace's events arrived complete and in sequence; a
        duplicate always repeats its webhook-id."""
        first = collections.OrderedDict()
        key_to_id = {}
        for msg_id, p in rcv.snapshot():
            self.assertEqual(msg_id, p["id"])
            k = (p.get("workspace_id"), p.get("workspace_sequence"))
            if k[0] is not None:
                self.assertEqual(key_to_id.setdefault(k, msg_id), msg_id, "one event, two webhook-ids")
            first.setdefault(msg_id, p)
        seen = collections.defaultdict(list)
        for p in first.values():
            if p.get("workspace_id") in workspaces:
                seen[p["workspace_id"]].append((p["workspace_sequence"], p["type"]))
        for w in workspaces:
            seqs = [s for s, _ in seen[w]]
            self.assertEqual(seqs, list(range(1, per_ws + 1)), f"{w}: {seen[w]}")
            self.assertEqual([t for _, t in seen[w]], ["workspace.created", "workspace.placed",
                                                       "workspace.running", "workspace.deleted"])
        self.assertEqual(rcv.bad_signatures, [])
        return len(rcv.snapshot()) - len(first)  # duplicates

    def wait_for(self, rcv, workspaces, timeout=20, per_ws=4):
        want = set(workspaces)

        def complete():
            got = collections.Counter(p.get("workspace_id") for _, p in
                                      {m: p for m, p in rcv.snapshot()}.items())
            return all(got[w] >= per_ws for w in want)
        fctest.wait_until(complete, timeout=timeout, what="every event delivered")



class WebhooksTest(Helpers, fctest.DaemonTest):
    CONFIG = CONFIG

    def test_01_signed_in_order_and_in_the_feed(self):
        rcv = Receiver(fctest.free_port()).start()
        try:
            ep = self.endpoint(rcv, ["workspace.*"])
            ws = self.lifecycle(6, "ord")
            self.wait_for(rcv, ws)
            self.assertEqual(self.check_order(rcv, ws), 0)
            # Only the subscribed family came.
            self.assertTrue(all(p["type"].startswith("workspace.") for _, p in rcv.snapshot()))
            # The feed has the same events, with the same ids, in the same order.
            feed = self.d.request("GET", f"/v1/events?workspace={ws[0]}")
            self.assertEqual(feed.status, 200, feed)
            items = feed.json()["items"]
            self.assertEqual([e["type"] for e in items],
                             ["workspace.created", "workspace.placed", "workspace.running", "workspace.deleted"])
            delivered = [m for m, p in rcv.snapshot() if p["workspace_id"] == ws[0]]
            self.assertEqual(delivered, [e["id"] for e in items])
            self.assertEqual(items[2]["data"]["observed"]["phase"], "running")
            # The delivery log says delivered, with the receiver's status. The
            # receiver has every body once it answered, but the daemon records
            # the answer just after: wait for the record, do not race it.
            def all_delivered():
                log = self.d.request("GET", f"/v1/webhooks/{ep['id']}/deliveries?limit=1000")
                self.assertEqual(log.status, 200, log)
                items = log.json()["items"]
                mine = [x for x in items if x["workspace_id"] in ws]
                return len(mine) == 24 and all(x["state"] == "delivered" and x["last_status"] == 204
                                               for x in items)
            fctest.wait_until(all_delivered, timeout=10, what="every delivery recorded as delivered")
            # First-attempt successes write no row: the log shows them from
            # memory (recorded false, no delivery_id), keyed by event sequence.
            log = self.d.request("GET", f"/v1/webhooks/{ep['id']}/deliveries?limit=1000").json()["items"]
            mine = [x for x in log if x["workspace_id"] in ws]
            self.assertEqual(len(mine), 24, log)
            self.assertTrue(all(x["recorded"] is False and x["delivery_id"] is None and x["attempts"] == 1
                                for x in mine), mine)
            self.assertEqual([x["id"] for x in log], sorted(x["id"] for x in log))
            page = self.d.request("GET", f"/v1/webhooks/{ep['id']}/deliveries?limit=5&after={log[2]['id']}").json()
            self.assertEqual([x["id"] for x in page["items"]], [x["id"] for x in log[3:8]])
            self.assertEqual(page["next_after"], log[7]["id"])
            # Polling from next_after returns nothing new.
            nxt = self.d.request("GET", f"/v1/events?after={feed.json()['next_after']}&workspace={ws[0]}")
            self.assertEqual(nxt.json()["items"], [])
            # region.healthy was appended when the region's first heartbeat arrived.
            fctest.wait_until(lambda: self.d.request("GET", "/v1/events?type=region.*").json()["items"],
                              timeout=5, what="region.healthy")
            reg = self.d.request("GET", "/v1/events?type=region.healthy").json()["items"]
            self.assertEqual(reg[0]["subject"], "wh-a")
            self.assertIsNone(reg[0]["workspace_id"])
        finally:
            rcv.stop()

    def test_02_receiver_down_for_an_hour_then_back(self):
        rcv = Receiver(fctest.free_port()).start()
        try:
            ep = self.endpoint(rcv, ["workspace.*"])
            rcv.stop()  # connection refused from now on
            ws = self.lifecycle(5, "down")
            # A compressed hour: many retries at the 300 ms cap.
            time.sleep(2.5)
            log = self.d.request("GET", f"/v1/webhooks/{ep['id']}/deliveries").json()["items"]
            self.assertTrue(any(x["attempts"] >= 3 and x["state"] == "pending" for x in log), log)
            self.assertTrue(any("connect" in (x["last_error"] or "") for x in log), log)
            self.assertIsNotNone(self.d.request("GET", f"/v1/webhooks/{ep['id']}").json()["failing_since"])
            rcv.start()
            self.wait_for(rcv, ws)
            self.check_order(rcv, ws)
            got = self.d.request("GET", f"/v1/webhooks/{ep['id']}").json()
            self.assertEqual(got["state"], "enabled")
            fctest.wait_until(lambda: self.d.request("GET", f"/v1/webhooks/{ep['id']}").json()["failing_since"] is None,
                              timeout=5, what="failing_since cleared")
        finally:
            rcv.stop()

    def test_03_intermittent_500s(self):
        rcv = Receiver(fctest.free_port(), mode="flaky").start()
        try:
            self.endpoint(rcv, ["workspace.*"])
            ws = self.lifecycle(5, "flaky")
            self.wait_for(rcv, ws)
            self.check_order(rcv, ws)
            self.assertGreater(rcv.attempts, len(rcv.snapshot()))  # the 500s were retried
        finally:
            rcv.stop()

    def test_04_slow_endpoint_never_delays_a_fast_one(self):
        slow = Receiver(fctest.free_port(), mode="slow", delay=3.0).start()
        fast = Receiver(fctest.free_port()).start()
        try:
            slow_ep = self.endpoint(slow, ["workspace.*"])
            self.endpoint(fast, ["workspace.*"])
            ws = self.lifecycle(4, "speed")
            self.wait_for(fast, ws, timeout=15)
            self.check_order(fast, ws)
            # Every attempt at the slow one times out (1 s) and it has
            # delivered nothing, while the fast one got everything: its lanes
            # never waited for the slow one's.
            def slow_log():
                return self.d.request("GET", f"/v1/webhooks/{slow_ep['id']}/deliveries?limit=1000").json()["items"]
            fctest.wait_until(lambda: any(x["last_error"] for x in slow_log()), timeout=10,
                              what="a timed-out attempt at the slow endpoint")
            log = slow_log()
            self.assertTrue(all(x["state"] == "pending" for x in log), log)
            self.assertIn("reading the reply", [x for x in log if x["last_error"]][0]["last_error"])
        finally:
            slow.mode = "ok"
            slow.stop()
            fast.stop()

    def test_041_no_redirect_followed_and_reply_read_to_64_kib(self):
        target = Receiver(fctest.free_port()).start()
        redirect = Receiver(fctest.free_port(), mode="redirect").start()
        big = Receiver(fctest.free_port(), mode="big", delay=3.0).start()
        try:
            redirect.location = target.url()
            red_ep = self.endpoint(redirect, ["workspace.*"])
            target.secrets = list(redirect.secrets)
            big_ep = self.endpoint(big, ["workspace.*"])
            ws = self.lifecycle(1, "redir")
            # The big replies: counted by their status after 64 KiB; a sender
            # reading the whole body would time out (1 s) on the stall.
            self.wait_for(big, ws, timeout=15)
            self.check_order(big, ws)
            # The outcomes are saved once per lane round, after the receiver
            # has the bodies: wait for the record rather than race it.
            def mine():
                log = self.d.request("GET", f"/v1/webhooks/{big_ep['id']}/deliveries?limit=1000").json()["items"]
                return [(x["state"], x["attempts"], x["last_status"]) for x in log if x["workspace_id"] in ws]
            fctest.wait_until(lambda: all(m[0] != "pending" for m in mine()) and len(mine()) == 4,
                              timeout=10, what="the big replies' outcomes saved")
            self.assertEqual(mine(), [("delivered", 1, 200)] * 4)
            self.assertEqual(big.attempts, 4)
            # The redirect: a failed attempt (307), retried, never followed.

            def red_log():
                return self.d.request("GET", f"/v1/webhooks/{red_ep['id']}/deliveries?limit=1000").json()["items"]
            fctest.wait_until(lambda: any(x["last_status"] == 307 for x in red_log()), timeout=10,
                              what="a 307 recorded")
            self.assertTrue(all(x["state"] == "pending" for x in red_log()), red_log())
            self.assertEqual(target.attempts, 0, "the redirect was followed")
        finally:
            for r in (target, redirect, big):
                r.stop()

    def test_05_rotation_signs_with_both_secrets(self):
        rcv = Receiver(fctest.free_port()).start()
        try:
            ep = self.endpoint(rcv, ["workspace.created"])
            old = ep["secret"]
            r = self.d.request("POST", f"/v1/webhooks/{ep['id']}/rotate")
            self.assertEqual(r.status, 200, r)
            new = r.json()["secret"]
            self.assertNotEqual(new, old)
            self.assertIsNotNone(r.json()["previous_secret_valid_until"])
            rcv.secrets = [new]
            rcv.require_all = [old, new]  # both must have signed
            ws = self.lifecycle(2, "rot")
            self.wait_for(rcv, ws, per_ws=1)
            self.assertEqual(rcv.bad_signatures, [])
            self.assertEqual(rcv.max_signatures, 2)
        finally:
            rcv.stop()

    def test_06_replay(self):
        rcv = Receiver(fctest.free_port()).start()
        try:
            ep = self.endpoint(rcv, ["workspace.deleted"])
            since = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            ws = self.lifecycle(3, "replay")
            self.wait_for(rcv, ws, per_ws=1)
            before = rcv.ids()
            r = self.d.request("POST", f"/v1/webhooks/{ep['id']}/replay?since={since}")
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.json()["queued"], 3)
            fctest.wait_until(lambda: len(rcv.ids()) == 6, timeout=10, what="replayed")
            self.assertEqual(sorted(rcv.ids()), sorted(before * 2))  # same webhook-ids again
        finally:
            rcv.stop()

    def test_07_disabled_after_the_retry_window(self):
        dead = Receiver(fctest.free_port())  # never started: connection refused
        ep = self.endpoint(dead, ["workspace.created"])
        self.lifecycle(1, "dead")
        fctest.wait_until(lambda: self.d.request("GET", f"/v1/webhooks/{ep['id']}").json()["state"] == "disabled",
                          timeout=15, what="endpoint disabled")
        got = self.d.request("GET", f"/v1/webhooks/{ep['id']}").json()
        self.assertIn("connect", got["disabled_reason"])
        ev = self.d.request("GET", "/v1/events?type=webhook.disabled").json()["items"]
        mine = [e for e in ev if e["subject"] == ep["id"]]
        self.assertEqual(len(mine), 1, ev)
        self.assertEqual(mine[0]["data"]["state"], "disabled")
        # Re-enabled with a receiver there: the pending delivery goes out.
        dead.start()
        try:
            r = self.d.request("POST", f"/v1/webhooks/{ep['id']}/enable")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["state"], "enabled")
            fctest.wait_until(lambda: len(dead.ids()) >= 1, timeout=10, what="delivered after enable")
        finally:
            dead.stop()

    def test_08_bad_input(self):
        cases = [
            ({"url": "ftp://x.example/"}, "url"),
            ({"url": "http://x.example/", "event_types": ["Workspace.created"]}, "event_types[0]"),
            ({"url": "http://x.example/", "event_types": "workspace.*"}, "event_types"),
            ({"url": "http://x.example/", "colour": "red"}, "colour"),
            ({}, "url"),
        ]
        for body, field in cases:
            r = self.d.request("POST", "/v1/webhooks", body)
            self.assertEqual(r.status, 422, (body, r))
            self.assertIn(field, [e["field"] for e in r.json()["errors"]], r)
        for q, field in (("after=-1", "after"), ("after=x", "after"), ("limit=0", "limit"),
                         ("type=a..b", "type"), ("limit=5000", "limit")):
            r = self.d.request("GET", f"/v1/events?{q}")
            self.assertEqual(r.status, 422, (q, r))
            self.assertEqual(r.json()["errors"][0]["field"], field)
        rcv = Receiver(fctest.free_port())
        ep = self.endpoint(rcv, ["nothing.*"])
        for q in ("", "?since=yesterday", "?since=2026-13-01T00:00:00Z"):
            r = self.d.request("POST", f"/v1/webhooks/{ep['id']}/replay{q}")
            self.assertEqual(r.status, 422, (q, r))
            self.assertEqual(r.json()["errors"][0]["field"], "since")
        r = self.d.request("GET", f"/v1/webhooks/{ep['id']}/deliveries?after=z")
        self.assertEqual(r.status, 422, r)
        for method, path in (("GET", "/v1/webhooks/whk_nope"), ("DELETE", "/v1/webhooks/whk_nope"),
                             ("POST", "/v1/webhooks/whk_nope/rotate"), ("POST", "/v1/webhooks/whk_nope/enable"),
                             ("GET", "/v1/webhooks/whk_nope/deliveries"),
                             ("POST", "/v1/webhooks/whk_nope/replay?since=0")):
            self.assertEqual(self.d.request(method, path).status, 404, (method, path))
        self.assertEqual(self.d.request("DELETE", f"/v1/webhooks/{ep['id']}").status, 204)
        self.assertEqual(self.d.request("GET", f"/v1/webhooks/{ep['id']}").status, 404)
        self.assertNotIn(ep["id"], [e["id"] for e in self.d.request("GET", "/v1/webhooks").json()["items"]])

    def test_10_certificate_issued_is_an_event(self):
        """The internal issuer stores a version: certificate.issued, in the
        same transaction, with the certificate's view (never its key)."""
        rcv = Receiver(fctest.free_port()).start()
        try:
            self.endpoint(rcv, ["certificate.*"])
            r = self.d.request("POST", "/v1/certificates", {"hostnames": ["certev.fleet.test"],
                                                            "challenge": "http-01"})
            self.assertEqual(r.status, 202, r)
            cid = r.json()["id"]

            def issued():
                items = self.d.request("GET", "/v1/events?type=certificate.issued").json()["items"]
                return [e for e in items if e["subject"] == cid]
            fctest.wait_until(issued, timeout=20, what="certificate.issued")
            ev = issued()[0]
            self.assertEqual(ev["data"]["version"], 1)
            self.assertEqual(ev["data"]["hostnames"], ["certev.fleet.test"])
            self.assertNotIn("PRIVATE KEY", str(ev["data"]))
            fctest.wait_until(lambda: ev["id"] in rcv.ids(), timeout=10, what="delivered")
        finally:
            rcv.stop()

    def test_09_tenant_sees_only_its_workspace(self):
        a = self.d.request("POST", "/v1/workspaces", {"name": "tenanta", "resources": RES}).json()
        b = self.d.request("POST", "/v1/workspaces", {"name": "tenantb", "resources": RES}).json()
        tok = self.d.request("POST", f"/v1/workspaces/{a['id']}/tenant-tokens").json()["token"]
        r = self.d.request("GET", "/v1/events", token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual({e["workspace_id"] for e in r.json()["items"]}, {a["id"]})
        self.assertEqual(self.d.request("GET", f"/v1/events?workspace={b['id']}", token=tok).status, 404)
        self.assertEqual(self.d.request("GET", "/v1/webhooks", token=tok).status, 403)


class KillTest(Helpers, fctest.DaemonTest):
    """SIGKILL while deliveries are in flight: after the restart every event
    arrives, in order per workspace; a duplicate repeats its webhook-id."""
    CONFIG = CONFIG

    def test_sigkill_mid_delivery(self):
        rcv = Receiver(fctest.free_port(), mode="slow", delay=0.2).start()
        try:
            self.endpoint(rcv, ["workspace.*"])
            ws = self.lifecycle(10, "kill")
            fctest.wait_until(lambda: len(rcv.snapshot()) >= 4, timeout=10, what="first deliveries")
            self.d.kill()  # SIGKILL
            self.assertLess(len({m for m, _ in rcv.snapshot()}), 40, "all delivered before the kill")
            self.d.start()
            self.wait_for(rcv, ws, timeout=30)
            dupes = self.check_order(rcv, ws)
            self.assertGreaterEqual(dupes, 0)
        finally:
            rcv.stop()


class CrashBeforeRecordTest(Helpers, fctest.DaemonTest):
    """A success writes nothing per event: the endpoint's delivered-up-to
    cursor is written once per webhooks.record_ms (here 10 minutes, so never
    during the test). A daemon killed (SIGKILL) after delivering but before
    that write sends those events again after the restart — with the same
    webhook-ids, in order per workspace — and loses none."""
    CONFIG = {**CONFIG, "webhooks": {**CONFIG["webhooks"], "record_ms": 600000}}

    def test_sigkill_after_delivery_before_the_cursor_write(self):
        rcv = Receiver(fctest.free_port()).start()
        try:
            ep = self.endpoint(rcv, ["workspace.*"])
            ws = self.lifecycle(3, "unrec")
            self.wait_for(rcv, ws)
            first = collections.Counter(m for m, _ in rcv.snapshot())
            self.assertEqual(len(first), 12)
            self.assertTrue(all(n == 1 for n in first.values()), first)
            # No row for any of them: the log has them from memory only. The
            # receiver has a body before the daemon records its answer: wait.
            def logged():
                log = self.d.request("GET", f"/v1/webhooks/{ep['id']}/deliveries?limit=1000").json()["items"]
                return sorted(x["event_id"] for x in log) == sorted(first) and log
            log = fctest.wait_until(logged, timeout=10, what="every delivery in the log")
            self.assertTrue(all(not x["recorded"] and x["delivery_id"] is None for x in log), log)
            self.d.kill()  # SIGKILL: the cursor on disk is still where the endpoint began
            self.d.start()

            def all_again():
                got = collections.Counter(m for m, _ in rcv.snapshot())
                return all(got[m] >= 2 for m in first)
            fctest.wait_until(all_again, timeout=20, what="every delivered event sent again")
            dupes = self.check_order(rcv, ws)
            self.assertGreaterEqual(dupes, 12)
            # After the restart the log starts empty (memory) and fills again.
            fctest.wait_until(logged, timeout=10, what="every redelivery in the log")
        finally:
            rcv.stop()


def thread_stat(pid, name):
    """The /proc stat fields (from field 3 on) of the daemon's thread `name`."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        return stat[stat.rindex(")") + 2:].split()
    return None


class ThreadTest(Helpers, fctest.DaemonTest):
    """Delivery runs on its own thread, fc-webhooks, at nice 19 (the default
    webhooks.priority, low); SIGTERM while deliveries are in flight stops the
    daemon cleanly (exit 0: under the sanitizers, no report), and after the
    restart every event arrives, in order per workspace."""
    CONFIG = CONFIG

    def test_low_thread_then_sigterm_mid_delivery(self):
        fields = thread_stat(self.d.proc.pid, "fc-webhooks")
        self.assertIsNotNone(fields, "no fc-webhooks thread")
        self.assertEqual(int(fields[19 - 3]), 19, "nice (stat field 19)")
        self.assertEqual(int(fields[41 - 3]), 0, "policy (stat field 41) SCHED_OTHER")
        api = thread_stat(self.d.proc.pid, "fleetcommand")
        # The daemon inherits the test's niceness (0 unless the run is niced).
        self.assertEqual(int(api[19 - 3]), os.getpriority(os.PRIO_PROCESS, 0),
                         "the API's thread keeps the process's nice")
        rcv = Receiver(fctest.free_port(), mode="slow", delay=0.2).start()
        try:
            self.endpoint(rcv, ["workspace.*"])
            ws = self.lifecycle(10, "term")
            fctest.wait_until(lambda: len(rcv.snapshot()) >= 4, timeout=10, what="first deliveries")
            self.assertEqual(self.d.stop(), 0, self.d.logs())
            self.assertIn("stopped cleanly", self.d.logs())
            self.assertLess(len({m for m, _ in rcv.snapshot()}), 40, "all delivered before SIGTERM")
            self.d.start()
            self.wait_for(rcv, ws, timeout=30)
            self.check_order(rcv, ws)
        finally:
            rcv.stop()


class IdlePriorityTest(fctest.DaemonTest):
    """webhooks.priority: idle is SCHED_IDLE on the delivery thread only."""
    CONFIG = {**CONFIG, "webhooks": {**CONFIG["webhooks"], "priority": "idle"}}

    def test_sched_idle(self):
        fields = thread_stat(self.d.proc.pid, "fc-webhooks")
        self.assertIsNotNone(fields, "no fc-webhooks thread")
        self.assertEqual(int(fields[41 - 3]), 5, "policy (stat field 41) SCHED_IDLE")
        self.assertEqual(int(thread_stat(self.d.proc.pid, "fleetcommand")[41 - 3]), 0)


class RetentionMetricsTest(Helpers, fctest.DaemonTest):
    """events.retention_s: the daemon's periodic job (every second here)
    deletes delivered deliveries and the events every endpoint is done with,
    keeping each workspace's newest event; the fleetcommand_webhook_* series
    of /metrics count the deliveries and pass promtool."""
    CONFIG = {**CONFIG, "events": {"retention_s": 5}}

    def metrics(self):
        r = self.d.request("GET", "/metrics", auth=False)
        self.assertEqual(r.status, 200, r)
        return r.body.decode()

    def series(self, body, prefix):
        return [float(line.split()[-1]) for line in body.splitlines() if line.startswith(prefix)]

    def test_pruned_after_the_retention_and_counted(self):
        rcv = Receiver(fctest.free_port()).start()
        try:
            ep = self.endpoint(rcv, ["workspace.*"])
            ws = self.lifecycle(3, "ret")
            self.wait_for(rcv, ws)
            delivered = len({m for m, _ in rcv.snapshot()})
            eid = ep["id"]
            # The receiver has them; the daemon records the outcomes just after.
            pending = f'fleetcommand_webhook_pending_deliveries{{endpoint="{eid}"}}'
            fctest.wait_until(lambda: self.series(self.metrics(), pending) == [0.0], timeout=10,
                              what="outcomes recorded")

            def log():
                r = self.d.request("GET", f"/v1/webhooks/{eid}/deliveries?limit=1000")
                self.assertEqual(r.status, 200, r)
                return r.json()["items"]
            # Read before the retention (5 s) can prune them: under a loaded
            # -j4 run, promtool below took long enough for 2 s to pass.
            self.assertGreaterEqual(len(log()), delivered)
            body = self.metrics()
            self.assertEqual(self.series(body, f'fleetcommand_webhook_attempts_total{{endpoint="{eid}",outcome="delivered"}}'),
                             [float(len(rcv.snapshot()))], body[-3000:])
            self.assertEqual(self.series(body, f'fleetcommand_webhook_pending_deliveries{{endpoint="{eid}"}}'), [0.0])
            self.assertEqual(self.series(body, f'fleetcommand_webhook_oldest_pending_age_seconds{{endpoint="{eid}"}}'), [0.0])
            self.assertEqual(self.series(body, 'fleetcommand_webhook_endpoints{state="enabled"}'), [1.0])
            check = fctest.subprocess.run(["promtool", "check", "metrics"], input=body,
                                          capture_output=True, text=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertEqual((check.stdout + check.stderr).strip(), "", "promtool reported problems")
            fctest.wait_until(lambda: log() == [], timeout=20, what="delivered rows pruned")
            # Each workspace keeps its newest event (its sequence goes on from it).
            for w in ws:
                fctest.wait_until(lambda w=w: len(self.d.request("GET", f"/v1/events?workspace={w}")
                                                  .json()["items"]) == 1, timeout=20,
                                  what="old events pruned")
                items = self.d.request("GET", f"/v1/events?workspace={w}").json()["items"]
                self.assertEqual([(e["type"], e["workspace_seq"]) for e in items],
                                 [("workspace.deleted", 4)])
            # The counters move on the delivery thread right after each
            # batch commits, a moment after the API can see the rows gone.
            pruned = lambda table: self.series(self.metrics(),  # noqa: E731
                                               f'fleetcommand_retention_pruned_total{{table="{table}"}}')[0]
            fctest.wait_until(lambda: pruned("webhook_deliveries") >= delivered and pruned("events") >= 9,
                              timeout=10, what="pruned rows counted")
            self.assertGreaterEqual(pruned("webhook_deliveries"), delivered)
            self.assertGreaterEqual(pruned("events"), 9)
        finally:
            rcv.stop()


class GuardTest(fctest.DaemonTest):
    """Without webhooks.allow_private: loopback, private and link-local
    targets are refused at creation (422 naming url)."""

    def test_refused(self):
        for url in ("http://127.0.0.1:9/hook", "http://[::1]:9/", "http://10.1.2.3/",
                    "http://169.254.169.254/latest/meta-data", "http://localhost:8080/"):
            r = self.d.request("POST", "/v1/webhooks", {"url": url})
            self.assertEqual(r.status, 422, (url, r))
            self.assertEqual(r.json()["errors"][0]["field"], "url")
            self.assertRegex(r.json()["errors"][0]["message"], "loopback|private|link-local")

    def test_name_resolving_to_loopback_is_refused_at_connect(self):
        """A host name passes creation; the address it resolves to is checked
        at every connect, and a loopback one is never connected to."""
        name = None
        for candidate in ("ip6-localhost", "ip6-loopback", "localhost.localdomain"):
            try:
                if fctest.socket.getaddrinfo(candidate, 80):
                    name = candidate
                    break
            except OSError:
                pass
        if name is None:
            self.skipTest("no host name other than localhost resolves to loopback here")
        rcv = Receiver(fctest.free_port()).start()
        try:
            r = self.d.request("POST", "/v1/webhooks", {"url": f"http://{name}:{rcv.port}/hook"})
            self.assertEqual(r.status, 201, r)
            ep = r.json()
            r = self.d.request("POST", "/v1/regions", {"id": "guard-r", "name": "g", "labels": {},
                                                       "ingress": {"ipv4": ["192.0.2.1"], "ipv6": [], "hostname": None},
                                                       "capacity": {"memory_mib": 10, "cpu_millis": 10, "workspaces": 5}})
            self.assertEqual(r.status, 201, r)
            self.d.heartbeat(self.d.agent_token("guard-r"))
            self.d.request("POST", "/v1/workspaces", {"name": "guarded", "resources": RES})

            def refused():
                log = self.d.request("GET", f"/v1/webhooks/{ep['id']}/deliveries").json()["items"]
                return any("refused" in (x["last_error"] or "") for x in log)
            fctest.wait_until(refused, timeout=10, what="delivery refused")
            self.assertEqual(rcv.attempts, 0)
        finally:
            rcv.stop()


if __name__ == "__main__":
    fctest.main()
