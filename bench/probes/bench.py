#!/usr/bin/env python3
"""Live checks: what probing N hostnames at the default pace costs the daemon.

Peers, on loopback and private to this run: nginx with one TLS server block
for `*.fleet.test` (a wildcard signed by a throwaway operator CA, the
probes.ca_bundle) answering `GET /api/info` with 200, and the daemon, which
resolves the hostnames through its own embedded DNS (resolver.servers = the
daemon's DNS listener: the workspace records are its own). N workspaces are
created in one region and reported `running` by a bulk agent status, so all N
hostnames are published and probed; the daemon is then restarted so that its
first round has them all.

The probes keep their defaults (interval_s 60, rate_per_s 10,
per_region_concurrency 4, timeout_ms 5000) except https_port and ca_bundle.
After a warm-up, the daemon's CPU time (utime + stime of /proc/PID/stat) is
measured over a window: reported as % of one core, with the probes started in
the window (fleetcommand_probe_results_total) and the CPU per probe.

Usage: bench.py BUILD_DIR [--n 10000] [--window-s 120] [--warmup-s 10]
Every wait is bounded; every process is stopped by pid at exit."""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
import edge  # noqa: E402
import fctest  # noqa: E402

ZONE = "fleet.test"


class Api:
    """One keep-alive connection to the daemon's API."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def call(self, method, path, body=None, token=None):
        headers = {"Authorization": "Bearer " + (token or self.token)}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The daemon closes idle keep-alive connections (the warm-up is
            # longer than its idle timeout): reconnect once and resend.
            self.conn.close()
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
        payload = r.read()
        return r.status, (json.loads(payload) if payload and r.getheader("Content-Type", "").find("json") >= 0
                          else payload)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def probes_started(api):
    status, text = api.call("GET", "/metrics")
    text = text.decode() if isinstance(text, bytes) else str(text)
    return sum(int(m.group(1)) for m in re.finditer(r"^fleetcommand_probe_results_total\{[^}]*\} (\d+)$", text, re.M))


def populate(d, api, n):
    status, _ = api.call("POST", "/v1/regions", {"id": "r1", "name": "r1",
                                                  "ingress": {"ipv4": ["127.0.0.1"], "ipv6": [], "hostname": None},
                                                  "capacity": {"memory_mib": 10 * n, "cpu_millis": 10 * n,
                                                               "workspaces": n}})
    assert status == 201, status
    status, tok = api.call("POST", "/v1/regions/r1/agent-tokens")
    agent = tok["token"]
    api.call("POST", "/v1/agent/heartbeat", {"agent_id": "bench"}, token=agent)
    ids = []
    for i in range(n):
        if i % 500 == 0:  # the region stays healthy however long this takes
            api.call("POST", "/v1/agent/heartbeat", {"agent_id": "bench"}, token=agent)
        status, ws = api.call("POST", "/v1/workspaces", {"name": f"w{i:05d}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
        assert status == 201, (status, ws)
        ids.append(ws["id"])
    for k in range(0, n, 500):
        items = [{"workspace_id": w, "generation": 1, "phase": "running", "message": ""} for w in ids[k:k + 500]]
        api.call("POST", "/v1/agent/heartbeat", {"agent_id": "bench"}, token=agent)
        status, _ = api.call("POST", "/v1/agent/status", {"workspaces": items}, token=agent)
        assert status == 200, status
    return agent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--window-s", type=float, default=120)
    ap.add_argument("--warmup-s", type=float, default=10)
    a = ap.parse_args()
    fctest.FC_BIN = os.path.abspath(os.environ.get("FC_BIN") or os.path.join(a.build, "app", "fleetcommand"))
    work = tempfile.mkdtemp(prefix="fc-bench-probes-")
    nginx = d = None
    try:
        certs = os.path.join(work, "certs")
        os.makedirs(certs)
        ca = edge.self_signed(certs, "operator-ca", "bench operator CA", ["ca.invalid"])
        wildcard = edge.ca_signed(certs, "wildcard", ca, ["*." + ZONE])
        nginx = edge.Nginx(work, 1, wildcard)  # backend unused: the server block answers itself
        with open(nginx.conf, "w") as f:
            r = nginx.root
            f.write(f"""daemon off; worker_processes 1; pid {r}/nginx.pid; error_log {r}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {r}; proxy_temp_path {r};
  fastcgi_temp_path {r}; uwsgi_temp_path {r}; scgi_temp_path {r};
  server {{ listen 127.0.0.1:{nginx.port} ssl; server_name *.{ZONE};
    ssl_certificate {wildcard[0]}; ssl_certificate_key {wildcard[1]};
    location = /api/info {{ default_type application/json; return 200 '{{"ok":true}}'; }} }}
}}
""")
        nginx.start()
        d = fctest.Daemon(workdir=os.path.join(work, "daemon"))
        os.makedirs(d.dir, exist_ok=True)
        d.config["dns"]["zone"] = ZONE
        d.config["resolver"] = {"servers": [f"127.0.0.1:{d.dns_port}"]}
        d.config["probes"] = {"enabled": True, "https_port": nginx.port, "ca_bundle": ca[0]}
        d.start()
        api = Api(d.api_port, d.token)
        t0 = time.time()
        populate(d, api, a.n)
        print(f"populated n={a.n} in {time.time() - t0:.1f}s", flush=True)
        # Restarted, so that the first round (at start) already has all N
        # hostnames rather than waiting interval_s after an empty one.
        assert d.stop() == 0
        d.start()
        api = Api(d.api_port, d.token)
        time.sleep(a.warmup_s)
        c0, p0, w0 = cpu_seconds(d.proc.pid), probes_started(api), time.time()
        time.sleep(a.window_s)
        c1, p1, w1 = cpu_seconds(d.proc.pid), probes_started(api), time.time()
        cpu, wall, probes = c1 - c0, w1 - w0, p1 - p0
        _, text = api.call("GET", "/metrics")
        text = text.decode()
        live = re.search(r'fleetcommand_probe_hostnames\{status="live"\} (-?\d+)', text)
        print(f"n={a.n} window_s={wall:.1f} daemon_cpu_s={cpu:.2f} cpu_pct_of_one_core={100 * cpu / wall:.2f} "
              f"probes={probes} probes_per_s={probes / wall:.1f} cpu_ms_per_probe="
              f"{(1000 * cpu / probes) if probes else float('nan'):.2f} hostnames_live={live.group(1) if live else '?'}")
        fails = re.findall(r'fleetcommand_probe_results_total\{result="fail",step="(\w+)"\} ([1-9]\d*)', text)
        if fails:
            print("failed probes by step:", fails)
    finally:
        if d:
            d.stop()
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
