#!/usr/bin/env bash
# Webhooks benchmark (docs/BENCHMARKS.md "Webhooks"), one daemon, one run:
#  A. placements/s through the API (wrk + bench/scheduler/create.lua) with no
#     webhook endpoint;
#  B. the same with one endpoint subscribed to every event, delivering to a
#     fast C++ receiver (bench/webhooks/receiver.cpp) on loopback meanwhile,
#     then its backlog drained and the endpoint deleted;
#     A and B interleaved ROUNDS times (A/B/A/B…), so a machine whose load
#     changes during the run weighs on both arms alike; the load average is
#     printed next to every figure;
#  C. the delivery rate alone: a new endpoint is given a backlog of up to
#     10,000 events at once (POST /v1/webhooks/{id}/replay?since=0) and the
#     time until the receiver has them all is taken, REPLAYS times.
# Each workspace create appends two events (workspace.created, .placed).
#
#   bench/webhooks/run.sh [BUILD_DIR]   (default: build, as scripts/build.sh makes it)
#   env: FC_BIN, RECEIVER (default BUILD_DIR/bench/webhooks/webhook_receiver),
#        DURATION (wrk seconds per arm, default 10), CONNS (default 32),
#        LANES (default 4), ROUNDS (A/B pairs, default 2), REPLAYS (default 2),
#        PRIORITY (webhooks.priority: idle, low or normal; unset: the
#        binary's default, so an older binary without the key still runs),
#        KEEP_LOG (a file: the daemon's log is copied there at the end),
#        RECEIVER_NICE (default 0: the receiver's niceness; 19 makes its CPU
#        come from what the daemon and wrk leave, as a receiver on another
#        machine, where any real endpoint is, takes none of theirs),
#        PERF_OUT (a file: `perf record` of the daemon for 6 s, 1 s into the
#        first B arm, with DWARF call graphs; read with `perf report -i FILE`)
# Every arm also prints the daemon's CPU time (user + system, /proc/PID/stat)
# per placement, and its busiest threads' CPU during the wrk run; B's minus A's, halved, is the daemon's CPU per delivery —
# a figure that, unlike the rates, does not move with the machine's load.
#
# Loopback only; every loop bounded; processes stopped by pid.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build}" && pwd)"
fc_bin="$(realpath -m "${FC_BIN:-$build/app/fleetcommand}")"
receiver="$(realpath -m "${RECEIVER:-$build/bench/webhooks/webhook_receiver}")"
duration="${DURATION:-10}"
conns="${CONNS:-32}"
lanes="${LANES:-4}"
rounds="${ROUNDS:-2}"
replays="${REPLAYS:-2}"
priority_json=""
[ -n "${PRIORITY:-}" ] && priority_json=", \"priority\": \"$PRIORITY\""
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed" >&2; exit 2; }
done
if [ -n "${PERF_OUT:-}" ] && ! command -v perf >/dev/null; then
  echo "run.sh: PERF_OUT needs perf (scripts/install-deps.sh --bench)" >&2
  exit 2
fi
[ -x "$fc_bin" ] || { echo "run.sh: no fleetcommand binary at $fc_bin" >&2; exit 2; }
[ -x "$receiver" ] || { echo "run.sh: no receiver at $receiver" >&2; exit 2; }

tmp="$(mktemp -d /tmp/fc-webhooks-bench-XXXXXX)"
fc_pid=""
rcv_pid=""
cleanup() {
  [ -n "$fc_pid" ] && { kill "$fc_pid" 2>/dev/null || true; wait "$fc_pid" 2>/dev/null || true; }
  [ -n "$rcv_pid" ] && { kill "$rcv_pid" 2>/dev/null || true; wait "$rcv_pid" 2>/dev/null || true; }
  if [ -n "${KEEP_LOG:-}" ]; then cp "$tmp/fc.log" "$KEEP_LOG" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
delivered() { cut -d' ' -f1 "$tmp/rcv.stats" 2>/dev/null || echo 0; }
clk_tck="$(getconf CLK_TCK)"
# The writer's counters from /metrics: "<transactions> <commits>".
writer() {
  curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/metrics" | awk '
    $1 == "fleetcommand_db_transactions_total" { t = $2 }
    $1 == "fleetcommand_db_commits_total" { c = $2 }
    END { printf "%d %d", t, c }'
}
# CPU ms (user + system) a process has used; field 2 (comm) has no space here.
cpu_ms() { awk -v t="$clk_tck" '{ printf "%d", ($14 + $15) * 1000 / t }' "/proc/$1/stat"; }
# Per thread of process $1: "tid comm cpu_ms" lines (the API's thread and the
# writer are both "fleetcommand"; the delivery thread is fc-webhooks).
threads_ms() {
  for f in /proc/"$1"/task/*/stat; do
    awk -v t="$clk_tck" '{ s = $0; sub(/^[0-9]+ \(/, "", s); comm = substr(s, 1, index(s, ") ") - 1)
      sub(/^.*\) /, "", s); split(s, f, " "); printf "%s %s %d\n", $1, comm, (f[12] + f[13]) * 1000 / t }' "$f" 2>/dev/null
  done
}
# The threads' CPU between two threads_ms snapshots, busiest first, per
# second of the arm: "tid(comm) ms/s", the top 4.
threads_delta() {  # before after seconds
  awk -v d="$3" 'NR == FNR { b[$1] = $3; next } { printf "%d %s(%s) %.0f\n", $3 - b[$1], $1, $2, ($3 - b[$1]) / d }' \
    "$1" "$2" | sort -rn | head -4 | awk '{ printf "%s %s ms/s; ", $2, $3 }'
}
api_port="$(free_port)"
rcv_port="$(free_port)"
cat >"$tmp/fc.json" <<JSON
{"api": {"listen": "127.0.0.1:$api_port"}, "acme_http": {"listen": "127.0.0.1:$(free_port)"},
 "dns": {"listen": "127.0.0.1:$(free_port)"}, "log": {"level": "warn"},
 "probes": {"enabled": false}, "agents": {"heartbeat_timeout_s": 86400},
 "webhooks": {"allow_private": true, "lanes_per_endpoint": $lanes$priority_json}}
JSON
(cd "$tmp" && exec "$fc_bin" serve --config "$tmp/fc.json" 2>>"$tmp/fc.log") &
fc_pid=$!
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "http://127.0.0.1:$api_port/readyz" 2>/dev/null && break
  sleep 0.1
done
token="$(cat "$tmp/var/admin.token")"
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
api -X POST "http://127.0.0.1:$api_port/v1/regions" -d '{"id":"bench","name":"bench","labels":{},
  "ingress":{"ipv4":["192.0.2.1"],"ipv6":[],"hostname":null},
  "capacity":{"memory_mib":100000000,"cpu_millis":100000000,"workspaces":100000000}}' >/dev/null
agent="$(api -X POST "http://127.0.0.1:$api_port/v1/regions/bench/agent-tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
curl -fsS -H "Authorization: Bearer $agent" -H 'Content-Type: application/json' \
  -X POST "http://127.0.0.1:$api_port/v1/agent/heartbeat" -d '{"agent_id":"bench"}' >/dev/null

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(load), lanes=$lanes conns=$conns ${duration}s per arm, $rounds rounds, priority=${PRIORITY:-default}, receiver nice ${RECEIVER_NICE:-0}, bin=$fc_bin"
# The undelivered backlog from /metrics (every endpoint's pending deliveries).
backlog() {
  curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/metrics" | awk '
    $1 ~ /^fleetcommand_webhook_pending_deliveries/ { n += $2 } END { printf "%d", n }'
}
place() {  # tag
  FC_TOKEN="$token" RUN_TAG="$1" wrk -t2 -c"$conns" -d"${duration}s" --timeout 10s \
    -s "$repo/bench/scheduler/create.lua" "http://127.0.0.1:$api_port" 2>&1 | grep created= \
    | sed -n 's/^created=\([0-9]*\).*placements_per_s=\([0-9]*\).*/\1 \2/p'
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
endpoint() {
  api -X POST "http://127.0.0.1:$api_port/v1/webhooks" -d "{\"url\":\"http://127.0.0.1:$rcv_port/hook\"}" \
    | json_field id
}
# Waits (at most 120 s) until the receiver has counted `want` requests.
drain() {
  for _ in $(seq 1 1200); do
    [ "$(delivered)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "drain: timed out at $(delivered) of $1" >&2
}

nice -n "${RECEIVER_NICE:-0}" "$receiver" "$rcv_port" "$tmp/rcv.stats" &
rcv_pid=$!
sleep 0.3
sum_a=0
sum_b=0
for round in $(seq 1 "$rounds"); do
  la="$(load)"
  ca0="$(cpu_ms "$fc_pid")"
  read -r wa0 ka0 <<<"$(writer)"
  threads_ms "$fc_pid" >"$tmp/ta0"
  read -r created_a a <<<"$(place "a$round")"
  threads_ms "$fc_pid" >"$tmp/ta1"
  read -r wa1 ka1 <<<"$(writer)"
  ca1="$(cpu_ms "$fc_pid")"
  echo "round $round A: placements/s without an endpoint: $a (load before: $la)"
  id="$(endpoint)"
  d0="$(delivered)"
  lb="$(load)"
  perf_pid=""
  if [ "$round" = 1 ] && [ -n "${PERF_OUT:-}" ]; then
    (sleep 1 && exec perf record -q -F 299 --call-graph dwarf,16384 -p "$fc_pid" -o "$PERF_OUT" \
      -- sleep 6) >/dev/null 2>&1 &
    perf_pid=$!
  fi
  cb0="$(cpu_ms "$fc_pid")"
  read -r wb0 kb0 <<<"$(writer)"
  threads_ms "$fc_pid" >"$tmp/tb0"
  t0="$(date +%s.%N)"
  read -r created b <<<"$(place "b$round")"
  t1="$(date +%s.%N)"
  threads_ms "$fc_pid" >"$tmp/tb1"
  read -r wb1 kb1 <<<"$(writer)"
  d1="$(delivered)"
  pend="$(backlog)"
  drain $((d0 + 2 * created))
  t2="$(date +%s.%N)"
  cb1="$(cpu_ms "$fc_pid")"
  d2="$(delivered)"
  [ -n "$perf_pid" ] && wait "$perf_pid"
  echo "round $round B: placements/s with one endpoint subscribed to everything: $b (ratio to A $(awk -v a="$b" -v b="$a" 'BEGIN { printf "%.2f", a / b }'); load before: $lb)"
  awk -v d0="$d0" -v d1="$d1" -v d2="$d2" -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN {
    printf "round B deliveries: %d during the placements (%.0f events/s), %d more in the %.1f s drain; %.0f events/s overall\n",
      d1 - d0, (d1 - d0) / (t1 - t0), d2 - d1, t2 - t1, (d2 - d0) / (t2 - t0) }'
  echo "round B backlog when the placements stopped (/metrics pending deliveries): $pend"
  # B's CPU is counted through its drain, so every delivery it caused is in it.
  awk -v a="$((ca1 - ca0))" -v na="$created_a" -v b="$((cb1 - cb0))" -v nb="$created" \
    -v nd="$((d2 - d0))" 'BEGIN {
    pa = a * 1000 / na; pb = b * 1000 / nb
    printf "round daemon CPU: A %.0f us/placement, B %.0f us/placement (deliveries included); %.1f us per delivery\n",
      pa, pb, (b * 1000 - pa * nb) / nd }'
  # The group-commit writer during the wrk runs: commits (fsyncs) per second
  # and write transactions per commit.
  awk -v ta="$((wa1 - wa0))" -v ka="$((ka1 - ka0))" -v tb="$((wb1 - wb0))" -v kb="$((kb1 - kb0))" \
    -v d="$duration" 'BEGIN {
    printf "round writer: A %.0f commits/s, %.1f transactions each; B %.0f commits/s, %.1f transactions each\n",
      ka / d, ta / (ka ? ka : 1), kb / d, tb / (kb ? kb : 1) }'
  # The rows B wrote for its deliveries (a row per delivered event before
  # branch w-hook3; since, rows only for failures and replays), read-only
  # while the daemon runs, before the endpoint and its rows are deleted.
  echo "round B rows in webhook_deliveries after the drain: $(python3 -c '
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0])' "$tmp/var/fleetcommand.db" 2>/dev/null || echo "?") (deliveries in B: $((d2 - d0)))"
  echo "round threads (CPU during the wrk run): A $(threads_delta "$tmp/ta0" "$tmp/ta1" "$duration")"
  echo "round threads (CPU during the wrk run): B $(threads_delta "$tmp/tb0" "$tmp/tb1" "$duration")"
  api -X DELETE "http://127.0.0.1:$api_port/v1/webhooks/$id" >/dev/null
  sum_a=$((sum_a + a))
  sum_b=$((sum_b + b))
done
echo "placements/s over $rounds rounds: A (none) $((sum_a / rounds)), B (one endpoint) $((sum_b / rounds)), ratio $(awk -v a="$sum_b" -v b="$sum_a" 'BEGIN { printf "%.2f", a / b }')"

for k in $(seq 1 "$replays"); do
  id="$(endpoint)"
  d0="$(delivered)"
  lr="$(load)"
  c0="$(cpu_ms "$fc_pid")"
  t0="$(date +%s.%N)"
  queued="$(api -X POST "http://127.0.0.1:$api_port/v1/webhooks/$id/replay?since=0" | json_field queued)"
  drain $((d0 + queued))
  t1="$(date +%s.%N)"
  c1="$(cpu_ms "$fc_pid")"
  d1="$(delivered)"
  awk -v n="$((d1 - d0))" -v q="$queued" -v t0="$t0" -v t1="$t1" -v l="$lr" -v c="$((c1 - c0))" 'BEGIN {
    printf "delivery C%s: a backlog of %d delivered in %.2f s = %.0f events/s, daemon CPU %.1f us per delivery (load before: %s)\n", "'"$k"'", q, t1 - t0, n / (t1 - t0), c * 1000 / n, l }'
  api -X DELETE "http://127.0.0.1:$api_port/v1/webhooks/$id" >/dev/null
done
echo "receiver: $(cat "$tmp/rcv.stats") (requests, distinct webhook-ids); load at the end: $(load)"
