"""A real edge for live-check tests: nginx (Debian package) on loopback with
one TLS server block per hostname, built from the reference agent's GitOps
output the way an ingress controller would read it: each Ingress's rule
hosts, and for each host the kubernetes.io/tls Secret its `spec.tls` names
(tls.crt / tls.key written to files). Hosts without a Secret get the
operator's default certificate (a wildcard, say). Every server block proxies
to one backend (a tiny http.server in the test process). Also: test
certificates made with the openssl CLI, and the SHA-256 of the certificate a
server presents for an SNI name (stdlib ssl). Loopback only; every wait is
bounded; nginx is stopped by its pid."""
import base64
import glob
import hashlib
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading

import fctest


def nginx_binary():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def _load_all(root, pattern):
    out = []
    for p in sorted(glob.glob(os.path.join(root, "**", pattern), recursive=True)):
        with open(p) as f:
            out.append(json.load(f))
    return out


def gitops_sites(out_dir):
    """{host: (crt_pem, key_pem) or None} from the agent's Ingress and Secret files."""
    secrets = {}
    for s in _load_all(out_dir, "secret-*.json"):
        if s.get("type") == "kubernetes.io/tls":
            data = s.get("data", {})
            secrets[s["metadata"]["name"]] = (base64.b64decode(data["tls.crt"]).decode(),
                                              base64.b64decode(data["tls.key"]).decode())
    sites = {}
    for ing in _load_all(out_dir, "ingress-*.json"):
        spec = ing.get("spec", {})
        for rule in spec.get("rules", []):
            if rule.get("host"):
                sites.setdefault(rule["host"], None)
        for t in spec.get("tls", []):
            for h in t.get("hosts", []):
                if t.get("secretName") in secrets:
                    sites[h] = secrets[t["secretName"]]
    return sites


class Backend:
    """http.server on loopback: 200 with a small JSON body on every GET."""

    def __init__(self):
        self.port = fctest.free_port()
        self.server = None

    def start(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b'{"version":"probe-backend"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Nginx:
    """nginx with a TLS server block per site, proxying to `backend_port`."""

    def __init__(self, workdir, backend_port, default_cert):
        self.root = os.path.join(workdir, "nginx")
        os.makedirs(self.root, exist_ok=True)
        self.port = fctest.free_port()
        self.backend_port = backend_port
        self.default_cert = default_cert  # (crt_path, key_path)
        self.conf = os.path.join(self.root, "nginx.conf")
        self.proc = None

    def _files(self, host, pems):
        crt, key = os.path.join(self.root, host + ".crt"), os.path.join(self.root, host + ".key")
        with open(crt, "w") as f:
            f.write(pems[0])
        with open(key, "w") as f:
            f.write(pems[1])
        os.chmod(key, 0o600)
        return crt, key

    def write(self, sites, overrides=None):
        """sites: {host: (crt_pem, key_pem) or None}; overrides: {host: (crt_path, key_path)}."""
        r = self.root
        blocks = []
        for host, pems in sorted(sites.items()):
            crt, key = (overrides or {}).get(host) or (self._files(host, pems) if pems else self.default_cert)
            blocks.append(f"""  server {{ listen 127.0.0.1:{self.port} ssl; server_name {host};
    ssl_certificate {crt}; ssl_certificate_key {key};
    location / {{ proxy_pass http://127.0.0.1:{self.backend_port}; proxy_connect_timeout 2s; }}
  }}""")
        with open(self.conf, "w") as f:
            f.write(f"""daemon off; worker_processes 1; pid {r}/nginx.pid; error_log {r}/error.log;
events {{ worker_connections 256; }}
http {{ access_log off; client_body_temp_path {r}; proxy_temp_path {r};
  fastcgi_temp_path {r}; uwsgi_temp_path {r}; scgi_temp_path {r};
  server {{ listen 127.0.0.1:{self.port} ssl default_server;
    ssl_certificate {self.default_cert[0]}; ssl_certificate_key {self.default_cert[1]}; return 421; }}
{chr(10).join(blocks)}
}}
""")

    def start(self):
        self.proc = fctest.track(subprocess.Popen([nginx_binary(), "-p", self.root, "-c", self.conf],
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), "nginx")
        fctest.wait_until(lambda: self.proc.poll() is not None or _accepts(self.port), timeout=10, what="nginx")
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited: " + self.proc.stderr.read().decode())
        return self

    def reload(self, host=None, want_fingerprint=None):
        """Re-reads the config (nginx -s reload); with `want_fingerprint`,
        waits until `host` is served with that certificate."""
        old_workers = self._workers()
        subprocess.run([nginx_binary(), "-p", self.root, "-c", self.conf, "-s", "reload"], check=True,
                       capture_output=True, timeout=20)
        # The previous workers take connections (with the previous certificate)
        # until they see the master's signal: wait until they are gone, so a
        # probe after reload() never meets the old configuration.
        fctest.wait_until(lambda: not (old_workers & self._workers()), timeout=15, interval=0.05,
                          what="nginx's previous workers gone after a reload")
        if want_fingerprint:
            fctest.wait_until(lambda: served_fingerprint(self.port, host) == want_fingerprint, timeout=15,
                              interval=0.1, what=f"nginx serving the new certificate for {host}")

    def _workers(self):
        """The pids of the master's children (its worker processes)."""
        out = set()
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    out.update(int(p) for p in f.read().split())
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def served_fingerprint(port, host):
    """SHA-256 (hex) of the leaf served for SNI `host`, or None."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            with ctx.wrap_socket(s, server_hostname=host) as t:
                return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
    except OSError:
        return None


def pem_fingerprint(pem):
    """SHA-256 (hex) of the first certificate of a PEM chain."""
    der = ssl.PEM_cert_to_DER_cert(pem[:pem.index("-----END CERTIFICATE-----") + 25])
    return hashlib.sha256(der).hexdigest()


def file_fingerprint(path):
    """pem_fingerprint of a PEM file."""
    with open(path) as f:
        return pem_fingerprint(f.read())


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def self_signed(root, name, cn, sans):
    """(crt, key) paths of a self-signed ECDSA certificate."""
    crt, key = os.path.join(root, name + ".crt"), os.path.join(root, name + ".key")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-out", crt, "-days", "2", "-subj", f"/CN={cn}",
             "-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans))
    return crt, key


def ca_signed(root, name, ca, sans):
    """(crt, key) paths of a leaf for `sans` signed by `ca` = (crt, key)."""
    crt, key, csr = (os.path.join(root, name + ext) for ext in (".crt", ".key", ".csr"))
    ext = os.path.join(root, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + s for s in sans) + "\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-out", csr, "-subj", f"/CN={sans[0]}")
    _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-days", "2",
             "-out", crt, "-extfile", ext)
    return crt, key
