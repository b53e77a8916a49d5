#!/usr/bin/env bash
# Load-proof cost per placement (docs/BENCHMARKS.md "Scheduler", "Storage
# engine and allocator"): what does not move with the load average that other
# processes put on the machine.
#
#   bench/scheduler/cpu_counts.sh ir FC_BIN [PRELOAD]
#       The real daemon under valgrind's callgrind (user-space instructions of
#       every thread: HTTP, JSON, scheduler, SQLite, the allocator), 10 regions
#       and 1,000 workspaces (populate.py), wrk -t2 -c64 creates for SHORT (5)
#       then LONG (20) seconds on fresh databases; prints the marginal
#       instructions per placement, (Ir_long - Ir_short) / (created_long -
#       created_short), which cancels the start and the load of the fleet.
#       PRELOAD: a shared library to LD_PRELOAD into the daemon (an allocator
#       A/B on one binary). Kernel time (WAL writes, fsync, sockets) is not
#       counted: see `wal` below.
#   bench/scheduler/cpu_counts.sh wal FC_BIN [SECONDS]
#       Creates for SECONDS (default 4), then SIGKILLs the daemon so its WAL
#       is left as written (no checkpoint at close) and prints, for the
#       commits in it, WAL frames (4 KiB pages) per commit by b-tree (table or
#       index, from SQLite's dbstat) and the writer's commits and transactions
#       (GET /metrics) for the frames per placement.
#   env: REGIONS (10), WORKSPACES (1000), SHORT, LONG, CONNS (64), KEEP_CG=PREFIX (keep
#        callgrind's outputs as PREFIX.short and PREFIX.long, for callgrind_annotate)
#
# Everything on loopback in a private temp dir; the daemon stopped by pid.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib/daemon.sh"
mode="${1:?ir|wal}"; bin="$(realpath "${2:?FC_BIN}")"
regions="${REGIONS:-10}"; workspaces="${WORKSPACES:-1000}"; conns="${CONNS:-64}"
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "cpu_counts.sh: $tool is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
done
[ "$mode" != ir ] || command -v valgrind >/dev/null || { echo "cpu_counts.sh: valgrind is not installed" >&2; exit 2; }

tmp="$(mktemp -d /tmp/fc-cpu-counts-XXXXXX)"
pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; pid=""; }
trap 'stop; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

setup() {  # dir: a migrated, populated database and its config
  local dir="$1"; mkdir -p "$dir"; port="$(free_port)"
  cat >"$dir/fc.json" <<JSON
{"api": {"listen": "127.0.0.1:$port"}, "acme_http": {"listen": "127.0.0.1:$(free_port)"},
 "dns": {"listen": "127.0.0.1:$(free_port)"}, "log": {"level": "warn"},
 "agents": {"heartbeat_timeout_s": 86400}}
JSON
  start "$dir"; stop
  python3 "$here/populate.py" populate "$dir/var/fleetcommand.db" --regions "$regions" \
    --workspaces "$workspaces" >/dev/null
  sync
}
start() {  # dir [wrapper...]
  local dir="$1"; shift
  (cd "$dir" && exec env ${preload:+LD_PRELOAD=$preload} "$@" "$bin" serve --config "$dir/fc.json" 2>>"$dir/fc.log") &
  pid=$!
  wait_ready cpu_counts.sh "$pid" "$port" "$dir/fc.log" 1200  # under valgrind too
}
creates() {  # dir seconds -> prints the number of 201s
  FC_TOKEN="$(cat "$1/var/admin.token")" RUN_TAG=c wrk -t2 -c"$conns" -d"$2s" --timeout 30s \
    -s "$here/create.lua" "http://127.0.0.1:$port" | sed -n 's/^created=\([0-9]*\).*/\1/p'
}

case "$mode" in
ir)
  preload="${3:-}"
  declare -A n ir
  for run in short long; do
    secs="${SHORT:-5}"; [ "$run" = long ] && secs="${LONG:-20}"
    dir="$tmp/$run"; setup "$dir"
    start "$dir" valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out"
    n[$run]="$(creates "$dir" "$secs")"
    stop
    [ -z "${KEEP_CG:-}" ] || cp "$dir/cg.out" "$KEEP_CG.$run"
    ir[$run]="$(awk '/^(summary|totals):/ { print $2; exit }' "$dir/cg.out")"
    echo "$run: ${n[$run]} placements, ${ir[$run]} instructions"
  done
  echo "$(basename "$bin")${preload:+ +$(basename "$preload")}: $(( (ir[long] - ir[short]) / (n[long] - n[short]) )) instructions per placement (marginal)"
  ;;
wal)
  preload=""
  dir="$tmp/wal"; setup "$dir"; start "$dir"
  echo "created $(creates "$dir" "${3:-4}")"
  curl -fsS -H "Authorization: Bearer $(cat "$dir/var/admin.token")" "http://127.0.0.1:$port/metrics" |
    grep -E '^fleetcommand_db_(transactions|commits)_total' || true
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  python3 "$here/wal_frames.py" "$dir/var/fleetcommand.db"
  ;;
*) echo "cpu_counts.sh: mode is ir or wal" >&2; exit 2 ;;
esac
