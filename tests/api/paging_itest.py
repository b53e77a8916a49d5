"""Paged list routes against the real daemon (#16 item 10a): a `cursor` that
is not a next_cursor the API handed out, and a `limit` that is not an integer
in range, are each a 422 problem naming the field; good pages still work."""
import json
import os
import re
import unittest
import urllib.parse

import fctest

# Every list route that takes limit/cursor (docs/API.md), with the query a
# valid request needs besides them.
# route → (extra query, largest valid limit)
PAGED_ROUTES = {"/v1/workspaces": ("", 1000), "/v1/dns/zone": ("", 5000), "/v1/tenants": ("", 1000),
                "/v1/domains": ("", 500)}
# Claimed domains are checked through resolver.servers: a loopback port
# nobody answers, so no lookup leaves the machine.
QUIET_RESOLVER = {"resolver": {"servers": [f"127.0.0.1:{fctest.free_port(fctest.socket.SOCK_DGRAM)}"]}}

BAD_CURSORS = ["%%%%", "%25%25", "x", "ws_", "ws_1", "0", "-1", "ws_" + "0" * 27,
               "ws_" + "I" * 26, "../../etc", "%00", "ws_%2700000000000000000000000"]
BAD_LIMITS = ["0", "-1", "abc", "", "1.5", "1e3", "%20", "99999999999999999999"]


class Paging(fctest.DaemonTest):
    CONFIG = QUIET_RESOLVER
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d.create_region("pg-1")
        cls.d.heartbeat(cls.d.agent_token("pg-1"))
        for i in range(5):
            body = {"name": f"pg-{i}", "resources": {"memory_mib": 1, "cpu_millis": 1}}
            r = cls.d.request("POST", "/v1/workspaces", body)
            assert r.status == 201, r

    def assert_field_problem(self, r, field):
        self.assertEqual(r.status, 422, r)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/problem+json"))
        p = r.json()
        self.assertEqual(p["status"], 422)
        self.assertEqual(p["type"], "https://fleetcommand.dev/problems/validation-failed")
        self.assertIn(field, [e["field"] for e in p["errors"]], p)

    def get(self, route, extra, query):
        sep = "&" if extra else ""
        return self.d.request("GET", f"{route}?{extra}{sep}{query}")

    def test_every_paged_route_in_the_contract_is_covered(self):
        api_md = os.path.join(os.environ.get("FC_SOURCE_DIR", "."), "docs", "API.md")
        with open(api_md, encoding="utf-8") as f:
            documented = set(re.findall(r"`GET (/v1/[^?`]+)\?[^`]*cursor=", f.read()))
        self.assertTrue(documented)
        self.assertEqual(documented, set(PAGED_ROUTES))

    def test_bad_cursor_is_422_naming_cursor(self):
        for route, (extra, _) in PAGED_ROUTES.items():
            for c in BAD_CURSORS:
                with self.subTest(route=route, cursor=c):
                    self.assert_field_problem(self.get(route, extra, f"cursor={c}"), "cursor")

    def test_bad_limit_is_422_naming_limit(self):
        for route, (extra, most) in PAGED_ROUTES.items():
            for lim in BAD_LIMITS + [str(most + 1)]:
                with self.subTest(route=route, limit=lim):
                    self.assert_field_problem(self.get(route, extra, f"limit={lim}"), "limit")

    def test_both_bad_name_both_fields(self):
        for route, (extra, _) in PAGED_ROUTES.items():
            r = self.get(route, extra, "limit=x&cursor=%25%25")
            self.assert_field_problem(r, "limit")
            self.assert_field_problem(r, "cursor")

    def test_list_items_are_the_single_workspace_views(self):
        # A page's views are written in one pass with the decorators batched
        # per page (one query each, on SQLite and PostgreSQL): each item must
        # be exactly what GET of that workspace answers (less its `live`), release
        # included.
        page = self.get("/v1/workspaces", "", "limit=1000")
        self.assertEqual(page.status, 200, page)
        items = page.json()["items"]
        self.assertGreaterEqual(len(items), 5)
        for item in items:
            one = self.d.request("GET", f"/v1/workspaces/{item['id']}")
            self.assertEqual(one.status, 200, one)
            want = one.json()
            want.pop("live")  # the single GET's latest live check; the list has none
            self.assertIn("release", item)
            self.assertEqual(item, want)
            # Key order and spelling too: both are the canonical dump.
            self.assertIn(json.dumps(want, separators=(",", ":"), sort_keys=True,
                                     ensure_ascii=False).encode(), page.body)

    def test_good_pages_still_work(self):
        # Workspaces here; the zone's pages are followed in contract_itest.py.
        for route, extra in [("/v1/workspaces", "")]:
            seen, cursor = [], ""
            for _ in range(10):  # 5 items, 2 a page: 3 pages
                q = "limit=2&cursor=" + urllib.parse.quote(cursor or "")
                r = self.get(route, extra, q)
                self.assertEqual(r.status, 200, r)
                page = r.json()
                seen += [w["id"] for w in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
            self.assertEqual(len(seen), 5)
            self.assertEqual(len(set(seen)), 5)
            # No cursor and an empty one both start at the beginning.
            first = self.get(route, extra, "limit=2").json()["items"]
            self.assertEqual([w["id"] for w in first], seen[:2])

    def names(self, query):
        r = self.d.request("GET", "/v1/workspaces?" + query)
        self.assertEqual(r.status, 200, r)
        return [w["name"] for w in r.json()["items"]], r.json()["next_cursor"]

    def test_search_by_name_or_hostname_prefix_pages_in_name_order(self):
        seen, cursor = [], ""
        for _ in range(10):  # pg-0 … pg-4, 2 a page
            page, cursor = self.names("q=PG-&limit=2&cursor=" + urllib.parse.quote(cursor or ""))
            seen += page
            if not cursor:
                break
        self.assertEqual(seen, [f"pg-{i}" for i in range(5)])
        self.assertEqual(self.names("q=pg-3")[0], ["pg-3"])
        zone = self.d.request("GET", "/v1/workspaces?q=pg-3").json()["items"][0]["hostname"].split(".", 1)[1]
        self.assertEqual(self.names("q=pg-3." + zone[:3])[0], ["pg-3"])  # a hostname prefix
        self.assertEqual(self.names("q=pg-3." + zone + ".")[0], ["pg-3"])  # trailing dot
        self.assertEqual(self.names("q=pg-3.elsewhere")[0], [])
        self.assertEqual(self.names("q=pg-")[0][:1], ["pg-0"])
        self.assertEqual(self.names("q=zz")[0], [])
        self.assertEqual(len(self.names("q=")[0]), 5)  # empty: no filter
        for bad in ("a%2Fb", "%3Cb%3E", "a%20b", "x" * 254, "%C3%A9"):
            with self.subTest(q=bad):
                self.assert_field_problem(self.d.request("GET", "/v1/workspaces?q=" + bad), "q")


class DomainList(fctest.DaemonTest):
    """GET /v1/domains: every workspace's claims by status with the failing
    step, paged and searched; admins only."""
    CONFIG = QUIET_RESOLVER

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        d.create_region("dl-1")
        d.heartbeat(d.agent_token("dl-1"))
        cls.ws = []
        for name in ("dl-a", "dl-b"):
            r = d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1}})
            assert r.status == 201, r
            cls.ws.append(r.json()["id"])
        cls.hosts = ["a0.list.test", "a1.list.test", "a2.list.test", "b0.other.test", "b1.other.test"]
        for h in cls.hosts:
            ws = cls.ws[0] if h.startswith("a") else cls.ws[1]
            r = d.request("POST", f"/v1/workspaces/{ws}/domains", {"hostname": h})
            assert r.status == 201, r

    def page(self, query):
        r = self.d.request("GET", "/v1/domains?" + query)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_every_claim_with_its_failing_step(self):
        items = self.page("")["items"]
        self.assertEqual(sorted(d["hostname"] for d in items), sorted(self.hosts))
        for d in items:
            self.assertEqual(d["status"], "pending_verification")
            self.assertFalse(d["ok"])
            f = d["failing"]
            self.assertEqual(f["type"], "OwnershipVerified", f)
            self.assertIn(f["status"], ("False", "Unknown"))
            self.assertIn("_fleetcommand." + d["hostname"], f["fix"])  # what to do, as the status route says
            chain = self.d.request("GET", f"/v1/domains/{d['hostname']}/status").json()
            first = next(c for c in chain["conditions"] if c["status"] != "True")
            self.assertEqual((first["type"], first["reason"]), (f["type"], f["reason"]))

    def test_pages_filters_and_search(self):
        seen, cursor = [], ""
        for _ in range(10):
            p = self.page("limit=2&cursor=" + urllib.parse.quote(cursor or ""))
            self.assertLessEqual(len(p["items"]), 2)
            seen += [d["hostname"] for d in p["items"]]
            cursor = p["next_cursor"]
            if not cursor:
                break
        self.assertEqual(sorted(seen), sorted(self.hosts))
        self.assertEqual(len(set(seen)), len(self.hosts))
        self.assertEqual(seen, [d["hostname"] for d in self.page("")["items"]])  # id order, every page
        self.assertEqual(sorted(d["hostname"] for d in self.page("q=A")["items"]),
                         ["a0.list.test", "a1.list.test", "a2.list.test"])
        self.assertEqual([d["hostname"] for d in self.page("q=b1.OTHER.test.")["items"]], ["b1.other.test"])
        self.assertEqual(self.page("q=zz")["items"], [])
        self.assertEqual(len(self.page("status=pending_verification")["items"]), 5)
        self.assertEqual(self.page("status=active")["items"], [])
        self.assertEqual(len(self.page("status=pending_verification&q=b&limit=1")["items"]), 1)
        for q, field in (("status=deleted", "status"), ("status=bogus", "status"), ("q=%3Cb%3E", "q"),
                         ("q=" + "x" * 254, "q"), ("limit=501", "limit"), ("cursor=ws_" + "0" * 26, "cursor")):
            with self.subTest(q=q):
                r = self.d.request("GET", "/v1/domains?" + q)
                self.assertEqual(r.status, 422, r)
                self.assertIn(field, [e["field"] for e in r.json()["errors"]])

    def test_removed_claims_leave_and_tenants_are_refused(self):
        r = self.d.request("POST", f"/v1/workspaces/{self.ws[1]}/domains", {"hostname": "gone.other.test"})
        self.assertEqual(r.status, 201, r)
        self.assertIn("gone.other.test", [d["hostname"] for d in self.page("q=gone")["items"]])
        self.assertEqual(self.d.request("DELETE", "/v1/domains/gone.other.test").status, 204)
        self.assertEqual(self.page("q=gone")["items"], [])
        r = self.d.request("POST", f"/v1/workspaces/{self.ws[0]}/tenant-tokens")
        tok = r.json()["token"]
        r = self.d.request("GET", "/v1/domains", token=tok)
        self.assertEqual(r.status, 403, r)
        self.assertNotIn("list.test", r.body.decode())


if __name__ == "__main__":
    fctest.main()
