#!/usr/bin/env bash
# Durable placements/s through the API: SQLite (one daemon), PostgreSQL with
# one daemon, and PostgreSQL with two daemons (leader + standby, wrk against
# both at once), in one run on one machine; then the failover time (SIGKILL
# of the leader under load until the first placement acknowledged through the
# standby). docs/BENCHMARKS.md "Several daemons on one PostgreSQL".
#   bench/ha/run.sh [BUILD_DIR]      (default build; needs wrk: scripts/install-deps.sh --bench)
# Env: DURATION (s, default 10), CONNS (per daemon, default 32), PROFILE=1 (perf
# record of the one PostgreSQL daemon during its load: the top symbols).
# STATEMENTS=1: pg_stat_statements over that run (statements per placement).
# ONLY=pg1 / ONLY=pg2: only the one-daemon / the two-daemon PostgreSQL load (quick A/Bs).
# Each line also gives the daemon's and PostgreSQL's CPU per placement and the
# group commit's transactions per commit (/metrics).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
export FC_BIN=${FC_BIN:-$(cd "$build" && pwd)/app/fleetcommand}
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh --bench" >&2; exit 1; }
if [ "${STATEMENTS:-0}" = 1 ]; then
  export FC_TEST_PG_OPTS="${FC_TEST_PG_OPTS:-} -c shared_preload_libraries=pg_stat_statements"
fi
exec python3 "$here/../../tests/lib/pgcluster.py" run -- python3 "$here/run.py"
