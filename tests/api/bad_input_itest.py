"""Bad HTTP input against the real daemon: every case gets its 4xx problem
(never a 500), a request id, and the daemon keeps serving."""
import json
import select
import socket
import threading
import time
import unittest

import fctest

READ_TIMEOUT_S = 2


class BadInput(fctest.DaemonTest):
    CONFIG = {"api": {"read_timeout_s": READ_TIMEOUT_S}}

    def setUp(self):
        self.assertEqual(self.d.request("GET", "/healthz", auth=False).status, 200)

    def tearDown(self):
        # After every case the daemon still answers a normal request.
        r = self.d.request("GET", "/v1/tokens")
        self.assertEqual(r.status, 200, r)
        # Bad input never produced a 500.
        text = self.d.request("GET", "/metrics", auth=False).body.decode()
        bad = [ln for ln in text.splitlines()
               if ln.startswith("fleetcommand_http_requests_total") and 'status="5' in ln and '"503"' not in ln]
        self.assertEqual(bad, [])

    def assert_problem(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/problem+json"), r.headers)
        p = r.json()
        self.assertEqual(p["status"], status)
        for k in ("type", "title", "detail"):
            self.assertIn(k, p)
        self.assertTrue(r.headers.get("x-request-id"), r.headers)
        return p

    def post_raw(self, body, ctype="application/json", path="/v1/regions"):
        return self.d.request("POST", path, raw_body=body, headers={"Content-Type": ctype})

    def test_malformed_json_400(self):
        for body in [b"{", b"{\"id\": }", b"nul", b"{\"a\":1}}", b"\xef\xbb"]:
            with self.subTest(body=body):
                self.assert_problem(self.post_raw(body), 400)

    def test_invalid_utf8_in_json_400(self):
        for body in [b'{"id":"\xff\xfe"}', b'{"id":"\xc3"}', b'{"name":"\xed\xa0\x80"}']:
            with self.subTest(body=body):
                self.assert_problem(self.post_raw(body), 400)

    def test_wrong_content_type_415(self):
        for ctype in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", ""]:
            with self.subTest(ctype=ctype):
                headers = {"Content-Type": ctype} if ctype else {}
                r = self.d.request("POST", "/v1/regions", raw_body=b'{"id":"a"}', headers=headers)
                self.assert_problem(r, 415)
        # Parameters after the media type are fine.
        r = self.post_raw(b"{}", "application/json; charset=utf-8")
        self.assert_problem(r, 422)

    def test_json_that_is_not_an_object_422(self):
        self.assert_problem(self.post_raw(b"[1,2,3]"), 422)

    def test_body_over_1mib_413(self):
        body = b"{\"id\":\"" + b"a" * (2 << 20) + b"\"}"
        head = (f"POST /v1/regions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {self.d.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        data = b""
        with socket.create_connection(("127.0.0.1", self.d.api_port), timeout=10) as s:
            s.sendall(head)
            s.setblocking(False)
            sent, deadline = 0, time.monotonic() + 10
            # Send the body until the server answers (it may answer before reading it all).
            while time.monotonic() < deadline:
                readable, writable, _ = select.select([s], [s] if sent < len(body) else [], [], 1)
                if readable:
                    try:
                        chunk = s.recv(65536)
                    except (BlockingIOError, ConnectionResetError):
                        break
                    if not chunk:
                        break
                    data += chunk
                    if b"\r\n\r\n" in data:
                        break
                elif writable:
                    try:
                        sent += s.send(body[sent:sent + 65536])
                    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                        pass
        status, headers, payload = fctest.parse_raw_response(data)
        self.assertEqual(status, 413, data[:500])
        self.assertIn("x-request-id", headers)
        self.assertEqual(json.loads(payload)["status"], 413)

    def test_garbage_instead_of_http_400_and_close(self):
        for junk in [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n",
                     b"HELLO THERE\r\n\r\n",
                     b"GET / HTTP/9.9\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nBad Header Without Colon\r\n\r\n"]:
            with self.subTest(junk=junk[:20]):
                data, closed = fctest.raw_exchange(self.d.api_port, junk, timeout=5)
                self.assertTrue(closed, data)
                status, headers, body = fctest.parse_raw_response(data)
                self.assertEqual(status, 400, data)
                self.assertIn("x-request-id", headers)
                self.assertEqual(json.loads(body)["status"], 400)

    def test_header_over_16kib_431(self):
        big = "x" * (17 * 1024)
        data, closed = fctest.raw_exchange(
            self.d.api_port, f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n".encode(), timeout=5)
        status, headers, body = fctest.parse_raw_response(data)
        self.assertEqual(status, 431, data[:300])
        self.assertIn("x-request-id", headers)
        self.assertTrue(closed)
        # Many small headers adding up over the limit as well.
        many = "".join(f"X-H{i}: {'v' * 100}\r\n" for i in range(200))
        data, _ = fctest.raw_exchange(self.d.api_port, f"GET /healthz HTTP/1.1\r\n{many}\r\n".encode(), timeout=5)
        self.assertEqual(fctest.parse_raw_response(data)[0], 431)

    def test_slow_client_cut_off_by_read_timeout(self):
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 30 + b"\r\n\r\n"
        start = time.monotonic()
        closed_after = None
        with socket.create_connection(("127.0.0.1", self.d.api_port), timeout=2) as s:
            for i in range(len(request)):  # one byte a second, bounded by the request length
                try:
                    s.sendall(request[i:i + 1])
                except OSError:
                    closed_after = time.monotonic() - start
                    break
                readable, _, _ = select.select([s], [], [], 1.0)
                if readable:
                    try:
                        got = s.recv(4096)
                    except ConnectionResetError:
                        got = b""
                    if not got:
                        closed_after = time.monotonic() - start
                        break
                    self.fail(f"slow client got an answer instead of being cut off: {got[:200]!r}")
        self.assertIsNotNone(closed_after, "slow client was never cut off")
        self.assertLess(closed_after, READ_TIMEOUT_S + 3)
        self.assertGreaterEqual(closed_after, READ_TIMEOUT_S - 0.5)

    def test_500_connections_at_once(self):
        n = 500
        socks, results = [], []
        try:
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect(("127.0.0.1", self.d.api_port))
                socks.append(s)
            req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            for s in socks:
                try:
                    s.sendall(req)
                except OSError:
                    pass

            def reader(group):
                for s in group:
                    data = b""
                    try:
                        while True:
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                    except OSError:
                        pass
                    results.append(data)

            threads = [threading.Thread(target=reader, args=(socks[i::8],)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
        finally:
            for s in socks:
                s.close()
        self.assertEqual(len(results), n)
        answered = [fctest.parse_raw_response(r)[0] for r in results if r]
        # Each one got its answer or was closed; no 5xx other than an explicit 503 busy.
        self.assertTrue(all(st in (200, 503) for st in answered), set(answered))
        self.assertGreaterEqual(answered.count(200), n // 2)
        r = self.d.request("GET", "/healthz", auth=False)
        self.assertEqual(r.status, 200)

    def test_every_response_has_a_request_id(self):
        cases = [("GET", "/healthz", False), ("GET", "/readyz", False), ("GET", "/metrics", False),
                 ("GET", "/nope", False), ("GET", "/v1/tokens", True), ("GET", "/v1/tokens", False),
                 ("DELETE", "/v1/tokens/nope", True), ("PUT", "/v1/tokens", True),
                 ("GET", "/v1/regions/does-not-exist", True)]
        ids = set()
        for method, path, auth in cases:
            with self.subTest(method=method, path=path, auth=auth):
                r = self.d.request(method, path, auth=auth)
                rid = r.headers.get("x-request-id")
                self.assertTrue(rid, r)
                ids.add(rid)
        self.assertEqual(len(ids), len(cases))  # unique
        # A sane caller-supplied id is echoed back.
        r = self.d.request("GET", "/healthz", auth=False, headers={"X-Request-Id": "abc-123_x"})
        self.assertEqual(r.headers.get("x-request-id"), "abc-123_x")
        r = self.d.request("GET", "/healthz", auth=False, headers={"X-Request-Id": "bad id\x7f"})
        self.assertNotEqual(r.headers.get("x-request-id"), "bad id\x7f")

    def test_nul_character_in_a_string_422_naming_the_field(self):
        # PostgreSQL's text cannot hold U+0000: the daemon there stored a
        # webhook description "a\u0000b" as "a" (201, whole on SQLite; itest_pg_api_bad_input_itest).
        r = self.d.request("POST", "/v1/webhooks", {"url": "https://hooks.example.com/nul",
                                                    "event_types": ["workspace.*"], "description": "a\u0000b"})
        self.assert_problem(r, 422)
        self.assertEqual([e["field"] for e in r.json()["errors"]], ["description"], r)
        self.assertEqual(self.d.request("GET", "/v1/webhooks").json()["items"], [])
        r = self.d.request("POST", "/v1/webhooks", {"url": "https://hooks.example.com/nul",
                                                    "event_types": ["workspace.*\u0000"]})
        self.assert_problem(r, 422)
        self.assertEqual([e["field"] for e in r.json()["errors"]], ["event_types[0]"], r)
        # The agent protocol alike: a status message with a NUL is refused, not cut.
        self.d.create_region("nul-r")
        tok = self.d.agent_token("nul-r")
        r = self.d.request("POST", "/v1/agent/status", {"agent_id": "a", "workspaces": [
            {"workspace_id": "ws_x", "generation": 1, "phase": "running", "message": "a\u0000b"}]}, token=tok)
        self.assert_problem(r, 422)
        self.assertIn("message", r.json()["detail"], r)
        self.assertEqual(self.d.request("DELETE", "/v1/regions/nul-r").status, 204)
        # %00 in the path: 400 before any route looks it up; in a query
        # parameter 422 naming it.
        wh = self.d.request("POST", "/v1/webhooks", {"url": "https://hooks.example.com/nul",
                                                     "event_types": ["workspace.*"]}).json()["id"]
        try:
            self.assert_problem(self.d.request("GET", f"/v1/webhooks/{wh}%00x"), 400)
            self.assertEqual(self.d.acme_request("/.well-known/acme-challenge/t%00x").status, 400)
            for path, field in (("/v1/workspaces?region=r%00", "region"), ("/v1/events?type=a%00b", "type")):
                with self.subTest(path=path):
                    r = self.d.request("GET", path)
                    self.assert_problem(r, 422)
                    self.assertEqual([e["field"] for e in r.json()["errors"]], [field], r)
        finally:
            self.assertEqual(self.d.request("DELETE", f"/v1/webhooks/{wh}").status, 204)

    def test_invalid_utf8_in_path_query_or_idempotency_key(self):
        # PostgreSQL refuses invalid UTF-8 in text: these lookups were 500s
        # there (404 or 422 on SQLite), and such an Idempotency-Key a 500
        # (201 on SQLite). Now 400 / 422 on both.
        for path in ("/v1/webhooks/whk%FFx", "/v1/workspaces/ws%C3x", "/v1/rollouts/ro%ED%A0%80"):
            with self.subTest(path=path):
                p = self.assert_problem(self.d.request("GET", path), 400)
                self.assertIn("UTF-8", p["detail"])
        for path, field in (("/v1/workspaces?region=r%FF", "region"), ("/v1/usage?tenant=t%FF", "tenant")):
            with self.subTest(path=path):
                r = self.d.request("GET", path)
                self.assert_problem(r, 422)
                self.assertEqual([e["field"] for e in r.json()["errors"]], [field], r)
        self.assertEqual(self.d.acme_request("/.well-known/acme-challenge/t%FF").status, 400)
        self.assertEqual(self.d.request("GET", "/v1/regions/caf%C3%A9").status, 404)  # valid UTF-8
        r = self.d.request("POST", "/v1/workspaces", {"name": "idem-utf8", "resources": {"memory_mib": 1, "cpu_millis": 1}},
                           headers={"Idempotency-Key": "k\xff"})
        self.assert_problem(r, 422)
        self.assertEqual([e["field"] for e in r.json()["errors"]], ["Idempotency-Key"], r)

    def test_unknown_route_404_and_wrong_method_405(self):
        self.assert_problem(self.d.request("GET", "/v1/nothing-here"), 404)
        r = self.d.request("PUT", "/v1/tokens")
        self.assert_problem(r, 405)
        self.assertIn("GET", r.headers.get("allow", ""))


class ConnectionCap(fctest.DaemonTest):
    CONFIG = {"api": {"max_connections": 3}}

    def test_over_the_cap_gets_a_well_formed_503_then_service_resumes(self):
        held = []
        try:
            # Hold three served connections (a slot of an earlier client may take a moment to free).
            for _ in range(50):
                if len(held) == 3:
                    break
                s = socket.create_connection(("127.0.0.1", self.d.api_port), timeout=5)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if b"200 OK" in s.recv(4096):
                    held.append(s)
                else:
                    s.close()
                    time.sleep(0.05)
            self.assertEqual(len(held), 3)
            data, closed = fctest.raw_exchange(self.d.api_port, b"", timeout=5)
            self.assertTrue(closed)
            status, headers, body = fctest.parse_raw_response(data)
            self.assertEqual(status, 503, data)
            self.assertTrue(headers.get("x-request-id"))
            self.assertEqual(headers.get("retry-after"), "1")
            self.assertEqual(len(body), int(headers["content-length"]))
            self.assertEqual(json.loads(body)["status"], 503)
        finally:
            for s in held:
                s.close()
        fctest.wait_until(lambda: self.d.request("GET", "/healthz", auth=False).status == 200, timeout=10,
                          what="service after the cap")


if __name__ == "__main__":
    fctest.main()
