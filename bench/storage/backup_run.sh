#!/usr/bin/env bash
# Backup under load (docs/BENCHMARKS.md "Backup"): a database with W
# workspaces in R regions (bench/scheduler/populate.py), the daemon placing
# workspaces through the API (wrk + bench/scheduler/create.lua, durable group
# commits), first without a backup, then while `fleetcommand backup` runs with
# each method. Prints placements/s and p50/p99 latency (create.lua) for each
# phase, and each backup's duration and size.
#
#   bench/storage/backup_run.sh [BUILD_DIR]   (default: build)
#   env: FC_BIN, WORKSPACES (default 1000000), REGIONS (default 100),
#        DURATION (seconds of the no-backup phase, default 30), CONNS (default 64),
#        METHODS (default "backup-api backup-api-stepped vacuum-into")
#
# Everything runs in a private temp dir on loopback; the daemon stopped by pid.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib/daemon.sh"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build}" && pwd)"
fc_bin="$(realpath -m "${FC_BIN:-$build/app/fleetcommand}")"
workspaces="${WORKSPACES:-1000000}"
regions="${REGIONS:-100}"
duration="${DURATION:-30}"
conns="${CONNS:-64}"
methods="${METHODS:-backup-api backup-api-stepped vacuum-into}"
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "backup_run.sh: $tool is not installed" >&2; exit 2; }
done
[ -x "$fc_bin" ] || { echo "backup_run.sh: no fleetcommand binary at $fc_bin" >&2; exit 2; }

tmp="$(mktemp -d /tmp/fc-backup-bench-XXXXXX)"
fc_pid=""
stop_fc() {
  if [ -n "$fc_pid" ]; then kill "$fc_pid" 2>/dev/null || true; wait "$fc_pid" 2>/dev/null || true; fi
  fc_pid=""
}
cleanup() { stop_fc; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port="$(free_port)"
cat >"$tmp/fc.json" <<JSON
{"api": {"listen": "127.0.0.1:$api_port"}, "acme_http": {"listen": "127.0.0.1:$(free_port)"},
 "dns": {"listen": "127.0.0.1:$(free_port)"}, "log": {"level": "warn"},
 "agents": {"heartbeat_timeout_s": 86400}}
JSON
start_fc() {
  (cd "$tmp" && exec "$fc_bin" serve --config "$tmp/fc.json" 2>>"$tmp/fc.log") &
  fc_pid=$!
  wait_ready backup_run.sh "$fc_pid" "$api_port" "$tmp/fc.log"
}

load() {  # tag seconds → create.lua's summary line on stdout
  FC_TOKEN="$(cat "$tmp/var/admin.token")" RUN_TAG="$1" wrk -t2 -c"$conns" -d"$2s" \
    --timeout 10s -s "$repo/bench/scheduler/create.lua" "http://127.0.0.1:$api_port" || true
}
summary() { grep -E "^created=" "$1" || echo "wrk: no summary"; }  # create.lua's line

echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
start_fc; stop_fc                      # creates and migrates the database
python3 "$repo/bench/scheduler/populate.py" populate "$tmp/var/fleetcommand.db" \
  --regions "$regions" --workspaces "$workspaces"
sync
start_fc
echo "## $regions regions, $workspaces workspaces, db $(du -m "$tmp/var/fleetcommand.db" | cut -f1) MiB"
echo "### no backup, ${duration} s"
load base "$duration" >"$tmp/wrk-base.out"; summary "$tmp/wrk-base.out"
for m in $methods; do
  # The load starts 1 s before the backup and is stopped (SIGINT: wrk still
  # prints its summary) when the backup ends, so it measures the backup window.
  echo "### during fleetcommand backup --method $m"
  rm -f "$tmp/backup.db"
  load "$m" 3600 >"$tmp/wrk-$m.out" &
  wrk_pid=$!
  sleep 1
  (cd "$tmp" && "$fc_bin" backup --to "$tmp/backup.db" --method "$m" --config "$tmp/fc.json") || true
  pkill -INT -P "$wrk_pid" wrk 2>/dev/null || kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  summary "$tmp/wrk-$m.out"
done
stop_fc
(cd "$tmp" && "$fc_bin" fsck --config "$tmp/fc.json" 2>&1 | tail -1)
