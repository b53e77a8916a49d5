"""1,000 regions (issue #16 item 3): a restarted daemon keeps answering while
its first ticks look at every region.

The scheduler announces region health with region.healthy/.unhealthy events
and, after a start, learns what it announced last from the events table. It
used to look that up region by region (events::last_about: no index on the
subject, a scan of the events table from the newest row down for each region)
on the I/O thread, so with 1,000 regions and a few thousand workspace events
the daemon answered nothing for seconds after its first tick (the 3.5 s p99
of bench/scheduler/run.sh at 1,000 regions).

- 1,000 regions, each with an agent heartbeat (healthy, one region.healthy
  each), 1,500 workspaces (3,000 workspace events after them);
- restarted (on PostgreSQL: once it leads): during its first 4 s every
  request is answered within 1 s (creates and region reads, one after the
  other), and no region's health is announced twice (still exactly 1,000
  region.healthy events).
"""
import os
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import fctest  # noqa: E402

REGIONS = 1000
WORKSPACES = 1500
WATCH_S = 4.0
SLOWEST_OK_S = 1.0


def rid(k):
    return f"r{k:04d}"


class ManyRegionsTest(unittest.TestCase):
    def setUp(self):
        if not fctest.FC_BIN:
            raise unittest.SkipTest("FC_BIN not set")
        self.d = fctest.Daemon({"agents": {"heartbeat_timeout_s": 3600}})
        self.d.start()

    def tearDown(self):
        self.d.stop()
        self.d.cleanup()

    def region_healthy_events(self):
        n, after = 0, 0
        while True:
            r = self.d.request("GET", f"/v1/events?type=region.healthy&after={after}&limit=500")
            self.assertEqual(r.status, 200, r)
            page = r.json()["items"]
            if not page:
                return n
            n += len(page)
            after = r.json()["next_after"]

    def test_restart_with_1000_regions_answers_during_its_first_ticks(self):
        def region(k):
            self.d.create_region(rid(k), capacity={"memory_mib": 1 << 20, "cpu_millis": 1 << 20,
                                                   "workspaces": 10000})
            self.d.heartbeat(self.d.agent_token(rid(k)))

        def workspace(k):
            r = self.d.request("POST", "/v1/workspaces",
                               {"name": f"w{k}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
            self.assertEqual(r.status, 201, r)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(region, range(REGIONS)))
        fctest.wait_until(lambda: self.region_healthy_events() == REGIONS, timeout=30,
                          what="one region.healthy per region")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(workspace, range(WORKSPACES)))

        self.d.stop()
        self.d.start()

        def leads():  # on PostgreSQL the restarted daemon takes the lease over first
            r = self.d.request("GET", "/readyz", auth=False)
            return r.status == 200 and r.json().get("role", "leader") == "leader"
        fctest.wait_until(leads, timeout=20, interval=0.05, what="the restarted daemon leads")
        slowest, calls, k = 0.0, 0, 0
        end = time.monotonic() + WATCH_S
        while time.monotonic() < end:
            t0 = time.monotonic()
            if k % 2 == 0:
                r = self.d.request("POST", "/v1/workspaces",
                                   {"name": f"after-{k}", "resources": {"memory_mib": 1, "cpu_millis": 1}})
                self.assertEqual(r.status, 201, r)
            else:
                r = self.d.request("GET", f"/v1/regions/{rid(k % REGIONS)}")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["health"], "healthy", r.json())
            slowest = max(slowest, time.monotonic() - t0)
            calls += 1
            k += 1
            time.sleep(0.02)
        print(f"after the restart: {calls} requests in {WATCH_S:.0f} s, slowest {slowest * 1000:.0f} ms")
        self.assertLess(slowest, SLOWEST_OK_S,
                        f"a request took {slowest:.2f} s during the restarted daemon's first ticks")
        # The first ticks have run: nothing announced twice.
        self.assertEqual(self.region_healthy_events(), REGIONS)


if __name__ == "__main__":
    fctest.main()
