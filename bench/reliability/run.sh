#!/usr/bin/env bash
# Reliability campaign (docs/BENCHMARKS.md "Reliability"): N SIGKILLs of the
# daemon during a mixed create/migrate/delete/domain/certificate burst with
# three reference agents and Pebble, all on loopback; bounded by --budget-s.
#   bench/reliability/run.sh BUILD_DIR [KILLS (100)] [BUDGET_S (1800)] [SEED]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR [KILLS] [BUDGET_S] [SEED]}
kills=${2:-100}
budget=${3:-1800}
seed=${4:-$RANDOM}
export FC_BIN=$(cd "$build" && pwd)/app/fleetcommand  # the daemon in a CMake build tree
export FC_SOURCE_DIR=$(cd "$here/../.." && pwd)
command -v pebble >/dev/null || { echo "pebble not installed (scripts/install-deps.sh)"; exit 77; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/campaign.py" --kills "$kills" --budget-s "$budget" --seed "$seed"
rc=$?
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
