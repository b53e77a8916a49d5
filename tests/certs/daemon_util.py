"""Helpers for the daemon certificate tests: a Pebble whose DNS is the
daemon's embedded server, a daemon wired to it, and small checks."""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import fctest  # noqa: E402
import pebble as pebble_mod  # noqa: E402


class PebbleOnOurDns(pebble_mod.Pebble):
    """Pebble whose -dnsserver is the daemon's embedded DNS server (no
    challtestsrv): HTTP-01 names must resolve in our zone, DNS-01 TXT records
    come from our dns_challenges rows."""

    def __init__(self, workdir, http_port, dns_port, env=None):
        super().__init__(workdir, http_port, env=env)
        self.our_dns = dns_port

    def _spawn_all(self):
        """Pebble alone on fresh ports (Pebble.start retries and stops)."""
        self.port, self.mgmt_port, self.tls_port = (pebble_mod.free_port() for _ in range(3))
        self._spawn("pebble", self._command(self._write_config()), self._env())
        self.directory = f"https://127.0.0.1:{self.port}/dir"

    def _wait_ready(self):
        self._wait_up()

    def _write_config(self):
        conf = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": self.cert, "privateKey": self.key,
            "httpPort": self.http_port, "tlsPort": self.tls_port, "ocspResponderURL": "",
            "externalAccountBindingRequired": False}}
        cfg = os.path.join(self.dir, "pebble-config.json")
        with open(cfg, "w") as f:
            json.dump(conf, f)
        return cfg

    def _command(self, cfg):
        return ["pebble", "-config", cfg, "-dnsserver", f"127.0.0.1:{self.our_dns}"]

    def _env(self):
        return {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0",
                **self.extra_env}

    def follow(self, d):
        """Points this Pebble at the daemon's new acme_http and dns ports (a
        fctest.Daemon.on_new_ports callback: the daemon's first start found
        one taken). Same Pebble ports and certificate; nothing was issued yet."""
        if (self.http_port, self.our_dns) == (d.acme_port, d.dns_port):
            return
        self.http_port, self.our_dns = d.acme_port, d.dns_port
        self.stop()
        self._spawn("pebble-followed", self._command(self._write_config()), self._env())
        self._wait_up()

    def _wait_up(self, timeout=20):
        """Until the directory answers; RuntimeError at once when Pebble exits."""
        deadline = time.monotonic() + timeout
        while not self._up():
            if time.monotonic() > deadline:
                raise RuntimeError(f"pebble did not come up within {timeout} s; logs in {self.dir}")
            time.sleep(0.05)

    def restart(self, env=None, down_s=0.0):
        """Stop Pebble and start it again on the same ports with the same TLS
        certificate (a new Pebble: no accounts, no orders, a new root). `env`
        overrides the environment of the new process; `down_s` is how long it
        stays down (bounded by the caller)."""
        self.stop()
        if down_s:
            time.sleep(down_s)
        self.extra_env = {**self.extra_env, **(env or {})}
        cfg = os.path.join(self.dir, "pebble-config.json")
        self._spawn("pebble-restarted", self._command(cfg), self._env())
        fctest.wait_until(self._up, timeout=20, what="restarted pebble directory")
        return self

    def _up(self):
        for p in self.procs:
            if p.poll() is not None:
                raise RuntimeError(f"pebble exited early; see {self.dir}")
        try:
            self.get(self.directory)
            return True
        except (OSError, ValueError):
            return False


def acme_issuer(peb, **extra):
    return {"type": "acme", "directory": peb.directory, "ca_bundle": peb.ca, **extra}


def daemon_with_pebble(issuers_fn, pebble_env=None, certs_extra=None):
    """A daemon (not started) and a started Pebble using its ports."""
    d = fctest.Daemon()
    try:
        peb = PebbleOnOurDns(os.path.join(d.dir, "pebble"), d.acme_port, d.dns_port, env=pebble_env).start()
    except BaseException:
        d.cleanup()
        raise
    d.on_new_ports.append(peb.follow)
    d.config["certs"] = {"issuers": issuers_fn(peb), **(certs_extra or {})}
    return d, peb


def stop_all(d, peb, *more_stops):
    """Stops the daemon, Pebble and any other peers (callables), removes the
    daemon's directory, and fails with the daemon's last logs if it did not
    exit 0 (a crash at shutdown is a bug)."""
    try:
        code = d.stop()
        logs = d.logs()
    finally:  # a daemon that would not stop must not leave Pebble running
        try:
            peb.stop()
            for stop in more_stops:
                stop()
        finally:
            d.cleanup()
    assert code == 0, f"daemon exited {code}\n{logs[-4000:]}"


def db_path(d):
    return d.db_path()


def query(d, sql, *args):
    """Rows from the daemon's store, SQLite or PostgreSQL (fctest.Daemon.sql)."""
    return d.sql(sql, *args)


def cert(d, cid):
    r = d.request("GET", f"/v1/certificates/{cid}")
    assert r.status == 200, r
    return r.json()


def post_cert(d, names, challenge="dns-01", ws=None):
    """POST /v1/certificates; returns the new certificate's id (202 expected)."""
    body = {"hostnames": names, "challenge": challenge}
    if ws:
        body["workspace_id"] = ws
    r = d.request("POST", "/v1/certificates", body)
    assert r.status == 202, r
    return r.json()["id"]


def order_url(d, cid):
    """The ACME order URL the daemon stored for a certificate, or None."""
    rows = query(d, "SELECT order_url FROM certificates WHERE id = ?", cid)
    return rows[0][0] if rows and rows[0][0] else None


def pending_order(d, prefix, zone, attempts=5):
    """Asks for <prefix><n>.<zone> until a certificate's order URL is stored
    while the order is still pending, and returns (cert id, order URL). For a
    Pebble with PEBBLE_VA_NOSLEEP=0, which sleeps a whole number of seconds,
    0 to 15, before validating: at 0 s the order is over at once (bounded)."""
    for attempt in range(attempts):
        cid = post_cert(d, [f"{prefix}{attempt}.{zone}"])
        fctest.wait_until(lambda: order_url(d, cid), timeout=20, interval=0.01, what="order URL stored")
        url = order_url(d, cid)
        if cert(d, cid)["status"] != "valid":
            break
    return cid, url


def wait_cert(d, cid, pred, timeout=60, what="certificate state"):
    box = {}

    def check():
        box["c"] = cert(d, cid)
        return pred(box["c"])
    try:
        fctest.wait_until(check, timeout=timeout, interval=0.1, what=what)
    except AssertionError:
        raise AssertionError(f"{what}: last seen {box.get('c')}\n{d.logs()[-3000:]}")
    return box["c"]


def verify_chain(peb, chain_pem, workdir):
    """openssl verify of the leaf against Pebble's root, using only the chain's
    own intermediates."""
    root, _ = peb.roots_and_intermediates()
    blocks = ["-----BEGIN CERTIFICATE-----" + b for b in chain_pem.split("-----BEGIN CERTIFICATE-----")[1:]]
    paths = {}
    for name, data in (("root.pem", root), ("leaf.pem", blocks[0]), ("inter.pem", "".join(blocks[1:]))):
        paths[name] = os.path.join(workdir, name)
        with open(paths[name], "w") as f:
            f.write(data)
    args = ["openssl", "verify", "-CAfile", paths["root.pem"]]
    if len(blocks) > 1:
        args += ["-untrusted", paths["inter.pem"]]
    return subprocess.run(args + [paths["leaf.pem"]], capture_output=True, text=True, timeout=30)


def key_matches(chain_pem, key_pem):
    with tempfile.TemporaryDirectory() as t:
        c, k = os.path.join(t, "c.pem"), os.path.join(t, "k.pem")
        for path, data in ((c, chain_pem), (k, key_pem)):
            with open(path, "w") as f:
                f.write(data)
        a = subprocess.run(["openssl", "x509", "-in", c, "-noout", "-pubkey"], capture_output=True, text=True)
        b = subprocess.run(["openssl", "pkey", "-in", k, "-pubout"], capture_output=True, text=True)
        return a.returncode == 0 and a.stdout == b.stdout and a.stdout != ""
