"""The Patroni example of docs/deploy.md ("PostgreSQL HA with Patroni"), run
(issue #15: PostgreSQL's own HA with a working example configuration; the
daemon reconnects after a failover).

In a temporary directory, as the unprivileged user tests/lib/pgcluster.py
runs PostgreSQL as: one etcd (Debian's etcd-server 3.4, v3 API: Patroni's
`etcd3:` key) on loopback ports and three Patroni nodes on 127.0.0.1, each
with its own PostgreSQL port, REST API port and data directory, configured
from the keys the docs show (shorter `ttl`/`loop_wait`/`retry_timeout` so
that a failover takes seconds, not half a minute; `synchronous_mode: true`
as documented). The real daemon serves from the multi-host URL with
`target_session_attrs=read-write`. Then the primary's PostgreSQL and its
Patroni are SIGKILLed under a stream of placements: while there is no
primary the daemon answers 503 + Retry-After (problem type
…/unavailable), never a 500 nor a crash; once Patroni promotes a replica it
serves again without a restart; every workspace acknowledged (201) before
and during the failover is on the new primary; `fleetcommand fsck` is clean.

Exit 77 (skip) when Patroni, etcd or the PostgreSQL binaries are missing
(scripts/install-deps.sh installs them). Every wait is bounded; tearDown
stops every process it started by pid."""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import fctest  # noqa: E402
import pgcluster  # noqa: E402

NODES = 3
PASSWORD = "test-only-secret"  # every role's; scram-sha-256 as in the docs
# The docs' 30/10/10 would make a failover last ~30 s; the test's stay, like
# them, within loop_wait + 2 * retry_timeout <= ttl.
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 2, 3


def missing():
    """None when everything the test runs is there, else why not."""
    if not fctest.FC_BIN:
        return "FC_BIN not set"
    why = pgcluster.available()
    if why:
        return why
    for tool in ("patroni", "etcd"):
        if not shutil.which(tool):
            return f"{tool} not found; scripts/install-deps.sh installs patroni and etcd-server"
    return None


def node_config(root, name, pg_port, rest_port, etcd_port):
    """The docs' /etc/patroni/config.yml with this node's addresses (JSON is YAML)."""
    return {
        "scope": "fleetcommand",
        "name": name,
        "restapi": {"listen": f"127.0.0.1:{rest_port}", "connect_address": f"127.0.0.1:{rest_port}"},
        "etcd3": {"hosts": f"127.0.0.1:{etcd_port}"},
        "bootstrap": {
            "dcs": {
                "ttl": TTL,
                "loop_wait": LOOP_WAIT,
                "retry_timeout": RETRY_TIMEOUT,
                "maximum_lag_on_failover": 1048576,
                "synchronous_mode": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "max_wal_senders": 10,
                        "max_replication_slots": 10,
                        "synchronous_commit": "on",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            "pg_hba": [
                "host all postgres 127.0.0.1/32 scram-sha-256",  # Patroni itself (over listen), pg_rewind
                "host replication replicator 127.0.0.1/32 scram-sha-256",
                "host fleetcommand fleetcommand 127.0.0.1/32 scram-sha-256",
            ],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{pg_port}",
            "connect_address": f"127.0.0.1:{pg_port}",
            "data_dir": os.path.join(root, name, "data"),
            "bin_dir": pgcluster.PG_BIN,
            # Test only: three nodes share one machine (the defaults are
            # /tmp/pgpass0 and /var/run/postgresql, one per host).
            "pgpass": os.path.join(root, name, "pgpass"),
            "parameters": {"unix_socket_directories": os.path.join(root, name)},
            "authentication": {
                "replication": {"username": "replicator", "password": PASSWORD},
                "superuser": {"username": "postgres", "password": PASSWORD},
            },
        },
        "tags": {"nofailover": False, "noloadbalance": False},
    }


def http_status(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class PatroniTest(unittest.TestCase):
    def setUp(self):
        self.procs = {}  # name -> Popen, every process started here
        self.logs = {}
        self.daemon = None
        self.root = tempfile.mkdtemp(prefix="fc-patroni-")
        self.owner = None
        if os.geteuid() == 0:  # initdb refuses root: as pgcluster.py, run as `postgres`
            pw = pwd.getpwnam("postgres")
            self.owner = (pw.pw_uid, pw.pw_gid)
            os.chown(self.root, *self.owner)
        os.chmod(self.root, 0o700)

    def tearDown(self):
        try:
            if self.daemon:
                self.daemon.stop()
        finally:  # Patroni, etcd and PostgreSQL whatever the daemon did
            if self.daemon:
                self.daemon.cleanup()
            self.stop_peers()

    def stop_peers(self):
        # Patroni first (SIGTERM: it stops its PostgreSQL), then etcd.
        for name in sorted(self.procs, key=lambda n: n == "etcd"):
            p = self.procs[name]
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        # A postmaster whose Patroni was SIGKILLed (or did not stop it in
        # time): by the pid in its own data directory.
        for i in range(NODES):
            pid_file = os.path.join(self.root, f"pg{i + 1}", "data", "postmaster.pid")
            try:
                with open(pid_file) as f:
                    pid = int(f.readline())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for f in self.logs.values():
            f.close()
        if os.environ.get("FC_PATRONI_DEBUG"):
            for name in self.procs:
                print(f"--- {name} log tail\n{self.log(name)[-3000:]}")
        left = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        shutil.rmtree(self.root, ignore_errors=True)
        self.assertNotIn(self.root, left, "a process of this test is still running")

    def spawn(self, name, args):
        log = open(os.path.join(self.root, f"{name}.log"), "ab")
        self.logs[name] = log
        kw = {}
        if self.owner:
            kw = {"user": self.owner[0], "group": self.owner[1], "extra_groups": []}
        env = dict(os.environ, HOME=self.root)
        self.procs[name] = subprocess.Popen(args, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            **kw)

    def log(self, name):
        try:
            with open(os.path.join(self.root, f"{name}.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def mkdir(self, path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        if self.owner:
            os.chown(path, *self.owner)

    def psql(self, port, sql, db="postgres"):
        r = subprocess.run([os.path.join(pgcluster.PG_BIN, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=30, env=dict(os.environ, PGPASSWORD=PASSWORD))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def primary(self):
        """The node whose Patroni REST API answers GET /primary with 200, or None."""
        up = [i for i in range(NODES) if http_status(f"http://127.0.0.1:{self.rest[i]}/primary") == 200]
        return up[0] if len(up) == 1 else None

    def cluster_state(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.rest[0]}/cluster", timeout=2) as r:
                return json.loads(r.read())
        except Exception as e:  # noqa: BLE001
            return repr(e)

    def start_cluster(self):
        etcd_client, etcd_peer = fctest.free_port(), fctest.free_port()
        self.pg_ports = [fctest.free_port() for _ in range(NODES)]
        self.rest = [fctest.free_port() for _ in range(NODES)]
        self.mkdir(os.path.join(self.root, "etcd"))
        self.spawn("etcd", ["etcd", "--name", "e1", "--data-dir", os.path.join(self.root, "etcd"),
                            "--listen-client-urls", f"http://127.0.0.1:{etcd_client}",
                            "--advertise-client-urls", f"http://127.0.0.1:{etcd_client}",
                            "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                            "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                            "--initial-cluster", f"e1=http://127.0.0.1:{etcd_peer}",
                            "--listen-metrics-urls", f"http://127.0.0.1:{fctest.free_port()}"])
        fctest.wait_until(lambda: http_status(f"http://127.0.0.1:{etcd_client}/health") == 200, timeout=30,
                          what=f"etcd /health\n{self.log('etcd')[-2000:]}")
        for i in range(NODES):
            name = f"pg{i + 1}"
            self.mkdir(os.path.join(self.root, name))
            path = os.path.join(self.root, name, "patroni.yml")
            with open(path, "w") as f:
                json.dump(node_config(self.root, name, self.pg_ports[i], self.rest[i], etcd_client), f, indent=1)
            self.spawn(name, ["patroni", path])
            if i == 0:  # the first one bootstraps (initdb) alone; the others clone it
                fctest.wait_until(lambda: self.primary() is not None, timeout=90, interval=0.5,
                                  what=f"a Patroni primary\n{self.log('pg1')[-3000:]}")
        t0 = time.monotonic()

        def replicas_streaming():
            st = self.cluster_state()
            if not isinstance(st, dict):
                return False
            members = st.get("members", [])
            return len(members) == NODES and all(m.get("state") in ("running", "streaming") for m in members) \
                and any(m.get("role") == "sync_standby" for m in members)
        fctest.wait_until(replicas_streaming, timeout=120, interval=0.5,
                          what=f"{NODES} members, one synchronous standby: {self.cluster_state()}")
        print(f"cluster of {NODES} up, replicas streaming after {time.monotonic() - t0:.1f} s", file=sys.stderr)
        p = self.primary()
        self.assertIsNotNone(p)
        self.psql(self.pg_ports[p], f"CREATE ROLE fleetcommand LOGIN PASSWORD '{PASSWORD}'")
        self.psql(self.pg_ports[p], "CREATE DATABASE fleetcommand OWNER fleetcommand")
        return p

    def request(self, method, path, body=None, timeout=15):
        return self.daemon.request(method, path, body, timeout=timeout)

    def test_failover_under_placements(self):
        old = self.start_cluster()
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.pg_ports)
        url = (f"postgresql://fleetcommand:{PASSWORD}@{hosts}/fleetcommand"
               "?target_session_attrs=read-write&connect_timeout=2")
        self.daemon = fctest.Daemon({"storage": {"backend": "postgres", "postgres_url": url}}).start()
        d = self.daemon
        d.create_region("r1", capacity={"memory_mib": 1 << 20, "cpu_millis": 1 << 20, "workspaces": 100000})
        agent = d.agent_token("r1")
        d.heartbeat(agent)

        acked, unexpected, counts = [], [], {"503": 0, "201": 0}
        marks = {}
        stop = threading.Event()

        def place():
            i = 0
            while not stop.is_set() and i < 5000:
                i += 1
                try:
                    r = self.request("POST", "/v1/workspaces",
                                     {"name": f"ws-{i}", "resources": {"memory_mib": 1, "cpu_millis": 1},
                                      "placement": {"regions": ["r1"]}})
                except OSError as e:  # the daemon must keep answering
                    unexpected.append(repr(e))
                    time.sleep(0.2)
                    continue
                if r.status == 201:
                    acked.append(r.json()["id"])
                    counts["201"] += 1
                    if "killed" in marks and "first_after" not in marks and counts["503"]:
                        marks["first_after"] = time.monotonic()
                elif r.status == 503:
                    counts["503"] += 1
                    body = r.json() or {}
                    if r.headers.get("retry-after") != "1" or not str(body.get("type", "")).endswith(
                            "/unavailable"):
                        unexpected.append(r)
                    time.sleep(0.1)
                else:
                    unexpected.append(r)
                    time.sleep(0.1)

        def beat():  # region health lives on heartbeats: the agent keeps sending them
            while not stop.wait(1.0):
                try:
                    d.request("POST", "/v1/agent/heartbeat", {"agent_id": "agent-1"}, token=agent, timeout=5)
                except OSError:
                    pass

        threads = [threading.Thread(target=place), threading.Thread(target=beat)]
        for t in threads:
            t.start()
        try:
            fctest.wait_until(lambda: len(acked) >= 30, timeout=60, what="30 placements before the failover")
            before = len(acked)
            # The primary dies: its Patroni (no clean demotion, the leader key
            # expires after ttl) and its postmaster, by pid.
            name = f"pg{old + 1}"
            with open(os.path.join(self.root, name, "data", "postmaster.pid")) as f:
                postmaster = int(f.readline())
            self.procs[name].kill()
            os.kill(postmaster, signal.SIGKILL)
            self.procs[name].wait()
            marks["killed"] = time.monotonic()
            fctest.wait_until(lambda: "first_after" in marks, timeout=TTL * 6, interval=0.2,
                              what=f"a placement after the failover ({counts}, {self.cluster_state()})\n"
                                   f"{d.logs()[-3000:]}")
            fctest.wait_until(lambda: len(acked) >= before + 30, timeout=60, what="30 placements after it")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        took = marks["first_after"] - marks["killed"]
        new = self.primary()
        print(f"failover: pg{old + 1} killed; first 201 again after {took:.1f} s on pg{(new or 0) + 1} "
              f"({counts['503']} x 503 meanwhile, {len(acked)} acknowledged, ttl {TTL})", file=sys.stderr)
        self.assertEqual(unexpected, [], d.logs()[-3000:])
        self.assertIsNone(d.proc.poll(), "the daemon exited")
        self.assertGreater(counts["503"], 0, "no request saw the primary gone: the kill was not exercised")
        self.assertIsNotNone(new)
        self.assertNotEqual(new, old)
        # Every acknowledged workspace is on the new primary (synchronous_mode).
        stored = set(self.psql(self.pg_ports[new], "SELECT id FROM workspaces", db="fleetcommand").split())
        self.assertEqual(set(acked) - stored, set(), "an acknowledged placement was lost")
        # And through the API, without a restart of the daemon.
        r = self.request("GET", "/v1/regions/r1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["allocated"]["workspaces"], len(stored))
        # The URL's password is never logged, not even while every host refuses.
        self.assertNotIn(PASSWORD, d.logs())
        f = d.cli("fsck")
        self.assertEqual(f.returncode, 0, f.stdout + f.stderr)
        self.assertIn("fsck: 0 problem(s)", f.stdout)


if __name__ == "__main__":
    why = missing()
    if why:
        print(f"skipped: {why}")
        sys.exit(pgcluster.SKIP)
    unittest.main()
