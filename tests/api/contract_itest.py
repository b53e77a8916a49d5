"""Contract test: one success and one error response of every operation in
the OpenAPI document (api/openapi/openapi.yaml), each validated against the
document's schemas by tests/lib/contract.py (python3-jsonschema), and then a
check that no operation was left without either. The other itests are
validated the same way; this one makes sure every route is covered.

Also: /v1/openapi.json is the built document byte for byte, with an ETag and
304 on If-None-Match; /v1/docs is one self-contained HTML page."""
import json
import os
import unittest

import contract
import fctest

ZONE = "fleet.test"
BIG = {"X-Filler": "a" * 20000}  # over the 16 KiB header limit: 431 before routing


class ContractTest(fctest.DaemonTest):
    # POST /v1/domains/{hostname}/probe resolves through resolver.servers: a
    # loopback port where nothing answers, so the probe fails at `dns` fast.
    CONFIG = {"resolver": {"servers": [f"127.0.0.1:{fctest.free_port(fctest.socket.SOCK_DGRAM)}"]},
              "probes": {"enabled": False, "timeout_ms": 300}}

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("FC_OPENAPI_JSON"):
            raise AssertionError("FC_OPENAPI_JSON is not set: run through ctest")
        super().setUpClass()
        d = cls.d
        d.create_region("ct-a")
        d.create_region("ct-b")
        cls.agent = d.agent_token("ct-a")
        d.heartbeat(cls.agent)
        d.heartbeat(d.agent_token("ct-b"), agent_id="agent-b")
        r = d.request("POST", "/v1/workspaces", {"name": "ctshop", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                "placement": {"regions": ["ct-a"]}})
        assert r.status == 201, r
        cls.ws = r.json()

    def ok(self, status, method, path, body=None, **kw):
        r = self.d.request(method, path, body, **kw)
        self.assertEqual(r.status, status, r)
        return r

    def test_01_system(self):
        for path in ("/healthz", "/readyz", "/metrics", "/v1/version"):
            self.ok(200, "GET", path, auth=False)
            self.ok(431, "GET", path, auth=False, headers=BIG)

    def test_02_openapi_and_docs(self):
        r = self.ok(200, "GET", "/v1/openapi.json", auth=False)
        with open(os.environ["FC_OPENAPI_JSON"], "rb") as f:
            self.assertEqual(r.body, f.read())
        self.assertEqual(r.json()["openapi"], "3.1.0")
        etag = r.headers["etag"]
        self.ok(304, "GET", "/v1/openapi.json", auth=False, headers={"If-None-Match": etag})
        self.ok(200, "GET", "/v1/openapi.json", auth=False, headers={"If-None-Match": '"other"'})
        self.ok(431, "GET", "/v1/openapi.json", auth=False, headers=BIG)
        r = self.ok(200, "GET", "/v1/docs", auth=False)
        page = r.body.decode()
        self.assertTrue(r.headers["content-type"].startswith("text/html"))
        for op in contract.operations():
            self.assertIn(f'id="{op}"', page)
        for needle in ("<script", 'src="http', "<link", "@import"):
            self.assertNotIn(needle, page)  # no CDN, nothing loaded from elsewhere
        self.ok(304, "GET", "/v1/docs", auth=False, headers={"If-None-Match": r.headers["etag"]})
        self.ok(431, "GET", "/v1/docs", auth=False, headers=BIG)

    def test_03_tokens(self):
        self.ok(200, "GET", "/v1/tokens")
        self.ok(401, "GET", "/v1/tokens", auth=False)
        t = self.ok(201, "POST", f"/v1/workspaces/{self.ws['id']}/tenant-tokens").json()
        self.ok(404, "POST", "/v1/workspaces/ws_nope/tenant-tokens")
        self.ok(204, "DELETE", f"/v1/tokens/{t['id']}")
        self.ok(404, "DELETE", f"/v1/tokens/{t['id']}")

    def test_04_regions(self):
        self.ok(200, "GET", "/v1/regions")
        self.ok(403, "GET", "/v1/regions", token=self.agent)
        self.ok(200, "GET", "/v1/regions/ct-a")
        self.ok(404, "GET", "/v1/regions/ct-nope")
        body = {"id": "ct-c", "ingress": {"ipv4": ["192.0.2.30"]},
                "capacity": {"memory_mib": 10, "cpu_millis": 10, "workspaces": 1}}
        self.ok(201, "POST", "/v1/regions", body)
        self.ok(409, "POST", "/v1/regions", body)
        self.ok(422, "POST", "/v1/regions", {"id": "ct-d"})
        r = self.ok(200, "PATCH", "/v1/regions/ct-c", {"state": "draining"})
        self.assertIn("drain", r.json())
        self.ok(422, "PATCH", "/v1/regions/ct-c", {"state": "sideways"})
        self.ok(201, "POST", "/v1/regions/ct-c/agent-tokens")
        self.ok(404, "POST", "/v1/regions/ct-nope/agent-tokens")
        self.ok(204, "DELETE", "/v1/regions/ct-c")
        self.ok(409, "DELETE", "/v1/regions/ct-a")  # ctshop lives there

    def test_05_workspaces(self):
        ws = self.ws
        self.ok(200, "GET", "/v1/workspaces?limit=1")
        self.ok(422, "GET", "/v1/workspaces?limit=0")
        self.ok(200, "GET", f"/v1/workspaces/{ws['id']}")
        self.ok(404, "GET", "/v1/workspaces/ws_nope")
        body = {"name": "ctidem", "resources": {"memory_mib": 1, "cpu_millis": 1}}
        self.ok(201, "POST", "/v1/workspaces", body, headers={"Idempotency-Key": "k1"})
        r = self.ok(201, "POST", "/v1/workspaces", body, headers={"Idempotency-Key": "k1"})
        self.assertEqual(r.headers.get("idempotent-replayed"), "true")
        self.ok(422, "POST", "/v1/workspaces", {"name": "Bad Name"})
        self.ok(503, "POST", "/v1/workspaces", {"name": "cthuge", "resources": {"memory_mib": 1 << 40, "cpu_millis": 1}})
        self.ok(200, "PATCH", "/v1/workspaces/ctidem", {"resources": {"memory_mib": 2, "cpu_millis": 2}})
        self.ok(415, "PATCH", "/v1/workspaces/ctidem", raw_body=b"{}", headers={"Content-Type": "text/plain"})
        r = self.ok(202, "POST", "/v1/workspaces/ctidem/migrate",
                    {"region": "ct-b" if r.json()["region"] == "ct-a" else "ct-a"})
        self.assertIn("target_region", r.json())
        self.ok(422, "POST", "/v1/workspaces/ctidem/migrate", {})
        self.ok(202, "DELETE", "/v1/workspaces/ctidem?force=true")
        self.ok(404, "DELETE", "/v1/workspaces/ctidem")
        tenant = self.ok(201, "POST", f"/v1/workspaces/{ws['id']}/tenant-tokens").json()["token"]
        self.ok(200, "GET", f"/v1/workspaces/{ws['id']}", token=tenant)

    def test_06_domains(self):
        ws = self.ws["id"]
        self.ok(201, "POST", f"/v1/workspaces/{ws}/domains", {"hostname": "chat.contract.test"})
        self.ok(422, "POST", f"/v1/workspaces/{ws}/domains", {"hostname": "192.0.2.1"})
        self.ok(200, "GET", f"/v1/workspaces/{ws}/domains")
        self.ok(404, "GET", "/v1/workspaces/ws_nope/domains")
        self.ok(200, "GET", "/v1/domains/chat.contract.test")
        self.ok(404, "GET", "/v1/domains/nope.contract.test")
        self.ok(202, "POST", "/v1/domains/chat.contract.test/check")
        self.ok(404, "POST", "/v1/domains/nope.contract.test/check")
        self.ok(200, "GET", "/v1/domains/chat.contract.test/status")
        r = self.ok(200, "GET", "/v1/domains?status=pending_verification&q=chat.&limit=10")
        self.assertEqual([d["hostname"] for d in r.json()["items"]], ["chat.contract.test"])
        self.assertEqual(r.json()["items"][0]["failing"]["type"], "OwnershipVerified")
        self.ok(422, "GET", "/v1/domains?status=nope")
        self.ok(404, "GET", "/v1/domains/nope.contract.test/status")
        self.ok(200, "GET", f"/v1/workspaces/{ws}/status")
        self.ok(404, "GET", "/v1/workspaces/ws_nope/status")
        r = self.ok(200, "POST", "/v1/domains/chat.contract.test/probe")
        self.assertEqual(r.json()["live"]["status"], "failing")
        self.assertEqual(r.json()["live"]["step"], "dns")
        self.assertEqual(self.ok(200, "GET", "/v1/domains/chat.contract.test").json()["live"]["step"], "dns")
        self.ok(404, "POST", "/v1/domains/nope.contract.test/probe")
        self.ok(204, "DELETE", "/v1/domains/chat.contract.test")
        self.ok(404, "DELETE", "/v1/domains/chat.contract.test")

    def test_07_certificates_and_agent(self):
        d, ws = self.d, self.ws
        c = self.ok(202, "POST", "/v1/certificates", {"hostnames": [f"ctshop.{ZONE}"], "workspace_id": ws["id"]}).json()
        self.ok(422, "POST", "/v1/certificates", {"hostnames": ["Bad_Name"]})
        self.ok(200, "GET", "/v1/certificates")
        self.ok(401, "GET", "/v1/certificates", token="fc_adm_nope")
        fctest.wait_until(lambda: d.request("GET", f"/v1/certificates/{c['id']}").json()["status"] == "valid",
                          timeout=30, what="internal certificate valid")
        self.ok(404, "GET", "/v1/certificates/crt_nope")
        self.ok(202, "POST", f"/v1/certificates/{c['id']}/renew")
        self.ok(404, "POST", "/v1/certificates/crt_nope/renew")
        r = self.ok(200, "GET", f"/v1/agent/certificates/{c['id']}", token=self.agent)
        self.assertIn("BEGIN", r.json()["certificate_pem"])
        self.ok(404, "GET", f"/v1/agent/certificates/{c['id']}")  # admin: same 404
        self.ok(200, "GET", "/v1/agent/assignments", token=self.agent)
        self.ok(422, "GET", "/v1/agent/assignments?wait=99", token=self.agent)
        self.ok(200, "POST", "/v1/agent/heartbeat", {"agent_id": "ct-1", "version": "1"}, token=self.agent)
        self.ok(422, "POST", "/v1/agent/heartbeat", {}, token=self.agent)
        self.ok(200, "POST", "/v1/agent/status", {"workspaces": [
            {"workspace_id": ws["id"], "generation": ws["generation"], "phase": "running"},
            {"workspace_id": "ws_nope", "generation": 1, "phase": "running"}]}, token=self.agent)
        self.ok(400, "POST", "/v1/agent/status", raw_body=b"{not json", token=self.agent,
                headers={"Content-Type": "application/json"})

    def test_08_dns(self):
        self.ok(200, "GET", f"/v1/dns/records?name={ZONE}")
        self.ok(422, "GET", "/v1/dns/records")
        page = self.ok(200, "GET", "/v1/dns/zone?limit=2").json()
        self.assertEqual(len(page["items"]), 2)
        self.ok(200, "GET", "/v1/dns/zone?cursor=" + page["next_cursor"].replace(" ", "%20"))
        self.ok(422, "GET", "/v1/dns/zone?limit=0")

    def test_03_console_and_whoami(self):
        # The web console's files (docs/console.md), public, with an ETag.
        r = self.ok(200, "GET", "/ui", auth=False)
        self.assertIn("text/html", r.headers["content-type"])
        self.ok(304, "GET", "/ui", auth=False, headers={"If-None-Match": r.headers["etag"]})
        self.ok(431, "GET", "/ui", auth=False, headers=BIG)
        self.ok(200, "GET", "/ui/app.js", auth=False)
        self.ok(404, "GET", "/ui/nope.js", auth=False)
        me = self.ok(200, "GET", "/v1/whoami").json()
        self.assertEqual((me["kind"], me["workspace_id"]), ("admin", None))
        self.ok(403, "GET", "/v1/whoami", token=self.agent)
        hist = self.ok(200, "GET", "/v1/metrics/history").json()
        self.assertEqual((hist["step_s"], len(hist["points"])), (60, 60))
        self.assertGreaterEqual(sum(p["placements"] for p in hist["points"]), 1)  # ctshop
        self.ok(403, "GET", "/v1/metrics/history", token=self.agent)
        # q: a name or hostname prefix; a character no hostname has is a 422 naming q.
        self.assertEqual([w["name"] for w in self.ok(200, "GET", "/v1/workspaces?q=CTSH").json()["items"]],
                         ["ctshop"])
        self.assertEqual(self.ok(422, "GET", "/v1/workspaces?q=a%20b").json()["errors"][0]["field"], "q")

    def test_09_acme_http01(self):
        self.assertEqual(self.d.acme_request("/.well-known/acme-challenge/nope").status, 404)
        # As tests/certs/daemon_issue_itest.py does: a row another instance
        # wrote is served as is (no ACME server needed for the shape).
        self.d.sql("INSERT INTO acme_http_tokens(token, key_authorization, cert_id, expires_at)"
                   " VALUES('ct-tok', 'ct-tok.thumb', 'crt_x', 9999999999999)")
        r = self.d.acme_request("/.well-known/acme-challenge/ct-tok")
        self.assertEqual((r.status, r.body), (200, b"ct-tok.thumb"))

    def test_10_events_and_webhooks(self):
        self.ok(200, "GET", "/v1/events?type=workspace.*")
        self.ok(422, "GET", "/v1/events?after=-1")
        self.ok(200, "GET", "/v1/webhooks")
        self.ok(401, "GET", "/v1/webhooks", auth=False)
        # A documentation address: never delivered (nothing resolves it here).
        ep = self.ok(201, "POST", "/v1/webhooks", {"url": "https://hooks.example.com/fleet",
                                                   "event_types": ["workspace.*"]}).json()
        self.ok(422, "POST", "/v1/webhooks", {"url": "http://127.0.0.1/"})
        self.ok(200, "GET", f"/v1/webhooks/{ep['id']}")
        self.ok(404, "GET", "/v1/webhooks/whk_none")
        self.ok(200, "POST", f"/v1/webhooks/{ep['id']}/rotate")
        self.ok(404, "POST", "/v1/webhooks/whk_none/rotate")
        self.ok(200, "POST", f"/v1/webhooks/{ep['id']}/enable")
        self.ok(404, "POST", "/v1/webhooks/whk_none/enable")
        self.ok(200, "GET", f"/v1/webhooks/{ep['id']}/deliveries")
        self.ok(422, "GET", f"/v1/webhooks/{ep['id']}/deliveries?limit=0")
        self.ok(202, "POST", f"/v1/webhooks/{ep['id']}/replay?since=2026-01-01T00:00:00Z")
        self.ok(422, "POST", f"/v1/webhooks/{ep['id']}/replay")
        self.ok(204, "DELETE", f"/v1/webhooks/{ep['id']}")
        self.ok(404, "DELETE", f"/v1/webhooks/{ep['id']}")

    def test_10_releases_and_rollouts(self):
        self.ok(201, "POST", "/v1/releases", {"name": "ct-1", "image": "chat:1"})
        self.ok(200, "POST", "/v1/releases", {"name": "ct-1", "image": "chat:1"})
        self.ok(409, "POST", "/v1/releases", {"name": "ct-1", "image": "chat:other"})
        self.ok(422, "POST", "/v1/releases", {"name": "Bad", "image": "chat:1"})
        self.ok(201, "POST", "/v1/releases", {"name": "ct-2", "image": "chat:2", "env": {"A": "b"}})
        self.ok(200, "GET", "/v1/releases")
        self.ok(401, "GET", "/v1/releases", auth=False)
        self.ok(200, "GET", "/v1/releases/ct-1")
        self.ok(404, "GET", "/v1/releases/ct-9")
        self.ok(200, "PUT", "/v1/channels/ct-stable", {"release": "ct-1"})
        self.ok(422, "PUT", "/v1/channels/ct-stable", {"release": "ct-9"})
        self.ok(200, "GET", "/v1/channels")
        self.ok(403, "GET", "/v1/channels", token=self.agent)
        r = self.ok(201, "POST", "/v1/workspaces", {"name": "ctrel", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                   "placement": {"regions": ["ct-a"]}, "channel": "ct-stable"})
        self.assertEqual(r.json()["release"], {"channel": "ct-stable", "pinned": None, "current": "ct-1"})
        self.assertEqual(r.json()["spec"]["image"], "chat:1")
        body = {"channel": "ct-stable", "to_release": "ct-2", "waves": {"percentages": [100]}}
        self.ok(422, "POST", "/v1/rollouts", dict(body, waves={"percentages": [50, 10]}))
        ro = self.ok(201, "POST", "/v1/rollouts", body).json()
        self.ok(409, "POST", "/v1/rollouts", body)
        self.ok(200, "GET", "/v1/rollouts")
        self.ok(403, "GET", "/v1/rollouts", token=self.agent)
        self.ok(200, "GET", f"/v1/rollouts/{ro['id']}")
        self.ok(404, "GET", "/v1/rollouts/ro_nope")
        self.ok(200, "POST", f"/v1/rollouts/{ro['id']}/pause")
        self.ok(404, "POST", "/v1/rollouts/ro_nope/pause")
        self.ok(409, "POST", f"/v1/rollouts/{ro['id']}/promote")  # paused
        self.ok(200, "POST", f"/v1/rollouts/{ro['id']}/resume")
        self.ok(404, "POST", "/v1/rollouts/ro_nope/resume")
        self.ok(200, "POST", f"/v1/rollouts/{ro['id']}/promote")
        self.ok(200, "POST", f"/v1/rollouts/{ro['id']}/abort")
        self.ok(409, "POST", f"/v1/rollouts/{ro['id']}/abort")

    def test_11_tenants_plans_usage(self):
        ws = self.ws
        self.ok(200, "GET", "/v1/plans")
        self.ok(403, "GET", "/v1/plans", token=self.agent)
        t = self.ok(201, "POST", "/v1/tenants", {"name": "ct-tenant"}).json()
        self.ok(422, "POST", "/v1/tenants", {"name": "Bad Name"})
        self.ok(200, "GET", "/v1/tenants?limit=1")
        self.ok(422, "GET", "/v1/tenants?limit=0")
        self.ok(200, "GET", f"/v1/tenants/{t['id']}")
        self.ok(404, "GET", "/v1/tenants/nope")
        self.ok(201, "POST", f"/v1/tenants/{t['id']}/tokens")
        self.ok(404, "POST", "/v1/tenants/nope/tokens")
        self.ok(202, "POST", f"/v1/workspaces/{ws['id']}/suspend")
        self.ok(409, "POST", f"/v1/workspaces/{ws['id']}/suspend")
        self.ok(202, "POST", f"/v1/workspaces/{ws['id']}/resume")
        self.ok(409, "POST", f"/v1/workspaces/{ws['id']}/resume")
        self.ok(200, "GET", "/v1/usage?granularity=day")
        self.ok(200, "GET", "/v1/usage", headers={"Accept": "text/csv"})
        self.ok(422, "GET", "/v1/usage?granularity=week")

    def test_99_every_operation_covered(self):
        no_ok, no_err = contract.missing_coverage()
        self.assertEqual(no_ok, [], "operations without a success response in this test")
        self.assertEqual(no_err, [], "operations without an error response in this test")


class AContractSelfTest(unittest.TestCase):
    """The validator rejects what breaks the document (so the checks above can
    fail), and the document's own examples keep its schemas."""

    def test_examples_match_their_schemas(self):
        if not os.environ.get("FC_OPENAPI_JSON"):
            raise AssertionError("FC_OPENAPI_JSON is not set: run through ctest")
        self.assertEqual(contract.example_errors(), [])

    def test_rejects(self):
        if not os.environ.get("FC_OPENAPI_JSON"):
            raise AssertionError("FC_OPENAPI_JSON is not set: run through ctest")
        region = json.dumps({"id": "x"}).encode()
        with self.assertRaises(contract.ContractError):  # required fields missing
            contract.check_response("GET", "/v1/regions/x", 200, "application/json", region)
        with self.assertRaises(contract.ContractError):  # undocumented status
            contract.check_response("GET", "/v1/regions/x", 418, "application/json", b"{}")
        with self.assertRaises(contract.ContractError):  # wrong content type
            contract.check_response("GET", "/v1/regions/x", 404, "text/html", b"<p>")
        problem = {"type": "https://fleetcommand.dev/problems/not-found", "title": "Not Found",
                   "status": 404, "detail": "no region x"}
        contract.check_response("GET", "/v1/regions/x", 404, "application/problem+json",
                                json.dumps(problem).encode())
        # The document leaves additionalProperties open for clients, but every
        # field the server emits must be described: the check is strict.
        with self.assertRaises(contract.ContractError):
            contract.check_response("GET", "/v1/regions/x", 404, "application/problem+json",
                                    json.dumps(dict(problem, undescribed=1)).encode())
        # allOf compositions are merged: a 422 with `errors` is fine, an extra field is not.
        v = dict(problem, status=422, errors=[{"field": "x", "message": "bad"}])
        contract.check_response("POST", "/v1/regions", 422, "application/problem+json", json.dumps(v).encode())
        with self.assertRaises(contract.ContractError):
            contract.check_response("POST", "/v1/regions", 422, "application/problem+json",
                                    json.dumps(dict(v, errors=[{"field": "x", "message": "m", "z": 1}])).encode())


if __name__ == "__main__":
    fctest.main()
