#!/usr/bin/env python3
"""Writes the same zone for every server and one query file:
  fixture.json (fc-dns-fixture, the daemon's dns::Server), zone.db (BIND and Knot),
  queries.txt (dnsperf), and mix.txt (the query mix, printed by run.sh).

The zone has N records in all (issue #16 item 1: 100,000):
  - workspace A records   ws000000.fleet.test. A 10.x.y.z     (90 % of N)
  - CNAME chains          cn00000.fleet.test. CNAME cm00000 -> CNAME wsNNNNNN (2 hops, 2 records per chain)
  - wildcards             *.apps.fleet.test. A, *.edge.fleet.test. CNAME ws000000
  - a few AAAA            on every 10th workspace
The query file (shuffled with a fixed seed) mixes:
  65 % A of existing names, 10 % NXDOMAIN, 10 % wildcard-synthesised (A and
  CNAME), 10 % CNAME chains, 5 % ANY (RFC 8482 minimal answers).
Usage: gen_zone.py OUTDIR [N]"""
import json
import os
import random
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
origin = "fleet.test."
n_chains = max(1, n // 40)           # 2 CNAME records each: 5 % of the records
n_ws = n - 2 * n_chains - n // 100   # the rest (less the AAAA) are workspace A records
ws = ["ws%06d" % i for i in range(n_ws)]


def addr(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


records = [(w, "A", addr(i)) for i, w in enumerate(ws)]
records += [(ws[i], "AAAA", "2001:db8::%x" % i) for i in range(0, min(n_ws, 10 * (n // 100)), 10)]
for c in range(n_chains):
    records.append(("cn%05d" % c, "CNAME", "cm%05d.%s" % (c, origin)))
    records.append(("cm%05d" % c, "CNAME", "%s.%s" % (ws[(c * 7919) % n_ws], origin)))
records.append(("*.apps", "A", "10.255.0.1"))
records.append(("*.edge", "CNAME", "%s.%s" % (ws[0], origin)))

zone = {"origin": origin, "mname": "ns1." + origin, "rname": "hostmaster." + origin, "serial": 1,
        "refresh": 3600, "retry": 600, "expire": 86400, "minimum": 60, "ttl": 3600,
        "nameservers": [{"name": "ns1." + origin, "ipv4": ["127.0.0.1"]}],
        "records": [{"name": f"{name}.{origin}", "type": t, "ttl": 60, "data": d} for name, t, d in records]}
with open(os.path.join(out, "fixture.json"), "w") as f:
    json.dump(zone, f)
with open(os.path.join(out, "zone.db"), "w") as f:
    f.write(f"$ORIGIN {origin}\n$TTL 3600\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n")
    for name, t, d in records:
        f.write(f"{name} 60 {t} {d}\n")

rng = random.Random(42)
total = max(n, 1000)
mix = {
    "A, existing": [f"{ws[rng.randrange(n_ws)]}.{origin} A" for _ in range(total * 65 // 100)],
    "NXDOMAIN": [f"missing{i}.{origin} A" for i in range(total * 10 // 100)],
    "wildcard": [f"t{i}.apps.{origin} A" if i % 2 else f"t{i}.edge.{origin} A" for i in range(total * 10 // 100)],
    "CNAME chain": [f"cn{rng.randrange(n_chains):05d}.{origin} A" for _ in range(total * 10 // 100)],
    "ANY": [f"{ws[rng.randrange(n_ws)]}.{origin} ANY" for _ in range(total * 5 // 100)],
}
q = [x for v in mix.values() for x in v]
rng.shuffle(q)
with open(os.path.join(out, "queries.txt"), "w") as f:
    f.write("\n".join(q) + "\n")
with open(os.path.join(out, "mix.txt"), "w") as f:
    f.write(f"{len(records) + 3} records ({n_ws} A, {n_chains} 2-hop CNAME chains, 2 wildcards, "
            f"{len([r for r in records if r[1] == 'AAAA'])} AAAA); {len(q)} queries: "
            + ", ".join(f"{k} {len(v)}" for k, v in mix.items()) + "\n")
