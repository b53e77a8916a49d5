"""Real Pebble (+ pebble-challtestsrv as its DNS) on loopback for tests.

Facts relied on (docs/certs.md): Debian's pebble ships no test certificate, so
we make a CA and a localhost certificate; Pebble always gets -dnsserver; the
issuing root at https://127.0.0.1:MGMT/roots/0 is new at every start; all state
is in memory. Python 3 stdlib only; every wait is bounded; stop() kills by pid.
"""
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request

EAB_KEYS = {
    # From /usr/share/doc/pebble/examples/pebble-config-external-account-bindings.json
    "kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
    "kid-2": "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH",
}


import fctest  # noqa: E402
from fctest import free_port  # noqa: E402,F401 - one implementation for every test (tests/lib)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, **kw)


def make_tls(d, san="DNS:localhost,IP:127.0.0.1,IP:::1"):
    """CA + localhost certificate (SAN localhost, 127.0.0.1, ::1) for Pebble's HTTPS."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, cert = (os.path.join(d, n) for n in ("localhost.key", "localhost.csr", "localhost.pem"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=fleetcommand test CA"])
    run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext])
    return ca, cert, key


class Pebble:
    def __init__(self, workdir, http_port, eab=False, nonce_reject=0, env=None):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.http_port = http_port
        self.eab = eab
        self.nonce_reject = nonce_reject
        self.extra_env = env or {}
        self.procs = []

    def start(self):
        """Starts challtestsrv and Pebble on fresh ports; when one of them
        exits because its port is taken (Go's "bind: address already in use"),
        again on fresh ports (fctest.PORT_ATTEMPTS in all). Whatever it
        started is stopped again when it raises."""
        self.ca, self.cert, self.key = make_tls(self.dir)
        try:
            for attempt in range(1, fctest.PORT_ATTEMPTS + 1):
                self._spawn_all()
                try:
                    self._wait_ready()
                    return self
                except RuntimeError:
                    hit = self.port_collision()
                    self.stop()
                    if not hit or attempt == fctest.PORT_ATTEMPTS:
                        raise
                    fctest.port_retry_note(type(self).__name__, hit[0], hit[1], attempt)
        except BaseException:
            self.stop()
            raise

    def _spawn_all(self):
        self.dns_port, self.cts_port = free_port(), free_port()
        self.port, self.mgmt_port, tls_port = free_port(), free_port(), free_port()
        self._spawn("challtestsrv", [
            "pebble-challtestsrv", "-management", f"127.0.0.1:{self.cts_port}",
            "-dns01", f"127.0.0.1:{self.dns_port}", "-http01", "", "-https01", "",
            "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""], {})
        conf = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": self.cert, "privateKey": self.key,
            "httpPort": self.http_port, "tlsPort": tls_port, "ocspResponderURL": "",
            "externalAccountBindingRequired": self.eab}}
        if self.eab:
            conf["pebble"]["externalAccountMACKeys"] = EAB_KEYS
        cfg = os.path.join(self.dir, "pebble-config.json")
        with open(cfg, "w") as f:
            json.dump(conf, f)
        env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": str(self.nonce_reject),
               "PEBBLE_AUTHZREUSE": "0", **self.extra_env}
        self._spawn("pebble", ["pebble", "-config", cfg, "-dnsserver", f"127.0.0.1:{self.dns_port}"], env)
        self.directory = f"https://127.0.0.1:{self.port}/dir"

    def _spawn(self, name, cmd, env):
        path = os.path.join(self.dir, name + ".log")
        log = open(path, "a")  # a start again on fresh ports appends
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                             env={**os.environ, **env})
        p.log_path, p.log_from = path, log.tell()
        log.close()  # the child holds its own descriptor
        self.procs.append(fctest.track(p, name))

    def port_collision(self):
        """(port, log line) when a process of ours exited because its port was taken."""
        for p in self.procs:
            if p.poll() is not None:
                with open(p.log_path, errors="replace") as f:
                    f.seek(p.log_from)
                    hit = fctest.port_in_use(f.read())
                if hit:
                    return hit
        return None

    def _wait_ready(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"peer exited early: {p.args[0]}; see {self.dir}")
            try:
                self.get(self.directory)
                self.cts("/set-default-ipv4", {"ip": "127.0.0.1"})
                return
            except (OSError, ValueError):
                time.sleep(0.1)
        raise RuntimeError("pebble did not come up within 20 s; logs in " + self.dir)

    def get(self, url):
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
            return r.read().decode()

    def cts(self, path, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.cts_port}{path}",
                                     data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status

    def roots_and_intermediates(self, idx=0):
        base = f"https://127.0.0.1:{self.mgmt_port}"
        return self.get(f"{base}/roots/{idx}"), self.get(f"{base}/intermediates/{idx}")

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        self.procs = []
