"""The test harness itself (tests/lib/fctest.py, tests/certs/): ports handed
out to one test process are never handed to another, a start that finds its
port taken by someone else comes up on another port (the real daemon and the
real Pebble, with the port really occupied by a socket here), and a process a
test left running is killed when the test process exits."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "certs"))
import fctest  # noqa: E402


def occupy(port):
    """A TCP listener and a UDP socket on 127.0.0.1:port (what any other
    program holding the port looks like to the daemon)."""
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past a TIME_WAIT; still exclusive
    t.bind(("127.0.0.1", port))
    t.listen(1)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    return t, u


def listen_port(d, section):
    """The port in the daemon's config (read without telling the harness a peer knows it)."""
    return int(d.config[section]["listen"].rsplit(":", 1)[1])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class PortsTest(unittest.TestCase):
    def test_two_processes_never_share_a_port(self):
        code = ("import fctest; print(' '.join(str(fctest.free_port()) for _ in range(120)))")
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "PYTHONPATH": os.path.join(HERE, "..", "lib")})
        self.assertEqual(child.returncode, 0, child.stderr)
        theirs = {int(p) for p in child.stdout.split()}
        ours = {fctest.free_port() for _ in range(120)}
        self.assertEqual(len(theirs), 120)
        self.assertEqual(len(ours), 120)
        self.assertEqual(ours & theirs, set())
        lo, _ = fctest._ephemeral_range()
        self.assertTrue(all(fctest._PORT_FLOOR <= p < lo for p in ours | theirs), sorted(ours | theirs)[-3:])

    def test_a_claimed_block_is_held_until_exit(self):
        fctest.free_port()
        name = fctest._blocks[-1].getsockname()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            with self.assertRaises(OSError):
                s.bind(name)

    def test_port_in_use_reads_each_peers_line(self):
        cases = {
            "critical api not listening reason=api listen 127.0.0.1:12001: Address already in use": 12001,
            "dns not started reason=dns tcp bind 127.0.0.1:12002: Address already in use": 12002,
            "listen tcp 127.0.0.1:12003: bind: address already in use": 12003,
            'bind() to 127.0.0.1:12004 failed (98: Address already in use)': 12004,
            "error: can't bind socket: Address already in use for 127.0.0.1 port 12005": 12005,
            'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use': 0,
        }
        for line, port in cases.items():
            self.assertEqual(fctest.port_in_use("first line\n" + line + "\nlast"), (port, line))
        self.assertIsNone(fctest.port_in_use("api listen 127.0.0.1:12001: Permission denied"))


class DaemonRetryTest(unittest.TestCase):
    def setUp(self):
        fctest.require_tools()
        self.socks = []
        self.d = None

    def tearDown(self):
        for s in self.socks:
            s.close()
        if self.d:
            self.d.cleanup()

    def start_with_taken(self, section, config=None):
        self.d = fctest.Daemon(config)
        taken = listen_port(self.d, section)
        self.socks += occupy(taken)
        self.d.start()
        return taken

    def test_dns_port_taken(self):
        d = self.d = fctest.Daemon()
        taken = listen_port(d, "dns")
        # the daemon's own config pointing at its DNS follows the new port
        d.config["resolver"] = {"servers": [f"127.0.0.1:{taken}"]}
        self.socks += occupy(taken)
        d.start()
        self.assertNotEqual(d.dns_port, taken)
        self.assertEqual(d.config["dns"]["listen"], f"127.0.0.1:{d.dns_port}")
        self.assertEqual(d.config["resolver"]["servers"], [f"127.0.0.1:{d.dns_port}"])
        # the daemon really met the taken port, and says which
        self.assertRegex(d.logs(), rf"dns (udp|tcp) bind 127\.0\.0\.1:{taken}: Address already in use")
        self.assertEqual(d.request("GET", "/v1/regions").status, 200)
        self.assertEqual(d.stop(), 0)

    def test_dns_tcp_port_taken(self):
        # UDP free, TCP taken: the daemon's "dns tcp bind" error names its port too
        self.d = fctest.Daemon()
        taken = listen_port(self.d, "dns")
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind(("127.0.0.1", taken))
        t.listen(1)
        self.socks.append(t)
        self.d.start()
        self.assertNotEqual(self.d.dns_port, taken)
        self.assertIn(f"dns tcp bind 127.0.0.1:{taken}: Address already in use", self.d.logs())

    def test_api_port_taken(self):
        taken = self.start_with_taken("api")
        self.assertNotEqual(self.d.api_port, taken)
        self.assertIn(f"api listen 127.0.0.1:{taken}: Address already in use", self.d.logs())
        self.assertEqual(self.d.request("GET", "/v1/regions").status, 200)

    def test_acme_port_taken(self):
        taken = self.start_with_taken("acme_http")
        self.assertNotEqual(self.d.acme_port, taken)
        self.assertEqual(self.d.acme_request("/.well-known/acme-challenge/nothing").status, 404)

    def test_port_a_peer_knows_is_not_moved(self):
        d = self.d = fctest.Daemon()
        self.socks += occupy(d.dns_port)  # read before start: as if handed to a peer
        with self.assertRaises(AssertionError) as e:
            d.start()
        self.assertIn(f"port {d.dns_port} already in use", str(e.exception))

    def test_port_set_by_the_test_is_not_moved(self):
        d = self.d = fctest.Daemon()
        taken = fctest.free_port()
        d.api_port = taken
        d.config["api"]["listen"] = f"127.0.0.1:{taken}"
        self.socks += occupy(taken)
        with self.assertRaises(AssertionError) as e:
            d.start()
        self.assertIn(f"port {taken} already in use", str(e.exception))


class PebbleRetryTest(unittest.TestCase):
    def setUp(self):
        fctest.require_tools("pebble", "openssl")
        import daemon_util
        self.du = daemon_util
        self.socks = []
        self.d = self.peb = None

    def tearDown(self):
        for s in self.socks:
            s.close()
        if self.peb:
            self.peb.stop()
        if self.d:
            self.d.cleanup()

    def test_pebble_port_taken(self):
        import pebble
        taken = fctest.free_port()
        self.socks += occupy(taken)
        picks = iter([taken])
        real = pebble.free_port
        pebble.free_port = lambda: next(picks, None) or real()  # Pebble's first port is the taken one
        try:
            self.d, self.peb = self.du.daemon_with_pebble(lambda p: [self.du.acme_issuer(p)])
        finally:
            pebble.free_port = real
        self.assertNotEqual(self.peb.port, taken)
        with open(os.path.join(self.peb.dir, "pebble.log"), errors="replace") as f:
            log = f.read()
        self.assertIn("address already in use", log)
        self.assertEqual(len([p for p in self.peb.procs if p.poll() is None]), 1)
        self.assertIn("newOrder", self.peb.get(self.peb.directory))

    def test_daemon_port_taken_pebble_follows(self):
        self.d, self.peb = self.du.daemon_with_pebble(lambda p: [self.du.acme_issuer(p)])
        taken = listen_port(self.d, "dns")
        self.socks += occupy(taken)
        d = self.d.start()
        self.assertNotEqual(d.dns_port, taken)
        self.assertEqual((self.peb.our_dns, self.peb.http_port), (d.dns_port, d.acme_port))
        running = [p for p in self.peb.procs if p.poll() is None]
        self.assertEqual(len(running), 1)
        self.assertIn(f"127.0.0.1:{d.dns_port}", running[0].args)
        # Pebble issues through the daemon's new DNS port (DNS-01 TXT from our zone)
        cid = self.du.post_cert(d, ["retry.fleet.test"], "dns-01")
        self.du.wait_cert(d, cid, lambda c: c["status"] == "valid", what="certificate from the followed Pebble")
        self.du.stop_all(d, self.peb)
        self.d = self.peb = None


class DnsPeersRetryTest(unittest.TestCase):
    """BIND and unbound of the domains tests (tests/domains/peers_env.py)."""

    def setUp(self):
        fctest.require_tools("named", "unbound", "dig")
        sys.path.insert(0, os.path.join(HERE, "..", "domains"))
        import peers_env
        self.env = peers_env
        self.socks = []
        self.dir = tempfile.mkdtemp(prefix="fc-harness-")

    def tearDown(self):
        for s in self.socks:
            s.close()
        self.env.peers.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_bind_and_unbound_ports_taken(self):
        bind = self.env.CustomerDns(self.dir)
        taken = bind.port
        self.socks += occupy(taken)
        bind.start()
        self.assertNotEqual(bind.port, taken)
        res = self.env.Resolver(self.dir, {"customer.test": bind.port})
        taken2 = res.port
        self.socks += occupy(taken2)
        res.start()
        self.assertNotEqual(res.port, taken2)
        # unbound answers on its new port through BIND on its new port
        out = self.env.peers.dig(res.port, "ns.customer.test", "A")
        self.assertEqual(self.env.peers.status(out), "NOERROR", out)


class ReceiverRetryTest(unittest.TestCase):
    def test_webhook_receiver_port_taken(self):
        sys.path.insert(0, os.path.join(HERE, "..", "webhooks"))
        from receiver import Receiver
        taken = fctest.free_port()
        socks = occupy(taken)
        rcv = Receiver(taken).start()
        try:
            self.assertNotEqual(rcv.port, taken)
            with socket.create_connection(("127.0.0.1", rcv.port), timeout=5):
                pass
        finally:
            rcv.stop()
            for s in socks:
                s.close()
        # a restart keeps its port: taken, it fails
        socks = occupy(rcv.port)
        try:
            with self.assertRaises(OSError):
                rcv.start()
        finally:
            for s in socks:
                s.close()


class PgRetryTest(unittest.TestCase):
    def test_postgres_port_taken(self):
        import pgcluster
        why = pgcluster.available()
        if why:
            self.skipTest(why)
        taken = fctest.free_port()
        socks = occupy(taken)
        picks = iter([taken])
        real = fctest.free_port
        fctest.free_port = lambda *a: next(picks, None) or real()  # the cluster's first port is the taken one
        pg = pgcluster.PgCluster()
        try:
            pg.start()
            self.assertNotEqual(pg.port, taken)
            self.assertIn("Address already in use", pg.log())
            self.assertEqual(pg.query("fleetcommand", "SELECT 1"), [("1",)])
        finally:
            fctest.free_port = real
            pg.stop()
            for s in socks:
                s.close()


class LeftoverTest(unittest.TestCase):
    def test_process_left_running_is_killed_at_exit(self):
        code = textwrap.dedent("""
            import subprocess, fctest
            p = fctest.track(subprocess.Popen(["sleep", "60"]), "sleep")
            print(p.pid, flush=True)
        """)
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                           env={**os.environ, "PYTHONPATH": os.path.join(HERE, "..", "lib")})
        pid = int(r.stdout.split()[0])
        try:
            self.assertFalse(alive(pid), f"pid {pid} still running")
            self.assertRegex(r.stderr, rf"fctest: sleep \(pid {pid}\) still running at exit: killed")
            self.assertLess(time.monotonic() - t0, 20)
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    fctest.main()
