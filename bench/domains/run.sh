#!/usr/bin/env bash
# Custom-domain verifier benchmark: N pending domains whose TXT + CNAME records
# appear at once (bench/domains/bench.py has the details). Starts its own Knot,
# unbound and daemon on loopback in a temp dir and stops them by pid.
# Usage: bench/domains/run.sh [BUILD_DIR]   (FC_BIN=path overrides the binary)
# env: N (10000), WORKSPACES (100), QPS (400, domains.queries_per_second),
#      CONCURRENCY (16, domains.max_concurrent_checks; "derived": unset, the daemon's default), BUDGET_S (300: bound on the wait
#      after the records appear), PRECHECK_S (300: late variant, bound on the wait for first checks),
#      VARIANTS (late,early), RESOLVERS (1: unbound instances in resolver.servers)
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$BUILD/app/fleetcommand" ] || { echo "build it first: cmake --build $BUILD --target fleetcommand" >&2; exit 2; }
for t in knotd knotc unbound unbound-control dig; do
  command -v "$t" >/dev/null || { echo "$t is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
done
echo "uptime before: $(uptime)"
timeout 1800 python3 "$HERE/bench.py" "$BUILD" --n "${N:-10000}" --workspaces "${WORKSPACES:-100}" \
  --qps "${QPS:-400}" --concurrency "${CONCURRENCY:-16}" --budget-s "${BUDGET_S:-300}" --precheck-s "${PRECHECK_S:-300}" --variants "${VARIANTS:-late,early}" --resolvers "${RESOLVERS:-1}"
echo "uptime after: $(uptime)"
