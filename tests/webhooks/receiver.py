"""A webhook receiver for the tests: http.server in a thread on loopback that
verifies every delivery's Standard Webhooks signature with Python's own hmac
and base64 (independent of fleetcommand's code), and records what came.

Modes: "ok" (204), "flaky" (every other request 500), "slow" (sleeps
`delay` seconds, then 204), "redirect" (307 to `location`), "big" (200
announcing 1 MiB of body: 128 KiB at once, the rest `delay` seconds later).
stop() closes the socket (connection refused, like a receiver that is down);
start() binds the same port again."""
import base64
import errno
import hashlib
import hmac
import http.server
import json
import threading
import time

import fctest


def verify(secrets, msg_id, timestamp, body, header):
    """True when one of the space-separated v1 signatures in `header` is
    HMAC-SHA256(base64-decoded secret, id.timestamp.body) for one of `secrets`."""
    given = set(header.split(" "))
    for s in secrets:
        key = base64.b64decode(s[len("whsec_"):])
        mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        if "v1," + base64.b64encode(mac).decode() in given:
            return True
    return False


class Receiver:
    def __init__(self, port, mode="ok", delay=0.0):
        self.port = port
        self.mode = mode
        self.delay = delay
        self.secrets = []         # accepted signing secrets (whsec_…)
        self.require_all = []     # secrets that must each have signed (rotation)
        self.lock = threading.Lock()
        self.received = []        # (webhook-id, payload dict) in arrival order, 2xx only
        self.attempts = 0
        self.bad_signatures = []
        self.max_signatures = 0
        self.location = ""
        self.server = None
        self.thread = None
        self.started = self.url_given = False

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(n)
                msg_id = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                sig = self.headers.get("webhook-signature", "")
                with outer.lock:
                    outer.attempts += 1
                    attempt = outer.attempts
                    secrets = list(outer.secrets)
                    must = list(outer.require_all)
                    outer.max_signatures = max(outer.max_signatures, len(sig.split(" ")))
                ok_sig = verify(secrets, msg_id, ts, body, sig) and all(
                    verify([m], msg_id, ts, body, sig) for m in must)
                if not ok_sig or abs(int(ts or 0) - time.time()) > 300:
                    with outer.lock:
                        outer.bad_signatures.append((msg_id, sig))
                    self.reply(400)
                    return
                if outer.mode == "flaky" and attempt % 2 == 0:
                    self.reply(500)
                    return
                if outer.mode == "redirect":
                    self.send_response(307)
                    self.send_header("Location", outer.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if outer.mode == "slow":
                    time.sleep(outer.delay)
                with outer.lock:
                    outer.received.append((msg_id, json.loads(body)))
                if outer.mode == "big":
                    self.big_reply()
                    return
                self.reply(204)

            def big_reply(self):
                total, first = 1 << 20, 128 << 10
                self.send_response(200)
                self.send_header("Content-Length", str(total))
                self.end_headers()
                try:
                    self.wfile.write(b"x" * first)
                    self.wfile.flush()
                    time.sleep(outer.delay)
                    self.wfile.write(b"x" * (total - first))
                except OSError:
                    pass  # the sender stopped reading and closed: what it should do

            def reply(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        for attempt in range(1, fctest.PORT_ATTEMPTS + 1):
            try:
                self.server = Server(("127.0.0.1", self.port), Handler)
                break
            except OSError as e:
                # Taken by a program outside the harness: a fresh port, unless
                # the daemon was already given this one (url()) or it is a restart.
                if (e.errno != errno.EADDRINUSE or self.url_given or self.started
                        or attempt == fctest.PORT_ATTEMPTS):
                    raise
                fctest.port_retry_note("webhook receiver", self.port, str(e), attempt)
                self.port = fctest.free_port()
        self.started = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path="/hook"):
        self.url_given = True
        return f"http://127.0.0.1:{self.port}{path}"

    def snapshot(self):
        with self.lock:
            return list(self.received)

    def ids(self):
        return [m for m, _ in self.snapshot()]
