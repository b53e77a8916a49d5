#!/usr/bin/env python3
"""Writes the same zone for the three servers and one query file:
  fixture.json (fc-dns-fixture, the daemon's dns::Server), zone.db (BIND and Knot),
  queries.txt (dnsperf: every workspace A once, shuffled, plus 10% NXDOMAIN).
Usage: gen_zone.py OUTDIR [N]"""
import json
import os
import random
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
origin = "fleet.test."
names = ["ws%05d" % i for i in range(n)]
addr = lambda i: "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
zone = {"origin": origin, "mname": "ns1." + origin, "rname": "hostmaster." + origin, "serial": 1,
        "refresh": 3600, "retry": 600, "expire": 86400, "minimum": 60, "ttl": 3600,
        "nameservers": [{"name": "ns1." + origin, "ipv4": ["127.0.0.1"]}],
        "records": [{"name": f"{w}.{origin}", "type": "A", "ttl": 60, "data": addr(i)} for i, w in enumerate(names)]}
with open(os.path.join(out, "fixture.json"), "w") as f:
    json.dump(zone, f)
with open(os.path.join(out, "zone.db"), "w") as f:
    f.write(f"$ORIGIN {origin}\n$TTL 3600\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n")
    for i, w in enumerate(names):
        f.write(f"{w} 60 A {addr(i)}\n")
rng = random.Random(42)
q = [f"{w}.{origin} A" for w in names] + [f"missing{i}.{origin} A" for i in range(n // 10)]
rng.shuffle(q)
with open(os.path.join(out, "queries.txt"), "w") as f:
    f.write("\n".join(q) + "\n")
