"""The reference agent against the real daemon: `fleetcommand agent` polls,
writes manifests (--out) or pipes them to a command, reports, and keeps its
objects while the control plane is down. Loopback only, private temp dirs,
every wait bounded, every process stopped by pid."""
import json
import os
import http.client
import signal
import ssl
import subprocess
import tempfile
import unittest

import fctest


def k8s_name(ws_id):
    return "".join(c if c.isalnum() else "-" for c in ws_id.lower())


class Agent:
    """Runs `fleetcommand agent` against one daemon with private dirs."""

    def __init__(self, daemon, token, root=None):
        self.d = daemon
        self.root = root or tempfile.mkdtemp(prefix="fc-agent-", dir=daemon.dir)
        self.token_file = os.path.join(self.root, "token")
        with open(self.token_file, "w") as f:
            f.write(token + "\n")
        self.state = os.path.join(self.root, "state")
        self.out = os.path.join(self.root, "out")
        self.proc = None

    def args(self, *extra, mode=None):
        mode = mode if mode is not None else ["--out", self.out]
        return [fctest.FC_BIN, "agent", "--api", f"http://127.0.0.1:{self.d.api_port}",
                "--token-file", self.token_file, "--state-dir", self.state,
                "--agent-id", "itest-agent", *mode, *extra]

    def once(self, *extra, mode=None):
        return subprocess.run(self.args("--once", *extra, mode=mode), capture_output=True,
                              text=True, timeout=60)

    def start(self, *extra):
        self.log_path = os.path.join(self.root, "agent.log")
        self.log = open(self.log_path, "ab")
        self.proc = fctest.track(subprocess.Popen(self.args("--poll-wait", "2", *extra), stdout=self.log,
                                                  stderr=subprocess.STDOUT), "fleetcommand agent")
        return self

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("agent did not stop on SIGTERM")
        finally:
            self.log.close()

    def file(self, kind, ws_id, suffix=""):
        return os.path.join(self.out, "fleet", f"{kind}-{k8s_name(ws_id)}{suffix}.json")

    def load(self, kind, ws_id, suffix=""):
        with open(self.file(kind, ws_id, suffix)) as f:
            return json.load(f)


def create_workspace(d, name, **spec):
    body = {"name": name, "resources": {"memory_mib": 256, "cpu_millis": 100}}
    if spec:
        body["spec"] = spec
    r = d.request("POST", "/v1/workspaces", body)
    assert r.status == 201, r
    return r.json()


def observed(d, ws_id):
    r = d.request("GET", f"/v1/workspaces/{ws_id}")
    return r.json()["observed"] if r.status == 200 else None


class AgentOnceTest(fctest.DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d.create_region("eu")
        cls.token = cls.d.agent_token("eu")
        cls.d.heartbeat(cls.token)

    def test_usage_errors_exit_2(self):
        r = subprocess.run([fctest.FC_BIN, "agent", "--api", "ftp://x"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--api", r.stderr)
        a = Agent(self.d, self.token)
        r = a.once("--template", os.path.join(a.root, "missing.json"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--template", r.stderr)

    def test_apply_update_delete_in_out_mode(self):
        ws = create_workspace(self.d, "alpha", image="img:1", env={"LOG": "debug"})
        a = Agent(self.d, self.token)
        r = a.once()
        self.assertEqual(r.returncode, 0, r.stderr)
        dep = a.load("deployment", ws["id"])
        container = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["image"], "img:1")
        self.assertIn({"name": "LOG", "value": "debug"}, container["env"])
        self.assertEqual(container["resources"]["requests"]["memory"], "256Mi")
        ing = a.load("ingress", ws["id"])
        rule = ing["spec"]["rules"][0]
        self.assertEqual(rule["host"], "alpha.fleet.test")
        self.assertEqual(rule["http"]["paths"][0]["path"], "/.well-known/acme-challenge/")
        self.assertEqual(a.load("service", ws["id"], "-acme")["spec"]["type"], "ExternalName")
        obs = observed(self.d, ws["id"])
        self.assertEqual((obs["phase"], obs["generation"]), ("running", 1))

        r = self.d.request("PATCH", f"/v1/workspaces/{ws['id']}", {"spec": {"image": "img:2"}})
        self.assertEqual(r.status, 200, r)
        gen = r.json()["generation"]
        r = a.once()
        self.assertEqual(r.returncode, 0, r.stderr)
        dep = a.load("deployment", ws["id"])
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "img:2")
        obs = observed(self.d, ws["id"])
        self.assertEqual((obs["phase"], obs["generation"]), ("running", gen))

        r = self.d.request("DELETE", f"/v1/workspaces/{ws['id']}")
        self.assertEqual(r.status, 202, r)
        r = a.once()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(a.file("deployment", ws["id"])))
        self.assertFalse(os.path.exists(a.file("ingress", ws["id"])))
        fctest.wait_until(lambda: self.d.request("GET", f"/v1/workspaces/{ws['id']}").status == 404,
                          timeout=5, what="workspace gone after the deleted report")

    def test_restart_resumes_from_stored_revision(self):
        ws = create_workspace(self.d, "resume")
        a = Agent(self.d, self.token)
        self.assertEqual(a.once().returncode, 0)
        with open(os.path.join(a.state, "state.json")) as f:
            state = json.load(f)
        self.assertIn(ws["id"], state["workspaces"])
        self.assertGreater(state["revision"], 0)
        r = a.once("--log-level", "debug")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("snapshot", r.stderr)  # resumed with since=REV, not a new listing
        self.assertIn(f"revision={state['revision']}", r.stderr)

    def test_corrupt_state_lists_again(self):
        create_workspace(self.d, "corrupt")
        a = Agent(self.d, self.token)
        os.makedirs(a.state)
        with open(os.path.join(a.state, "state.json"), "w") as f:
            f.write("{broken")
        r = a.once()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("starting from revision 0", r.stderr)
        self.assertIn("snapshot", r.stderr)

    def test_apply_command_mode(self):
        ws = create_workspace(self.d, "kubectl")
        a = Agent(self.d, self.token)
        applied = os.path.join(a.root, "applied.json")
        r = a.once(mode=["--apply-command", f"cat >> {applied}; echo >> {applied}",
                         "--delete-command", "cat > /dev/null"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(applied) as f:
            lists = [json.loads(line) for line in f if line.strip()]
        kinds = {(i["kind"], i["metadata"]["name"]) for lst in lists for i in lst["items"]}
        self.assertIn(("Deployment", k8s_name(ws["id"])), kinds)
        self.assertTrue(all(lst["kind"] == "List" for lst in lists))
        failing = Agent(self.d, self.token)
        r = failing.once(mode=["--apply-command", "echo 'no cluster' >&2; exit 1"])
        self.assertEqual(r.returncode, 0, r.stderr)  # the round worked; the workspace failed
        self.assertIn("no cluster", r.stderr)
        obs = observed(self.d, ws["id"])
        self.assertEqual(obs["phase"], "failed")
        self.assertIn("no cluster", obs["message"])

    def test_rejected_token_exits_1(self):
        a = Agent(self.d, "fc_agt_" + "A" * 43)
        r = a.once()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("token rejected", r.stderr)
        self.assertNotIn("A" * 43, r.stderr)  # never log the token


class DaemonAgentCase(unittest.TestCase):
    """A fresh daemon per test, an agent stopped after it, and a daemon restart
    on the same directory and ports."""

    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.d = fctest.Daemon().start()
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.stop()
        self.d.cleanup()

    def restart_daemon(self):
        """Same directory and ports: the database and the revision log survive."""
        old = self.d
        old.log.close()
        new = fctest.Daemon(config=old.config, workdir=old.dir)
        new.api_port, new.acme_port, new.dns_port = old.api_port, old.acme_port, old.dns_port
        new.config = old.config
        self.d = new.start()


class AgentStaticStabilityTest(DaemonAgentCase):
    def test_follows_changes_and_keeps_objects_while_control_plane_is_down(self):
        self.d.create_region("eu")
        token = self.d.agent_token("eu")
        self.agent = Agent(self.d, token).start()
        fctest.wait_until(lambda: self.d.request("GET", "/v1/regions/eu").json()["health"] == "healthy",
                          timeout=10, what="region healthy from the agent's heartbeat")
        ws = create_workspace(self.d, "beta")
        fctest.wait_until(lambda: os.path.exists(self.agent.file("deployment", ws["id"])), timeout=15,
                          what="manifest written by the long-polling agent")
        fctest.wait_until(lambda: (observed(self.d, ws["id"]) or {}).get("phase") == "running",
                          timeout=10, what="running reported")

        self.assertEqual(self.d.stop(), 0)
        # Several failed rounds (backoff 250 ms, 500 ms, …): nothing may be deleted.
        fctest.wait_until(lambda: self.agent.logs().count("control plane round failed") >= 3,
                          timeout=15, what="agent retries through the outage")
        self.assertIsNone(self.agent.proc.poll(), "agent must keep running")
        self.assertTrue(os.path.exists(self.agent.file("deployment", ws["id"])))

        self.restart_daemon()
        # Heartbeats are not durable: wait until the agent has made the region healthy again.
        fctest.wait_until(lambda: self.d.request("GET", "/v1/regions/eu").json()["health"] == "healthy",
                          timeout=15, what="region healthy again after the restart")
        ws2 = create_workspace(self.d, "gamma")
        fctest.wait_until(lambda: os.path.exists(self.agent.file("deployment", ws2["id"])), timeout=20,
                          what="agent resumes after the control plane returns")
        self.assertTrue(os.path.exists(self.agent.file("deployment", ws["id"])))
        self.assertEqual(self.agent.stop(), 0)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    """A throwaway CA (openssl CLI); returns (cert, key) paths."""
    ca, ca_key = os.path.join(d, f"{name}-ca.pem"), os.path.join(d, f"{name}-ca.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", ca_key, "-out", ca, "-days", "1", "-subj", f"/CN={name} itest CA")
    return ca, ca_key


def issue(d, name, ca, ca_key, san):
    """A server certificate signed by the CA with the given subjectAltName."""
    key, csr, crt = (os.path.join(d, f"{name}-srv.{x}") for x in ("key", "csr", "pem"))
    ext = os.path.join(d, f"{name}-ext.cnf")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=fleetcommand itest")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
            "-days", "1", "-extfile", ext)
    return crt, key


class TlsDaemon(fctest.Daemon):
    """The daemon serving its API over TLS (api.tls.*); requests verify against `ca`."""

    def __init__(self, ca, crt, key, check_hostname=True):
        super().__init__(config={"api": {"tls": {"cert_file": crt, "key_file": key}}})
        self.ssl_ctx = ssl.create_default_context(cafile=ca)
        self.ssl_ctx.check_hostname = check_hostname

    def request(self, method, path, body=None, token=None, auth=True, headers=None, timeout=30,
                raw_body=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.api_port, timeout=timeout,
                                           context=self.ssl_ctx)
        h = dict(headers or {})
        if auth:
            h["Authorization"] = f"Bearer {token or self.token}"
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return fctest.Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()


class AgentTlsTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.pki = tempfile.mkdtemp(prefix="fc-agent-pki-")
        self.ca, ca_key = make_ca(self.pki, "good")
        self.other_ca, _ = make_ca(self.pki, "other")
        crt, key = issue(self.pki, "good", self.ca, ca_key, "DNS:localhost,IP:127.0.0.1")
        self.wrong_name = issue(self.pki, "wrong", self.ca, ca_key, "DNS:wrong.invalid")
        self.daemons = []
        self.d = self.start(TlsDaemon(self.ca, crt, key))

    def start(self, daemon):
        self.daemons.append(daemon)
        return daemon.start()

    def tearDown(self):
        for d in self.daemons:
            d.cleanup()
        subprocess.run(["rm", "-rf", self.pki], check=False)

    def run_agent(self, host, ca, daemon=None):
        a = Agent(daemon or self.d, getattr(self, "token", "fc_agt_x"))
        args = a.args("--once", "--ca-bundle", ca)
        args[args.index("--api") + 1] = f"https://{host}:{(daemon or self.d).api_port}"
        return subprocess.run(args, capture_output=True, text=True, timeout=60)

    def test_https_verifies_the_server(self):
        self.d.create_region("eu")
        self.token = self.d.agent_token("eu")
        self.d.heartbeat(self.token)
        ws = create_workspace(self.d, "secure")
        for host in ("127.0.0.1", "localhost"):  # IP SAN and DNS SAN
            r = self.run_agent(host, self.ca)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(observed(self.d, ws["id"])["phase"], "running")
        r = self.run_agent("127.0.0.1", self.other_ca)  # untrusted server: no round
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("tls handshake", r.stderr)
        # Trusted CA, but the certificate names another host: rejected too.
        wrong = self.start(TlsDaemon(self.ca, *self.wrong_name, check_hostname=False))
        for host in ("127.0.0.1", "localhost"):
            r = self.run_agent(host, self.ca, daemon=wrong)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("tls handshake", r.stderr)


if __name__ == "__main__":
    fctest.main()
