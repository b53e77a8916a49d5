#!/bin/sh
# ACME issuance benchmark: fleetcommand (through the daemon) vs lego, both
# against Pebble with PEBBLE_VA_NOSLEEP=1, N certificates each (default 10,
# at most 50). Usage: bench/acme/run.sh [BUILD_DIR] [N]
# See docs/BENCHMARKS.md ("ACME").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
n=${2:-10}
bin=$build/app/fleetcommand
[ -x "$bin" ] || { echo "no fleetcommand binary at $bin (cmake --build $build --target fleetcommand)" >&2; exit 2; }
command -v lego >/dev/null || { echo "lego is not installed (scripts/install-deps.sh)" >&2; exit 2; }
command -v pebble >/dev/null || { echo "pebble is not installed (scripts/install-deps.sh)" >&2; exit 2; }
exec timeout 900 python3 -W ignore "$here/bench.py" "$bin" "$n"
