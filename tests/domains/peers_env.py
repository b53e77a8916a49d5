"""The customer side of the domains tests, all on loopback: BIND authoritative
for the customer zone (changed with nsupdate + TSIG, as a customer would), and
unbound as the recursive resolver with stub zones for the customer zone (→
BIND) and the platform zone (→ fleetcommand's embedded DNS). Every process is
stopped by pid (peers.cleanup at exit); every wait is bounded."""
import base64
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dns"))
sys.path.insert(0, os.path.join(HERE, "..", "certs"))
import fctest  # noqa: E402
import peers  # noqa: E402

TSIG_NAME = "customer-key"
TSIG_SECRET = base64.b64encode(b"fleetcommand-domains-e2e-secret!").decode()


def _log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _start_retrying(peer, what, log_name):
    """peer._start() on peer.port; when the peer exits saying (in what it
    logged since) that its port was taken, again on a fresh port
    (fctest.PORT_ATTEMPTS in all). Returns the peer."""
    log = os.path.join(peer.dir, log_name)
    for attempt in range(1, fctest.PORT_ATTEMPTS + 1):
        log_from = _log_size(log)
        try:
            return peer._start()
        except AssertionError:
            if attempt == fctest.PORT_ATTEMPTS:
                raise
            with open(log, "rb") as f:
                f.seek(log_from)
                hit = fctest.port_in_use(f.read().decode(errors="replace"))
            if not hit:
                raise
            fctest.port_retry_note(what, peer.port, hit[1], attempt)
            peer.port = peers.free_port()


class CustomerDns:
    """BIND primary for `zone`, accepting RFC 2136 updates signed with the TSIG key."""

    def __init__(self, workdir, zone="customer.test"):
        self.dir = os.path.join(workdir, "bind")
        os.makedirs(self.dir, exist_ok=True)
        self.zone = zone
        self.port = peers.free_port()
        self.keyfile = os.path.join(self.dir, "tsig.key")

    def start(self):
        """BIND on self.port, again on a fresh one when that port was taken."""
        return _start_retrying(self, "BIND", "named.log")

    def _start(self):
        key = 'key "%s" { algorithm hmac-sha256; secret "%s"; };\n' % (TSIG_NAME, TSIG_SECRET)
        with open(self.keyfile, "w") as f:
            f.write(key)
        zone_text = ("$TTL 1\n@ IN SOA ns.%s. admin.%s. 1 60 60 3600 1\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n"
                     % (self.zone, self.zone, self.zone))
        conf = key + ('zone "%s" { type primary; file "%s/%s.db"; allow-update { key "%s"; }; };\n'
                      % (self.zone, self.dir, self.zone, TSIG_NAME))
        self.proc = peers.start_named(conf, self.dir, self.port, {self.zone + ".db": zone_text})
        return self

    def update(self, *lines):
        """nsupdate with the customer's key: each line is 'add NAME TTL TYPE DATA' or 'delete NAME [TYPE]'."""
        script = "server 127.0.0.1 %d\nzone %s\n" % (self.port, self.zone)
        script += "".join("update %s\n" % ln for ln in lines) + "send\n"
        r = subprocess.run(["nsupdate", "-k", self.keyfile], input=script, capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise AssertionError("nsupdate failed: " + r.stderr + r.stdout)


class Resolver:
    """unbound: the recursive resolver the daemon and Pebble both use."""

    def __init__(self, workdir, stubs):
        self.dir = os.path.join(workdir, "unbound")
        os.makedirs(self.dir, exist_ok=True)
        self.port = peers.free_port()
        self.stubs = stubs  # {zone: port}

    def start(self):
        """unbound on self.port, again on a fresh one when that port was taken."""
        return _start_retrying(self, "unbound", "unbound.log")

    def _start(self):
        conf = os.path.join(self.dir, "unbound.conf")
        lines = ["server:", f"  interface: 127.0.0.1@{self.port}", f"  port: {self.port}", '  chroot: ""',
                 '  username: ""', f'  directory: "{self.dir}"', f'  pidfile: "{self.dir}/unbound.pid"',
                 '  logfile: ""', "  use-syslog: no", "  verbosity: 1", "  do-ip6: no",
                 "  do-not-query-localhost: no", '  module-config: "iterator"', "  cache-max-ttl: 1",
                 "  cache-max-negative-ttl: 1", "  qname-minimisation: no",
                 # .test is a default local zone of unbound (RFC 6761): let it through.
                 '  local-zone: "test." nodefault']
        for z in self.stubs:
            lines.append(f'  domain-insecure: "{z}"')
        lines += ["remote-control:", "  control-enable: no"]
        for z, port in self.stubs.items():
            lines += ["stub-zone:", f'  name: "{z}"', f"  stub-addr: 127.0.0.1@{port}"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = peers.spawn(["unbound", "-d", "-c", conf], os.path.join(self.dir, "unbound.log"))
        peers.wait_for(lambda: self.proc.poll() is not None or
                       peers.status(peers.dig(self.port, "ns.customer.test", "A")) == "NOERROR", 20, "unbound up")
        if self.proc.poll() is not None:
            raise AssertionError("unbound exited: " + open(os.path.join(self.dir, "unbound.log")).read()[-3000:])
        return self

    def addr(self):
        return f"127.0.0.1:{self.port}"


class VerifierWorld(unittest.TestCase):
    """A daemon whose domain verifier resolves through `RESOLVERS` unbound
    instances (stub zones: the customer's BIND, and `ZONE` on the daemon's own
    DNS), a region r1 with a loopback ingress and a healthy agent, and one
    workspace (cls.ws). Subclasses add their configuration in configure()."""
    ZONE = "fleet.test"
    RESOLVERS = 1

    @classmethod
    def configure(cls, config):
        """More daemon configuration, before it starts."""

    @classmethod
    def setUpClass(cls):
        fctest.require_tools("named", "unbound", "nsupdate")
        cls.d = None
        try:
            cls.d = fctest.Daemon()
            cls.bind = CustomerDns(cls.d.dir).start()
            stubs = {"customer.test": cls.bind.port, cls.ZONE: cls.d.dns_port}
            dirs = [cls.d.dir] if cls.RESOLVERS == 1 else [os.path.join(cls.d.dir, f"r{i + 1}")
                                                          for i in range(cls.RESOLVERS)]
            cls.res = [Resolver(d, stubs).start() for d in dirs]
            cls.d.config["dns"]["zone"] = cls.ZONE
            cls.d.config["resolver"] = {"servers": [r.addr() for r in cls.res]}
            cls.configure(cls.d.config)
            cls.d.start()
            cls.d.create_region("r1", ingress={"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None})
            cls.d.heartbeat(cls.d.agent_token("r1"))
            r = cls.d.request("POST", "/v1/workspaces", {"name": "shop",
                                                         "resources": {"memory_mib": 64, "cpu_millis": 50}})
            assert r.status == 201, r
            cls.ws = r.json()
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def stop_all(cls):
        code = 0
        try:
            if cls.d:
                code = cls.d.stop()
        finally:  # BIND and unbound whatever the daemon did
            peers.cleanup()
            if cls.d:
                cls.d.cleanup()
        return code

    @classmethod
    def tearDownClass(cls):
        assert cls.stop_all() == 0, "daemon exited non-zero"
