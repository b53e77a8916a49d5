"""Scheduler end to end through the real daemon: regions, placement, the
capacity ledger under concurrency, the assignment log with long-polls,
status reports, migration, deletion, drain, fsck."""
import concurrent.futures
import json
import os
import sqlite3
import subprocess
import threading
import time
import unittest

import fctest
from fctest import Daemon, wait_until


class SchedulerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon({"agents": {"heartbeat_timeout_s": 2},
                        "scheduler": {"changelog_retention": 100,
                                      "changelog_retention_s": 1}}).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.d.stop()
        logs = cls.d.logs()
        cls.d.cleanup()
        assert code == 0, logs[-3000:]

    def region(self, rid, healthy=True, **kw):
        self.d.create_region(rid, **kw)
        tok = self.d.agent_token(rid)
        if healthy:
            self.d.heartbeat(tok)
        return tok

    def ws(self, name, mem=600, cpu=250, placement=None, expect=201, headers=None):
        body = {"name": name, "resources": {"memory_mib": mem, "cpu_millis": cpu}}
        if placement:
            body["placement"] = placement
        r = self.d.request("POST", "/v1/workspaces", body, headers=headers)
        self.assertEqual(r.status, expect, r)
        return r.json()

    def report(self, tok, items):
        r = self.d.request("POST", "/v1/agent/status", {"workspaces": items}, token=tok)
        self.assertEqual(r.status, 200, r)
        return r.json()["results"]

    def assignments(self, tok, since=0, wait=0):
        r = self.d.request("GET", f"/v1/agent/assignments?since={since}&wait={wait}", token=tok)
        return r

    def test_01_region_validation_and_conflicts(self):
        r = self.d.request("POST", "/v1/regions", {"id": "Bad_Id", "ingress": {"ipv4": ["1.2.3.4"]},
                                                   "capacity": {"memory_mib": 1, "cpu_millis": 1, "workspaces": 1}})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.headers["content-type"], "application/problem+json")
        self.assertTrue(any(e["field"] == "id" for e in r.json()["errors"]))
        r = self.d.request("POST", "/v1/regions", {"id": "x1", "ingress": {"ipv4": ["999.1.1.1"]},
                                                   "capacity": {"memory_mib": 0, "cpu_millis": 1, "workspaces": 1}})
        self.assertEqual(r.status, 422, r)
        fields = {e["field"] for e in r.json()["errors"]}
        self.assertIn("capacity.memory_mib", fields)
        self.region("val-1")
        r = self.d.request("POST", "/v1/regions", {"id": "val-1", "ingress": {"ipv4": ["1.2.3.4"]},
                                                   "capacity": {"memory_mib": 1, "cpu_millis": 1, "workspaces": 1}})
        self.assertEqual(r.status, 409, r)
        self.ws("reserved-check", expect=201, placement={"regions": ["val-1"]})
        r = self.d.request("POST", "/v1/workspaces", {"name": "www", "resources": {"memory_mib": 1, "cpu_millis": 1}})
        self.assertEqual(r.status, 422, r)
        r = self.d.request("POST", "/v1/workspaces", {"name": "reserved-check",
                                                      "resources": {"memory_mib": 1, "cpu_millis": 1}})
        self.assertEqual(r.status, 409, r)
        r = self.d.request("DELETE", "/v1/regions/val-1")
        self.assertEqual(r.status, 409, r)

    def test_02_no_capacity_reasons(self):
        self.region("cap-cordoned")
        self.d.request("PATCH", "/v1/regions/cap-cordoned", {"state": "cordoned"})
        self.region("cap-unknown", healthy=False)
        self.region("cap-small", capacity={"memory_mib": 300, "cpu_millis": 1000, "workspaces": 5})
        r = self.d.request("POST", "/v1/workspaces", {
            "name": "nofit", "resources": {"memory_mib": 600, "cpu_millis": 250},
            "placement": {"regions": ["cap-cordoned", "cap-unknown", "cap-small"]}})
        self.assertEqual(r.status, 503, r)
        body = r.json()
        self.assertTrue(body["type"].endswith("/no-capacity"))
        reasons = {x["id"]: x["reason"] for x in body["regions"]}
        self.assertEqual(reasons["cap-cordoned"], "cordoned")
        self.assertIn("health unknown", reasons["cap-unknown"])
        self.assertEqual(reasons["cap-small"], "memory_mib: 300 free < 600 requested")

    def test_03_unhealthy_then_back(self):
        tok = self.region("hb-1")
        time.sleep(2.5)  # heartbeat_timeout_s is 2
        r = self.d.request("GET", "/v1/regions/hb-1")
        self.assertEqual(r.json()["health"], "unhealthy")
        r = self.d.request("POST", "/v1/workspaces", {"name": "hb-ws", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                      "placement": {"regions": ["hb-1"]}})
        self.assertEqual(r.status, 503)
        reasons = {x["id"]: x["reason"] for x in r.json()["regions"]}
        self.assertTrue(reasons["hb-1"].startswith("unhealthy: no heartbeat for"), reasons)
        self.d.heartbeat(tok)
        self.ws("hb-ws", mem=1, cpu=1, placement={"regions": ["hb-1"]})

    def test_04_labels_prefer_and_spread(self):
        self.region("lab-eu-1", labels={"jurisdiction": "eu"})
        self.region("lab-eu-2", labels={"jurisdiction": "eu"})
        self.region("lab-us-1", labels={"jurisdiction": "us"})
        w = self.ws("lab-a", placement={"labels": {"jurisdiction": "us"}})
        self.assertEqual(w["region"], "lab-us-1")
        w = self.ws("lab-b", placement={"regions": ["lab-eu-1", "lab-eu-2"], "prefer": ["lab-eu-2"]})
        self.assertEqual(w["region"], "lab-eu-2")
        # spread: the next goes to the less allocated one
        w = self.ws("lab-c", placement={"regions": ["lab-eu-1", "lab-eu-2"]})
        self.assertEqual(w["region"], "lab-eu-1")

    def test_05_concurrent_creates_never_overcommit(self):
        self.region("race-1", capacity={"memory_mib": 100000, "cpu_millis": 100000, "workspaces": 10})

        def create(i):
            return self.d.request("POST", "/v1/workspaces", {
                "name": f"race-{i}", "resources": {"memory_mib": 10, "cpu_millis": 10},
                "placement": {"regions": ["race-1"]}}).status
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            statuses = list(ex.map(create, range(40)))
        self.assertEqual(statuses.count(201), 10, statuses)
        self.assertEqual(statuses.count(503), 30, statuses)
        r = self.d.request("GET", "/v1/regions/race-1").json()
        self.assertEqual(r["allocated"], {"memory_mib": 100, "cpu_millis": 100, "workspaces": 10})

    def test_06_idempotency_key(self):
        self.region("idem-1")
        body = {"name": "idem-a", "resources": {"memory_mib": 10, "cpu_millis": 10}, "placement": {"regions": ["idem-1"]}}
        h = {"Idempotency-Key": "k-123"}
        a = self.d.request("POST", "/v1/workspaces", body, headers=h)
        b = self.d.request("POST", "/v1/workspaces", body, headers=h)
        self.assertEqual(a.status, 201)
        self.assertEqual(b.status, 201)
        self.assertEqual(a.json()["id"], b.json()["id"])
        body["resources"]["memory_mib"] = 11
        c = self.d.request("POST", "/v1/workspaces", body, headers=h)
        self.assertEqual(c.status, 409, c)

    def set_replays(self):
        text = self.d.request("GET", "/metrics").body.decode()
        for line in text.splitlines():
            if line.startswith("fleetcommand_db_set_replays_total "):
                return float(line.split()[1])
        self.fail("no fleetcommand_db_set_replays_total in /metrics")

    def test_06b_same_key_in_one_batch_fails_only_that_create(self):
        # Set-based group commit (docs/storage.md): two creates with one
        # Idempotency-Key and different bodies in one batch make the batch's
        # one insert into idempotency_keys fail; the writer replays the batch
        # caller by caller, so only the second of the pair fails, as it would
        # in separate batches. Rounds until a replay happened (counted).
        self.region("idem-2", capacity={"memory_mib": 1 << 30, "cpu_millis": 1 << 30, "workspaces": 100000})
        before = self.set_replays()
        created = []

        def create(arg):
            rnd, i = arg
            h = {"Idempotency-Key": f"pair-{rnd}-{i // 2}"} if i < 24 else None
            r = self.d.request("POST", "/v1/workspaces", {
                "name": f"idem2-{rnd}-{i}", "resources": {"memory_mib": 1, "cpu_millis": 1},
                "placement": {"regions": ["idem-2"]}}, headers=h)
            return i, r
        for rnd in range(8):
            with concurrent.futures.ThreadPoolExecutor(32) as ex:
                results = dict(ex.map(create, [(rnd, i) for i in range(32)]))
            for i in range(24, 32):  # no key: never touched by the pairs
                self.assertEqual(results[i].status, 201, results[i])
                created.append(results[i].json()["id"])
            for p in range(12):
                a, b = results[2 * p], results[2 * p + 1]
                self.assertEqual(sorted([a.status, b.status]), [201, 409], (a, b))
                won = a if a.status == 201 else b
                lost = b if a.status == 201 else a
                self.assertEqual(lost.json()["status"], 409)
                created.append(won.json()["id"])
                # The loser left nothing behind: no workspace by its name.
                lost_name = f"idem2-{rnd}-{2 * p + (1 if won is a else 0)}"
                self.assertEqual(self.d.request("GET", f"/v1/workspaces/{lost_name}").status, 404)
            if self.set_replays() > before:
                break
        self.assertGreater(self.set_replays(), before, "no two creates of a pair shared a batch in 8 rounds")
        for wid in created:
            w = self.d.request("GET", f"/v1/workspaces/{wid}")
            self.assertEqual(w.status, 200, w)
            ev = self.d.request("GET", f"/v1/events?workspace={wid}").json()
            self.assertEqual([e["type"] for e in ev["items"]], ["workspace.created", "workspace.placed"], ev)
        r = self.d.request("GET", "/v1/regions/idem-2").json()
        self.assertEqual(r["allocated"]["workspaces"], len(created))

    def metric(self, name):
        text = self.d.request("GET", "/metrics").body.decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        self.fail(f"no {name} in /metrics")

    def test_06c_taken_names_in_a_batch_fail_only_those_creates(self):
        # docs/storage.md "Set-based group commit": a batch's workspaces are
        # one optimistic insert; a create whose name was taken (before, or by
        # the first of two same-name creates of one batch) fails alone with
        # 409, without replaying the batch. A name seen taken is checked at
        # once the next time, so repeating it never fails a batch's insert.
        tok = self.region("dup-1", capacity={"memory_mib": 1 << 30, "cpu_millis": 1 << 30,
                                             "workspaces": 100000})
        self.ws("dup-old", mem=1, cpu=1, placement={"regions": ["dup-1"]})
        rev0 = self.assignments(tok).json()["revision"]
        replays, taken = self.metric("fleetcommand_db_set_replays_total"), self.metric("fleetcommand_db_set_taken_total")
        created = {}

        def create(arg):
            rnd, i = arg
            name = f"dup-{rnd}-{i // 2}" if i < 24 else f"dup-solo-{rnd}-{i}"
            r = self.d.request("POST", "/v1/workspaces", {
                "name": name, "resources": {"memory_mib": 1, "cpu_millis": 1},
                "placement": {"regions": ["dup-1"]}})
            return i, r
        for rnd in range(4):
            with concurrent.futures.ThreadPoolExecutor(32) as ex:
                results = dict(ex.map(create, [(rnd, i) for i in range(32)]))
            for i in range(24, 32):
                self.assertEqual(results[i].status, 201, results[i])
                created[results[i].json()["id"]] = results[i].body
            for p in range(12):
                a, b = results[2 * p], results[2 * p + 1]
                self.assertEqual(sorted([a.status, b.status]), [201, 409], (a, b))
                won, lost = (a, b) if a.status == 201 else (b, a)
                self.assertEqual(lost.json()["status"], 409)
                created[won.json()["id"]] = won.body
        self.assertGreater(self.metric("fleetcommand_db_set_taken_total"), taken,
                           "no two creates of a pair shared a batch in 4 rounds")
        # A stream of creates of one taken name: all 409, no batch replayed,
        # at most the first of them lost at a flush.
        taken = self.metric("fleetcommand_db_set_taken_total")
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            dups = list(ex.map(lambda i: self.d.request("POST", "/v1/workspaces", {
                "name": "dup-old", "resources": {"memory_mib": 1, "cpu_millis": 1}}), range(64)))
        self.assertEqual({r.status for r in dups}, {409})
        self.assertLessEqual(self.metric("fleetcommand_db_set_taken_total") - taken, 16)
        self.assertEqual(self.metric("fleetcommand_db_set_replays_total"), replays)
        # The 201 bodies are the views GET shows (tenancy, release: from the
        # hook, not read back).
        for wid, body in created.items():
            g = self.d.request("GET", f"/v1/workspaces/{wid}")
            self.assertEqual(g.status, 200, g)
            got = g.json()
            got.pop("live", None)  # GET's live check (API.md), not part of the view
            self.assertEqual(got, json.loads(body))
        # Every create has its own revision: the region moved by exactly
        # their number, and the agent's log holds each of them.
        snap = self.assignments(tok, since=rev0).json()
        self.assertEqual(snap["revision"], rev0 + len(created))
        self.assertEqual(sorted(a["workspace_id"] for a in snap["assignments"]), sorted(created))
        r = self.d.request("GET", "/v1/regions/dup-1").json()
        self.assertEqual(r["allocated"]["workspaces"], len(created) + 1)

    def test_07_pagination_stable(self):
        self.region("page-1")
        for i in range(7):
            self.ws(f"page-{i}", mem=1, cpu=1, placement={"regions": ["page-1"]})
        seen, cursor = [], ""
        for _ in range(10):
            r = self.d.request("GET", f"/v1/workspaces?region=page-1&limit=3&cursor={cursor}").json()
            seen += [w["name"] for w in r["items"]]
            cursor = r["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [f"page-{i}" for i in range(7)])
        self.assertEqual(self.d.request("GET", "/v1/workspaces?limit=5000").status, 422)

    def test_08_assignments_longpoll_status_dns(self):
        tok = self.region("ag-1")
        snap = self.assignments(tok).json()
        self.assertTrue(snap["complete"])
        rev = snap["revision"]
        result = {}

        def poll():
            t0 = time.monotonic()
            result["r"] = self.assignments(tok, since=rev, wait=20)
            result["t"] = time.monotonic() - t0
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.5)
        w = self.ws("ag-a", placement={"regions": ["ag-1"]})
        th.join(10)
        self.assertFalse(th.is_alive())
        self.assertLess(result["t"], 3.0)
        page = result["r"].json()
        self.assertFalse(page["complete"])
        self.assertEqual([a["workspace_id"] for a in page["assignments"]], [w["id"]])
        a = page["assignments"][0]
        self.assertEqual(a["action"], "apply")
        self.assertEqual(a["hostnames"], ["ag-a.fleet.test"])
        # long-poll with nothing new returns after `wait` with the same revision
        t0 = time.monotonic()
        empty = self.assignments(tok, since=page["revision"], wait=1).json()
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(empty["assignments"], [])
        self.assertEqual(empty["revision"], page["revision"])
        # revision beyond the log → 410
        self.assertEqual(self.assignments(tok, since=page["revision"] + 100).status, 410)
        # status: provisioning, then running publishes DNS
        res = self.report(tok, [{"workspace_id": w["id"], "generation": 1, "phase": "provisioning"}])
        self.assertTrue(res[0]["accepted"])
        self.assertFalse(self.d.request("GET", f"/v1/workspaces/{w['id']}").json()["dns"]["published"])
        self.report(tok, [{"workspace_id": w["id"], "generation": 1, "phase": "running"}])
        got = self.d.request("GET", "/v1/workspaces/ag-a").json()
        since = got["observed"].pop("since")
        self.assertEqual(got["observed"], {"generation": 1, "phase": "running", "message": ""})
        self.assertRegex(since, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # the same report again is no transition: `since` stays
        self.report(tok, [{"workspace_id": w["id"], "generation": 1, "phase": "running"}])
        again = self.d.request("GET", "/v1/workspaces/ag-a").json()["observed"]["since"]
        self.assertEqual(again, since)
        self.assertTrue(got["dns"]["published"])
        # another region's agent cannot report on it
        other = self.region("ag-2")
        res = self.report(other, [{"workspace_id": w["id"], "generation": 1, "phase": "failed"}])
        self.assertFalse(res[0]["accepted"])
        self.assertIn("not assigned", res[0]["error"])
        # an agent token sees only its own region
        mine = self.assignments(other).json()
        self.assertEqual(mine["region"], "ag-2")
        self.assertEqual(mine["assignments"], [])

    def test_09_patch_bumps_generation(self):
        tok = self.region("pt-1", capacity={"memory_mib": 1000, "cpu_millis": 1000, "workspaces": 5})
        w = self.ws("pt-a", mem=500, placement={"regions": ["pt-1"]})
        r = self.d.request("PATCH", f"/v1/workspaces/{w['id']}", {"spec": {"image": "chat:2"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["generation"], 2)
        r = self.d.request("PATCH", f"/v1/workspaces/{w['id']}", {"resources": {"memory_mib": 2000, "cpu_millis": 250}})
        self.assertEqual(r.status, 409, r)
        r = self.d.request("PATCH", f"/v1/workspaces/{w['id']}", {"resources": {"memory_mib": 900, "cpu_millis": 250}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.d.request("GET", "/v1/regions/pt-1").json()["allocated"]["memory_mib"], 900)
        snap = self.assignments(tok).json()
        a = [x for x in snap["assignments"] if x["workspace_id"] == w["id"]][0]
        self.assertEqual(a["generation"], 3)
        self.assertEqual(a["spec"], {"image": "chat:2"})

    def test_10_migrate_then_delete_in_old_after_running(self):
        t_old = self.region("mg-old")
        t_new = self.region("mg-new")
        w = self.ws("mg-a", placement={"regions": ["mg-old"]})
        self.report(t_old, [{"workspace_id": w["id"], "generation": 1, "phase": "running"}])
        r = self.d.request("POST", f"/v1/workspaces/{w['id']}/migrate", {"region": "mg-new"})
        self.assertEqual(r.status, 202, r)
        gen = r.json()["generation"]
        self.assertEqual(r.json()["state"], "migrating")
        # the old region gets no delete before the new one runs it
        old = self.assignments(t_old).json()
        self.assertEqual([a["action"] for a in old["assignments"] if a["workspace_id"] == w["id"]], ["apply"])
        new = self.assignments(t_new).json()
        self.assertEqual([a["generation"] for a in new["assignments"] if a["workspace_id"] == w["id"]], [gen])
        self.assertEqual(self.d.request("GET", "/v1/workspaces/mg-a").json()["dns"]["region"], "mg-old")
        self.report(t_new, [{"workspace_id": w["id"], "generation": gen, "phase": "running"}])
        got = self.d.request("GET", "/v1/workspaces/mg-a").json()
        self.assertEqual((got["region"], got["state"], got["dns"]["region"]), ("mg-new", "scheduled", "mg-new"))
        old = self.assignments(t_old).json()
        self.assertEqual([a["action"] for a in old["assignments"] if a["workspace_id"] == w["id"]], ["delete"])
        # capacity in the old region is freed only after its agent says deleted
        self.assertEqual(self.d.request("GET", "/v1/regions/mg-old").json()["allocated"]["workspaces"], 1)
        self.report(t_old, [{"workspace_id": w["id"], "generation": gen, "phase": "deleted"}])
        self.assertEqual(self.d.request("GET", "/v1/regions/mg-old").json()["allocated"]["workspaces"], 0)

    def test_10b_delete_after_migration_before_old_region_confirms(self):
        # Found by bench/reliability: a workspace deleted after its migration
        # finished but before the old region confirmed `deleted` lost its old
        # placement row by cascade, and the old region kept the allocation.
        t_old = self.region("mgd-old")
        t_new = self.region("mgd-new")
        w = self.ws("mgd-a", placement={"regions": ["mgd-old"]})
        self.report(t_old, [{"workspace_id": w["id"], "generation": 1, "phase": "running"}])
        r = self.d.request("POST", f"/v1/workspaces/{w['id']}/migrate", {"region": "mgd-new"})
        self.assertEqual(r.status, 202, r)
        gen = r.json()["generation"]
        self.report(t_new, [{"workspace_id": w["id"], "generation": gen, "phase": "running"}])
        r = self.d.request("DELETE", f"/v1/workspaces/{w['id']}")
        self.assertEqual(r.status, 202, r)
        dgen = r.json()["generation"]
        self.report(t_new, [{"workspace_id": w["id"], "generation": dgen, "phase": "deleted"}])
        alloc = lambda rid: self.d.request("GET", f"/v1/regions/{rid}").json()["allocated"]["workspaces"]
        self.assertEqual(alloc("mgd-new"), 0)
        # the old region still runs it until its agent says deleted
        self.assertEqual(alloc("mgd-old"), 1)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}").status, 200)
        fsck = self.d.cli("fsck")
        self.assertEqual(fsck.returncode, 0, fsck.stdout + fsck.stderr)
        self.report(t_old, [{"workspace_id": w["id"], "generation": gen, "phase": "deleted"}])
        self.assertEqual(alloc("mgd-old"), 0)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}").status, 404)

    def test_11_delete_waits_for_agent_and_force(self):
        tok = self.region("del-1")
        w = self.ws("del-a", placement={"regions": ["del-1"]})
        r = self.d.request("DELETE", f"/v1/workspaces/{w['id']}")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}").json()["state"], "deleting")
        self.assertEqual(self.d.request("GET", "/v1/regions/del-1").json()["allocated"]["workspaces"], 1)
        self.report(tok, [{"workspace_id": w["id"], "generation": r.json()["generation"], "phase": "deleted"}])
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}").status, 404)
        self.assertEqual(self.d.request("GET", "/v1/regions/del-1").json()["allocated"]["workspaces"], 0)
        w = self.ws("del-b", placement={"regions": ["del-1"]})
        self.assertEqual(self.d.request("DELETE", f"/v1/workspaces/{w['id']}?force=true").status, 202)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}").status, 404)
        self.assertEqual(self.d.request("DELETE", "/v1/regions/del-1").status, 204)

    def test_12_drain_moves_one_at_a_time(self):
        t_src = self.region("dr-src")
        t_dst = self.region("dr-dst")
        ids = [self.ws(f"dr-{i}", placement={"regions": ["dr-src", "dr-dst"], "prefer": ["dr-src"]})["id"]
               for i in range(3)]
        self.d.request("PATCH", "/v1/regions/dr-src", {"state": "draining"})
        def moving_now():
            # heartbeat_timeout_s is 2 in this class: keep both regions healthy
            self.d.heartbeat(t_src)
            self.d.heartbeat(t_dst)
            return self.d.request("GET", "/v1/regions/dr-src").json()["drain"]["moving"]
        for _ in range(3):
            moving = wait_until(moving_now, timeout=10, interval=0.2, what="a workspace moving")
            migrating = [i for i in ids if self.d.request("GET", f"/v1/workspaces/{i}").json()["state"] == "migrating"]
            self.assertEqual(migrating, [moving])
            gen = self.d.request("GET", f"/v1/workspaces/{moving}").json()["generation"]
            self.report(t_dst, [{"workspace_id": moving, "generation": gen, "phase": "running"}])
            self.report(t_src, [{"workspace_id": moving, "generation": gen, "phase": "deleted"}])
        wait_until(lambda: self.d.request("GET", "/v1/regions/dr-src").json()["allocated"]["workspaces"] == 0,
                   timeout=10, what="drain finished")
        for i in ids:
            self.assertEqual(self.d.request("GET", f"/v1/workspaces/{i}").json()["region"], "dr-dst")

    def test_13_tenant_sees_only_its_workspace(self):
        self.region("tn-1")
        a = self.ws("tn-a", placement={"regions": ["tn-1"]})
        b = self.ws("tn-b", placement={"regions": ["tn-1"]})
        tt = self.d.request("POST", f"/v1/workspaces/{a['id']}/tenant-tokens").json()["token"]
        self.assertTrue(tt.startswith("fc_tnt_"))
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{a['id']}", token=tt).status, 200)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{b['id']}", token=tt).status, 404)
        self.assertEqual(self.d.request("GET", "/v1/workspaces", token=tt).status, 403)
        self.assertEqual(self.d.request("GET", "/v1/agent/assignments", token=tt).status, 403)

    def test_14_log_compaction_and_410(self):
        tok = self.region("cp-1", capacity={"memory_mib": 100000, "cpu_millis": 100000, "workspaces": 1000})
        w = self.ws("cp-gone", mem=1, cpu=1, placement={"regions": ["cp-1"]})
        r = self.d.request("DELETE", f"/v1/workspaces/{w['id']}?force=true")
        self.assertEqual(r.status, 202, r)
        tomb_rev = self.assignments(tok).json()["revision"]
        for i in range(105):  # push the tombstone out of the retained window (100)
            if i % 10 == 0:  # heartbeat_timeout_s is 2: 105 creates take longer on a loaded machine
                self.d.heartbeat(tok)
            self.ws(f"cp-{i}", mem=1, cpu=1, placement={"regions": ["cp-1"]})
        wait_until(lambda: self.assignments(tok, since=tomb_rev - 1).status == 410, timeout=10,
                   what="compaction of the tombstone")
        r = self.assignments(tok, since=tomb_rev - 1)
        self.assertTrue(r.json()["type"].endswith("/gone"))
        # from the compaction point on, changes are still served
        ok = self.assignments(tok, since=tomb_rev)
        self.assertEqual(ok.status, 200, ok)
        self.assertEqual(len(ok.json()["assignments"]), 105)
        # a re-list from 0 is complete and has no trace of the deleted workspace
        snap = self.assignments(tok).json()
        self.assertTrue(snap["complete"])
        self.assertNotIn(w["id"], {a["workspace_id"] for a in snap["assignments"]})

    def test_99_fsck(self):
        db = os.path.join(self.d.dir, "var", "fleetcommand.db")
        r = subprocess.run([fctest.FC_BIN, "fsck", "--config", self.d.config_path()], cwd=self.d.dir,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        if fctest.BACKEND == "postgres":  # the ledger drifted in the daemon's own database
            url = self.d.config["storage"]["postgres_url"]

            def sql(q):
                subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", q], check=True,
                               capture_output=True, timeout=30)
            sql("UPDATE regions SET alloc_memory_mib = alloc_memory_mib + 7 WHERE id = 'race-1'")
            try:
                r = self.d.cli("fsck", timeout=30)
            finally:
                sql("UPDATE regions SET alloc_memory_mib = alloc_memory_mib - 7 WHERE id = 'race-1'")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("region race-1", r.stdout)
            return
        copy = os.path.join(self.d.dir, "copy.db")
        src = sqlite3.connect(db)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.execute("UPDATE regions SET alloc_memory_mib = alloc_memory_mib + 7 WHERE id = 'race-1'")
        dst.commit()
        dst.close()
        env = dict(os.environ, FLEETCOMMAND_DATABASE_PATH=copy)
        r = subprocess.run([fctest.FC_BIN, "fsck"], cwd=self.d.dir, env=env, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("region race-1", r.stdout)


if __name__ == "__main__":
    fctest.main()
