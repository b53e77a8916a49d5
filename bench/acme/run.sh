#!/bin/sh
# ACME issuance benchmark: fleetcommand (through the daemon) vs lego (one
# process per certificate, as from cron), one Pebble with PEBBLE_VA_NOSLEEP=1,
# the same N names. Usage: bench/acme/run.sh [BUILD_DIR] [N] [K]
#   N certificates (default 100), K parallel lego processes for the fairness
#   run (default 10, 0 skips it). FC_BENCH_MAX_ORDERS=M overrides
#   certs.max_orders_in_flight; FC_BENCH_DAEMON_ONLY=1 skips lego (~20 s).
#   About 11 min for N=100 (lego's sleeps); killed after 20 min.
#   See docs/BENCHMARKS.md ("ACME").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
n=${2:-100}
k=${3:-10}
bin=$(cd "$build" && pwd)/app/fleetcommand
[ -x "$bin" ] || { echo "no fleetcommand binary at $bin (cmake --build $build --target fleetcommand)" >&2; exit 2; }
command -v lego >/dev/null || { echo "lego is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
command -v pebble >/dev/null || { echo "pebble is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
exec timeout -k 10 1200 python3 -W ignore "$here/bench.py" "$bin" "$n" "$k"
