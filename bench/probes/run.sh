#!/usr/bin/env bash
# Live-check benchmark: the daemon's CPU while probing N hostnames at the
# default pace against nginx on loopback (bench/probes/bench.py has the details).
# Usage: bench/probes/run.sh [BUILD_DIR]   (FC_BIN=path overrides the binary)
# env: N (10000 hostnames), WINDOW_S (120: the measured window), WARMUP_S (10)
# Smoke run (about a minute): N=200 WINDOW_S=20 WARMUP_S=5 bench/probes/run.sh
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$BUILD/app/fleetcommand" ] || { echo "build it first: cmake --build $BUILD --target fleetcommand" >&2; exit 2; }
for t in nginx openssl; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "$t is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
done
echo "uptime before: $(uptime)"
timeout 3600 python3 "$HERE/bench.py" "$BUILD" --n "${N:-10000}" --window-s "${WINDOW_S:-120}" --warmup-s "${WARMUP_S:-10}"
echo "uptime after: $(uptime)"
