"""/metrics checked by Prometheus' own linter: after traffic that touches
every metric family (API requests and errors, placements, agent long-poll and
reports, DNS queries), `promtool check metrics` (Debian package prometheus)
accepts the exposition with no problem reported."""
import os
import subprocess
import sys
import unittest

import fctest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dns"))
import peers  # noqa: E402


class PromtoolTest(fctest.DaemonTest):
    def traffic(self):
        d = self.d
        d.create_region("r-1")
        tok = d.agent_token("r-1")
        d.heartbeat(tok)
        r = d.request("POST", "/v1/workspaces", {"name": "w1", "resources": {"memory_mib": 1,
                                                                          "cpu_millis": 1}})
        self.assertEqual(r.status, 201, r)
        w = r.json()
        self.assertEqual(d.request("GET", "/v1/agent/assignments?since=0&wait=0",
                                   token=tok).status, 200)
        d.request("POST", "/v1/agent/status", {"workspaces": [
            {"workspace_id": w["id"], "generation": w["generation"], "phase": "running"}]},
            token=tok)
        d.request("GET", "/v1/workspaces/nope")
        d.request("POST", "/v1/workspaces", raw_body=b"{", headers={"Content-Type":
                                                                  "application/json"})
        d.request("GET", "/v1/regions", auth=False)
        peers.dig(d.dns_port, "w1.fleet.test", "A")
        peers.dig(d.dns_port, "nothing.fleet.test", "A")

    def test_promtool_accepts_metrics(self):
        self.traffic()
        r = self.d.request("GET", "/metrics", auth=False)
        self.assertEqual(r.status, 200, r)
        self.assertIn("text/plain", r.headers.get("content-type", ""))
        body = r.body.decode()
        self.assertIn("# TYPE", body)
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual((check.stdout + check.stderr).strip(), "", "promtool reported problems")
        families = sum(1 for line in body.splitlines() if line.startswith("# TYPE"))
        print(f"promtool: {families} metric families, no problems")
        # the two digs above went through the embedded server's UDP workers
        udp = [l for l in body.splitlines() if l.startswith('fleetcommand_dns_queries_total{transport="udp"}')]
        self.assertEqual(len(udp), 1, body[-3000:])
        self.assertGreaterEqual(int(udp[0].split()[-1]), 2)
        cache = [l for l in body.splitlines() if l.startswith("fleetcommand_dns_answer_cache_total{")]
        self.assertEqual(len(cache), 2, body[-3000:])

    def test_alerting_series(self):
        """Heartbeat age per region (+Inf when never heard from) and the
        certificate expiry histogram with the earliest expiry, promtool-clean."""
        d = self.d
        d.create_region("a-1")
        tok = d.agent_token("a-1")
        d.heartbeat(tok)
        d.create_region("a-2")  # no agent yet
        r = d.request("POST", "/v1/workspaces", {"name": "alert", "resources": {"memory_mib": 1,
                                                                              "cpu_millis": 1}})
        self.assertEqual(r.status, 201, r)
        zone = d.request("GET", "/v1/dns/zone").json().get("zone", "fleet.test")
        c = d.request("POST", "/v1/certificates", {"hostnames": [f"alert-crt.{zone}"],
                                                   "workspace_id": r.json()["id"]})
        self.assertEqual(c.status, 202, c)
        cid = c.json()["id"]
        fctest.wait_until(lambda: d.request("GET", f"/v1/certificates/{cid}").json()["status"]
                          == "valid", timeout=30, what="internal certificate valid")
        not_after = d.request("GET", f"/v1/certificates/{cid}").json()["not_after"]
        body = d.request("GET", "/metrics", auth=False).body.decode()
        lines = body.splitlines()
        age = [l for l in lines if l.startswith('fleetcommand_region_heartbeat_age_seconds{region="a-1"}')]
        self.assertEqual(len(age), 1, body[-2000:])
        self.assertLess(float(age[0].split()[-1]), 30)
        self.assertIn('fleetcommand_region_heartbeat_age_seconds{region="a-2"} +Inf', lines)
        count = [l for l in lines if l.startswith("fleetcommand_certificates_expiry_seconds_count ")]
        self.assertEqual(len(count), 1)
        self.assertGreaterEqual(int(count[0].split()[-1]), 1)
        self.assertIn('fleetcommand_certificates_expiry_seconds_bucket{le="+Inf"} ' +
                      count[0].split()[-1], lines)
        earliest = [l for l in lines
                    if l.startswith("fleetcommand_certificate_earliest_expiry_timestamp_seconds ")]
        self.assertEqual(len(earliest), 1)
        print(f"certificate not_after={not_after} earliest expiry gauge={earliest[0].split()[-1]}")
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual((check.stdout + check.stderr).strip(), "", "promtool reported problems")


if __name__ == "__main__":
    fctest.main()
