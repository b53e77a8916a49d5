#!/usr/bin/env bash
# Scheduler placement benchmark (docs/BENCHMARKS.md "Scheduler"): workspace
# creates through the HTTP API (wrk + create.lua, unique names, durable group
# commits) against databases pre-populated with R regions and W workspaces,
# and, in the same run, the raw-SQLite ceiling for the same rows; then the
# commit-to-agent latency with 100 long-polling regions (latency.py).
#
#   bench/scheduler/run.sh [BUILD_DIR]      (default: build, as scripts/build.sh makes it)
#   env: FC_BIN, SERVICE_BENCH (the in-process service_bench binary; skipped
#        when absent), DURATION (wrk seconds, default 10), CONNS (default 64), PIN=1
#        (daemon on core 0, wrk on the others),
#        MATRIX (default "10:1000 100:100000 1000:1000000 1000:1000 10:1000000": the last two
#        separate the number of regions from the number of workspaces), LATENCY=0 to skip,
#        LAT_CREATES (default 2000), LAT_CONC (default 8), LOG_LEVEL (the daemon's, default warn)
#
# Per cell it prints the rate and wrk's latency percentiles (and wrk's own
# CPU), transactions per group commit, log lines written and dropped, the daemon's context switches,
# its CPU per placement (all threads, and the I/O thread alone) and the bytes
# it wrote per placement.
#
# Everything runs in a private temp dir on loopback; daemons stopped by pid.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib/daemon.sh"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build}" && pwd)"
fc_bin="$(realpath -m "${FC_BIN:-$build/app/fleetcommand}")"
svc_bench="$(realpath -m "${SERVICE_BENCH:-$build/bench/scheduler/service_bench}")"
duration="${DURATION:-10}"
# PIN=1: the daemon on core 0, wrk on the other cores (the load generator never
# shares the daemon's core; docs/BENCHMARKS.md "HTTP").
srv_pin=(); wrk_pin=()
if [ "${PIN:-0}" = 1 ] && [ "$(nproc)" -gt 1 ]; then
  srv_pin=(taskset -c 0); wrk_pin=(taskset -c "1-$(($(nproc) - 1))")
fi
conns="${CONNS:-64}"
matrix="${MATRIX:-10:1000 100:100000 1000:1000000 1000:1000 10:1000000}"
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
done
[ -x "$fc_bin" ] || { echo "run.sh: no fleetcommand binary at $fc_bin" >&2; exit 2; }

tmp="$(mktemp -d /tmp/fc-sched-bench-XXXXXX)"
fc_pid=""
stop_fc() {
  if [ -n "$fc_pid" ]; then kill "$fc_pid" 2>/dev/null || true; wait "$fc_pid" 2>/dev/null || true; fi
  fc_pid=""
}
cleanup() { stop_fc; rm -rf "$tmp"; }
trap cleanup EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # user + system clock ticks
# The same for the daemon's main thread alone: the I/O thread (HTTP, routing,
# JSON, coroutine resumption after each group commit), not the writer's.
io_ticks() { awk '{ print $14 + $15 }' "/proc/$1/task/$1/stat"; }
# Bytes the daemon handed to write(2)/pwrite(2) and send(2) (WAL frames, checkpoints,
# logs, HTTP responses): does not move with the load.
wchar() { awk '/^wchar:/ { print $2 }' "/proc/$1/io"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_fc() {  # dir
  (cd "$1" && exec "${srv_pin[@]}" "$fc_bin" serve --config "$1/fc.json" 2>>"$1/fc.log") &
  fc_pid=$!
  wait_ready run.sh "$fc_pid" "$api_port" "$1/fc.log"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for cell in $matrix; do
  regions="${cell%%:*}"; workspaces="${cell##*:}"
  dir="$tmp/r$regions-w$workspaces"; mkdir -p "$dir"
  api_port="$(free_port)"
  cat >"$dir/fc.json" <<JSON
{"api": {"listen": "127.0.0.1:$api_port"}, "acme_http": {"listen": "127.0.0.1:$(free_port)"},
 "dns": {"listen": "127.0.0.1:$(free_port)"}, "log": {"level": "${LOG_LEVEL:-warn}"},
 "agents": {"heartbeat_timeout_s": 86400}}
JSON
  start_fc "$dir"; stop_fc            # creates and migrates the database
  python3 "$here/populate.py" populate "$dir/var/fleetcommand.db" --regions "$regions" --workspaces "$workspaces"
  # Flush the populate's writes first: otherwise the daemon's first WAL
  # checkpoint pays for writing back hundreds of MB of someone else's pages.
  sync
  start_fc "$dir"
  token="$(cat "$dir/var/admin.token")"
  echo "## $regions regions, $workspaces existing workspaces (load $(cut -d' ' -f1 /proc/loadavg))"
  cpu0="$(cpu_ticks "$fc_pid")"; io0="$(io_ticks "$fc_pid")"; wchar0="$(wchar "$fc_pid")"
  FC_TOKEN="$token" RUN_TAG="r$regions" "${wrk_pin[@]}" wrk -t2 -c"$conns" -d"${duration}s" --timeout 10s \
    -s "$here/create.lua" "http://127.0.0.1:$api_port" >"$dir/wrk.out" &
  wrk_pid=$!
  # The WAL's size while wrk runs (every 0.25 s, bounded): how far it grows
  # between SQLite's checkpoints (docs/BENCHMARKS.md "WAL checkpoint off the
  # commit path").
  # wrk's own CPU, last read while it runs: whether the load generator, not
  # the daemon, is what limits the rate (it is not: ~20 % of a core at 17k/s).
  wal_max=0; wrk_ticks=0
  for _ in $(seq $(( (duration + 20) * 4 ))); do
    kill -0 "$wrk_pid" 2>/dev/null || break
    w="$(stat -c %s "$dir/var/fleetcommand.db-wal" 2>/dev/null || echo 0)"
    [ "$w" -gt "$wal_max" ] && wal_max="$w"
    wrk_ticks="$(cpu_ticks "$wrk_pid" 2>/dev/null || echo "$wrk_ticks")"
    sleep 0.25
  done
  wait "$wrk_pid" || true
  awk -v t="$wrk_ticks" -v hz="$(getconf CLK_TCK)" -v d="$duration" \
    'BEGIN { printf "wrk CPU: %.2f s (%.0f %% of one core over %d s)\n", t / hz, t / hz * 100 / d, d }'
  cpu1="$(cpu_ticks "$fc_pid")"; io1="$(io_ticks "$fc_pid")"; wchar1="$(wchar "$fc_pid")"
  echo "WAL file: at most $((wal_max / 1048576)) MiB during the run, $(( $(stat -c %s "$dir/var/fleetcommand.db-wal" 2>/dev/null || echo 0) / 1048576 )) MiB at its end"
  grep -E "created=|Non-2xx|errors" "$dir/wrk.out" || true
  # Transactions per group commit (one fsync each) and the daemon's context
  # switches (all threads) during the run: how the I/O thread and the writer
  # share the core.
  curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/metrics" |
    awk '/^fleetcommand_db_transactions_total / { t = $2 } /^fleetcommand_db_commits_total / { c = $2 }
         /^fleetcommand_log_lines_dropped_total / { d = $2 }
         /^fleetcommand_db_checkpoints_total / { k = $2 } /^fleetcommand_db_checkpoint_waits_total / { kw = $2 }
         /^fleetcommand_db_checkpoint_wait_seconds_total / { ks = $2 }
         END { if (c > 0) printf "group commits: %d, %.1f transactions each\n", c, t / c
               if (k != "") printf "checkpoint passes: %d, COMMITs that waited for their fsync: %d, %.3f s in all\n", k, kw, ks
               if (d != "") printf "log lines dropped: %d\n", d }' || true
  echo "log lines written: $(wc -l <"$dir/fc.log")"
  awk '/ctxt_switches/ { s += $2 } END { print "daemon context switches: " s }' /proc/"$fc_pid"/task/*/status || true
  created="$(sed -n 's/^created=\([0-9]*\).*/\1/p' "$dir/wrk.out")"
  [ -n "$created" ] && [ "$created" -gt 0 ] && awk -v t="$((cpu1 - cpu0))" -v n="$created" -v hz="$(getconf CLK_TCK)" \
    -v d="$duration" 'BEGIN { printf "daemon CPU: %.2f s = %.0f us per placement (%.0f %% of one core over %d s)\n", t / hz, t / hz * 1e6 / n, t / hz * 100 / d, d }'
  [ -n "$created" ] && [ "$created" -gt 0 ] && awk -v t="$((io1 - io0))" -v n="$created" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "I/O thread CPU: %.2f s = %.0f us per placement\n", t / hz, t / hz * 1e6 / n }'
  [ -n "$created" ] && [ "$created" -gt 0 ] &&
    echo "bytes written (wchar): $(( (wchar1 - wchar0) / created )) per placement"
  stop_fc
  (cd "$dir" && "$fc_bin" fsck --config "$dir/fc.json" 2>&1 | tail -1)
  python3 "$here/populate.py" ceiling "$dir/var/fleetcommand.db" --rows 20000 --batch 64
  if [ -x "$svc_bench" ]; then  # in-process, same database, no HTTP
    "$svc_bench" --db "$dir/var/fleetcommand.db" --count 20000 --coroutines 256 --budget-s 60 || true
  fi
  rm -rf "$dir"
done

if [ "${LATENCY:-1}" != 0 ]; then
  dir="$tmp/latency"; mkdir -p "$dir"
  api_port="$(free_port)"
  cat >"$dir/fc.json" <<JSON
{"api": {"listen": "127.0.0.1:$api_port"}, "acme_http": {"listen": "127.0.0.1:$(free_port)"},
 "dns": {"listen": "127.0.0.1:$(free_port)"}, "log": {"level": "${LOG_LEVEL:-warn}"},
 "agents": {"heartbeat_timeout_s": 86400}}
JSON
  start_fc "$dir"
  echo "## commit-to-agent latency, 100 regions each long-polled (load $(cut -d' ' -f1 /proc/loadavg))"
  python3 "$here/latency.py" --port "$api_port" --token "$(cat "$dir/var/admin.token")" \
    --regions 100 --creates "${LAT_CREATES:-2000}" --concurrency "${LAT_CONC:-8}"
  stop_fc
fi
