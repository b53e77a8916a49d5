#!/usr/bin/env python3
"""A full DNS pass at fleet size (docs/BENCHMARKS.md "Scale", run 6): on a
database that bench/scale/run.sh kept (KEEP=DIR), start the daemon (pinned to
CPU 0 with --pin 0), PATCH the first region's ingress to another address and
time until the embedded server answers it for one of that region's
workspaces (dig), then PATCH it back (timed too); also that a PATCH to the
same ingress leaves the SOA serial unchanged. Loopback only; each wait is
bounded (60 s).

  bench/scale/ingress.py FC_BIN KEEP_DIR [--pin CPU]
"""
import argparse
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale  # noqa: E402  Daemon, loadavg


def dig(port, name, rtype):
    out = subprocess.run(["dig", "+short", "+norec", "-p", str(port), "@127.0.0.1", name, rtype],
                         capture_output=True, text=True, timeout=10).stdout
    return out.split()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fc_bin")
    ap.add_argument("keep_dir")
    ap.add_argument("--pin", type=int)
    a = ap.parse_args()
    db = sqlite3.connect(f"file:{a.keep_dir}/var/fleetcommand.db?mode=ro", uri=True)
    region, ingress = db.execute("SELECT id, ingress FROM regions ORDER BY id LIMIT 1").fetchone()
    name = db.execute("SELECT name FROM workspaces WHERE dns_region = ? LIMIT 1", (region,)).fetchone()[0]
    db.close()
    d = scale.Daemon(os.path.abspath(a.fc_bin), a.keep_dir, pin=a.pin)  # fc.json, fresh ports
    with open(d.cfg) as f:
        zone_port = int(json.load(f)["dns"]["listen"].rsplit(":", 1)[1])
    host = f"{name}.fleet.test"
    d.start()
    try:
        def patch(body):
            c = d.conn()
            c.request("PATCH", f"/v1/regions/{region}", body=json.dumps({"ingress": body}),
                      headers={"Authorization": f"Bearer {d.token}", "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            c.close()
            if r.status != 200:
                raise SystemExit(f"PATCH ingress: {r.status}")

        def served(addr):
            t0 = time.monotonic()
            while time.monotonic() - t0 < 60:
                if dig(zone_port, host, "A") == [addr]:
                    return round(time.monotonic() - t0, 3)
                time.sleep(0.02)
            raise SystemExit(f"{host} A {addr} not served within 60 s")

        old = json.loads(ingress)
        serial = dig(zone_port, "fleet.test", "SOA")[2]
        patch(old)
        time.sleep(2)
        same = dig(zone_port, "fleet.test", "SOA")[2] == serial
        t0 = time.monotonic()
        patch({"ipv4": ["192.0.2.201"], "ipv6": [], "hostname": None})
        to_new = served("192.0.2.201")
        patch(old)
        back = served(old["ipv4"][0]) if old.get("ipv4") else None
        print(json.dumps({"region": region, "name": host, "patch_to_served_s": to_new,
                          "patch_back_to_served_s": back, "same_ingress_keeps_serial": same,
                          "load": scale.loadavg(), "elapsed_s": round(time.monotonic() - t0, 2)}))
    finally:
        d.stop()


if __name__ == "__main__":
    main()
