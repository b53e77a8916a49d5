#!/usr/bin/env python3
"""Creates of taken names against the set-based group commit
(docs/storage.md "Set-based group commit"; docs/BENCHMARKS.md "Creates
fully set-based").

A batch's workspaces are one optimistic insert; a create whose name was
taken fails alone at the flush (fleetcommand_db_set_taken_total), and a name
the daemon saw taken is checked at once the next time, so a client repeating
taken names must not make batches replay (fleetcommand_db_set_replays_total).
Starts the real daemon, one region, N creates of new names, then N creates
of a few taken names mixed with new ones (P at a time each): per phase the
statuses, elapsed time, the daemon's CPU per request and the two counters.

  FC_BIN=build-ft/app/fleetcommand bench/scheduler/taken_names.py [--creates N] [--parallel P]
  FC_TEST_BACKEND=postgres ... (under tests/lib/pgcluster.py run --)
"""
import argparse
import collections
import concurrent.futures
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "lib"))
import fctest  # noqa: E402


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(d, name):
    for line in d.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--creates", type=int, default=2000)
    ap.add_argument("--parallel", type=int, default=32)
    ap.add_argument("--taken", type=int, default=20, help="distinct taken names repeated")
    args = ap.parse_args()
    if not fctest.FC_BIN:
        sys.exit("taken_names.py: set FC_BIN")
    d = fctest.Daemon(config={"log": {"level": "warn"}, "agents": {"heartbeat_timeout_s": 86400}})
    try:
        d.start()
        d.create_region("r1", capacity={"memory_mib": 1 << 30, "cpu_millis": 1 << 30,
                                        "workspaces": 1 << 30})
        d.heartbeat(d.agent_token("r1"))

        def phase(label, names):
            rep0 = metric(d, "fleetcommand_db_set_replays_total")
            tak0 = metric(d, "fleetcommand_db_set_taken_total")
            c0, t0 = cpu_s(d.proc.pid), time.monotonic()

            def create(name):
                return d.request("POST", "/v1/workspaces",
                                 {"name": name, "resources": {"memory_mib": 1, "cpu_millis": 1}}).status
            with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
                statuses = collections.Counter(pool.map(create, names))
            dt, dc = time.monotonic() - t0, cpu_s(d.proc.pid) - c0
            print(f"{label:34s} {dict(sorted(statuses.items()))} {len(names) / dt:7.0f} req/s"
                  f" daemon_cpu_us/req={dc / len(names) * 1e6:5.0f}"
                  f" set_replays={metric(d, 'fleetcommand_db_set_replays_total') - rep0:.0f}"
                  f" set_taken={metric(d, 'fleetcommand_db_set_taken_total') - tak0:.0f}"
                  f" load1={os.getloadavg()[0]:.1f}")
        n = args.creates
        phase("new names", [f"n{k}" for k in range(n)])
        # One request in two names one of `taken` names created above.
        phase("half taken names (repeated)",
              [f"n{k % args.taken}" if k % 2 == 0 else f"m{k}" for k in range(n)])
        phase("all taken names (repeated)", [f"n{k % args.taken}" for k in range(n)])
        d.stop()
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
