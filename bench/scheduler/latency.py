#!/usr/bin/env python3
"""Commit-to-agent latency (docs/BENCHMARKS.md "Scheduler"): R regions, each
with one long-polling client (GET /v1/agent/assignments?since=REV&wait=30 on a
keep-alive connection, as an agent does); C concurrent creators POST
workspaces pinned round-robin to the regions. For every workspace it reports
  201->poll: from the 201 arriving at the creator to the region's long-poll
             returning the assignment (can be <0: the poll may win the race),
  send->poll: from sending the POST to the long-poll returning it (an upper
             bound on commit->agent; includes placement and the group commit).
Python asyncio, stdlib only; every wait is bounded."""
import argparse
import asyncio
import json
import time


class Conn:
    def __init__(self, port):
        self.port = port
        self.r = self.w = None

    async def request(self, method, path, token, body=None, timeout=40):
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")
        self.w.write(head.encode() + data)
        return await asyncio.wait_for(self._read(), timeout)

    async def _read(self):
        head = await self.r.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        n = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                n = int(v)
        body = await self.r.readexactly(n) if n else b""
        return status, json.loads(body) if body else None


async def setup_region(port, admin, rid):
    c = Conn(port)
    s, _ = await c.request("POST", "/v1/regions", admin, {
        "id": rid, "name": rid, "labels": {}, "ingress": {"ipv4": ["192.0.2.10"], "ipv6": [], "hostname": None},
        "capacity": {"memory_mib": 1 << 30, "cpu_millis": 1 << 30, "workspaces": 1 << 30}})
    assert s == 201, s
    s, b = await c.request("POST", f"/v1/regions/{rid}/agent-tokens", admin)
    assert s == 201, s
    tok = b["token"]
    s, _ = await c.request("POST", "/v1/agent/heartbeat", tok, {"agent_id": "bench"})
    assert s == 200, s
    s, b = await c.request("GET", "/v1/agent/assignments?since=0&wait=0", tok)
    assert s == 200, s
    return c, tok, b["revision"]


async def poller(conn, tok, rev, seen, stop):
    while not stop.is_set():
        s, b = await conn.request("GET", f"/v1/agent/assignments?since={rev}&wait=30", tok)
        t = time.perf_counter()
        assert s == 200, (s, b)
        for a in b["assignments"]:
            seen.setdefault(a["workspace_id"], t)
        rev = b["revision"]


async def creator(port, admin, regions, jobs, sent, acked, budget):
    c = Conn(port)
    while jobs and time.monotonic() < budget:
        i = jobs.pop()
        t0 = time.perf_counter()
        s, b = await c.request("POST", "/v1/workspaces", admin, {
            "name": f"lat-{i}", "resources": {"memory_mib": 1, "cpu_millis": 1},
            "placement": {"regions": [regions[i % len(regions)]]}})
        t1 = time.perf_counter()
        assert s == 201, (s, b)
        sent[b["id"]], acked[b["id"]] = t0, t1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


async def main(a):
    rids = [f"lat{i:03d}" for i in range(a.regions)]
    regs = [await setup_region(a.port, a.token, r) for r in rids]
    seen, sent, acked, stop = {}, {}, {}, asyncio.Event()
    polls = [asyncio.create_task(poller(c, t, rev, seen, stop)) for c, t, rev in regs]
    await asyncio.sleep(0.5)  # every long-poll is parked
    jobs = list(range(a.creates))
    budget = time.monotonic() + a.budget_s
    t0 = time.perf_counter()
    await asyncio.gather(*[creator(a.port, a.token, rids, jobs, sent, acked, budget) for _ in range(a.concurrency)])
    dt = time.perf_counter() - t0
    deadline = time.monotonic() + 10
    while len([i for i in acked if i in seen]) < len(acked) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    stop.set()
    for p in polls:
        p.cancel()
    got = [i for i in acked if i in seen]
    after_ack = [(seen[i] - acked[i]) * 1000 for i in got]
    after_send = [(seen[i] - sent[i]) * 1000 for i in got]
    print(f"{len(acked)} creates in {dt:.2f} s ({len(acked) / dt:,.0f}/s, {a.concurrency} creators), "
          f"{len(got)} seen by the {a.regions} long-polls")
    print(f"201->poll ms: p50 {pct(after_ack, 50):.2f}  p99 {pct(after_ack, 99):.2f}  max {max(after_ack):.2f}")
    print(f"send->poll ms: p50 {pct(after_send, 50):.2f}  p99 {pct(after_send, 99):.2f}  max {max(after_send):.2f}")
    if len(got) != len(acked):
        raise SystemExit(f"{len(acked) - len(got)} acknowledged creates never reached their long-poll")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--regions", type=int, default=100)
    ap.add_argument("--creates", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--budget-s", type=float, default=120)
    asyncio.run(main(ap.parse_args()))
