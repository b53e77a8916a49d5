#!/usr/bin/env bash
# Workspace search behind the console (docs/BENCHMARKS.md "Console"):
# GET /v1/workspaces?q= with 100k workspaces, on loopback, bounded counts.
#   bench/console/run.sh [BUILD_DIR]   env: WORKSPACES (100000), REQUESTS (200)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build}" && pwd)"
fc_bin="$(realpath -m "${FC_BIN:-$build/app/fleetcommand}")"
[ -x "$fc_bin" ] || { echo "run.sh: no fleetcommand binary at $fc_bin" >&2; exit 2; }
exec python3 "$here/search_bench.py" "$fc_bin" --workspaces "${WORKSPACES:-100000}" --requests "${REQUESTS:-200}"
