"""Paged list routes against the real daemon (#16 item 10a): a `cursor` that
is not a next_cursor the API handed out, and a `limit` that is not an integer
in range, are each a 422 problem naming the field; good pages still work."""
import os
import re
import unittest
import urllib.parse

import fctest

# Every list route that takes limit/cursor (docs/API.md), with the query a
# valid request needs besides them.
# route → (extra query, largest valid limit)
PAGED_ROUTES = {"/v1/workspaces": ("", 1000), "/v1/dns/zone": ("", 5000), "/v1/tenants": ("", 1000)}

BAD_CURSORS = ["%%%%", "%25%25", "x", "ws_", "ws_1", "0", "-1", "ws_" + "0" * 27,
               "ws_" + "I" * 26, "../../etc", "%00", "ws_%2700000000000000000000000"]
BAD_LIMITS = ["0", "-1", "abc", "", "1.5", "1e3", "%20", "99999999999999999999"]


class Paging(fctest.DaemonTest):
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


if __name__ == "__main__":
    fctest.main()
