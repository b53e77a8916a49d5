#!/usr/bin/env bash
# Sets everything up and runs every test, from ONE build (./build-asan):
# everything is compiled once with AddressSanitizer + UndefinedBehaviorSanitizer
# (the daemon's libraries at -Og, test code, CLI and fixtures at -O0: see the
# top CMakeLists.txt), and that one build runs
#   - the unit tests (doctest) and the fuzz-corpus replays, and
#   - the integration tests, which start that same sanitized daemon, agent and
#     fixtures against the real peers (BIND, unbound, Knot, Pebble, nginx), all
#     on loopback,
# so the daemon itself is sanitizer-checked under real traffic, and nothing is
# compiled twice. The optimized build for running and benchmarking the daemon
# is ./build (scripts/build.sh, scripts/run.sh); tests do not need it.
#
# Each phase's wall time is printed at the end; the budget (a cold run on a
# fresh clone under 20 minutes on 2 cores) and what to do when a change breaks
# it are in docs/building.md.
#
# Arguments are passed to ctest (e.g. -L unit, -R itest_dns).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/phases.sh

phase install bash scripts/install-deps.sh
phase format bash scripts/check-format.sh

# Let ccache share objects between clones in different folders (CI clones
# fresh each time): paths below the source dir are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
DIR=${ASAN_DIR:-build-asan}
if [ ! -f "$DIR/build.ninja" ]; then
  phase configure cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFC_SANITIZE=ON \
    -DFC_UNITY=ON -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1"
else
  phase configure cmake -S . -B "$DIR"
fi
ABS_DIR=$(cd "$DIR" && pwd)
# A full run (no ctest arguments, as CI) prepares the network-bound test
# fixtures (the container test's base image, npm installs) while compiling.
PREP_PID=
if [ $# -eq 0 ]; then
  bash scripts/lib/prepare-peers.sh "$ABS_DIR" >"$ABS_DIR/prepare-peers.log" 2>&1 &
  PREP_PID=$!
fi
phase build cmake --build "$DIR" -j"$(nproc)"
bash scripts/lib/slowest-units.sh "$DIR" 8
wait_prepared() {
  wait "$PREP_PID" || true
  grep '^prepare-peers:' "$ABS_DIR/prepare-peers.log" || true
}
if [ -n "$PREP_PID" ]; then phase prep-wait wait_prepared; fi

# halt_on_error: a sanitizer finding fails the test that caused it, whether it
# happened in a unit test or in the daemon an integration test started.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_tests() {
  local rc=0
  rm -f "$ABS_DIR/ctest-junit.xml"
  # Every process of this run carries FC_TEST_RUN_ID (ctest's environment
  # only): whatever still carries it after ctest is a leaked daemon or peer,
  # listed ("leaked after the test run: pid … cmd …") and stopped, not fatal.
  local run_id
  run_id="$$-$(date +%s%N)"
  # Four at a time on 2 cores: most integration tests wait on sockets, peers
  # and timers (docs/building.md: 326 s at -j2, 230 and 196 s at -j4, all passing).
  FC_TEST_RUN_ID=$run_id ctest --test-dir "$DIR" --output-on-failure -j"${FC_TEST_JOBS:-4}" \
    --output-junit "$ABS_DIR/ctest-junit.xml" \
    "$@" || rc=$?
  bash scripts/lib/leaked-peers.sh "$run_id"
  bash scripts/lib/slowest-tests.sh "$DIR" 10
  return "$rc"
}
phase test run_tests "$@"
phases_report
