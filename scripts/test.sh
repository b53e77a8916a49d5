#!/usr/bin/env bash
# Sets everything up and runs every test: unit tests (doctest), fuzz-corpus
# replays, and integration tests against the real binary and real peers
# (BIND, unbound, Knot, Pebble), all on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@"
