"""Peer helpers for the DNS integration tests (Python 3 stdlib only).

Start the fc-dns-fixture and BIND's named on free loopback ports in a private
temp dir, talk raw DNS, run dig/kdig, and stop every process by pid at exit.
Reusable by later tests: `sys.path.insert(0, <tests/dns>); import peers`.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

_procs = []
_dirs = []


def cleanup():
    for p in _procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
    _procs.clear()
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)
    _dirs.clear()


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: (cleanup(), os._exit(1)))


def tmpdir(prefix="fc-dns-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _dirs.append(d)
    return d


from fctest import free_port  # noqa: E402,F401 - one implementation for every test (tests/lib)


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def fixture_bin():
    b = os.path.join(os.environ.get("FC_BUILD_DIR", "build"), "dns", "fc-dns-fixture")
    if not os.path.exists(b):
        raise SystemExit("fixture not built: " + b + " (cmake --build BUILD --target fc-dns-fixture)")
    return b


def spawn(args, log_path, env=None):
    log = open(log_path, "ab")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    _procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(timeout=5)


# --- zone files and the fixture -------------------------------------------

def zone(origin="fleet.test.", serial=1, records=(), ns_ip="127.0.0.1", minimum=30, ttl=3600):
    return {"origin": origin, "mname": "ns1." + origin, "rname": "hostmaster." + origin,
            "serial": serial, "refresh": 60, "retry": 5, "expire": 86400, "minimum": minimum,
            "ttl": ttl, "nameservers": [{"name": "ns1." + origin, "ipv4": [ns_ip]}],
            "records": [dict(zip(("name", "type", "ttl", "data"), r)) for r in records]}


class Fixture:
    """fc-dns-fixture serve on a free port; reload() publishes a new zone (SIGHUP)."""

    def __init__(self, zone_obj, extra=(), workdir=None):
        self.dir = workdir or tmpdir()
        self.zone_path = os.path.join(self.dir, "zone.json")
        self.port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "fixture.log")
        self.write_zone(zone_obj)
        args = [fixture_bin(), "serve", "--zone", self.zone_path, "--listen", "127.0.0.1:0",
                "--port-file", self.port_file] + list(extra)
        self.proc = spawn(args, self.log)
        self.port = int(wait_for(lambda: self._read_port(), 10, "fixture port"))

    def _read_port(self):
        if self.proc.poll() is not None:
            raise AssertionError("fixture exited: " + open(self.log).read())
        try:
            return open(self.port_file).read().strip()
        except FileNotFoundError:
            return None

    def write_zone(self, zone_obj):
        tmp = self.zone_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(zone_obj, f)
        os.replace(tmp, self.zone_path)

    def reload(self, zone_obj):
        self.write_zone(zone_obj)
        self.proc.send_signal(signal.SIGHUP)

    def addr(self):
        return "127.0.0.1:%d" % self.port


def run_fixture_cmd(args, timeout=30):
    out = subprocess.run([fixture_bin()] + args, capture_output=True, text=True, timeout=timeout)
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    return out.returncode, json.loads(line)


# --- dig / kdig -------------------------------------------------------------

def dig(port, *args, server="127.0.0.1", timeout=20):
    cmd = ["dig", "@" + server, "-p", str(port), "+time=2", "+tries=1"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout).stdout


def kdig(port, *args, timeout=20):
    cmd = ["kdig", "@127.0.0.1", "-p", str(port), "+time=2", "+retry=0"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout).stdout


def status(out):
    for line in out.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    return None


def flags(out):
    for line in out.splitlines():
        if line.startswith(";; flags:"):
            return line.split("flags:")[1].split(";")[0].split()
    return []


def answers(out):
    """Answer-section lines of dig output as (name, ttl, type, rdata)."""
    rows, in_answer = [], False
    for line in out.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            in_answer = True
            continue
        if in_answer:
            if not line.strip():
                break
            p = line.split(None, 4)
            rows.append((p[0], int(p[1]), p[3], p[4] if len(p) > 4 else ""))
    return rows


# --- raw DNS ----------------------------------------------------------------

def wire_name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"


def raw_query(name, qtype, qid=0x4242, flags_=0x0100, opcode=0, edns=None):
    f = flags_ | (opcode << 11)
    m = struct.pack(">HHHHHH", qid, f, 1, 0, 0, 1 if edns else 0) + wire_name(name) + struct.pack(">HH", qtype, 1)
    if edns:
        m += b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    return m


def udp_exchange(port, data, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def rcode_of(resp):
    return resp[3] & 0x0F


def tcp_send(sock, data):
    sock.sendall(struct.pack(">H", len(data)) + data)


def tcp_recv(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
    hdr = exact(2)
    if hdr is None:
        return None
    return exact(struct.unpack(">H", hdr)[0])


# --- BIND ---------------------------------------------------------------------

UPDATE_KEY = "upd"


def update_primary(zone_name, secret, key=UPDATE_KEY):
    """named.conf body and zone file of a BIND primary for `zone_name` that
    accepts RFC 2136 updates signed with TSIG `key` (hmac-sha256, `secret`):
    start it with start_named(conf, workdir, port, {zone_name + ".db": text})."""
    text = ("$TTL 300\n"
            "@ IN SOA ns1.%(z)s. hostmaster.%(z)s. 1 60 5 86400 30\n"
            "@ IN NS ns1.%(z)s.\n"
            "ns1 IN A 127.0.0.1\n") % {"z": zone_name}
    conf = ('key "%(k)s" { algorithm hmac-sha256; secret "%(s)s"; };\n'
            'zone "%(z)s" { type primary; file "%(z)s.db"; allow-update { key "%(k)s"; }; };\n'
            ) % {"k": key, "s": secret, "z": zone_name}
    return conf, text


def nsupdate(port, zone_name, cmds, secret, key=UPDATE_KEY):
    """Runs `cmds` (nsupdate lines) against 127.0.0.1:port, signed with the key."""
    script = "server 127.0.0.1 %d\nzone %s\n%s\nsend\n" % (port, zone_name, cmds)
    return subprocess.run(["nsupdate", "-y", "hmac-sha256:%s:%s" % (key, secret)], input=script, text=True,
                          capture_output=True, timeout=20)


def rrset(port, name, rtype="A"):
    """The sorted values of name/rtype at the server on `port` (no recursion)."""
    return sorted(r[3] for r in answers(dig(port, name, rtype, "+norec")) if r[2] == rtype)


def start_named(conf_body, workdir, port, zone_files=None):
    """named -g -4 -c CONF in workdir (own conf, controls {}, run as root; see docs/dns.md)."""
    for name, text in (zone_files or {}).items():
        with open(os.path.join(workdir, name), "w") as f:
            f.write(text)
    conf = os.path.join(workdir, "named.conf")
    with open(conf, "w") as f:
        f.write('options {\n  directory "%s";\n  pid-file "%s/named.pid";\n'
                '  session-keyfile "%s/session.key";\n  listen-on port %d { 127.0.0.1; };\n'
                '  listen-on-v6 { none; };\n  recursion no;\n  dnssec-validation no;\n'
                '  notify-delay 0;\n};\ncontrols {};\n%s\n' % (workdir, workdir, workdir, port, conf_body))
    # -g: foreground with the log on stderr, so tests can read transfer results.
    p = spawn(["named", "-g", "-4", "-c", conf, "-n", "1"], os.path.join(workdir, "named.log"))
    # named answers version.bind before it has loaded its zones, and a query
    # then gets REFUSED: a resolver in the test would mark BIND lame for the
    # zone for its infra-lame-ttl (15 min). Wait until every primary zone is
    # served with its SOA.
    primaries = re.findall(r'zone\s+"([^"]+)"\s*(?:IN\s*)?\{\s*type\s+(?:primary|master)\b', conf_body)

    def up():
        if p.poll() is not None:
            return True
        if status(dig(port, "version.bind", "CH", "TXT")) is None:
            return False
        return all(status(dig(port, "+norec", z, "SOA")) == "NOERROR" for z in primaries)
    wait_for(up, 20, "named up with its primary zones " + ", ".join(primaries))
    if p.poll() is not None:
        raise AssertionError("named exited: " + open(os.path.join(workdir, "named.log")).read()[-3000:])
    return p


class Checks:
    """Collects failures so one run reports every broken behaviour."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed.append(what)
            print("FAIL " + what + (("\n" + str(detail)) if detail else ""), flush=True)

    def done(self):
        print("%d passed, %d failed" % (self.passed, len(self.failed)))
        cleanup()
        raise SystemExit(1 if self.failed else 0)


# --- unbound ------------------------------------------------------------------

def start_unbound(stubs, workdir, port, extra=""):
    """unbound -d -c CONF as a private recursive resolver on 127.0.0.1:port (see docs/dns.md).

    stubs: {zone: ["127.0.0.1@PORT", ...]} -- each becomes a stub-zone and domain-insecure.
    """
    conf = os.path.join(workdir, "unbound.conf")
    body = ("server:\n  interface: 127.0.0.1@%d\n  port: %d\n  chroot: \"\"\n  username: \"\"\n"
            "  directory: \"%s\"\n  pidfile: \"%s/unbound.pid\"\n  logfile: \"\"\n  use-syslog: no\n"
            "  do-ip6: no\n  do-not-query-localhost: no\n  module-config: \"iterator\"\n"
            "  cache-max-ttl: 1\n  cache-max-negative-ttl: 1\n  num-threads: 1\n  verbosity: 1\n%s"
            % (port, port, workdir, workdir, extra))
    body += "  local-zone: \"test.\" nodefault\n"  # RFC 6761 default would answer .test itself
    for z in stubs:
        body += "  domain-insecure: \"%s\"\n" % z
    for z, addrs in stubs.items():
        body += "stub-zone:\n  name: \"%s\"\n" % z + "".join("  stub-addr: %s\n" % a for a in addrs)
    body += "remote-control:\n  control-enable: no\n"
    with open(conf, "w") as f:
        f.write(body)
    log = os.path.join(workdir, "unbound.log")
    p = spawn(["unbound", "-d", "-c", conf], log)
    wait_for(lambda: p.poll() is not None or status(dig(port, "localhost", "A")) is not None, 20, "unbound up")
    if p.poll() is not None:
        raise AssertionError("unbound exited: " + open(log).read()[-3000:])
    return p
