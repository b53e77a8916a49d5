#!/usr/bin/env bash
# DNS benchmark: the real daemon (N workspaces created through the API and
# reported running), the embedded server alone (dns::Server driven by
# fc-dns-fixture from a JSON zone), Knot (knotd) and BIND (named): one zone of N
# the same zone (gen_zone.py: N records, A + CNAME chains + wildcards + AAAA),
# the same query mix, in the same run. With WORKERS=1 each server runs one UDP
# worker pinned to core 0 and dnsperf runs on core 1; WORKERS=2 gives every
# server two workers on cores 0-1 (dnsperf still on core 1, so on a 2-core
# machine the servers share a core with the load generator).
# Usage: bench/dns/run.sh [BUILD_DIR] ; env N (100000), DURATION (10 s),
# CLIENTS (4), WORKERS (1), DAEMON (1: also the real daemon, N/10 workspaces),
# NOCACHE=1 (also without the answer cache), BASELINE_FIXTURE (another
# fc-dns-fixture binary, started with BASELINE_ARGS).
set -euo pipefail
BUILD=${1:-build}
N=${N:-100000}
WORKERS=${WORKERS:-1}
DAEMON=${DAEMON:-1}
CPUS=0
[ "$WORKERS" -gt 1 ] && CPUS=0-$((WORKERS - 1))
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
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of a pid, in clock ticks
# name port: dnsperf against the server started last (${PIDS[-1]}); prints its
# queries/s, latency, and CPU time per answered query (user + system of the
# server process over the run), which a loaded machine disturbs much less
# than queries/s.
run_perf() {
  local out="$W/$1.perf" pid="${PIDS[-1]}"
  local t0; t0=$(cpu_ticks "$pid")
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$2" -d "$W/queries.txt" -l "$DURATION" -c "$CLIENTS" -q 200 >"$out" 2>&1
  local t1; t1=$(cpu_ticks "$pid")
  local qps lat lost done_q us
  qps=$(awk '/Queries per second/ {print $4}' "$out")
  lat=$(awk '/Average Latency/ {print $4 * 1000}' "$out")
  lost=$(awk '/Queries lost/ {print $3}' "$out")
  done_q=$(awk '/Queries completed/ {print $3}' "$out")
  us=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v q="$done_q" 'BEGIN {printf "%.2f", (q > 0 ? t / hz * 1e6 / q : 0)}')
  printf "%-30s %12s q/s  avg latency %8.3f ms  lost %-4s  CPU %6s us/query\n" "$1" "$qps" "$lat" "$lost" "$us"
}

python3 "$HERE/gen_zone.py" "$W" "$N"
echo "zone: $(cat "$W/mix.txt")"
echo "${DURATION}s each; dnsperf -c $CLIENTS -q 200 on core 1; servers: $WORKERS UDP worker(s) on cores $CPUS; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# 0. the real daemon: the zone comes from the database through the publisher
if [ "$DAEMON" = 1 ] && [ -x "$BUILD/app/fleetcommand" ]; then
  python3 "$HERE/daemon_bench.py" "$BUILD" "$((N / 10))" "$DURATION" "$CLIENTS" "$WORKERS"
fi

# 1. fleetcommand's dns::Server alone (fc-dns-fixture: same server code, zone from JSON)
P=$(free_port)
taskset -c "$CPUS" "$FIXTURE" serve --zone "$W/fixture.json" --listen "127.0.0.1:$P" \
  --udp-workers "$WORKERS" --answer-cache-slots "${CACHE_SLOTS:-262144}" >"$W/fixture.log" 2>&1 &
PIDS+=($!)
wait_dns "$P"
run_perf "fleetcommand dns::Server" "$P"
if [ "${NOCACHE:-0}" = 1 ]; then  # the same without the answer cache (every query on the full path)
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  P=$(free_port)
  taskset -c "$CPUS" "$FIXTURE" serve --zone "$W/fixture.json" --listen "127.0.0.1:$P" \
    --udp-workers "$WORKERS" --answer-cache-slots 0 >"$W/fixture.log" 2>&1 &
  PIDS+=($!)
  wait_dns "$P"
  run_perf "dns::Server, no answer cache" "$P"
fi
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# 1b. optional: another fc-dns-fixture binary (e.g. built from an older commit) for a before/after
if [ -n "${BASELINE_FIXTURE:-}" ]; then
  P=$(free_port)
  # shellcheck disable=SC2086  # BASELINE_ARGS: e.g. "--answer-cache-slots 0" to compare the full path
  taskset -c "$CPUS" "$BASELINE_FIXTURE" serve --zone "$W/fixture.json" --listen "127.0.0.1:$P" \
    ${BASELINE_ARGS:-} >"$W/baseline.log" 2>&1 &
  PIDS+=($!)
  wait_dns "$P"
  run_perf "baseline fixture" "$P"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
fi

# 2. Knot DNS
P=$(free_port)
mkdir -p "$W/knot"
cat >"$W/knot.conf" <<KNOT
server:
    rundir: "$W/knot"
    listen: 127.0.0.1@$P
    udp-workers: $WORKERS
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
taskset -c "$CPUS" knotd -c "$W/knot.conf" >"$W/knot.log" 2>&1 &
PIDS+=($!)
wait_dns "$P"
run_perf "knotd 3.2 ($WORKERS UDP worker(s))" "$P"
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
taskset -c "$CPUS" named -g -4 -n "$WORKERS" -c "$W/named.conf" >"$W/named.log" 2>&1 &
PIDS+=($!)
wait_dns "$P"
run_perf "named 9.18 (-n $WORKERS)" "$P"
