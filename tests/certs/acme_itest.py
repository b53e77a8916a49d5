"""ACME client against real Pebble: HTTP-01, DNS-01 (pebble-challtestsrv),
resume of a persisted order, account lookup, revocation, preferred chain,
badNonce retries, a failing challenge, EAB, and transport failures.

Runs fc-acme-fixture (built from certs/CMakeLists.txt) from FC_BUILD_DIR.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pebble  # noqa: E402

BUILD = os.environ.get("FC_BUILD_DIR", "build")
FIXTURE = os.path.join(BUILD, "certs", "fc-acme-fixture")
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def fixture(*args, timeout=60):
    r = subprocess.run([FIXTURE, *args], capture_output=True, text=True, timeout=timeout)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        out = {"ok": False, "error": "no JSON; stderr: " + r.stderr[-2000:]}
    out["_rc"] = r.returncode
    if out.get("ok") and r.returncode != 0:  # e.g. a sanitizer report at exit
        out = {"ok": False, "error": f"exit {r.returncode}; stderr: " + r.stderr[-2000:]}
    if "Sanitizer" in r.stderr:
        print("     sanitizer:", r.stderr[-2000:], flush=True)
        FAILURES.append("sanitizer report from fc-acme-fixture " + args[0])
    if not out.get("ok"):
        print("     fixture said:", json.dumps(out)[:600], flush=True)
    return out


def openssl_verify(tmp, chain_pem, root_pem):
    """The leaf verifies up to `root_pem` using only the chain's own intermediates."""
    paths = {n: os.path.join(tmp, n) for n in ("root.pem", "leaf.pem", "untrusted.pem")}
    blocks = chain_pem.split("-----END CERTIFICATE-----")
    leaf = blocks[0] + "-----END CERTIFICATE-----\n"
    for name, data in (("root.pem", root_pem), ("leaf.pem", leaf), ("untrusted.pem", chain_pem)):
        with open(paths[name], "w") as f:
            f.write(data)
    r = subprocess.run(["openssl", "verify", "-CAfile", paths["root.pem"], "-untrusted",
                        paths["untrusted.pem"], paths["leaf.pem"]], capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and ": OK" in r.stdout


def san_of(pem_file):
    r = subprocess.run(["openssl", "x509", "-in", pem_file, "-noout", "-ext", "subjectAltName"],
                       capture_output=True, text=True, timeout=30)
    return r.stdout


def key_matches(chain_file, key_file):
    a = subprocess.run(["openssl", "x509", "-in", chain_file, "-noout", "-pubkey"], capture_output=True, text=True)
    b = subprocess.run(["openssl", "pkey", "-in", key_file, "-pubout"], capture_output=True, text=True)
    return a.returncode == 0 and a.stdout == b.stdout and "PUBLIC KEY" in a.stdout


def issue(p, tmp, name, domains, *extra):
    out_dir = os.path.join(tmp, name)
    os.makedirs(out_dir, exist_ok=True)
    args = ["issue", "--directory", p.directory, "--ca-bundle", p.ca,
            "--account-key", os.path.join(tmp, "account.pem"), "--out-dir", out_dir]
    for d in domains:
        args += ["--domain", d]
    return fixture(*args, *extra), out_dir


def main_pebble_tests(tmp):
    http_port = pebble.free_port()
    # 30 % of good nonces rejected: every run sees badNonce and must retry it.
    p = pebble.Pebble(os.path.join(tmp, "pebble"), http_port, nonce_reject=30,
                      env={"PEBBLE_ALTERNATE_ROOTS": "1"}).start()
    retries = 0
    try:
        acct_key = os.path.join(tmp, "account.pem")
        base = ["--directory", p.directory, "--ca-bundle", p.ca, "--account-key", acct_key]
        created = fixture("account", *base, "--email", "ops@example.test")
        check(created.get("ok") and created.get("created") is True, "account created")
        retries += created.get("bad_nonce_retries", 0)

        r, d = issue(p, tmp, "http", ["a.example.test", "www.a.example.test"],
                     "--challenge", "http-01", "--http-port", str(http_port))
        retries += r.get("bad_nonce_retries", 0)
        check(r.get("ok") is True, "HTTP-01 order issued")
        root0, _ = p.roots_and_intermediates(0)
        chain = open(os.path.join(d, "chain.pem")).read() if r.get("ok") else ""
        check(bool(chain) and openssl_verify(d, chain, root0), "HTTP-01 chain verifies against Pebble root 0")
        san = san_of(os.path.join(d, "chain.pem")) if chain else ""
        check("DNS:a.example.test" in san and "DNS:www.a.example.test" in san, "HTTP-01 SANs present")
        check(bool(chain) and key_matches(os.path.join(d, "chain.pem"), os.path.join(d, "key.pem")),
              "certificate matches the written key")
        check(r.get("account_url") == created.get("account_url"), "order used the same account")

        r2, d2 = issue(p, tmp, "dns", ["b.example.test"], "--challenge", "dns-01",
                       "--challtestsrv", f"127.0.0.1:{p.cts_port}")
        retries += r2.get("bad_nonce_retries", 0)
        check(r2.get("ok") is True, "DNS-01 order issued through pebble-challtestsrv")
        chain2 = open(os.path.join(d2, "chain.pem")).read() if r2.get("ok") else ""
        check(bool(chain2) and openssl_verify(d2, chain2, root0), "DNS-01 chain verifies")
        check("DNS:b.example.test" in (san_of(os.path.join(d2, "chain.pem")) if chain2 else ""), "DNS-01 SAN present")

        # Resume: stop after one step (order placed, URL persisted), then continue it.
        state = os.path.join(tmp, "resume-state.json")
        r3, d3 = issue(p, tmp, "resume", ["c.example.test"], "--http-port", str(http_port),
                       "--state", state, "--max-steps", "1")
        check(r3.get("ok") is False and r3.get("code") == "timeout", "order interrupted after one step")
        st = json.load(open(state)) if os.path.exists(state) else {}
        check(st.get("status") == "pending" and st.get("order_url", "").startswith("https://"),
              "persisted state holds the order URL")
        r4, _ = issue(p, tmp, "resume", ["ignored.example.test"], "--http-port", str(http_port), "--state", state)
        retries += r4.get("bad_nonce_retries", 0)
        check(r4.get("ok") is True and r4.get("order_url") == st.get("order_url"),
              "restarted run resumed the same order")
        check(r4.get("dns_names") == ["c.example.test"], "resumed order kept its identifiers")

        found = fixture("account", *base, "--only-existing")
        check(found.get("ok") and found.get("account_url") == created.get("account_url")
              and found.get("created") is False, "onlyReturnExisting finds the account")
        missing = fixture("account", "--directory", p.directory, "--ca-bundle", p.ca,
                          "--account-key", os.path.join(tmp, "unknown.pem"), "--only-existing")
        check(missing.get("ok") is False and missing.get("problem_type", "").endswith(":accountDoesNotExist"),
              "onlyReturnExisting with an unknown key → accountDoesNotExist")

        if chain:
            rv = fixture("revoke", *base, "--cert", os.path.join(d, "chain.pem"), "--reason", "4")
            check(rv.get("ok") is True, "revocation accepted")
            again = fixture("revoke", *base, "--cert", os.path.join(d, "chain.pem"))
            check(again.get("ok") is False and again.get("problem_type", "").endswith(":alreadyRevoked")
                  and again.get("code") == "conflict", "second revocation → alreadyRevoked")

        root1, _ = p.roots_and_intermediates(1)
        cn1 = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"], input=root1,
                             capture_output=True, text=True).stdout.split("commonName")[-1].split("=", 1)[-1].strip()
        r5, d5 = issue(p, tmp, "alt", ["d.example.test"], "--http-port", str(http_port), "--preferred-chain", cn1)
        chain5 = open(os.path.join(d5, "chain.pem")).read() if r5.get("ok") else ""
        check(bool(chain5) and openssl_verify(d5, chain5, root1) and not openssl_verify(d5, chain5, root0),
              f"preferred chain ({cn1}) chosen from the alternates")
        check(not openssl_verify(d, chain, root1), "default chain leads to root 0, not root 1")

        bad, _ = issue(p, tmp, "fail", ["e.example.test"], "--http-port", str(pebble.free_port()))
        check(bad.get("ok") is False and bad.get("code") == "invalid_order"
              and "e.example.test" in bad.get("error", ""), "unanswered HTTP-01 → invalid order with the CA's reason")

        ari = fixture("ari", *base, "--cert", os.path.join(d2, "chain.pem"))
        check(ari.get("ok") is True and ari.get("has_ari") is False, "no renewalInfo in Pebble 2.4 → fallback")
        check(retries > 0, f"badNonce was retried transparently ({retries} times)")

        untrusted = fixture("account", "--directory", p.directory, "--account-key", acct_key)
        check(untrusted.get("ok") is False and "certificate verify failed" in untrusted.get("error", ""),
              "untrusted CA certificate → TLS verify error")
    finally:
        p.stop()


def eab_tests(tmp):
    p = pebble.Pebble(os.path.join(tmp, "pebble-eab"), pebble.free_port(), eab=True).start()
    try:
        base = ["--directory", p.directory, "--ca-bundle", p.ca]
        no = fixture("account", *base, "--account-key", os.path.join(tmp, "eab0.pem"))
        check(no.get("ok") is False and no.get("problem_type", "").endswith(":externalAccountRequired"),
              "EAB CA without binding → externalAccountRequired")
        yes = fixture("account", *base, "--account-key", os.path.join(tmp, "eab1.pem"),
                      "--eab-kid", "kid-1", "--eab-hmac", pebble.EAB_KEYS["kid-1"])
        check(yes.get("ok") is True and yes.get("created") is True, "EAB HS256 binding accepted")
        wrong = fixture("account", *base, "--account-key", os.path.join(tmp, "eab2.pem"),
                        "--eab-kid", "kid-1", "--eab-hmac", pebble.EAB_KEYS["kid-2"])
        check(wrong.get("ok") is False, "EAB with the wrong MAC key is refused")
    finally:
        p.stop()


def transport_failure_tests(tmp):
    port = pebble.free_port()
    r = fixture("account", "--directory", f"https://127.0.0.1:{port}/dir",
                "--account-key", os.path.join(tmp, "x.pem"), "--timeout-ms", "3000")
    check(r.get("ok") is False and r.get("code") == "unavailable" and "refused" in r.get("error", ""),
          "nothing listening → clear connect error")


class HostileCA(BaseHTTPRequestHandler):
    """A TLS server that answers like a broken CA: a 2 MiB body, non-JSON."""

    def do_GET(self):
        body = b"{" + b" " * (2 << 20) + b"}" if self.path == "/huge" else b"<html>not json</html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def tls_server(tmp, name, san=None, handler=HostileCA):
    import ssl
    tls_dir = os.path.join(tmp, name)
    os.makedirs(tls_dir, exist_ok=True)
    ca, cert, key = pebble.make_tls(tls_dir, san) if san else pebble.make_tls(tls_dir)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, ca


class ClosingCA(BaseHTTPRequestHandler):
    """Answers in HTTP/1.1 without "Connection: close", then closes the
    connection anyway (as a CA's idle timeout does between two requests): the
    client's next request on that connection must go out again on a new one."""
    protocol_version = "HTTP/1.1"
    closes = True
    connections = set()

    def setup(self):
        super().setup()
        type(self).connections.add(self.client_address)

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Replay-Nonce", f"nonce-{len(type(self).connections)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = self.closes

    def do_GET(self):
        base = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.reply(200, json.dumps({"newNonce": base + "/nonce", "newAccount": base + "/acct",
                                    "newOrder": base + "/order"}).encode(), [("Content-Type", "application/json")])

    def do_HEAD(self):
        self.reply(200)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        base = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.reply(201, b'{"status":"valid"}', [("Content-Type", "application/json"), ("Location", base + "/acct/1")])

    def log_message(self, *args):
        pass


class KeepingCA(ClosingCA):
    """The same CA keeping its connections open: the client uses just one."""
    closes = False
    connections = set()


def hostile_server_tests(tmp):
    srv, ca = tls_server(tmp, "hostile-tls")
    other, other_ca = tls_server(tmp, "other-tls", "DNS:other.example.test")
    try:
        wrong = fixture("account", "--directory", f"https://127.0.0.1:{other.server_address[1]}/junk",
                        "--ca-bundle", other_ca, "--account-key", os.path.join(tmp, "h.pem"))
        check(wrong.get("ok") is False and "certificate verify failed" in wrong.get("error", "")
              and "mismatch" in wrong.get("error", ""), "trusted CA but certificate for another name → refused")
        base = f"https://127.0.0.1:{srv.server_address[1]}"
        key_file = os.path.join(tmp, "h.pem")
        huge = fixture("account", "--directory", base + "/huge", "--ca-bundle", ca, "--account-key", key_file)
        check(huge.get("ok") is False and huge.get("code") == "too_large", "2 MiB response → too_large")
        junk = fixture("account", "--directory", base + "/junk", "--ca-bundle", ca, "--account-key", key_file)
        check(junk.get("ok") is False and junk.get("code") == "parse" and "directory" in junk.get("error", ""),
              "non-JSON directory → parse error")
        for handler, want, what in ((ClosingCA, 3, "CA closed each kept-alive connection → request sent again"
                                                    " on a new one"),
                                    (KeepingCA, 1, "CA keeps connections open → one connection for"
                                                   " directory, nonce and account")):
            server, server_ca = tls_server(tmp, handler.__name__, handler=handler)
            try:
                acct = fixture("account", "--directory", f"https://127.0.0.1:{server.server_address[1]}/dir",
                               "--ca-bundle", server_ca, "--account-key", os.path.join(tmp, "c.pem"))
            finally:
                server.shutdown()
                server.server_close()
            check(acct.get("ok") is True and acct.get("account_url", "").endswith("/acct/1")
                  and len(handler.connections) == want, f"{what} ({acct}, {len(handler.connections)} connections)")
    finally:
        for server in (srv, other):
            server.shutdown()
            server.server_close()


def main():
    if not os.path.exists(FIXTURE):
        print("fc-acme-fixture not built: cmake --build <dir> --target fc-acme-fixture")
        return 1
    with tempfile.TemporaryDirectory(prefix="fc-acme-") as tmp:
        transport_failure_tests(tmp)
        hostile_server_tests(tmp)
        main_pebble_tests(tmp)
        eab_tests(tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
