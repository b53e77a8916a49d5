"""`fleetcommand ctl` against a real daemon on loopback: the table of every
list command (snapshot with times normalised, columns aligned), -o json equal
to the API's documents and -o yaml parsed back, pagination followed, contexts,
region verbs, workspace verbs, `domains wait` exit codes 0/1/2 (including a
timeout and a deleted domain), problem+json field errors, a dead server, a
server that is not fleetcommand, one of another major version (nginx), a
revoked token, NO_COLOR on a terminal, unknown words and flags suggested,
--watch, and the bash completion script."""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fctest  # noqa: E402

import yaml  # noqa: E402  (python3-yaml)

AGE = re.compile(r"\b(\d+[smhd] ago|in \d+[smhd]|just now)\b")
ID = re.compile(r"\b(ws|tok|crt)_[A-Za-z0-9_-]+")


def cells(table):
    """Rows of cells of an aligned table, times and ids normalised."""
    out = []
    for line in table.rstrip("\n").split("\n"):
        line = ID.sub(lambda m: m.group(1) + "_<id>", AGE.sub("<age>", line))
        out.append(re.split(r"\s{2,}", line.strip()))
    return out


def assert_aligned(test, table):
    """Every cell starts where its header starts (kubectl-style columns)."""
    lines = table.rstrip("\n").split("\n")
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s{3}))\S", lines[0])]
    for line in lines[1:]:
        for s in starts[1:]:
            test.assertTrue(s < len(line) and line[s] != " " and line[s - 1] == " ",
                            f"column at {s} not aligned in:\n{table}")


class Ctl(fctest.DaemonTest):
    CONFIG = {"resolver": {"servers": ["127.0.0.1:9"]},  # checks fail on loopback, never leave it
              "domains": {"verify_base_s": 1, "recheck_interval_s": 2},
              "agents": {"heartbeat_timeout_s": 600}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.home = tempfile.mkdtemp(prefix="fc-ctl-home-")
        cls.token_file = os.path.join(cls.home, "admin.token")
        with open(cls.token_file, "w") as f:
            f.write(cls.d.token + "\n")
        cls.server = f"http://127.0.0.1:{cls.d.api_port}"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.home, ignore_errors=True)
        super().tearDownClass()

    def ctl(self, *args, env=None, timeout=60, stdin=None, server=True):
        e = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCOMMAND_")}
        e.pop("NO_COLOR", None)
        e["HOME"] = self.home
        if server:
            e["FLEETCOMMAND_SERVER"] = self.server
            e["FLEETCOMMAND_TOKEN"] = self.d.token
        e.update(env or {})
        return subprocess.run([fctest.FC_BIN, "ctl"] + list(args), env=e, capture_output=True,
                              text=True, timeout=timeout, input=stdin)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        self.assertEqual(r.returncode, 0, f"ctl {' '.join(args)}: {r.stderr}{r.stdout}")
        return r.stdout

    def api(self, path):
        r = self.d.request("GET", path)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def ensure_world(self):
        """Two regions and three workspaces, made through ctl (idempotent)."""
        if self.api("/v1/regions")["items"]:
            return
        doc = os.path.join(self.home, "r-a.yaml")
        with open(doc, "w") as f:
            f.write("id: r-a\nname: Region A\nlabels: {jurisdiction: eu}\n"
                    "ingress: {ipv4: [192.0.2.10]}\n"
                    "capacity: {memory_mib: 4096, cpu_millis: 4000, workspaces: 10}\n")
        self.ok("regions", "create", "-f", doc)
        body = json.dumps({"id": "r-b", "name": "Region B", "labels": {"jurisdiction": "us"},
                           "ingress": {"ipv4": ["192.0.2.20"]},
                           "capacity": {"memory_mib": 2048, "cpu_millis": 2000, "workspaces": 5}})
        self.ok("regions", "create", "-f", "-", stdin=body)
        for rid in ("r-a", "r-b"):  # healthy: one heartbeat each
            self.d.heartbeat(self.ok("tokens", "create", "--region", rid).strip(), f"agent-{rid}")
        for name, label in (("alpha", "eu"), ("beta", "us"), ("gamma", "eu")):
            self.ok("workspaces", "create", "--name", name, "--memory-mib", "256", "--cpu-millis", "100",
                    "--label", f"jurisdiction={label}")

    # -- tables and documents ---------------------------------------------------------------

    def test_01_regions_table_and_json(self):
        self.ensure_world()
        out = self.ok("regions", "list")
        assert_aligned(self, out)
        self.assertEqual(cells(out), [
            ["ID", "NAME", "STATE", "HEALTH", "WORKSPACES", "MEMORY MIB", "LAST HEARTBEAT"],
            ["r-a", "Region A", "active", "healthy", "2/10", "512/4096", "<age>"],
            ["r-b", "Region B", "active", "healthy", "1/5", "256/2048", "<age>"],
        ])
        wide = self.ok("regions", "list", "-o", "wide")
        self.assertIn("jurisdiction=eu", wide)
        self.assertIn("192.0.2.10", wide)
        self.assertEqual(json.loads(self.ok("regions", "list", "-o", "json")), self.api("/v1/regions"))
        self.assertEqual(json.loads(self.ok("regions", "get", "r-a", "-o", "json")),
                         self.api("/v1/regions/r-a"))
        self.assertEqual(yaml.safe_load(self.ok("regions", "get", "r-a", "-o", "yaml")),
                         self.api("/v1/regions/r-a"))

    def test_02_workspaces_table_json_pagination(self):
        self.ensure_world()
        out = self.ok("workspaces", "list")
        assert_aligned(self, out)
        self.assertEqual(cells(out), [
            ["NAME", "REGION", "STATE", "PHASE", "GENERATION", "AGE"],
            ["alpha", "r-a", "scheduled", "pending", "0/1", "<age>"],
            ["beta", "r-b", "scheduled", "pending", "0/1", "<age>"],
            ["gamma", "r-a", "scheduled", "pending", "0/1", "<age>"],
        ])
        api = self.api("/v1/workspaces")
        got = json.loads(self.ok("workspaces", "list", "-o", "json", "--chunk-size", "1"))
        self.assertEqual(got, {"items": api["items"]}, "pages of 1 merged into one document")
        got = json.loads(self.ok("workspaces", "list", "-o", "json", "--chunk-size", "2", "--limit", "2"))
        self.assertEqual([w["name"] for w in got["items"]], [w["name"] for w in api["items"][:2]])
        got = json.loads(self.ok("workspaces", "list", "--region", "r-b", "-o", "json"))
        self.assertEqual([w["name"] for w in got["items"]], ["beta"])
        self.assertEqual(yaml.safe_load(self.ok("workspaces", "get", "alpha", "-o", "yaml")),
                         self.api("/v1/workspaces/alpha"))

    def test_03_tokens_certs_dns_tables(self):
        self.ensure_world()
        out = self.ok("tokens", "list")
        assert_aligned(self, out)
        self.assertEqual(cells(out)[0], ["ID", "KIND", "REGION", "WORKSPACE", "CREATED", "LAST USED"])
        self.assertIn(["tok_<id>", "admin", "-", "-", "<age>", "<age>"], cells(out))
        # Both calls use the admin token, so the daemon may move its last_used_at between them.
        def unused(doc):
            return [{k: v for k, v in t.items() if k != "last_used_at"} for t in doc["items"]]
        listed = json.loads(self.ok("tokens", "list", "-o", "json"))
        self.assertEqual(unused(listed), unused(self.api("/v1/tokens")))
        r = self.ctl("certificates", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(self.ok("certs", "list", "-o", "json")), self.api("/v1/certificates"))
        out = self.ok("dns", "zone")
        assert_aligned(self, out)
        rows = cells(out)
        self.assertEqual(rows[0], ["NAME", "TYPE", "TTL", "DATA"])
        self.assertIn("SOA", [row[1] for row in rows])
        zone = self.api("/v1/dns/zone")
        self.assertEqual(json.loads(self.ok("dns", "zone", "-o", "json", "--chunk-size", "1"))["items"],
                         zone["items"])
        self.assertIsNone(zone["next_cursor"])
        page = self.api("/v1/dns/zone?limit=1")
        self.assertEqual(len(page["items"]), 1)
        self.assertIsNotNone(page["next_cursor"])
        self.assertEqual(self.d.request("GET", "/v1/dns/zone?limit=0").status, 422)
        look = json.loads(self.ok("dns", "lookup", "fleet.test", "-o", "json"))
        self.assertEqual(look, self.api("/v1/dns/records?name=fleet.test"))

    def test_04_region_verbs(self):
        self.ensure_world()
        self.assertIn("cordoned", self.ok("regions", "cordon", "r-b"))
        self.assertEqual(self.api("/v1/regions/r-b")["state"], "cordoned")
        self.assertIn("draining", self.ok("regions", "drain", "r-b"))
        self.assertIn("active", self.ok("regions", "uncordon", "r-b"))
        self.assertEqual(self.api("/v1/regions/r-b")["state"], "active")
        out = self.ok("regions", "capacity", "r-b", "--workspaces", "7")
        self.assertIn(["workspaces", "1", "7", "6"], cells(out))
        self.assertEqual(self.api("/v1/regions/r-b")["capacity"]["workspaces"], 7)
        self.assertEqual(self.api("/v1/regions/r-b")["capacity"]["memory_mib"], 2048)

    def test_05_workspace_verbs(self):
        self.ensure_world()
        out = self.ok("workspaces", "patch", "gamma", "--memory-mib", "300", "--cpu-millis", "100", "-o", "json")
        self.assertEqual(json.loads(out)["generation"], 2)
        tok = self.ok("workspaces", "tenant-token", "gamma").strip()
        self.assertTrue(tok.startswith("fc_tnt_"), tok)
        self.ok("workspaces", "migrate", "gamma", "--to", "r-b")
        self.assertEqual(self.api("/v1/workspaces/gamma")["state"], "migrating")
        self.ok("workspaces", "create", "--name", "delta", "--memory-mib", "64", "--cpu-millis", "10")
        self.assertIn("deleted", self.ok("workspaces", "delete", "delta", "--force"))
        self.assertEqual(self.d.request("GET", "/v1/workspaces/delta").status, 404)

    def test_06_problem_json_is_readable(self):
        r = self.ctl("workspaces", "create", "--name", "Bad_Name", "--memory-mib", "64", "--cpu-millis", "10")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"^error: .*\(HTTP 422\)")
        self.assertRegex(r.stderr, r"\n  name: ")
        self.assertNotIn('"type"', r.stderr)
        self.assertEqual(r.stderr.count("must be a lower-case DNS label"), 1, r.stderr)
        r = self.ctl("workspaces", "create", "--name", "huge", "--memory-mib", "999999", "--cpu-millis", "10")
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 503", r.stderr)
        self.assertRegex(r.stderr, r"\n  region r-a: ")
        r = self.ctl("regions", "get", "nowhere")
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 404", r.stderr)
        self.assertNotIn("did you mean", r.stderr)
        r = self.ctl("regions", "get", "r-c")
        self.assertEqual(r.returncode, 1)
        self.assertIn("(did you mean r-a?)", r.stderr)
        r = self.ctl("workspaces", "get", "alpah")
        self.assertEqual(r.returncode, 1)
        self.assertIn("(did you mean alpha?)", r.stderr)
        bad = os.path.join(self.home, "bad.yaml")
        with open(bad, "w") as f:
            f.write("id: [unclosed\n")
        r = self.ctl("regions", "create", "-f", bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("neither JSON nor YAML", r.stderr)

    # -- domains wait ------------------------------------------------------------------------

    def test_07_domains_wait_exit_codes(self):
        self.ensure_world()
        host = "chat.customer.test"
        out = self.ok("domains", "add", host, "--workspace", "alpha", "-o", "json")
        self.assertEqual(json.loads(out)["status"], "pending_verification")
        listed = self.ok("domains", "list")
        assert_aligned(self, listed)
        self.assertEqual(cells(listed)[0],
                         ["HOSTNAME", "WORKSPACE", "STATUS", "VERIFIED", "ROUTING", "CERTIFICATE", "AGE"])
        self.assertEqual(cells(listed)[1][:6],
                         [host, "ws_<id>", "pending_verification", "false", "false", "-"])
        api = self.api(f"/v1/domains/{host}")
        self.assertEqual(json.loads(self.ok("domains", "get", host, "-o", "json"))["hostname"], api["hostname"])
        ws_doms = self.api("/v1/workspaces/alpha/domains")
        self.assertEqual(json.loads(self.ok("domains", "list", "--workspace", "alpha", "-o", "json")), ws_doms)
        # 0: the awaited status is reached (it is the current one).
        r = self.ctl("domains", "wait", host, "--for=pending_verification", "--timeout=5s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"domain {host}  pending_verification", r.stdout)
        # 1: timeout, naming the current status.
        t0 = time.monotonic()
        r = self.ctl("domains", "wait", host, "--for=active", "--timeout=2s", "--interval=500ms")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertRegex(r.stderr, r"timed out after 2s waiting for domain .* to be active \(it is ")
        # 2: bad usage.
        for bad in (["--for=live"], ["--timeout=soon"], []):
            r = self.ctl("domains", "wait", *bad, *([host] if bad else []))
            self.assertEqual(r.returncode, 2, (bad, r.stderr))
        # 1: the domain goes away while waited for (a terminal failure).
        e = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCOMMAND_")}
        e.update({"HOME": self.home, "FLEETCOMMAND_SERVER": self.server, "FLEETCOMMAND_TOKEN": self.d.token})
        p = subprocess.Popen([fctest.FC_BIN, "ctl", "domains", "wait", host, "--for=active", "--timeout=30s",
                              "--interval=200ms"], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            time.sleep(0.5)
            self.ok("domains", "delete", host)
            out, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 1, out + err)
        self.assertIn("deleted", out)
        self.assertIn("does not exist", err)

    def test_07b_workspace_wait(self):
        self.ensure_world()
        r = self.ctl("workspaces", "wait", "beta", "--for=running", "--timeout=1s", "--interval=200ms")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("timed out after 1s waiting for workspace beta to be running (it is pending)", r.stderr)
        # The agent of r-b reports this generation running (the real agent API).
        tok = self.ok("tokens", "create", "--region", "r-b").strip()
        beta = self.api("/v1/workspaces/beta")
        st = self.d.request("POST", "/v1/agent/status", {"workspaces": [
            {"workspace_id": beta["id"], "generation": beta["generation"], "phase": "running", "message": ""}]},
            token=tok)
        self.assertEqual(st.status, 200, st)
        r = self.ctl("workspaces", "wait", "beta", "--for=running", "--timeout=10s", "--interval=200ms")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"workspace beta  running\n$")
        out = self.ok("workspaces", "get", "beta")
        self.assertEqual(cells(out)[1][:5], ["beta", "r-b", "scheduled", "running", "1/1"])

    # -- bad input and failure ---------------------------------------------------------------

    def test_08_dead_server_wrong_url_revoked_token(self):
        port = fctest.free_port()
        r = self.ctl("regions", "list", "--server", f"http://127.0.0.1:{port}")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertIn(f"cannot reach http://127.0.0.1:{port}", r.stderr)
        self.assertIn("refused", r.stderr.lower())
        # The HTTP-01 listener is a real server that is not the API.
        r = self.ctl("regions", "list", "--server", f"http://127.0.0.1:{self.d.acme_port}")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not a fleetcommand API server", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        r = self.ctl("regions", "list", "--server", "ftp://127.0.0.1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad server URL", r.stderr)
        # A revoked token: one line naming the cause, exit 1.
        self.ensure_world()
        before = {t["id"] for t in self.api("/v1/tokens")["items"]}
        tok = self.ok("tokens", "create", "--region", "r-a").strip()
        self.assertTrue(tok.startswith("fc_agt_"), tok)
        tid, = [t["id"] for t in self.api("/v1/tokens")["items"] if t["id"] not in before]
        self.ok("tokens", "revoke", tid)
        r = self.ctl("regions", "list", env={"FLEETCOMMAND_TOKEN": tok})
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 401", r.stderr)
        self.assertIn("refused the token", r.stderr)
        self.assertNotIn(tok, r.stderr + r.stdout)
        r = self.ctl("regions", "list", server=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no server", r.stderr)

    def test_09_other_major_version(self):
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if not nginx:
            self.skipTest("nginx is not installed")
        root = tempfile.mkdtemp(prefix="fc-ctl-nginx-")
        port = fctest.free_port()
        conf = os.path.join(root, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; worker_processes 1; pid {root}/nginx.pid; error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {root}; proxy_temp_path {root};
  fastcgi_temp_path {root}; uwsgi_temp_path {root}; scgi_temp_path {root};
  server {{ listen 127.0.0.1:{port};
    location = /v1/version {{ default_type application/json; return 200 '{{"version":"2.0.0","api":"v2"}}'; }}
  }} }}
""")
        p = subprocess.Popen([nginx, "-p", root, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            fctest.wait_until(lambda: fctest.raw_exchange(port, b"GET /v1/version HTTP/1.0\r\n\r\n")[0],
                              timeout=10, what="nginx")
            r = self.ctl("regions", "list", "--server", f"http://127.0.0.1:{port}")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
            self.assertIn("runs fleetcommand 2.0.0 (API v2)", r.stderr)
            self.assertIn("use a ctl of the server's major version", r.stderr)
        finally:
            p.terminate()
            p.wait(timeout=10)
            shutil.rmtree(root, ignore_errors=True)

    def test_10_suggestions_and_help(self):
        r = self.ctl("regoins", "list")
        self.assertEqual(r.returncode, 2)
        self.assertIn("did you mean regions?", r.stderr)
        r = self.ctl("workspaces", "lisst")
        self.assertEqual(r.returncode, 2)
        self.assertIn("did you mean list?", r.stderr)
        r = self.ctl("workspaces", "list", "--regoin", "r-a")
        self.assertEqual(r.returncode, 2)
        self.assertIn("did you mean --region?", r.stderr)
        r = self.ctl("regions", "list", "-o", "xml")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown output format", r.stderr)
        # Every command (from the completion script's table) has --help with
        # its own examples.
        script = self.ok("completion", "bash", server=False)
        paths = re.findall(r'^    "([^"]+)"\)', script, re.M)
        canonical = {"regions", "workspaces", "domains", "certificates", "tokens", "dns", "context",
                     "version", "completion"}
        paths = [p for p in paths if p.split()[0] in canonical and "ls" not in p.split()]
        self.assertGreater(len(paths), 35, paths)
        for path in paths:
            r = self.ctl(*path.split(), "--help", server=False)
            self.assertEqual(r.returncode, 0, (path, r.stderr))
            self.assertIn(f"fleetcommand ctl {path}", r.stdout.partition("Examples:")[2], path)

    def test_11_contexts(self):
        cfg = os.path.join(self.home, "ctx.json")
        env = {"FLEETCOMMAND_CTL_CONFIG": cfg}
        self.ok("context", "set", "local", "--server", self.server, "--token-file", self.token_file,
                env=env, server=False)
        self.ok("context", "set", "dead", "--server", f"http://127.0.0.1:{fctest.free_port()}",
                "--token-file", self.token_file, env=env, server=False)
        self.assertEqual(self.ok("context", "current", env=env, server=False).strip(), "local")
        self.assertEqual(os.stat(cfg).st_mode & 0o777, 0o600)
        self.ok("regions", "list", env=env, server=False)
        self.ok("context", "use", "dead", env=env, server=False)
        r = self.ctl("regions", "list", env=env, server=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach", r.stderr)
        self.ok("regions", "list", "--context", "local", env=env, server=False)
        # The environment wins over the context.
        self.ok("regions", "list", env=env)
        r = self.ctl("context", "use", "nope", env=env, server=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("have: dead, local", r.stderr)
        listed = cells(self.ok("context", "list", env=env, server=False))
        self.assertEqual(listed[0], ["CURRENT", "NAME", "SERVER", "TOKEN FILE"])
        with open(cfg, "w") as f:
            f.write("{not json")
        r = self.ctl("regions", "list", env=env, server=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not valid JSON", r.stderr)

    def test_12_colour_only_on_a_tty_without_no_color(self):
        self.ensure_world()

        def on_tty(extra):
            e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
            e.update({"HOME": self.home, "FLEETCOMMAND_SERVER": self.server, "FLEETCOMMAND_TOKEN": self.d.token})
            e.update(extra)
            pid, fd = pty.fork()
            if pid == 0:
                os.execve(fctest.FC_BIN, [fctest.FC_BIN, "ctl", "regions", "list"], e)
            out = b""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 1)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            os.close(fd)
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
            return out.decode()

        self.assertIn("\x1b[32mactive", on_tty({}))
        self.assertNotIn("\x1b[", on_tty({"NO_COLOR": "1"}))
        self.assertNotIn("\x1b[", self.ok("regions", "list"))

    def test_13_watch_polls_with_a_visible_interval(self):
        self.ensure_world()
        e = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCOMMAND_")}
        e.update({"HOME": self.home, "FLEETCOMMAND_SERVER": self.server, "FLEETCOMMAND_TOKEN": self.d.token})
        p = subprocess.Popen([fctest.FC_BIN, "ctl", "regions", "get", "r-a", "--watch", "--interval", "300ms"],
                             env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        seen = ""

        def read_until(word):
            nonlocal seen
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and word not in seen:
                ready, _, _ = select.select([p.stdout], [], [], 1)
                if ready:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    seen += chunk.decode()
            return seen

        try:
            self.assertIn("active", read_until("active"))
            self.assertTrue(seen.startswith("Every 0.3s (polling; Ctrl-C to stop)"), seen)
            self.ok("regions", "cordon", "r-a")
            read_until("cordoned")
            # Redrawn (at least once more: a loaded machine may poll again
            # before the cordon lands) until a frame shows it.
            self.assertGreaterEqual(seen.count("Every 0.3s"), 2, seen)
            self.assertIn("cordoned", seen)
        finally:
            p.terminate()
            p.wait(timeout=10)
            self.ok("regions", "uncordon", "r-a")

    def test_14_completion_and_version(self):
        script = self.ok("completion", "bash", server=False)
        prog = script + '\nCOMP_WORDS=(fleetcommand ctl wor); COMP_CWORD=2; _fleetcommand_ctl; echo "${COMPREPLY[@]}"\n' \
            'COMP_WORDS=(fleetcommand ctl domains wa); COMP_CWORD=3; _fleetcommand_ctl; echo "${COMPREPLY[@]}"\n' \
            'COMP_WORDS=(fleetcommand ctl regions list --w); COMP_CWORD=4; _fleetcommand_ctl; echo "${COMPREPLY[@]}"\n'
        r = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.stdout.split("\n")[:3], ["workspaces", "wait", "--watch"], r.stderr)
        self.assertIn("compdef _fleetcommand fleetcommand", self.ok("completion", "zsh", server=False))
        if shutil.which("zsh"):
            z = self.ok("completion", "zsh", server=False)
            r = subprocess.run(["zsh", "-n"], input=z, capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("completion", "fish", server=False)
        self.assertEqual(r.returncode, 2)
        out = self.ok("version")
        self.assertRegex(out, r"client: fleetcommand \S+ \(API v1\)\nserver: fleetcommand \S+ \(API v1\) at http")
        v = self.d.request("GET", "/v1/version", auth=False)
        self.assertEqual(v.status, 200)
        self.assertEqual(v.json()["api"], "v1")


if __name__ == "__main__":
    fctest.main()
