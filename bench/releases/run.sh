#!/usr/bin/env bash
# Rollout benchmark: N workspaces in R regions, simulated agents that report at
# once, one rollout of the channel in waves [1, 10, 50, 100] (bench/releases/bench.py).
# Usage: bench/releases/run.sh [BUILD_DIR]   (FC_BIN=path overrides the binary)
# env: N (10000), REGIONS (10). Smoke run: N=200 REGIONS=3 bench/releases/run.sh
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "${FC_BIN:-$BUILD/app/fleetcommand}" ] || { echo "build it first: cmake --build $BUILD --target fleetcommand" >&2; exit 2; }
echo "uptime before: $(uptime)"
timeout 3600 python3 "$HERE/bench.py" "$BUILD" --n "${N:-10000}" --regions "${REGIONS:-10}"
echo "uptime after: $(uptime)"
