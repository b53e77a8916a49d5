#!/usr/bin/env bash
# DNS benchmark: the real daemon (N workspaces created through the API and
# reported running), the embedded server alone (dns::Server driven by
# fc-dns-fixture from a JSON zone), Knot (knotd) and BIND (named): one zone of N
# workspace A records, the same query file, in the same run. Each server is pinned to core 0 with one worker, dnsperf to core 1.
# Usage: bench/dns/run.sh [BUILD_DIR] ; env N (10000), DURATION (10 s), CLIENTS (4).
set -euo pipefail
BUILD=${1:-build}
N=${N:-10000}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
FIXTURE="$BUILD/dns/fc-dns-fixture"
[ -x "$FIXTURE" ] || { echo "build it first: cmake --build $BUILD --target fc-dns-fixture" >&2; exit 2; }
W=$(mktemp -d /tmp/fc-dnsbench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_dns() {  # port: bounded wait until the server answers the SOA
  for _ in $(seq 1 100); do
    dig @127.0.0.1 -p "$1" +time=1 +tries=1 fleet.test SOA 2>/dev/null | grep -q "status: NOERROR" && return 0
    sleep 0.1
  done
  echo "server on port $1 did not come up" >&2; return 1
}
run_perf() {  # name port
  local out="$W/$1.perf"
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$2" -d "$W/queries.txt" -l "$DURATION" -c "$CLIENTS" -q 200 >"$out" 2>&1
  local qps lat lost
  qps=$(awk '/Queries per second/ {print $4}' "$out")
  lat=$(awk '/Average Latency/ {print $4 * 1000}' "$out")
  lost=$(awk '/Queries lost/ {print $3}' "$out")
  printf "%-28s %12s q/s  avg latency %8.3f ms  lost %s\n" "$1" "$qps" "$lat" "$lost"
}

python3 "$HERE/gen_zone.py" "$W" "$N"
echo "zone: $N A records + SOA/NS; queries: $(wc -l <"$W/queries.txt") (10% NXDOMAIN); ${DURATION}s each; dnsperf -c $CLIENTS -q 200"

# 0. the real daemon: the zone comes from the database through the publisher
if [ -x "$BUILD/app/fleetcommand" ]; then
  python3 "$HERE/daemon_bench.py" "$BUILD" "$N" "$DURATION" "$CLIENTS"
fi

# 1. fleetcommand's dns::Server alone (fc-dns-fixture: same server code, zone from JSON)
P=$(free_port)
taskset -c 0 "$FIXTURE" serve --zone "$W/fixture.json" --listen "127.0.0.1:$P" >"$W/fixture.log" 2>&1 &
PIDS+=($!)
wait_dns "$P"
run_perf "fleetcommand dns::Server" "$P"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# 2. Knot DNS
P=$(free_port)
mkdir -p "$W/knot"
cat >"$W/knot.conf" <<KNOT
server:
    rundir: "$W/knot"
    listen: 127.0.0.1@$P
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$W/knot"
log:
  - target: stderr
    any: error
zone:
  - domain: fleet.test
    storage: "$W"
    file: "zone.db"
    zonefile-sync: -1
    journal-content: none
KNOT
taskset -c 0 knotd -c "$W/knot.conf" >"$W/knot.log" 2>&1 &
PIDS+=($!)
wait_dns "$P"
run_perf "knotd 3.2 (1 UDP worker)" "$P"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# 3. BIND
P=$(free_port)
cat >"$W/named.conf" <<BIND
options {
  directory "$W";
  pid-file "$W/named.pid";
  session-keyfile "$W/session.key";
  listen-on port $P { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls {};
zone "fleet.test" { type primary; file "zone.db"; };
BIND
taskset -c 0 named -g -4 -n 1 -c "$W/named.conf" >"$W/named.log" 2>&1 &
PIDS+=($!)
wait_dns "$P"
run_perf "named 9.18 (-n 1)" "$P"
