"""A deleted region takes its agent tokens with it, and a deleted workspace
its tenant tokens, in the deleting transaction (scheduler::ScopeListener,
docs/storage.md "Table owners"): the rows are gone from the database, not
only from the daemon's memory, so a restart does not bring them back."""

import fctest


class ScopeTokens(fctest.DaemonTest):
    def db_tokens(self, column, value):
        return self.d.sql(f"SELECT count(*) FROM tokens WHERE {column} = ?", value)[0][0]

    def tenant_token(self, ws_id):
        r = self.d.request("POST", f"/v1/workspaces/{ws_id}/tenant-tokens")
        self.assertEqual(r.status, 201, r)
        return r.json()["token"]

    def workspace(self, name):
        r = self.d.request("POST", "/v1/workspaces",
                           {"name": name, "resources": {"memory_mib": 100, "cpu_millis": 100}})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def test_region_delete_removes_its_agent_tokens(self):
        self.d.create_region("scope-r1")
        tok = self.d.agent_token("scope-r1")
        self.assertEqual(self.d.request("GET", "/v1/agent/assignments?since=0", token=tok).status, 200)
        self.assertEqual(self.db_tokens("region", "scope-r1"), 1)
        r = self.d.request("DELETE", "/v1/regions/scope-r1")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.db_tokens("region", "scope-r1"), 0)
        self.assertEqual(self.d.request("GET", "/v1/agent/assignments?since=0", token=tok).status, 401)

    def test_forced_workspace_delete_removes_its_tenant_tokens(self):
        self.d.create_region("scope-r2")
        w = self.workspace("scope-w2")
        tok = self.tenant_token(w["id"])
        self.assertEqual(self.db_tokens("workspace_id", w["id"]), 1)
        r = self.d.request("DELETE", f"/v1/workspaces/{w['id']}?force=true")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.db_tokens("workspace_id", w["id"]), 0)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}", token=tok).status, 401)

    def test_agent_confirmed_delete_removes_tenant_tokens(self):
        self.d.create_region("scope-r3")
        agent = self.d.agent_token("scope-r3")
        self.d.heartbeat(agent)
        w = self.workspace("scope-w3")
        self.assertEqual(w["region"], "scope-r3", w)
        tenant = self.tenant_token(w["id"])
        r = self.d.request("DELETE", f"/v1/workspaces/{w['id']}")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.db_tokens("workspace_id", w["id"]), 1)  # until the agent confirms
        r = self.d.request("POST", "/v1/agent/status", {"workspaces": [
            {"workspace_id": w["id"], "generation": r.json()["generation"], "phase": "deleted"}]},
            token=agent)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["results"][0]["accepted"], r.json())
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}").status, 404)
        self.assertEqual(self.db_tokens("workspace_id", w["id"]), 0)
        self.assertEqual(self.d.request("GET", f"/v1/workspaces/{w['id']}", token=tenant).status, 401)


if __name__ == "__main__":
    fctest.main()
