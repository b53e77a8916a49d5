"""Order and paging do not depend on the database's collation (docs/storage.md
"Collation"): names, ids and hostnames chosen so that byte order and a
linguistic order (ICU en-US, glibc en_US.UTF-8) disagree — '-' against
letters and digits, a prefix ending in '9' or 'z' (its upper bound ':' or '{'
sorts before digits and letters linguistically), digits of different
lengths, mixed case and IDN U-labels in requests — are created through the
API and read back with small pages. Every row is seen exactly once, in the
documented order: byte order, the order SQLite has.

Runs on SQLite (itest_storage_collation_itest) and on PostgreSQL clusters
whose default collation is linguistic (itest_pg_icu_collation,
itest_pg_glibc_collation: FC_PG_LOCALE, tests/lib/pgcluster.py)."""
import os
import urllib.parse

import fctest

REGIONS = ["eu-b", "eua", "eu9", "eu-10", "eu1", "eu-a-c", "euab"]
# Lower-case DNS labels (the only names the API takes) that sort differently
# under a linguistic collation, or whose prefix's upper bound does.
NAMES = ["a9", "a-9", "a-z", "az", "a-b-c", "ab-c", "abc", "a--z", "a0", "a10", "a-10", "b", "z", "zz",
         "z9", "9z", "90", "9-0", "ws-9", "ws-10", "ws-9a", "ws9", "wsz", "ws-z", "ws-zz"]
PREFIXES = ["a", "a-", "a9", "a-9", "a-z", "az", "a-b", "ab", "z", "zz", "9", "9-", "ws-9", "ws-1", "ws",
            "ws-", "ws-z", "wsz", "y", "A-", "WS-Z"]
TENANTS = ["t-b", "ta", "t9", "t-10", "t1", "t-a-c", "tab"]
CHANNELS = ["b-c", "ba", "b9", "b.10", "b-10", "b.9", "stable"]
# As asked (mixed case, U-labels) → as stored (lower case A-labels).
HOSTS = {"Chat.Example.test": "chat.example.test", "bücher.example.test": "xn--bcher-kva.example.test",
         "9.example.test": "9.example.test", "10.example.test": "10.example.test",
         "a-b.example.test": "a-b.example.test", "ab.example.test": "ab.example.test",
         "xn--bcher-kva.other.test": "xn--bcher-kva.other.test", "ÄB.example.test": "xn--b-zfa.example.test"}
HOST_PREFIXES = ["xn--", "9", "1", "a-", "ab", "chat.", "CHAT.", "xn--b-", "10.", "zz"]
QUIET_RESOLVER = {"resolver": {"servers": [f"127.0.0.1:{fctest.free_port(fctest.socket.SOCK_DGRAM)}"]}}


def byte_sorted(xs):
    return sorted(xs, key=lambda s: s.encode())


class Collation(fctest.DaemonTest):
    CONFIG = dict(QUIET_RESOLVER, agents={"heartbeat_timeout_s": 3600})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        for rid in REGIONS:
            d.create_region(rid)
        d.heartbeat(d.agent_token("eu-b"))
        cls.ws = {}
        for name in NAMES:
            r = d.request("POST", "/v1/workspaces", {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1},
                                                     "placement": {"regions": ["eu-b"]}})
            assert r.status == 201, r
            cls.ws[name] = r.json()["id"]

    def pages(self, route, query="", limit=2, key="id", cap=100):
        """Every item of a paged list route, following next_cursor."""
        seen, cursor = [], ""
        for _ in range(cap):
            sep = "&" if query else ""
            r = self.d.request("GET", f"{route}?{query}{sep}limit={limit}&cursor={urllib.parse.quote(cursor)}")
            self.assertEqual(r.status, 200, r)
            page = r.json()
            self.assertLessEqual(len(page["items"]), limit)
            seen += [x[key] for x in page["items"]]
            cursor = page["next_cursor"] or ""
            if not cursor:
                return seen
        self.fail(f"{route}?{query}: more than {cap} pages")

    def test_backend(self):
        # Says which backend and locale ran (ctest -V), and that the cluster
        # really has the collation the ctest asked for.
        locale = os.environ.get("FC_PG_LOCALE", "")
        print(f"\nbackend={fctest.BACKEND} FC_PG_LOCALE={locale or '-'}")
        if fctest.BACKEND == "postgres" and locale:
            rows = self.d.sql("SELECT 'ws-:' < 'ws-9' AS colon_first, 'a-c' < 'ab' AS hyphen_first")
            print(f"database default collation: 'ws-:' < 'ws-9', 'a-c' < 'ab' = {rows}")
            self.assertNotEqual(rows, [(False, True)], "the cluster's default collation is byte order")

    def test_workspaces_in_id_order_each_once(self):
        for limit in (1, 3, 1000):
            with self.subTest(limit=limit):
                ids = self.pages("/v1/workspaces", limit=limit)
                self.assertEqual(len(ids), len(NAMES))
                self.assertEqual(set(ids), set(self.ws.values()))
                self.assertEqual(ids, byte_sorted(ids))

    def test_name_prefix_pages_in_byte_order(self):
        for p in PREFIXES:
            want = byte_sorted(n for n in NAMES if n.startswith(p.lower()))
            for limit in (1, 2, 100):
                with self.subTest(q=p, limit=limit):
                    got = self.pages("/v1/workspaces", "q=" + urllib.parse.quote(p), limit=limit, key="name")
                    self.assertEqual(got, want)

    def test_names_unique_by_bytes(self):
        r = self.d.request("POST", "/v1/workspaces", {"name": "a-9", "resources": {"memory_mib": 1, "cpu_millis": 1}})
        self.assertEqual(r.status, 409, r)
        for name in ("a-9", "ws-9a"):
            r = self.d.request("GET", f"/v1/workspaces/{name}")
            self.assertEqual((r.status, r.json()["id"]), (200, self.ws[name]))

    def test_regions_in_id_order(self):
        r = self.d.request("GET", "/v1/regions")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x["id"] for x in r.json()["items"]], byte_sorted(REGIONS))

    def test_tenants_each_once_in_id_order(self):
        made = {}
        for name in TENANTS:
            r = self.d.request("POST", "/v1/tenants", {"name": name})
            self.assertIn(r.status, (201, 409), r)
            if r.status == 201:
                made[name] = r.json()["id"]
        if len(made) < len(TENANTS):  # a rerun of this test in one class
            made = {x["name"]: x["id"] for x in self.d.request("GET", "/v1/tenants?limit=1000").json()["items"]}
        ids = self.pages("/v1/tenants", limit=2)
        self.assertEqual(sorted(ids), sorted(made.values()))
        self.assertEqual(ids, byte_sorted(ids))
        for name, tid in made.items():
            self.assertEqual(self.d.request("GET", f"/v1/tenants/{name}").json()["id"], tid)

    def test_channels_in_name_order(self):
        r = self.d.request("POST", "/v1/releases", {"name": "1.0.0", "image": "example/app:1.0.0"})
        self.assertIn(r.status, (200, 201), r)
        for ch in CHANNELS:
            r = self.d.request("PUT", f"/v1/channels/{ch}", {"release": "1.0.0"})
            self.assertEqual(r.status, 200, r)
        r = self.d.request("GET", "/v1/channels")
        self.assertEqual([c["name"] for c in r.json()["items"]], byte_sorted(CHANNELS))

    def test_domains_each_once_and_prefixes(self):
        d = self.d
        ws = self.ws["a-9"]
        for asked in HOSTS:
            r = d.request("POST", f"/v1/workspaces/{ws}/domains", {"hostname": asked})
            self.assertIn(r.status, (201, 409), r)
            if r.status == 201:
                self.assertEqual(r.json()["hostname"], HOSTS[asked])
        # The same name in another case or as its U-label is the same claim
        # (claiming it again answers that claim; no second row).
        for again, stored in (("CHAT.example.TEST", "chat.example.test"),
                              ("BÜCHER.example.test", "xn--bcher-kva.example.test")):
            with self.subTest(again=again):
                r = d.request("POST", f"/v1/workspaces/{ws}/domains", {"hostname": again})
                self.assertEqual((r.status, r.json()["hostname"]), (201, stored), r)
        stored = set(HOSTS.values())
        for limit in (1, 2, 500):
            with self.subTest(limit=limit):
                seen = self.pages("/v1/domains", limit=limit, key="hostname")
                self.assertEqual(sorted(seen), sorted(stored))
                self.assertEqual(len(seen), len(stored))
        ids = [x["id"] for x in d.request("GET", "/v1/domains?limit=500").json()["items"]] \
            if "id" in d.request("GET", "/v1/domains?limit=1").json()["items"][0] else None
        if ids:
            self.assertEqual(ids, byte_sorted(ids))
        everything = self.pages("/v1/domains", limit=500, key="hostname")
        for p in HOST_PREFIXES:
            want = [h for h in everything if h.startswith(p.lower())]
            with self.subTest(q=p):
                self.assertEqual(self.pages("/v1/domains", "q=" + urllib.parse.quote(p), limit=1, key="hostname"),
                                 want)
        mine = [x["hostname"] for x in d.request("GET", f"/v1/workspaces/{ws}/domains").json()["items"]]
        self.assertEqual(sorted(mine), sorted(stored))
        r = d.request("GET", "/v1/domains/" + urllib.parse.quote("Bücher.Example.test"))
        self.assertEqual((r.status, r.json().get("hostname")), (200, "xn--bcher-kva.example.test"))


if __name__ == "__main__":
    fctest.main()
