"""Shared helpers for integration tests: start the real fleetcommand binary on
free loopback ports in a private directory, and speak HTTP to it.

Python 3 standard library only. Every wait is bounded."""
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import contract

FC_BIN = os.environ.get("FC_BIN", "")
# FC_TEST_BACKEND=postgres: every Daemon serves from its own database in one
# throwaway PostgreSQL cluster (the one `pgcluster.py run` started, named by
# FC_TEST_PG_URL, or one started here on first use and stopped at exit).
# ctest's itest_pg_* entries run existing itests this way.
BACKEND = os.environ.get("FC_TEST_BACKEND", "sqlite")
BUILD_DIR = os.environ.get("FC_BUILD_DIR", "")
SOURCE_DIR = os.environ.get("FC_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


# --- ports -------------------------------------------------------------------
#
# Why ports are handed out this way (a fresh-clone CI run once failed with the
# daemon's "dns tcp bind: Address already in use"): ctest runs several test
# processes at once, and the old free_port() probed a random port and let it go,
# so two processes could pick the same one in the window between the probe and
# the server's bind — a window of seconds when a test starts peers (Pebble,
# BIND) before its daemon, or restarts a daemon on its old ports.
#
# 1. Each test process owns whole blocks of PORT_BLOCK ports, all below the
#    kernel's ephemeral range (ip_local_port_range), so no outgoing
#    connection's local end and no other harness process can take them. A
#    block is claimed by binding the Linux abstract unix socket
#    "\0fleetcommand-test-ports-<first port>": no file, nothing to clean up,
#    released by the kernel when the process exits however it exits, and
#    scoped to the network namespace like the ports themselves. Ports of a
#    claimed block are handed out once each, after a bind probe (TCP and UDP)
#    that skips ports something outside the harness holds.
# 2. What is left is a process outside the harness binding one of our ports
#    between the probe and the server's bind. Daemon.start() (and Pebble,
#    PgCluster) recognise that failure from the server's own log line
#    ("127.0.0.1:PORT: Address already in use"; port_in_use() below), log the
#    port that collided and start again on fresh ports, at most
#    PORT_ATTEMPTS times. Only ports the harness picked itself and that no
#    peer was told about are changed (Daemon docstring).
PORT_BLOCK = 50
PORT_ATTEMPTS = 3
_PORT_FLOOR = 10000
_blocks = []  # the abstract sockets holding this process's blocks
_next_ports = []  # the unused ports of the newest block, in order


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _claim_block():
    """Claims a block no other live test process holds; returns its ports."""
    import random
    lo, _ = _ephemeral_range()
    top = lo - 1 if lo > _PORT_FLOOR + 2 * PORT_BLOCK else 30000
    count = (top + 1 - _PORT_FLOOR) // PORT_BLOCK
    first = random.randrange(count)  # spread processes over the range: fewer probes
    for i in range(count):
        base = _PORT_FLOOR + ((first + i) % count) * PORT_BLOCK
        lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            lock.bind(f"\0fleetcommand-test-ports-{base}")
        except OSError:
            lock.close()
            continue
        _blocks.append(lock)
        return list(range(base, base + PORT_BLOCK))
    raise RuntimeError("no free block of test ports")


def free_port(kind=socket.SOCK_STREAM):
    """A port free for both TCP and UDP on 127.0.0.1 that no other live test
    process can be handed: the next of this process's own block of ports
    below the ephemeral range (claimed with an abstract unix socket, released
    at exit), probed with a bind. Chosen over "bind port 0, read it, close
    it" (the race that failed CI: another process took the port before the
    daemon bound it) and over holding the probe socket until exec (the
    daemon, Pebble and BIND bind their own sockets from a config file, and
    a peer is often given the port long before its server starts). A
    program outside the harness can still take a port: the starts retry
    (see "Why ports are handed out this way" above). `kind` is kept for
    callers; every port is probed for both."""
    for _ in range(100 * PORT_BLOCK):
        if not _next_ports:
            _next_ports.extend(_claim_block())
        port = _next_ports.pop(0)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
        except OSError:
            continue  # held by something outside the harness
        return port
    raise RuntimeError("no free port")


def port_in_use(text):
    """(port, line) of the first "address already in use" line in a server's
    log — the daemon's ("api listen 127.0.0.1:P: Address already in use",
    "dns udp bind 127.0.0.1:P: ..."), Go's (Pebble: "listen tcp 127.0.0.1:P:
    bind: address already in use"), nginx's, unbound's ("error: bind: address
    already in use"), BIND's ("unable to listen on any configured
    interfaces": it listens on 127.0.0.1 only) — with port 0 when the line
    names none; None without one."""
    import re
    for line in text.splitlines():
        if re.search(r"address (already )?in use|unable to listen on any configured interfaces", line,
                     re.IGNORECASE):
            m = re.search(r"127\.0\.0\.1(?::| port |@)(\d+)", line)
            return (int(m.group(1)) if m else 0), line.strip()
    return None


def port_retry_note(what, port, line, attempt):
    """The line a retry logs (stderr, so it is in ctest's output)."""
    import sys
    print(f"fctest: {what}: port {port} already in use ({line}); starting again on fresh ports "
          f"(attempt {attempt + 1} of {PORT_ATTEMPTS})", file=sys.stderr, flush=True)


# --- processes ----------------------------------------------------------------
#
# Every process the helpers here start is registered; whatever is still running
# when the test process exits (a test that failed between a start and its
# cleanup) is killed then, with a line saying so: the last resort, after each
# test's own cleanup.
_live = []


def track(proc, what):
    _live.append((proc, what))
    return proc


def _kill_leftovers():
    import sys
    for proc, what in _live:
        if proc.poll() is None:
            print(f"fctest: {what} (pid {proc.pid}) still running at exit: killed", file=sys.stderr, flush=True)
            proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    _live.clear()


atexit.register(_kill_leftovers)


def require_tools(*tools):
    """Skips the calling test class unless FC_BIN is set and every tool is on PATH."""
    if not FC_BIN:
        raise unittest.SkipTest("FC_BIN not set")
    for tool in tools:
        if shutil.which(tool) is None:
            raise unittest.SkipTest(f"{tool} is not installed")


def wait_until(pred, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def raw_exchange(port, data, timeout=5.0, host="127.0.0.1", read_limit=1 << 20):
    """Sends raw bytes and reads until the peer closes or `timeout` passes.
    Returns (bytes read, closed_by_peer)."""
    deadline = time.monotonic() + timeout
    out = b""
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the peer may answer and close before reading everything
        while len(out) < read_limit:
            left = deadline - time.monotonic()
            if left <= 0:
                return out, False
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
    return out, False


def parse_raw_response(data):
    """(status, {lower-case header: value}, body) of the first HTTP response in `data`."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", len(body)))
    return status, headers, body[:n]


def run_cli(args, cwd, env=None, timeout=60, stdin=None):
    """Runs `fleetcommand ARGS` to completion; returns subprocess.CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([FC_BIN] + list(args), cwd=cwd, env=e, capture_output=True, text=True,
                          timeout=timeout, input=stdin)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


_pg = {"cluster": None, "n": 0}


def pg_cluster_url(dbname):
    """The URL of a new, empty database in the test PostgreSQL cluster."""
    import pgcluster
    base = os.environ.get("FC_TEST_PG_URL")
    if not base:
        if _pg["cluster"] is None:
            why = pgcluster.available()
            if why:
                raise unittest.SkipTest(why)
            import atexit
            _pg["cluster"] = pgcluster.PgCluster().start()
            atexit.register(_pg["cluster"].stop)
        base = _pg["cluster"].url()
    host_port, _ = base.rsplit("@", 1)[1].split("/", 1)
    host, port = host_port.split(":")
    subprocess.run([os.path.join(pgcluster.PG_BIN, "createdb"), "-h", host, "-p", port, "-U",
                    pgcluster.SUPERUSER, dbname], check=True, timeout=60, capture_output=True)
    return base.rsplit("/", 1)[0] + "/" + dbname


def postgres_storage(url=None):
    """The `storage` section of a daemon on PostgreSQL: `url`, or a new database."""
    if url is None:
        _pg["n"] += 1
        url = pg_cluster_url(f"fc_itest_{os.getpid()}_{_pg['n']}")
    return {"backend": "postgres", "postgres_url": url}


_LISTENERS = (("api", "api"), ("acme", "acme_http"), ("dns", "dns"))  # (port name, config section)


def _replace_port(value, old, new):
    """`value` (config JSON) with every "127.0.0.1:OLD" string rewritten to NEW."""
    import re
    if isinstance(value, dict):
        return {k: _replace_port(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_port(v, old, new) for v in value]
    if isinstance(value, str):
        return re.sub(rf"127\.0\.0\.1:{old}(?!\d)", f"127.0.0.1:{new}", value)
    return value


class Daemon:
    """One fleetcommand process in its own temporary directory.

    Its api, acme_http and dns listeners get harness ports (free_port). When
    the first start() fails because one of them is taken (the daemon's
    "127.0.0.1:PORT: Address already in use" and its exit), it starts again
    with a fresh port for that listener, at most PORT_ATTEMPTS times, and
    rewrites every "127.0.0.1:OLD" in the config (a resolver pointing at the
    daemon's own DNS follows). A port read before the first start (d.dns_port
    given to Pebble or unbound) is known to a peer: it changes only if a
    callback in `on_new_ports` (called with the daemon after new ports are
    chosen) moves the peers along; a port set by the test (d.api_port = ...)
    or a restart never changes — those fail naming the port."""

    def __init__(self, config=None, env=None, workdir=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="fc-itest-")
        self._ports = {name: free_port() for name, _ in _LISTENERS}
        self._shared = set()  # ports read before the first start
        self._fixed = set()  # ports the test set itself
        self._started = False
        self.on_new_ports = []
        self.config = {
            "api": {"listen": f"127.0.0.1:{self._ports['api']}"},
            "acme_http": {"listen": f"127.0.0.1:{self._ports['acme']}"},
            "dns": {"listen": f"127.0.0.1:{self._ports['dns']}"},
            # The live checks resolve through resolver.servers (the system's
            # resolvers by default, not on loopback): tests that probe turn
            # them on with their own resolver (tests/probes/).
            "probes": {"enabled": False},
        }
        for k, v in (config or {}).items():
            if isinstance(v, dict) and isinstance(self.config.get(k), dict):
                self.config[k].update(v)
            else:
                self.config[k] = v
        if BACKEND == "postgres" and "storage" not in self.config:
            self.config["storage"] = postgres_storage()
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.token = None

    def _port(name):
        def get(self):
            if not self._started:
                self._shared.add(name)
            return self._ports[name]

        def set_(self, value):
            self._fixed.add(name)
            self._ports[name] = value
        return property(get, set_)

    api_port, acme_port, dns_port = _port("api"), _port("acme"), _port("dns")
    del _port

    def config_path(self):
        p = os.path.join(self.dir, "config.json")
        with open(p, "w") as f:
            json.dump(self.config, f)
        return p

    def start(self, wait_ready=True):
        first = not self._started
        self._started = True
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if getattr(self, "log", None):
                self.log.close()  # a restart appends to the same log
            self.log = open(self.log_path, "ab")
            log_from = self.log.tell()
            self.proc = track(subprocess.Popen([FC_BIN, "serve", "--config", self.config_path()], cwd=self.dir,
                                               env=self.env, stdout=self.log, stderr=subprocess.STDOUT),
                              "fleetcommand serve")
            if not wait_ready:
                return self
            if self._wait_ready():
                break
            if attempt == PORT_ATTEMPTS or not self._new_port(first, log_from, attempt):
                self._ready()  # raises, naming the exit and a port in use
        with open(os.path.join(self.dir, "var", "admin.token")) as f:
            self.token = f.read().strip()
        return self

    def _new_port(self, first, log_from, attempt):
        """After an exit: when the log says one of our listeners' ports is
        taken and the harness may change it, picks a new one (logged) and
        returns True."""
        with open(self.log_path, "rb") as f:
            f.seek(log_from)
            hit = port_in_use(f.read().decode(errors="replace"))
        if not hit:
            return False
        port, line = hit
        names = [n for n, _ in _LISTENERS if self._ports[n] == port]
        if not names:
            if port != 0 or "dns" not in line:
                return False
            names = ["dns"]  # an older daemon's "dns tcp bind: ..." names no port
        name = names[0]
        section = dict(_LISTENERS)[name]
        if (not first or name in self._fixed or (name in self._shared and not self.on_new_ports)
                or self.config.get(section, {}).get("listen") != f"127.0.0.1:{self._ports[name]}"):
            return False
        old, new = self._ports[name], free_port()
        port_retry_note(f"daemon {section}.listen", old, line, attempt)
        self._ports[name] = new
        self.config = _replace_port(self.config, old, new)
        for fn in self.on_new_ports:
            fn(self)
        return True

    def _wait_ready(self, timeout=20):
        """True once /readyz answers 200, False as soon as the daemon exits."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            try:
                # short: a foreign listener on our port may accept and never answer
                if self.request("GET", "/readyz", auth=False, timeout=2).status == 200:
                    return True
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"daemon not ready after {timeout}s:\n{self.logs()[-4000:]}")
            time.sleep(0.02)
        return False

    def _ready(self):
        if self.proc.poll() is not None:
            hit = port_in_use(self.logs())
            why = f" (port {hit[0]} already in use: {hit[1]})" if hit else ""
            raise AssertionError(f"daemon exited with {self.proc.returncode}{why}:\n{self.logs()}")
        try:
            return self.request("GET", "/readyz", auth=False).status == 200
        except OSError:
            return False

    def logs(self):
        # The daemon writes its lines below warn from a background thread
        # within a few milliseconds (docs/configuration.md "Logging"): while it
        # runs, read until the file stops growing (at most ~1 s), so a line
        # logged before the last answer is there.
        def read():
            try:
                with open(self.log_path, "rb") as f:
                    return f.read()
            except OSError:
                return b""
        text = read()
        if self.proc and self.proc.poll() is None:
            for _ in range(20):
                time.sleep(0.05)
                again = read()
                if again == text:
                    break
                text = again
        return text.decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("daemon did not stop in time")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, token=None, auth=True, headers=None, timeout=30, raw_body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
        h = dict(headers or {})
        if auth:
            h.setdefault("Authorization", f"Bearer {token or self.token}")
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            resp = Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        if contract.enabled():  # the OpenAPI document's schemas (tests/lib/contract.py)
            contract.check_response(method, path, resp.status, resp.headers.get("content-type"), resp.body)
        return resp

    def acme_request(self, path, timeout=10):
        """GET on the HTTP-01 listener (acme_http.listen), checked like request()."""
        conn = http.client.HTTPConnection("127.0.0.1", self.acme_port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            resp = Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        if contract.enabled():
            contract.check_response("GET", path, resp.status, resp.headers.get("content-type"), resp.body)
        return resp

    def db_path(self):
        return os.path.join(self.dir, "var", "fleetcommand.db")

    def sql(self, query, *args):
        """Runs one statement in this daemon's own store, SQLite or PostgreSQL
        (what another instance, an operator or a drift would write), and returns
        its rows as tuples, typed alike on both (integers, text, None). `?`
        placeholders; use the SQL both backends share (docs/storage.md)."""
        if self.config.get("storage", {}).get("backend") != "postgres":
            import sqlite3
            c = sqlite3.connect(self.db_path(), timeout=10)
            try:
                with c:
                    return [tuple(r) for r in c.execute(query, args).fetchall()]
            finally:
                c.close()
        import pgcluster
        parts = query.split("?")
        if len(parts) != len(args) + 1:
            raise ValueError(f"{len(parts) - 1} placeholders, {len(args)} arguments: {query}")

        def literal(v):
            if v is None:
                return "NULL"
            if isinstance(v, bool):
                return "1" if v else "0"
            if isinstance(v, int):
                return str(v)
            return "'" + str(v).replace("'", "''") + "'"
        text = parts[0] + "".join(literal(a) + p for a, p in zip(args, parts[1:]))
        if text.lstrip()[:6].upper() == "SELECT":  # typed rows: one JSON array of the row objects
            text = f"SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM ({text}) q"
        r = subprocess.run([os.path.join(pgcluster.PG_BIN, "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                            self.config["storage"]["postgres_url"], "-c", text],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed ({r.returncode}): {r.stderr.strip()}\n{text}")
        if not text.startswith("SELECT coalesce(json_agg"):
            return []
        return [tuple(row.values()) for row in json.loads(r.stdout)]

    def cli(self, *args, env=None, timeout=60):
        """Runs `fleetcommand ARGS --config <this daemon's config>` in its directory."""
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run([FC_BIN] + list(args) + ["--config", self.config_path()], cwd=self.dir, env=e,
                              capture_output=True, text=True, timeout=timeout)

    # Convenience wrappers for common set-up.
    def create_region(self, rid, **kw):
        body = {"id": rid, "name": kw.get("name", rid), "labels": kw.get("labels", {}),
                "ingress": kw.get("ingress", {"ipv4": ["192.0.2.10"], "ipv6": [], "hostname": None}),
                "capacity": kw.get("capacity", {"memory_mib": 65536, "cpu_millis": 32000, "workspaces": 100})}
        r = self.request("POST", "/v1/regions", body)
        assert r.status == 201, r
        return r.json()

    def agent_token(self, rid):
        r = self.request("POST", f"/v1/regions/{rid}/agent-tokens")
        assert r.status == 201, r
        return r.json()["token"]

    def heartbeat(self, agent_token, agent_id="agent-1"):
        r = self.request("POST", "/v1/agent/heartbeat", {"agent_id": agent_id}, token=agent_token)
        assert r.status == 200, r


class DaemonTest(unittest.TestCase):
    """Starts one daemon per test class; subclasses set CONFIG."""
    CONFIG = None

    @classmethod
    def setUpClass(cls):
        if not FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        cls.d = Daemon(cls.CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.d.stop()
        logs = cls.d.logs()
        cls.d.cleanup()
        assert code == 0, f"daemon exited {code}\n{logs[-4000:]}"


def main():
    """Runs the tests and prints a closing 'N passed, N failed' line."""
    import sys
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    print(f"{r.testsRun - failed - len(r.skipped)} passed, {failed} failed, {len(r.skipped)} skipped")
    sys.exit(1 if failed or r.testsRun == 0 else 0)
