"""Configuration through the real binary: errors exit 2 naming the key,
FLEETCOMMAND_* overrides (env wins over the file), check-config redacts secrets."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import fctest

TSIG_SECRET = "dHNpZy1zZWNyZXQtdGhhdC1tdXN0LW5vdC1zaG93"
PROVIDER_SECRET = "cHJvdmlkZXItdHNpZy1zZWNyZXQ="
EAB_KEY = "ZWFiLWhtYWMta2V5LXRoYXQtbXVzdC1ub3Qtc2hvdw"


class ConfigCli(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            self.skipTest("FC_BIN not set")
        self.dir = tempfile.mkdtemp(prefix="fc-config-itest-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, cfg):
        p = os.path.join(self.dir, "config.json")
        with open(p, "w") as f:
            f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))
        return p

    def run_fc(self, args, env=None):
        # The caller's FLEETCOMMAND_* variables stay out of these tests.
        e = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCOMMAND_")}
        e.update(env or {})
        return subprocess.run([fctest.FC_BIN] + args, cwd=self.dir, env=e, capture_output=True, text=True,
                              timeout=30)

    def effective(self, cfg=None, env=None):
        args = ["check-config"] + (["--config", self.write(cfg)] if cfg is not None else [])
        r = self.run_fc(args, env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout), r.stdout

    def assert_config_error(self, cfg, key, reason=None, env=None, cmd="check-config"):
        r = self.run_fc([cmd, "--config", self.write(cfg)], env)
        self.assertEqual(r.returncode, 2, f"stdout={r.stdout} stderr={r.stderr}")
        self.assertIn("configuration error", r.stderr)
        self.assertIn(key, r.stderr)
        if reason:
            self.assertIn(reason, r.stderr)
        return r.stderr

    def test_unknown_key_exits_2_naming_it(self):
        self.assert_config_error({"api": {"listen": "127.0.0.1:1", "lisen": "x"}}, "api.lisen", "unknown")
        self.assert_config_error({"frobnicate": True}, "frobnicate", "unknown")
        # serve refuses it too, before touching anything.
        self.assert_config_error({"dns": {"zonee": "a.test"}}, "dns.zonee", cmd="serve")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "var")))

    def test_bad_values_of_several_types(self):
        cases = [
            ({"api": {"listen": "127.0.0.1"}}, "api.listen", "host:port"),
            ({"api": {"read_timeout_s": "2"}}, "api.read_timeout_s", "integer"),
            ({"api": {"read_timeout_s": -5}}, "api.read_timeout_s", "at least 1"),
            ({"api": {"metrics_require_admin": 1}}, "api.metrics_require_admin", "true or false"),
            ({"log": {"format": "yaml"}}, "log.format", "one of"),
            ({"scheduler": {"policy": "random"}}, "scheduler.policy", "spread"),
            ({"dns": {"nameservers": [{"name": "ns1.fleet.test", "ipv4": ["300.1.1.1"]}]}},
             "dns.nameservers[0].ipv4[0]", "IP address"),
            ({"dns": {"providers": [{"type": "route53", "server": "127.0.0.1:53", "zone": "a.test"}]}},
             "dns.providers[0].type", "rfc2136"),
            ({"certs": {"issuers": [{"type": "acme"}]}}, "certs.issuers[0].directory", "required"),
            ({"jobs": {"concurrency": 0}}, "jobs.concurrency", "between"),
            ({"plans": {"small": {"max_workspaces": 3}}}, "plans.small.resources", "required"),
            ({"plans": {"small": {"resources": {"memory_mib": 256, "cpu_millis": 100},
                                  "allowed_regions": [""]}}},
             "plans.small.allowed_regions[0]", "non-empty"),
        ]
        for cfg, key, reason in cases:
            with self.subTest(key=key):
                self.assert_config_error(cfg, key, reason)
        self.assert_config_error("{ not json", "config.json", "not valid JSON")

    def test_env_overrides_and_env_wins_over_file(self):
        port = fctest.free_port()
        env = {"FLEETCOMMAND_API_LISTEN": f"127.0.0.1:{port}",
               "FLEETCOMMAND_API_READ_TIMEOUT_S": "7",
               "FLEETCOMMAND_API_METRICS_REQUIRE_ADMIN": "true",
               "FLEETCOMMAND_DNS_AXFR_ALLOW": '["127.0.0.1", "::1/128"]',
               "FLEETCOMMAND_RESOLVER_SERVERS": '["127.0.0.1:5300"]',
               "FLEETCOMMAND_LOG_LEVEL": "debug"}
        eff, _ = self.effective({"api": {"listen": "127.0.0.1:1", "idle_timeout_s": 9},
                                 "log": {"level": "warn"}}, env)
        self.assertEqual(eff["api"]["listen"], f"127.0.0.1:{port}")  # env beat the file
        self.assertEqual(eff["api"]["idle_timeout_s"], 9)            # the file beat the default
        self.assertEqual(eff["api"]["read_timeout_s"], 7)
        self.assertIs(eff["api"]["metrics_require_admin"], True)
        self.assertEqual(eff["dns"]["axfr_allow"], ["127.0.0.1", "::1/128"])
        self.assertEqual(eff["resolver"]["servers"], ["127.0.0.1:5300"])
        self.assertEqual(eff["log"]["level"], "debug")
        self.assertEqual(eff["dns"]["zone"], "fleet.test")          # default untouched

    def test_bad_env_values_exit_2(self):
        for name, value, key in [("FLEETCOMMAND_API_LISTEN", "nowhere", "api.listen"),
                                 ("FLEETCOMMAND_API_MAX_CONNECTIONS", "many", "api.max_connections"),
                                 ("FLEETCOMMAND_DNS_SECONDARIES", "[\"127.0.0.1\"]", "dns.secondaries[0]"),
                                 ("FLEETCOMMAND_DNS_AXFR_TSIG", "[{", "dns.axfr_tsig"),
                                 ("FLEETCOMMAND_NOT_A_SETTING", "1", "FLEETCOMMAND_NOT_A_SETTING")]:
            with self.subTest(name=name):
                r = self.run_fc(["check-config"], {name: value})
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(key, r.stderr)

    def test_check_config_redacts_secrets(self):
        cfg = {"dns": {"axfr_tsig": [{"name": "xfr.fleet.test", "secret": TSIG_SECRET}],
                       "providers": [{"type": "rfc2136", "server": "127.0.0.1:53", "zone": "fleet.test",
                                      "tsig": {"name": "upd.fleet.test", "secret": PROVIDER_SECRET}}]},
               "certs": {"issuers": [{"type": "acme", "directory": "https://127.0.0.1:14000/dir",
                                      "eab": {"kid": "kid-123", "hmac_key": EAB_KEY}}]}}
        eff, text = self.effective(cfg)
        for secret in (TSIG_SECRET, PROVIDER_SECRET, EAB_KEY):
            self.assertNotIn(secret, text)
        self.assertEqual(eff["dns"]["axfr_tsig"][0]["secret"], "<redacted>")
        self.assertEqual(eff["dns"]["axfr_tsig"][0]["name"], "xfr.fleet.test")
        self.assertEqual(eff["certs"]["issuers"][0]["eab"]["hmac_key"], "<redacted>")
        self.assertEqual(eff["certs"]["issuers"][0]["eab"]["kid"], "kid-123")
        # Secrets given through the environment are redacted as well.
        env = {"FLEETCOMMAND_DNS_AXFR_TSIG": json.dumps([{"name": "e.fleet.test", "secret": TSIG_SECRET}])}
        _, text = self.effective(None, env)
        self.assertNotIn(TSIG_SECRET, text)

    def test_storage_backend_postgres_checked_and_its_password_never_shown(self):
        url = "postgresql://fc:pg-pass-123@127.0.0.1:5432/fleet"
        eff, text = self.effective({"storage": {"backend": "postgres", "postgres_url": url}})
        self.assertNotIn("pg-pass-123", text)
        self.assertEqual(eff["storage"]["backend"], "postgres")
        self.assertEqual(eff["storage"]["postgres_url"], "postgresql://fc:<redacted>@127.0.0.1:5432/fleet")
        err = self.assert_config_error({"storage": {"backend": "postgres", "postgres_url": "db.internal"}},
                                       "storage.postgres_url", "expected postgresql://")
        # the periodic backup is SQLite's: refused on postgres, before touching anything
        err = self.assert_config_error({"storage": {"backend": "postgres", "postgres_url": url},
                                        "backup": {"interval_s": 3600}}, "backup.interval_s", cmd="serve")
        self.assertNotIn("pg-pass-123", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "var")))
        self.assert_config_error({"storage": {"backend": "postgres"}}, "storage.postgres_url", "required")
        eff, text = self.effective({"storage": {"postgres_url": url}})  # kept for later, redacted
        self.assertNotIn("pg-pass-123", text)
        self.assertEqual(eff["storage"]["postgres_url"], "postgresql://fc:<redacted>@127.0.0.1:5432/fleet")
        self.assertEqual(eff["storage"]["backend"], "sqlite")

    def test_serve_listens_where_the_env_says(self):
        d = fctest.Daemon()
        try:
            port = fctest.free_port()
            d.env["FLEETCOMMAND_API_LISTEN"] = f"127.0.0.1:{port}"
            d.start(wait_ready=False)
            file_port = d.api_port
            d.api_port = port
            fctest.wait_until(d._ready, timeout=20, what="daemon ready on the env port")
            self.assertEqual(d.request("GET", "/healthz", auth=False).status, 200)
            with self.assertRaises(OSError):
                fctest.raw_exchange(file_port, b"GET /healthz HTTP/1.1\r\n\r\n", timeout=1)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    fctest.main()
