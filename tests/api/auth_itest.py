"""Tokens and scopes against the real daemon: every route of API.md with every
token kind, token listing and revocation, offline admin tokens, the admin
token file, and no secret in the log."""
import os
import stat
import unittest
import urllib.parse

import fctest

A, B = "region-a", "region-b"

# The route table of API.md ("Authentication and scopes"). Scope: admin,
# agent, tenant (admin or the workspace's tenant), public.
# {ws} is filled with the workspace under test, {other_ws} with another one.
ROUTES = [
    ("GET", "/healthz", "public"), ("GET", "/readyz", "public"), ("GET", "/metrics", "public"),
    ("GET", "/v1/tokens", "admin"), ("DELETE", "/v1/tokens/{missing}", "admin"),
    ("POST", "/v1/regions", "admin"), ("GET", "/v1/regions", "admin"),
    ("GET", "/v1/regions/{missing}", "admin"), ("PATCH", "/v1/regions/{missing}", "admin"),
    ("DELETE", "/v1/regions/{missing}", "admin"), ("POST", "/v1/regions/{missing}/agent-tokens", "admin"),
    ("POST", "/v1/workspaces", "admin"), ("GET", "/v1/workspaces", "admin"),
    ("GET", "/v1/workspaces/{ws}", "tenant"), ("PATCH", "/v1/workspaces/{missing}", "admin"),
    ("POST", "/v1/workspaces/{missing}/migrate", "admin"), ("DELETE", "/v1/workspaces/{missing}", "admin"),
    ("POST", "/v1/workspaces/{missing}/tenant-tokens", "admin"),
    ("POST", "/v1/workspaces/{ws}/domains", "tenant"), ("GET", "/v1/workspaces/{ws}/domains", "tenant"),
    ("GET", "/v1/domains", "admin"), ("GET", "/v1/domains/{host}", "tenant"), ("POST", "/v1/domains/{host}/check", "tenant"),
    ("DELETE", "/v1/domains/{host}", "tenant"),
    ("GET", "/v1/certificates", "admin"), ("GET", "/v1/certificates/{missing}", "admin"),
    ("POST", "/v1/certificates/{missing}/renew", "admin"),
    ("GET", "/v1/dns/records", "admin"),
    ("GET", "/v1/agent/assignments?since=0&wait=0", "agent"), ("POST", "/v1/agent/heartbeat", "agent"),
    ("POST", "/v1/agent/status", "agent"), ("GET", "/v1/agent/certificates/{missing}", "agent-else-404"),
    ("GET", "/v1/plans", "admin"), ("POST", "/v1/tenants", "admin"), ("GET", "/v1/tenants", "admin"),
    ("GET", "/v1/tenants/{missing}", "admin"), ("POST", "/v1/workspaces/{missing}/suspend", "admin"),
    ("POST", "/v1/workspaces/{missing}/resume", "admin"), ("GET", "/v1/usage", "tenant"),
    ("POST", "/v1/tenants/{missing}/tokens", "admin"),
]
# Every route of the table must be served: a missing one fails the walk.


class Auth(fctest.DaemonTest):
    CONFIG = {"log": {"level": "debug"}}  # the most verbose log must not leak tokens either

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        d.create_region(A)
        d.create_region(B)
        cls.agent_a = d.agent_token(A)
        d.heartbeat(cls.agent_a)
        cls.ws = cls.make_workspace("alpha")
        cls.other_ws = cls.make_workspace("beta")
        r = d.request("POST", f"/v1/workspaces/{cls.ws}/tenant-tokens")
        assert r.status == 201, r
        cls.tenant = r.json()["token"]
        cls.secrets = [d.token, cls.agent_a, cls.tenant]

    @classmethod
    def make_workspace(cls, name):
        r = cls.d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 512,
                                                                             "cpu_millis": 100},
                                                      "placement": {"regions": [A]}})
        assert r.status == 201, r
        return r.json()["id"]

    @classmethod
    def tearDownClass(cls):
        # No token value may ever reach the log.
        logs = cls.d.logs()
        leaked = [s[:12] for s in getattr(cls, "secrets", []) if s and s in logs]
        super().tearDownClass()
        assert not leaked, f"token values found in the daemon log: {leaked}"

    def fill(self, path, ws):
        host = urllib.parse.quote("chat.customer.test")
        return (path.replace("{ws}", ws).replace("{missing}", "nope-404").replace("{host}", host))

    def call(self, method, path, token):
        body = {} if method in ("POST", "PATCH") else None
        if token is None:
            return self.d.request(method, path, body=body, auth=False)
        return self.d.request(method, path, body=body, token=token)

    def test_walk_every_route_with_every_token_kind(self):
        garbage = ["fc_adm_" + "A" * 43, "not-a-token", "x" * 200]
        kinds = {"admin": self.d.token, "agent": self.agent_a, "tenant": self.tenant}
        checked = 0
        for method, pattern, scope in ROUTES:
            path = self.fill(pattern, self.ws)
            probe = self.call(method, path, None)
            checked += 1
            with self.subTest(route=f"{method} {pattern}"):
                if scope == "public":
                    self.assertNotIn(probe.status, (401, 403), probe)
                    continue
                self.assertEqual(probe.status, 401, probe)
                self.assertEqual(probe.headers.get("www-authenticate"), "Bearer")
                for g in garbage:
                    self.assertEqual(self.call(method, path, g).status, 401)
                for kind, token in kinds.items():
                    r = self.call(method, path, token)
                    allowed = (scope == kind or (scope == "tenant" and kind == "admin")
                               or (scope == "agent-else-404" and kind == "agent"))
                    if scope == "agent-else-404" and not allowed:
                        # Keys go only to the serving region's agent; everyone else: 404.
                        self.assertEqual(r.status, 404, f"{kind}: {r}")
                    elif allowed:
                        self.assertNotIn(r.status, (401, 403), f"{kind}: {r}")
                        self.assertLess(r.status, 500, f"{kind}: {r}")
                    else:
                        self.assertEqual(r.status, 403, f"{kind}: {r}")
                if scope == "tenant" and "{ws}" in pattern:
                    # The tenant asking about another workspace learns nothing: 404.
                    # (A valid body, so that validation cannot answer first.)
                    body = {"hostname": "probe.customer.test"} if method == "POST" else None
                    r = self.d.request(method, self.fill(pattern, self.other_ws), body=body, token=self.tenant)
                    self.assertEqual(r.status, 404, r)
        self.assertEqual(checked, len(ROUTES))

    def test_agent_sees_only_its_region(self):
        r = self.d.request("GET", "/v1/agent/assignments?since=0", token=self.agent_a)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["region"], A)
        self.assertTrue(body["complete"])
        ids = {a["workspace_id"] for a in body["assignments"]}
        self.assertIn(self.ws, ids)
        agent_b = self.d.agent_token(B)
        r = self.d.request("GET", "/v1/agent/assignments?since=0", token=agent_b)
        self.assertEqual(r.json()["region"], B)
        self.assertNotIn(self.ws, {a["workspace_id"] for a in r.json()["assignments"]})
        self.secrets.append(agent_b)

    def test_tenant_reads_its_workspace_only(self):
        r = self.d.request("GET", f"/v1/workspaces/{self.ws}", token=self.tenant)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["id"], self.ws)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{self.other_ws}", token=self.tenant).status, 404)
        self.assertEqual(self.d.request("GET", "/v1/workspaces/beta", token=self.tenant).status, 404)
        self.assertEqual(self.d.request("GET", "/v1/workspaces", token=self.tenant).status, 403)

    def test_tenant_cannot_see_another_workspaces_domain(self):
        r = self.d.request("POST", f"/v1/workspaces/{self.other_ws}/domains", {"hostname": "beta.customer.test"})
        self.assertEqual(r.status, 201, r)
        for method, path in [("GET", "/v1/domains/beta.customer.test"),
                             ("POST", "/v1/domains/beta.customer.test/check"),
                             ("DELETE", "/v1/domains/beta.customer.test"),
                             ("GET", f"/v1/workspaces/{self.other_ws}/domains")]:
            with self.subTest(method=method, path=path):
                r = self.d.request(method, path, token=self.tenant)
                self.assertEqual(r.status, 404, r)
        self.assertEqual(self.d.request("GET", "/v1/domains/beta.customer.test").status, 200)

    def test_admin_token_file(self):
        path = os.path.join(self.d.dir, "var", "admin.token")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))
        with open(path) as f:
            content = f.read()
        self.assertEqual(content, self.d.token + "\n")
        self.assertTrue(content.startswith("fc_adm_"))

    def test_token_list_never_shows_secrets(self):
        r = self.d.request("GET", "/v1/tokens")
        self.assertEqual(r.status, 200, r)
        items = r.json()["items"]
        kinds = sorted({i["kind"] for i in items})
        self.assertEqual(kinds, ["admin", "agent", "tenant"])
        for i in items:
            self.assertEqual(set(i) - {"id", "kind", "region", "workspace_id", "tenant_id", "created_at", "last_used_at"},
                             set(), i)
        for s in self.secrets:
            self.assertNotIn(s.encode(), r.body)
            # the last 16 characters are always random (a split on "_" was
            # not: base64url secrets contain "_", leaving 1-character pieces)
            self.assertNotIn(s[-16:].encode(), r.body)
        agent = [i for i in items if i["kind"] == "agent" and i["region"] == A]
        self.assertTrue(agent)
        tenant = [i for i in items if i["kind"] == "tenant"]
        self.assertEqual(tenant[0]["workspace_id"], self.ws)

    def test_revoked_token_stops_working_on_the_next_request(self):
        r = self.d.request("POST", f"/v1/regions/{A}/agent-tokens")
        self.assertEqual(r.status, 201, r)
        token, tid = r.json()["token"], r.json()["id"]
        self.secrets.append(token)
        self.assertEqual(self.d.request("GET", "/v1/agent/assignments?since=0", token=token).status, 200)
        r = self.d.request("DELETE", f"/v1/tokens/{tid}")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.d.request("GET", "/v1/agent/assignments?since=0", token=token).status, 401)
        self.assertEqual(self.d.request("DELETE", f"/v1/tokens/{tid}").status, 404)
        ids = [i["id"] for i in self.d.request("GET", "/v1/tokens").json()["items"]]
        self.assertNotIn(tid, ids)

    def test_offline_admin_token_accepted_by_running_daemon(self):
        r = self.d.cli("token", "create", "--admin")
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        self.assertTrue(token.startswith("fc_adm_"), r.stdout)
        self.assertNotIn(token, r.stderr)
        self.secrets.append(token)
        r = self.d.request("GET", "/v1/tokens", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(token.encode(), r.body)
        # The admin token file is not rewritten by an offline token.
        with open(os.path.join(self.d.dir, "var", "admin.token")) as f:
            self.assertEqual(f.read().strip(), self.d.token)


if __name__ == "__main__":
    fctest.main()
