"""Tenants, plans and quotas, suspend/resume and usage against the real daemon
(docs/tenants.md): every quota (max_workspaces, max_custom_domains,
allowed_regions) answered 422 naming it, a plan change that no longer fits
409, quotas under concurrent creates, suspend/resume through the reference
agent's GitOps output (--out), and usage surviving a SIGKILL. Loopback only,
private temp dirs, every wait bounded."""
import csv
import io
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import eventfeed
import fctest

PLANS = {
    "small": {"resources": {"memory_mib": 256, "cpu_millis": 100}, "max_workspaces": 2,
              "max_custom_domains": 1, "allowed_regions": ["eu"], "trial_days": 14},
    "large": {"resources": {"memory_mib": 1024, "cpu_millis": 500}, "max_custom_domains": 3},
    "huge": {"resources": {"memory_mib": 3000, "cpu_millis": 500}},
    "us-only": {"resources": {"memory_mib": 128, "cpu_millis": 50}, "allowed_regions": ["us"]},
}


def k8s_name(ws_id):
    return "".join(c if c.isalnum() else "-" for c in ws_id.lower())


class Tenants(fctest.DaemonTest):
    # Claimed domains are verified through resolver.servers: a loopback port
    # nobody answers, so nothing leaves the machine.
    CONFIG = {"plans": PLANS, "agents": {"heartbeat_timeout_s": 3600},  # one heartbeat suffices
              "resolver": {"servers": [f"127.0.0.1:{fctest.free_port(fctest.socket.SOCK_DGRAM)}"]}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        d.create_region("eu")
        d.create_region("us")
        cls.agent_token = d.agent_token("eu")
        d.heartbeat(cls.agent_token)
        d.heartbeat(d.agent_token("us"))

    def tenant(self, name):
        r = self.d.request("POST", "/v1/tenants", {"name": name})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def create(self, name, **body):
        return self.d.request("POST", "/v1/workspaces", {"name": name, **body})

    def ws_events(self, ws_id, prefix):
        """(type, data) of the workspace's events of a family, in order; the
        feed's invariants checked on the whole of it."""
        feed = eventfeed.read_all(self.d)
        eventfeed.check_invariants(self, feed)
        return [(e["type"], e["data"]) for e in feed if e.get("workspace_id") == ws_id
                and e["type"].startswith(prefix) and e["subject"] == ws_id]

    def assert_field(self, r, field, contains):
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json")
        errs = r.json()["errors"]
        self.assertEqual(errs[0]["field"], field, errs)
        self.assertIn(contains, errs[0]["message"])

    def test_plans_listed(self):
        r = self.d.request("GET", "/v1/plans")
        self.assertEqual(r.status, 200, r)
        plans = {p["name"]: p for p in r.json()["items"]}
        self.assertEqual(set(plans), set(PLANS))
        self.assertEqual(plans["small"]["max_workspaces"], 2)
        self.assertEqual(plans["small"]["allowed_regions"], ["eu"])
        self.assertIsNone(plans["large"]["max_workspaces"])

    def test_tenants_create_list_get(self):
        t = self.tenant("list-me")
        self.assertTrue(t["id"].startswith("ten_"))
        self.assertEqual(self.d.request("POST", "/v1/tenants", {"name": "list-me"}).status, 409)
        self.assert_field(self.d.request("POST", "/v1/tenants", {"name": "Bad Name"}), "name", "a-z")
        ids = [x["id"] for x in self.d.request("GET", "/v1/tenants").json()["items"]]
        self.assertIn(t["id"], ids)
        ws = self.create("lm-one", tenant="list-me", plan="large").json()
        got = self.d.request("GET", f"/v1/tenants/{t['id']}").json()
        self.assertEqual(got["workspaces"], [ws["id"]])
        self.assertEqual(self.d.request("GET", "/v1/tenants/nope").status, 404)

    def test_create_with_plan_takes_its_resources_and_shows_tenancy(self):
        t = self.tenant("acme")
        r = self.create("acme-one", tenant="acme", plan="small")
        self.assertEqual(r.status, 201, r)
        ws = r.json()
        self.assertEqual(ws["resources"], {"memory_mib": 256, "cpu_millis": 100})
        self.assertEqual((ws["tenant"], ws["plan"], ws["suspended"]), (t["id"], "small", False))
        self.assertEqual(ws["region"], "eu")  # allowed_regions is a placement filter
        self.assertIn("trial_ends_at", ws)
        # Both plan and resources: ambiguous.
        r = self.create("acme-x", plan="small", resources={"memory_mib": 1, "cpu_millis": 1})
        self.assert_field(r, "resources", "plan")
        self.assert_field(self.create("acme-y", plan="gold"), "plan", "no plan gold")
        self.assert_field(self.create("acme-z", tenant="ghost", plan="small"), "tenant", "no tenant")

    def test_quota_max_workspaces(self):
        self.tenant("maxed")
        for n in ("m1", "m2"):
            self.assertEqual(self.create(n, tenant="maxed", plan="small").status, 201)
        r = self.create("m3", tenant="maxed", plan="small")
        self.assert_field(r, "tenant", "max_workspaces 2")
        self.assertEqual(self.d.request("GET", "/v1/workspaces/m3").status, 404)  # nothing half-written

    def test_quota_max_workspaces_holds_under_concurrent_creates(self):
        self.tenant("racer")
        results = []

        def go(i):
            results.append(self.create(f"race-{i}", tenant="racer", plan="small").status)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        self.assertEqual(sorted(results), [201, 201] + [422] * 6)

    def test_quota_allowed_regions(self):
        r = self.create("eu-only", plan="small", placement={"regions": ["us"]})
        self.assert_field(r, "placement.regions", "allowed_regions")
        r = self.create("us-one", plan="us-only")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["region"], "us")
        # A plan whose regions exclude the workspace's region: 422 naming the quota.
        r = self.d.request("PATCH", "/v1/workspaces/us-one", {"plan": "small"})
        self.assert_field(r, "plan", "allowed_regions")

    def test_quota_max_custom_domains_and_plan_change(self):
        self.tenant("doms")
        ws = self.create("doms-one", tenant="doms", plan="small").json()
        claim = lambda h: self.d.request("POST", f"/v1/workspaces/{ws['id']}/domains", {"hostname": h})
        self.assertEqual(claim("a.doms.test").status, 201)
        r = claim("b.doms.test")
        self.assertEqual(r.status, 422, r)
        self.assertIn("max_custom_domains 1", r.json()["detail"])
        # Upgrade: the plan's resources (a new generation), more domains allowed.
        r = self.d.request("PATCH", f"/v1/workspaces/{ws['id']}", {"plan": "large"})
        self.assertEqual(r.status, 200, r)
        up = r.json()
        self.assertEqual((up["plan"], up["resources"]["memory_mib"]), ("large", 1024))
        self.assertGreater(up["generation"], ws["generation"])
        for h in ("b.doms.test", "c.doms.test"):
            self.assertEqual(claim(h).status, 201)
        # Downgrade with 3 domains in use: 422 naming the quota, nothing changed.
        r = self.d.request("PATCH", f"/v1/workspaces/{ws['id']}", {"plan": "small"})
        self.assert_field(r, "plan", "max_custom_domains 1 < 3 domains in use")
        now = self.d.request("GET", f"/v1/workspaces/{ws['id']}").json()
        self.assertEqual((now["plan"], now["generation"]), ("large", up["generation"]))
        # One workspace.plan_changed, for the upgrade, with the new view; the refused downgrade has none.
        changed = self.ws_events(ws["id"], "workspace.plan_changed")
        self.assertEqual(len(changed), 1, changed)
        view = changed[0][1]
        self.assertEqual((view["plan"], view["resources"]["memory_mib"], view["generation"], view["tenant"]),
                         ("large", 1024, up["generation"], up["tenant"]))

    def test_plan_change_that_no_longer_fits_is_409(self):
        self.d.create_region("tight", capacity={"memory_mib": 4096, "cpu_millis": 32000,
                                                "workspaces": 100})
        self.d.heartbeat(self.d.agent_token("tight"))
        ws = self.create("fits-not", plan="large", placement={"regions": ["tight"]}).json()
        r = self.d.request("PATCH", f"/v1/workspaces/{ws['id']}", {"plan": "huge"})
        self.assertEqual(r.status, 200, r)  # 3000 of 4096 MiB: fits
        r = self.create("filler", plan="large", placement={"regions": ["tight"]})
        self.assertEqual(r.status, 201, r)
        filler = r.json()
        r = self.d.request("PATCH", "/v1/workspaces/filler", {"plan": "huge"})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(self.d.request("GET", "/v1/workspaces/filler").json()["plan"], "large")
        # The change that fit has its event; the 409 (rolled back) has none.
        self.assertEqual([v["plan"] for _, v in self.ws_events(ws["id"], "workspace.plan_changed")], ["huge"])
        self.assertEqual(self.ws_events(filler["id"], "workspace.plan_changed"), [])

    def test_tenant_wide_token_sees_only_its_tenant(self):
        t = self.tenant("scoped")
        self.tenant("neighbour")
        mine = [self.create(n, tenant="scoped", plan="large").json()["id"] for n in ("sc-a", "sc-b")]
        theirs = self.create("nb-a", tenant="neighbour", plan="large").json()["id"]
        r = self.d.request("POST", "/v1/tenants/scoped/tokens")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["tenant_id"], t["id"])
        tok = r.json()["token"]
        self.assertTrue(tok.startswith("fc_tnt_"))
        r = self.d.request("GET", "/v1/workspaces", token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(w["id"] for w in r.json()["items"]), sorted(mine))
        r = self.d.request("GET", "/v1/workspaces?limit=1", token=tok)
        self.assertEqual([w["id"] for w in r.json()["items"]], sorted(mine)[:1])
        self.assertEqual(r.json()["next_cursor"], sorted(mine)[0])
        for ws in mine:
            self.assertEqual(self.d.request("GET", f"/v1/workspaces/{ws}", token=tok).status, 200)
            self.assertEqual(self.d.request("GET", f"/v1/workspaces/{ws}/status", token=tok).status, 200)
        r = self.d.request("POST", f"/v1/workspaces/{mine[0]}/domains", {"hostname": "x.scoped.test"},
                           token=tok)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.d.request("GET", "/v1/domains/x.scoped.test", token=tok).status, 200)
        # The neighbour's workspace and domains: 404, as if they did not exist.
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{theirs}", token=tok).status, 404)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{theirs}/status", token=tok).status, 404)
        r = self.d.request("POST", f"/v1/workspaces/{theirs}/domains", {"hostname": "y.nb.test"},
                           token=tok)
        self.assertEqual(r.status, 404, r)
        self.assertEqual(self.d.request("POST", f"/v1/workspaces/{theirs}/domains",
                                        {"hostname": "y.nb.test"}).status, 201)
        for path in ("/v1/domains/y.nb.test", "/v1/domains/y.nb.test/status"):
            self.assertEqual(self.d.request("GET", path, token=tok).status, 404, path)
        self.assertEqual(self.d.request("DELETE", "/v1/domains/y.nb.test", token=tok).status, 404)
        # Usage: its own tenant's workspaces only; naming another tenant is 404.
        time.sleep(1.1)  # a whole second metered for each
        r = self.d.request("GET", "/v1/usage", token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["tenant"], t["id"])
        self.assertEqual({u["workspace_id"] for u in r.json()["items"]}, set(mine))
        self.assertEqual(self.d.request("GET", "/v1/usage?tenant=neighbour", token=tok).status, 404)
        self.assertEqual(self.d.request("GET", "/v1/usage?tenant=scoped", token=tok).status, 200)
        # Admin routes stay closed.
        for method, path in (("GET", "/v1/tenants"), ("POST", f"/v1/workspaces/{mine[0]}/suspend"),
                             ("PATCH", f"/v1/workspaces/{mine[0]}")):
            body = {} if method in ("POST", "PATCH") else None
            self.assertEqual(self.d.request(method, path, body, token=tok).status, 403, path)
        # A workspace's own tenant token keeps working as before, and cannot list.
        r = self.d.request("POST", f"/v1/workspaces/{mine[0]}/tenant-tokens")
        one = r.json()["token"]
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{mine[0]}", token=one).status, 200)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{mine[1]}", token=one).status, 404)
        self.assertEqual(self.d.request("GET", "/v1/workspaces", token=one).status, 403)
        r = self.d.request("GET", "/v1/usage", token=one)  # that workspace's rows only
        self.assertEqual(r.status, 200, r)
        self.assertEqual({u["workspace_id"] for u in r.json()["items"]}, {mine[0]})
        self.assertEqual(self.d.request("GET", "/v1/usage?tenant=neighbour", token=one).status, 404)
        self.assertEqual(self.d.request("POST", "/v1/tenants/nobody/tokens").status, 404)

    def run_agent(self, root):
        with open(os.path.join(root, "token"), "w") as f:
            f.write(self.agent_token + "\n")
        args = [fctest.FC_BIN, "agent", "--api", f"http://127.0.0.1:{self.d.api_port}",
                "--token-file", os.path.join(root, "token"), "--state-dir", os.path.join(root, "state"),
                "--agent-id", "tenants-itest", "--out", os.path.join(root, "out"), "--once",
                "--set", "suspended_service=billing-page"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def load(self, root, kind, ws_id):
        with open(os.path.join(root, "out", "fleet", f"{kind}-{k8s_name(ws_id)}.json")) as f:
            return json.load(f)

    def test_suspend_and_resume_through_the_agent(self):
        ws = self.create("sleepy", plan="small").json()
        root = tempfile.mkdtemp(prefix="fc-tenants-agent-", dir=self.d.dir)
        self.run_agent(root)
        self.assertEqual(self.load(root, "deployment", ws["id"])["spec"]["replicas"], 1)
        r = self.d.request("POST", f"/v1/workspaces/{ws['id']}/suspend")
        self.assertEqual(r.status, 202, r)
        self.assertTrue(r.json()["suspended"])
        self.assertEqual(self.d.request("POST", f"/v1/workspaces/{ws['id']}/suspend").status, 409)
        a = self.d.request("GET", "/v1/agent/assignments?since=0&wait=0", token=self.agent_token).json()
        mine = [x for x in a["assignments"] if x["workspace_id"] == ws["id"]]
        self.assertTrue(mine[0]["suspended"])
        self.run_agent(root)
        self.assertEqual(self.load(root, "deployment", ws["id"])["spec"]["replicas"], 0)
        paths = self.load(root, "ingress", ws["id"])["spec"]["rules"][0]["http"]["paths"]
        self.assertEqual(paths[0]["backend"]["service"]["name"], f"{k8s_name(ws['id'])}-acme")
        self.assertEqual(paths[1]["backend"]["service"]["name"], "billing-page")
        view = self.d.request("GET", f"/v1/workspaces/{ws['id']}").json()
        self.assertEqual(view["observed"]["phase"], "suspended")
        self.assertTrue(view["dns"]["published"])  # DNS stays while suspended
        r = self.d.request("POST", f"/v1/workspaces/{ws['id']}/resume")
        self.assertEqual(r.status, 202, r)
        self.assertFalse(r.json()["suspended"])
        self.run_agent(root)
        self.assertEqual(self.load(root, "deployment", ws["id"])["spec"]["replicas"], 1)
        paths = self.load(root, "ingress", ws["id"])["spec"]["rules"][0]["http"]["paths"]
        self.assertEqual(paths[1]["backend"]["service"]["name"], k8s_name(ws["id"]))
        view = self.d.request("GET", f"/v1/workspaces/{ws['id']}").json()
        self.assertEqual(view["observed"]["phase"], "running")
        # One event per transition (the refused second suspend has none), each with the view.
        got = self.ws_events(ws["id"], "workspace.")
        kinds = [t for t, _ in got if t in ("workspace.suspended", "workspace.resumed")]
        self.assertEqual(kinds, ["workspace.suspended", "workspace.resumed"])
        views = {t: v for t, v in got}
        self.assertEqual((views["workspace.suspended"]["id"], views["workspace.suspended"]["suspended"]),
                         (ws["id"], True))
        self.assertFalse(views["workspace.resumed"]["suspended"])
        self.assertEqual(views["workspace.resumed"]["plan"], "small")

    def test_usage_json_csv_and_bad_queries(self):
        t = self.tenant("meter")
        ws = self.create("metered", tenant="meter", plan="small").json()
        self.assertEqual(self.d.request("POST", f"/v1/workspaces/{ws['id']}/suspend").status, 202)
        time.sleep(1.1)
        # A period that has ended: the open interval counts up to `to` in every answer.
        end = int(time.time())
        period = f"from={end - 86400}&to={end}"
        r = self.d.request("GET", f"/v1/usage?tenant=meter&granularity=day&{period}")
        self.assertEqual(r.status, 200, r)
        u = r.json()
        self.assertEqual((u["tenant"], u["granularity"]), (t["id"], "day"))
        states = {x["state"] for x in u["items"]}
        self.assertIn("suspended", states)
        self.assertTrue(all(x["workspace_id"] == ws["id"] for x in u["items"]))
        self.assertGreaterEqual(u["totals"]["suspended_seconds"], 1)
        r = self.d.request("GET", f"/v1/usage?tenant=meter&{period}", headers={"Accept": "text/csv"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("content-type").startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(r.body.decode())))
        self.assertEqual(sum(int(x["seconds"]) for x in rows),
                         u["totals"]["running_seconds"] + u["totals"]["suspended_seconds"])
        for q, field in [("from=yesterday", "from"), ("granularity=week", "granularity"),
                         ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to")]:
            self.assert_field(self.d.request("GET", f"/v1/usage?{q}"), field, "")
        self.assertEqual(self.d.request("GET", "/v1/usage?tenant=nobody").status, 404)


class UsageSurvivesSigkill(unittest.TestCase):
    """SIGKILL loses no usage: what was metered before the kill is still
    there after the restart, and the seconds since count once."""

    def test_sigkill_keeps_usage(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        d = fctest.Daemon({"plans": PLANS}).start()
        try:
            d.create_region("eu")
            d.heartbeat(d.agent_token("eu"))
            self.assertEqual(d.request("POST", "/v1/tenants", {"name": "crash"}).status, 201)
            ws = d.request("POST", "/v1/workspaces", {"name": "crashy", "tenant": "crash",
                                                      "plan": "small"}).json()
            self.assertEqual(d.request("POST", f"/v1/workspaces/{ws['id']}/suspend").status, 202)
            t0 = time.time()
            time.sleep(1.5)
            before = d.request("GET", "/v1/usage?tenant=crash").json()["totals"]
            d.stop(sig=signal.SIGKILL)
            time.sleep(1.0)
            d.start()
            after = d.request("GET", "/v1/usage?tenant=crash").json()["totals"]
            elapsed = time.time() - t0
            total_before = before["running_seconds"] + before["suspended_seconds"]
            total_after = after["running_seconds"] + after["suspended_seconds"]
            self.assertGreaterEqual(after["suspended_seconds"], before["suspended_seconds"])
            self.assertGreaterEqual(total_after, total_before + 1)  # the downtime counts
            self.assertLessEqual(total_after, elapsed + 3)  # never twice
        finally:
            d.stop()
            d.cleanup()


if __name__ == "__main__":
    fctest.main()
