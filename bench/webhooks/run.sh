#!/usr/bin/env bash
# Webhooks benchmark (docs/BENCHMARKS.md "Webhooks"), one daemon, one run:
#  1. placements/s through the API (wrk + bench/scheduler/create.lua) with no
#     webhook endpoint;
#  2. the same with one endpoint subscribed to every event, delivering to a
#     fast C++ receiver (bench/webhooks/receiver.cpp) on loopback meanwhile;
#  3. the delivery rate: events delivered per second while a backlog exists
#     (during 2 and the drain after it), and the drain time.
# Each workspace create appends two events (workspace.created, .placed).
#
#   bench/webhooks/run.sh [BUILD_DIR]   (default: build, as scripts/build.sh makes it)
#   env: FC_BIN, RECEIVER (default BUILD_DIR/bench/webhooks/webhook_receiver),
#        DURATION (wrk seconds, default 10), CONNS (default 32), LANES (default 4)
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
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed" >&2; exit 2; }
done
[ -x "$fc_bin" ] || { echo "run.sh: no fleetcommand binary at $fc_bin" >&2; exit 2; }
[ -x "$receiver" ] || { echo "run.sh: no receiver at $receiver" >&2; exit 2; }

tmp="$(mktemp -d /tmp/fc-webhooks-bench-XXXXXX)"
fc_pid=""
rcv_pid=""
cleanup() {
  [ -n "$fc_pid" ] && { kill "$fc_pid" 2>/dev/null || true; wait "$fc_pid" 2>/dev/null || true; }
  [ -n "$rcv_pid" ] && { kill "$rcv_pid" 2>/dev/null || true; wait "$rcv_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
delivered() { cut -d' ' -f2 "$tmp/rcv.stats" 2>/dev/null || echo 0; }
api_port="$(free_port)"
rcv_port="$(free_port)"
cat >"$tmp/fc.json" <<JSON
{"api": {"listen": "127.0.0.1:$api_port"}, "acme_http": {"listen": "127.0.0.1:$(free_port)"},
 "dns": {"listen": "127.0.0.1:$(free_port)"}, "log": {"level": "warn"},
 "probes": {"enabled": false}, "agents": {"heartbeat_timeout_s": 86400},
 "webhooks": {"allow_private": true, "lanes_per_endpoint": $lanes}}
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

echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), lanes=$lanes conns=$conns ${duration}s"
place() {  # tag
  FC_TOKEN="$token" RUN_TAG="$1" wrk -t2 -c"$conns" -d"${duration}s" --timeout 10s \
    -s "$repo/bench/scheduler/create.lua" "http://127.0.0.1:$api_port" 2>&1 | grep created= \
    | sed -n 's/^created=\([0-9]*\).*placements_per_s=\([0-9]*\).*/\1 \2/p'
}
read -r _ base <<<"$(place none)"
echo "placements/s without an endpoint: $base"

"$receiver" "$rcv_port" "$tmp/rcv.stats" &
rcv_pid=$!
sleep 0.3
api -X POST "http://127.0.0.1:$api_port/v1/webhooks" -d "{\"url\":\"http://127.0.0.1:$rcv_port/hook\"}" >/dev/null
t0="$(date +%s.%N)"
read -r created with <<<"$(place hooked)"
t1="$(date +%s.%N)"
d1="$(delivered)"
echo "placements/s with one endpoint subscribed to everything: $with (ratio $(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.2f", a / b }'))"
# Drain: bounded at 120 s.
want=$((2 * created))
for _ in $(seq 1 1200); do
  [ "$(delivered)" -ge "$want" ] && break
  sleep 0.1
done
t2="$(date +%s.%N)"
d2="$(delivered)"
awk -v d1="$d1" -v d2="$d2" -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN {
  printf "delivered during the placements: %d in %.1f s = %.0f events/s\n", d1, t1 - t0, d1 / (t1 - t0)
  printf "drain after them: %d more in %.1f s; overall %.0f events/s (%d events)\n", d2 - d1, t2 - t1, d2 / (t2 - t0), d2 }'
echo "receiver: $(cat "$tmp/rcv.stats") (requests, distinct webhook-ids)"
