"""Upgrades from every earlier migration level: for each level L (0001 up to
the one before the newest) a database is built the way a binary released at
level L left it (migrations 0001..L applied from migrations/*.sql, each
recorded in schema_migrations with its SHA-256, as the runner does), filled
with rows valid at that level, then the real binary upgrades it
(`fleetcommand migrate`) and serves it. Checked afterwards: every row kept,
the columns later migrations added hold what they promise (0009: a pending
domain's next_check_at comes from its `domain.check` job, which is gone;
0010: assignments.written_at = 0), `fleetcommand fsck` is clean, and the
daemon serves the old data through the API (the admin and agent tokens
written at level 1 still work; the agent gets the workspace with its custom
domain and certificate).
"""
import hashlib
import json
import os
import socket
import sqlite3
import unittest

import fctest

SRC = os.environ.get("FC_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MIGRATIONS_DIR = os.path.join(SRC, "migrations")
ADMIN = "fc_adm_" + "A" * 43
AGENT = "fc_agt_" + "B" * 43
T0 = 1_700_000_000_000


def migrations():
    """[(version, name, sql)] in order."""
    out = []
    for f in sorted(os.listdir(MIGRATIONS_DIR)):
        if f.endswith(".sql"):
            with open(os.path.join(MIGRATIONS_DIR, f), encoding="utf-8") as fh:
                out.append((int(f[:4]), f[:-4], fh.read()))
    return out


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def build_at_level(db, level):
    """Applies 0001..level like the migration runner of that release."""
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
              " applied_at INTEGER NOT NULL)")
    for version, name, sql in migrations():
        if version > level:
            break
        c.executescript("BEGIN;\n" + sql + "\nCOMMIT;")
        c.execute("INSERT INTO schema_migrations VALUES (?,?,?,?)", (version, name, sha(sql), T0))
    return c


ASSIGNMENT = {"workspace_id": "ws_1", "name": "shop", "generation": 2, "action": "apply",
              "resources": {"memory_mib": 256, "cpu_millis": 100}, "spec": {"image": "shop:1"},
              "hostnames": ["shop.fleet.test"], "certificates": []}
TOMBSTONE = {"workspace_id": "ws_gone", "name": "gone", "generation": 3, "action": "delete",
             "resources": {"memory_mib": 1, "cpu_millis": 1}, "spec": {},
             "hostnames": ["gone.fleet.test"], "certificates": []}


def seed_foundation(c, level):  # 0001
    c.execute("INSERT INTO tokens(id, kind, sha256, created_at) VALUES ('tok_adm', 'admin', ?, ?)",
              (sha(ADMIN), T0))
    c.execute("INSERT INTO settings VALUES ('upgrade-test', 'kept')")
    c.execute("INSERT INTO idempotency_keys VALUES ('tok_adm POST /v1/workspaces', 'k1', 'ab', 201,"
              " '{}', ?)", (T0,))


def seed_scheduler(c, level):  # 0002: a region, a running workspace, a delete tombstone
    c.execute("INSERT INTO tokens(id, kind, sha256, region, created_at)"
              " VALUES ('tok_agt', 'agent', ?, 'r1', ?)", (sha(AGENT), T0))
    c.execute("INSERT INTO regions(id, name, labels, ingress, cap_memory_mib, cap_cpu_millis,"
              " cap_workspaces, alloc_memory_mib, alloc_cpu_millis, alloc_workspaces, revision,"
              " created_at, updated_at) VALUES ('r1', 'Region 1', '{\"tier\":\"gold\"}',"
              " '{\"ipv4\":[\"192.0.2.10\"],\"ipv6\":[],\"hostname\":null}', 4096, 4000, 10,"
              " 256, 100, 1, 5, ?, ?)", (T0, T0))
    c.execute("INSERT INTO workspaces(id, name, region, generation, memory_mib, cpu_millis, spec,"
              " observed_generation, observed_phase, dns_region, created_at, updated_at)"
              " VALUES ('ws_1', 'shop', 'r1', 2, 256, 100, '{\"image\":\"shop:1\"}', 2, 'running',"
              " 'r1', ?, ?)", (T0, T0))
    c.execute("INSERT INTO placements VALUES ('ws_1', 'r1', 256, 100, 0)")
    c.execute("INSERT INTO assignments(region, workspace_id, revision, action, body)"
              " VALUES ('r1', 'ws_1', 4, 'apply', ?)", (json.dumps(ASSIGNMENT),))
    c.execute("INSERT INTO assignments(region, workspace_id, revision, action, body)"
              " VALUES ('r1', 'ws_gone', 5, 'delete', ?)", (json.dumps(TOMBSTONE),))


def seed_challenges(c, level):  # 0003
    c.execute("INSERT INTO dns_challenges(name, value, created_at, expires_at)"
              " VALUES ('_acme-challenge.shop.fleet.test', 'v', ?, ?)", (T0, T0 + 10**12))


def seed_provider_records(c, level):  # 0004
    c.execute("INSERT INTO dns_provider_records(provider, name, type, ttl, desired, pushed, state,"
              " updated_at) VALUES ('127.0.0.1:53/ext.test', 'shop.ext.test', 'A', 60,"
              " '[\"192.0.2.10\"]', '[\"192.0.2.10\"]', 'synced', ?)", (T0,))


def seed_certs(c, level):  # 0005: a valid certificate of the workspace
    far = T0 + 10**12
    c.execute("INSERT INTO certificates(id, names_key, hostnames, workspace_id, challenge, status,"
              " issuer, version, not_before, not_after, renew_after, renew, created_at, updated_at)"
              " VALUES ('crt_1', 'www.customer.example', '[\"www.customer.example\"]', 'ws_1',"
              " 'http-01', 'valid', 'internal', 1, ?, ?, ?, 1, ?, ?)", (T0, far, far, T0, T0))


def seed_domains(c, level):  # 0006: one active domain with its certificate, one pending
    cols = ("id, hostname, workspace_id, status, token, verified_at, routing_ok, certificate_id,"
            " cert_generation, routed, created_at, updated_at")
    c.execute(f"INSERT INTO domains({cols}) VALUES ('dom_1', 'www.customer.example', 'ws_1',"
              " 'active', 'fc-verify=1', ?, 1, 'crt_1', 2, 1, ?, ?)", (T0, T0, T0 + 7))
    c.execute(f"INSERT INTO domains({cols}) VALUES ('dom_2', 'later.customer.example', 'ws_1',"
              " 'pending_verification', 'fc-verify=2', NULL, 0, NULL, NULL, 0, ?, ?)", (T0, T0))
    if level < 9:  # its check is a job in the shared queue
        c.execute("INSERT INTO jobs(kind, key, run_at, created_at, updated_at)"
                  " VALUES ('domain.check', 'dom_2', ?, ?, ?)", (T0 + 99, T0, T0))
    else:  # 0009 on: the schedule is a column
        c.execute("UPDATE domains SET next_check_at = CASE id WHEN 'dom_1' THEN ? ELSE ? END",
                  (T0 + 7, T0 + 99))


def seed_budgets(c, level):  # 0008
    c.execute("INSERT INTO cert_budget_buckets VALUES ('internal', 'new_orders', '', ?)", (T0,))
    c.execute("UPDATE certificates SET ari_check_at = ? WHERE id = 'crt_1'", (T0 + 5,))


def seed_webhooks(c, level):  # 0015 events, 0021 webhooks: a delivered and a pending row
    for seq in (1, 2):
        c.execute("INSERT INTO events(seq, id, type, workspace_id, workspace_seq, subject, data,"
                  " created_at) VALUES (?, ?, 'workspace.created', 'ws_1', ?, 'ws_1', '{}', ?)",
                  (seq, f"evt_{seq}", seq, T0))
    c.execute("INSERT INTO webhook_endpoints(id, url, secret_sealed, cursor, created_at, updated_at)"
              " VALUES ('whk_1', 'https://hooks.example/in', 'sealed', 2, ?, ?)", (T0, T0))
    for seq, state in ((1, "delivered"), (2, "pending")):
        c.execute("INSERT INTO webhook_deliveries(endpoint_id, event_seq, event_id, event_type,"
                  " workspace_id, lane, state, attempts, next_attempt_at, created_at)"
                  " VALUES ('whk_1', ?, ?, 'workspace.created', 'ws_1', 1, ?, 2, ?, ?)",
                  (seq, f"evt_{seq}", state, T0, T0))


def seed_usage(c, level):  # 0016: the workspace metered for its tenant (0026 rebuilds usage_open)
    c.execute("INSERT INTO tenants(id, name, created_at) VALUES ('ten_1', 'acme', ?)", (T0,))
    c.execute("INSERT INTO workspace_tenancy(workspace_id, tenant_id, plan) VALUES ('ws_1', 'ten_1', '')")
    c.execute("INSERT INTO usage_open(workspace_id, tenant_id, plan, state, memory_mib, cpu_millis,"
              " since_s) VALUES ('ws_1', 'ten_1', '', 'running', 256, 100, ?)", (T0 // 1000,))


SEEDS = {1: seed_foundation, 2: seed_scheduler, 3: seed_challenges, 4: seed_provider_records,
         5: seed_certs, 6: seed_domains, 8: seed_budgets, 16: seed_usage, 21: seed_webhooks}


class Upgrade(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            self.skipTest("FC_BIN not set")
        self.all = migrations()
        self.latest = self.all[-1][0]

    def prepare(self, d, level):
        os.makedirs(os.path.join(d.dir, "var"), exist_ok=True)
        db = os.path.join(d.dir, "var", "fleetcommand.db")
        c = build_at_level(db, level)
        c.execute("BEGIN")
        for at, seed in sorted(SEEDS.items()):
            if at <= level:
                seed(c, level)
        c.execute("COMMIT")
        c.close()
        with open(os.path.join(d.dir, "var", "admin.token"), "w") as f:
            f.write(ADMIN)  # what the level-1 binary wrote for its first admin
        return db

    def check_rows(self, db, level):
        c = sqlite3.connect(db)
        q = lambda sql, *a: c.execute(sql, a).fetchall()
        self.assertEqual([v for (v,) in q("SELECT version FROM schema_migrations ORDER BY 1")],
                         [v for v, _, _ in self.all])
        self.assertEqual(q("SELECT value FROM settings WHERE key = 'upgrade-test'"), [("kept",)])
        self.assertEqual(q("SELECT status FROM idempotency_keys"), [(201,)])
        if level < 2:
            return c
        self.assertEqual(q("SELECT revision, alloc_memory_mib, labels FROM regions"),
                         [(5, 256, '{"tier":"gold"}')])
        self.assertEqual(q("SELECT name, generation, observed_phase FROM workspaces"),
                         [("shop", 2, "running")])
        # 0022 rebuilds workspaces and placements: every row kept, the cascade too.
        self.assertEqual(q("SELECT workspace_id, region, memory_mib, cpu_millis, releasing FROM placements"),
                         [("ws_1", "r1", 256, 100, 0)])
        self.assertEqual(q("SELECT \"table\", \"from\", \"on_delete\" FROM pragma_foreign_key_list('placements')"
                           " ORDER BY 1"), [("regions", "region", "NO ACTION"),
                                            ("workspaces", "workspace_id", "CASCADE")])
        self.assertEqual(q("SELECT workspace_id, action, written_at FROM assignments ORDER BY 1"),
                         [("ws_1", "apply", 0), ("ws_gone", "delete", 0)])
        if level >= 3:
            self.assertEqual(len(q("SELECT 1 FROM dns_challenges")), 1)
        if level >= 4:
            self.assertEqual(q("SELECT state FROM dns_provider_records"), [("synced",)])
        if level >= 6:
            # 0009: next_check_at from the domain.check job, else updated_at; the jobs are gone.
            self.assertEqual(q("SELECT id, next_check_at FROM domains ORDER BY id"),
                             [("dom_1", T0 + 7), ("dom_2", T0 + 99)])
            self.assertEqual(q("SELECT count(*) FROM jobs WHERE kind = 'domain.check'"), [(0,)])
        if level >= 8:
            self.assertEqual(q("SELECT ari_check_at FROM certificates"), [(T0 + 5,)])
        if level >= 16:
            # 0026 rebuilds usage_open WITHOUT ROWID: the open interval kept as it was.
            self.assertEqual(q("SELECT workspace_id, tenant_id, state, memory_mib, cpu_millis, since_s"
                               " FROM usage_open"), [("ws_1", "ten_1", "running", 256, 100, T0 // 1000)])
        self.assertIn("WITHOUT ROWID", q("SELECT sql FROM sqlite_master WHERE name = 'usage_open'")[0][0])
        # 0026: the create path's indexes narrowed, the readers' still there.
        self.assertEqual(q("SELECT name FROM sqlite_master WHERE name IN ('workspaces_state',"
                           " 'workspaces_deleting', 'events_type') ORDER BY 1"),
                         [("events_type",), ("workspaces_deleting",)])
        if level >= 21:
            # 0025: the rows (the pending one included) and the cursor stay as they were.
            self.assertEqual(q("SELECT event_seq, state, attempts FROM webhook_deliveries ORDER BY 1"),
                             [(1, "delivered", 2), (2, "pending", 2)])
            self.assertEqual(q("SELECT cursor FROM webhook_endpoints"), [(2,)])
        return c

    def check_served(self, d, level):
        r = d.request("GET", "/v1/regions", token=ADMIN)
        self.assertEqual(r.status, 200, r)
        if level < 2:
            return
        r = d.request("GET", "/v1/workspaces/shop", token=ADMIN)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["generation"], 2)
        page = d.request("GET", "/v1/agent/assignments?since=0", token=AGENT)
        self.assertEqual(page.status, 200, page)
        items = {a["workspace_id"]: a for a in page.json()["assignments"]}
        self.assertEqual(sorted(items), ["ws_1"])  # the confirmed tombstone is not live
        a = items["ws_1"]
        self.assertEqual(a["spec"], {"image": "shop:1"})
        if level >= 6:
            self.assertEqual(a["hostnames"], ["shop.fleet.test", "www.customer.example"])
            self.assertEqual([c["id"] for c in a["certificates"]], ["crt_1"])
        if level >= 21:
            # The rows from before 0025 are the log's entries, by event sequence.
            log = d.request("GET", "/v1/webhooks/whk_1/deliveries", token=ADMIN)
            self.assertEqual(log.status, 200, log)
            self.assertEqual([(x["id"], x["event_id"], x["state"], x["recorded"], x["delivery_id"] is not None)
                              for x in log.json()["items"]],
                             [(1, "evt_1", "delivered", True, True), (2, "evt_2", "pending", True, True)])
        gone = d.request("GET", "/v1/agent/assignments?since=4", token=AGENT)
        self.assertEqual(gone.status, 200, gone)  # tombstone young by time: kept
        self.assertEqual([x["action"] for x in gone.json()["assignments"]], ["delete"])

    def test_every_level_upgrades_to_latest(self):
        levels = [v for v, _, _ in self.all if v < self.latest]
        self.assertIn(9, levels)
        for level in levels:
            with self.subTest(level=level):
                # The pending domain gets checked: its resolver is a closed loopback port.
                d = fctest.Daemon({"dns": {"zone": "fleet.test"},
                                   "resolver": {"servers": [f"127.0.0.1:{fctest.free_port(socket.SOCK_DGRAM)}"]}})
                try:
                    db = self.prepare(d, level)
                    r = d.cli("migrate")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    applied = [ln for ln in r.stderr.splitlines() if "migration applied" in ln]
                    # Counted, not subtracted: branches may hold numbers with a gap
                    # (another branch's migration merged later, or renumbered).
                    self.assertEqual(len(applied), len([v for v, _, _ in self.all if v > level]), r.stderr)
                    self.check_rows(db, level).close()
                    f = d.cli("fsck")
                    self.assertEqual(f.returncode, 0, f.stdout + f.stderr)
                    d.start()
                    self.check_served(d, level)
                    self.assertEqual(d.stop(), 0)
                finally:
                    d.cleanup()


if __name__ == "__main__":
    fctest.main()
