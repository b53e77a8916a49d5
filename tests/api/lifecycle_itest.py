"""Health, readiness and metrics; graceful shutdown with an open long-poll;
TLS on the API listener; JSON log lines."""
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time
import unittest

import fctest


def fresh_daemon(config=None):
    if not fctest.FC_BIN:
        raise unittest.SkipTest("FC_BIN not set")
    return fctest.Daemon(config)


class HealthAndMetrics(fctest.DaemonTest):
    def test_healthz_and_readyz(self):
        r = self.d.request("GET", "/healthz", auth=False)
        self.assertEqual((r.status, r.json()["status"]), (200, "ok"))
        r = self.d.request("GET", "/readyz", auth=False)
        self.assertEqual((r.status, r.json()["status"]), (200, "ready"))

    def test_metrics_prometheus_text(self):
        for _ in range(3):
            self.assertEqual(self.d.request("GET", "/v1/tokens").status, 200)
        self.d.request("GET", "/v1/tokens", auth=False)
        r = self.d.request("GET", "/metrics", auth=False)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"), r.headers)
        text = r.body.decode()
        m = re.search(r'^fleetcommand_http_requests_total\{route="/v1/tokens",method="GET",status="200"\} (\d+)$',
                      text, re.M)
        self.assertTrue(m, text[:2000])
        self.assertGreaterEqual(int(m.group(1)), 3)
        self.assertRegex(text, r'(?m)^fleetcommand_http_requests_total\{route="/v1/tokens",method="GET",'
                               r'status="401"\} [1-9]')
        self.assertIn("# TYPE fleetcommand_http_request_duration_seconds histogram", text)
        self.assertRegex(text, r'(?m)^fleetcommand_http_request_duration_seconds_bucket\{route="/v1/tokens",'
                               r'le="\+Inf"\} [1-9]')
        self.assertRegex(text, r'(?m)^fleetcommand_http_request_duration_seconds_count\{route="/v1/tokens"\} ')
        self.assertRegex(text, r'(?m)^fleetcommand_http_request_duration_seconds_sum\{route="/v1/tokens"\} ')
        self.assertRegex(text, r'(?m)^fleetcommand_build_info\{version="[^"]+"\} 1$')
        self.assertRegex(text, r"(?m)^fleetcommand_db_transactions_total [1-9]")
        self.assertRegex(text, r"(?m)^fleetcommand_db_commits_total [1-9]")
        self.assertRegex(text, r"(?m)^fleetcommand_db_write_queue ")
        for name in ("checkpoints_total", "checkpoint_waits_total", "checkpoint_wait_seconds_total"):
            self.assertRegex(text, r"(?m)^fleetcommand_db_%s \d" % name)
        self.assertRegex(text, r'(?m)^fleetcommand_jobs\{state="queued"\} \d+')
        self.assertRegex(text, r'(?m)^fleetcommand_jobs\{state="dead"\} \d+')
        # Every sample line is "name{labels} value" with a numeric value.
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfa]+$")
        # Histogram buckets are cumulative.
        buckets = [int(v) for v in re.findall(
            r'(?m)^fleetcommand_http_request_duration_seconds_bucket\{route="/v1/tokens",le="[^"]+"\} (\d+)', text)]
        self.assertEqual(buckets, sorted(buckets))


class MetricsRequireAdmin(fctest.DaemonTest):
    CONFIG = {"api": {"metrics_require_admin": True}}

    def test_metrics_needs_admin(self):
        self.assertEqual(self.d.request("GET", "/metrics", auth=False).status, 401)
        self.assertEqual(self.d.request("GET", "/metrics").status, 200)


class GracefulShutdown(unittest.TestCase):
    def test_sigterm_answers_long_poll_and_exits_cleanly(self):
        d = fresh_daemon()
        try:
            d.start()
            d.create_region("r1")
            agent = d.agent_token("r1")
            d.heartbeat(agent)
            r = d.request("POST", "/v1/workspaces", {"name": "lp", "resources": {"memory_mib": 256,
                                                                               "cpu_millis": 100}})
            self.assertEqual(r.status, 201, r)
            rev = d.request("GET", "/v1/agent/assignments?since=0", token=agent).json()["revision"]
            self.assertGreaterEqual(rev, 1)
            result = {}

            def long_poll():
                t0 = time.monotonic()
                try:
                    result["resp"] = d.request("GET", f"/v1/agent/assignments?since={rev}&wait=60",
                                               token=agent, timeout=30)
                except Exception as e:  # noqa: BLE001 - reported below
                    result["error"] = e
                result["elapsed"] = time.monotonic() - t0

            t = threading.Thread(target=long_poll)
            t.start()
            time.sleep(1.0)  # the long-poll is parked in the daemon
            self.assertTrue(t.is_alive(), result)
            t_term = time.monotonic()
            d.proc.send_signal(signal.SIGTERM)
            t.join(timeout=15)
            self.assertFalse(t.is_alive())
            self.assertNotIn("error", result, result)
            answered_after = time.monotonic() - t_term
            self.assertEqual(result["resp"].status, 200, result["resp"])
            self.assertEqual(result["resp"].json()["assignments"], [])
            self.assertLess(result["elapsed"], 10)
            code = d.proc.wait(timeout=10)
            exited_after = time.monotonic() - t_term
            self.assertEqual(code, 0, d.logs()[-3000:])
            self.assertLess(exited_after, 10)
            self.assertLess(answered_after, 5)
            self.assertIn("stopped cleanly", d.logs())
        finally:
            d.cleanup()


class Tls(unittest.TestCase):
    def setUp(self):
        self.d = fresh_daemon()
        self.cert = os.path.join(self.d.dir, "cert.pem")
        self.key = os.path.join(self.d.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=30)

    def tearDown(self):
        self.d.cleanup()

    def https(self, path, token=None):
        ctx = ssl.create_default_context(cafile=self.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.d.api_port, context=ctx, timeout=5)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def test_https_with_self_signed_cert(self):
        self.d.config["api"]["tls"] = {"cert_file": self.cert, "key_file": self.key}
        self.d.start(wait_ready=False)
        fctest.wait_until(lambda: self.d.proc.poll() is None and self.https("/readyz")[0] == 200, timeout=20,
                          what="https /readyz")
        with open(os.path.join(self.d.dir, "var", "admin.token")) as f:
            token = f.read().strip()
        status, body = self.https("/v1/tokens", token)
        self.assertEqual(status, 200, body)
        # A client that does not trust the CA is refused; plain HTTP gets nothing useful.
        with self.assertRaises(ssl.SSLError):
            conn = http.client.HTTPSConnection("127.0.0.1", self.d.api_port, timeout=5,
                                               context=ssl.create_default_context())
            conn.request("GET", "/healthz")
        data, _ = fctest.raw_exchange(self.d.api_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
        self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:100])
        self.assertEqual(self.https("/healthz")[0], 200)
        self.assertEqual(self.d.stop(), 0)

    def test_bad_cert_path_exits_naming_api_tls(self):
        self.d.config["api"]["tls"] = {"cert_file": os.path.join(self.d.dir, "missing.pem"), "key_file": self.key}
        self.d.start(wait_ready=False)
        code = self.d.proc.wait(timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn("api.tls.cert_file", self.d.logs())
        self.d.config["api"]["tls"] = {"cert_file": self.cert, "key_file": self.cert}  # not a key
        self.d.start(wait_ready=False)
        code = self.d.proc.wait(timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn("api.tls.key_file", self.d.logs())


class JsonLog(unittest.TestCase):
    def test_every_log_line_is_json(self):
        d = fresh_daemon({"log": {"format": "json", "level": "debug"}})
        try:
            d.start()
            d.request("GET", "/healthz", auth=False)
            d.request("GET", '/v1/"quoted"\\path%FF%00%0Anewline', auth=False)
            d.request("POST", "/v1/regions", raw_body=b"{bad", headers={"Content-Type": "application/json"})
            d.create_region("json-log")
            fctest.raw_exchange(d.api_port, b"\x00\xff garbage\r\n\r\n", timeout=3)
            self.assertEqual(d.stop(), 0)
            with open(d.log_path, "rb") as f:
                raw = f.read()
            lines = raw.splitlines()
            self.assertGreater(len(lines), 5)
            for ln in lines:
                try:
                    rec = json.loads(ln.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as e:
                    self.fail(f"not a JSON line ({e}): {ln[:300]!r}")
                for k in ("ts", "level", "logger", "msg"):
                    self.assertIn(k, rec)
            self.assertTrue(any("stopped cleanly" in json.loads(ln)["msg"] for ln in lines))
        finally:
            d.cleanup()


if __name__ == "__main__":
    fctest.main()
