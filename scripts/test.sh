#!/usr/bin/env bash
# Sets everything up and runs every test:
#  1. unit tests (doctest), fuzz-corpus replays and integration tests against
#     the real binary and real peers (BIND, unbound, Knot, Pebble, nginx), all
#     on loopback — from the normal build in ./build;
#  2. the unit tests and fuzz-corpus replays again under AddressSanitizer and
#     UndefinedBehaviorSanitizer, from ./build-asan.
# FC_SKIP_ASAN=1 skips step 2 (for quick local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@"

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
if [ "${FC_SKIP_ASAN:-0}" != 1 ]; then
  ASAN_DIR=${ASAN_DIR:-build-asan}
  if [ ! -f "$ASAN_DIR/build.ninja" ]; then
    cmake -S . -B "$ASAN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFC_SANITIZE=ON \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"
  else
    # Re-configure first (cached options kept): the target list below is read
    # from build.ninja, which must already know tests added since the last run.
    cmake -S . -B "$ASAN_DIR" >/dev/null
  fi
  # Only what the sanitizer run executes: unit-test and corpus-replay binaries.
  targets=$(ninja -C "$ASAN_DIR" -t targets all | sed -n 's/^\(\(test\|replay\)_[a-z_]*\): phony$/\1/p' | sort -u)
  cmake --build "$ASAN_DIR" -j"$(nproc)" --target $targets
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$ASAN_DIR" --output-on-failure -j2 -L 'unit|fuzz'
fi
