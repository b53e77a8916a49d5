#!/usr/bin/env bash
# Memory and start-up at fleet size (docs/BENCHMARKS.md "Scale", issue #16
# item 10): 1,000,000 workspaces in 100 regions and 100,000 custom domains,
# RSS after start and after a burst, restart to ready, and the p99 of
# GET /v1/workspaces?limit=1000. Everything in a private temp dir on loopback.
#
#   bench/scale/run.sh [BUILD_DIR (build)]
#   env: WORKSPACES (1000000), DOMAINS (100000), REGIONS (100), PAGES (400),
#        CREATES (2000), DELETES (200), RESTARTS (3), PIN=1 (daemon on CPU 0, client on CPU 1),
#        KEEP=DIR (populate once into DIR and keep it; a later run with the
#        same KEEP reuses the database), ATTRIBUTE=1 (also measure without the
#        workspaces in DNS: the embedded zone's share of RSS and start time)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build}" && pwd)"
fc_bin="$build/app/fleetcommand"
[ -x "$fc_bin" ] || { echo "run.sh: no fleetcommand binary at $fc_bin" >&2; exit 2; }
pin=()
[ "${PIN:-0}" = 1 ] && pin=(--pin-daemon 0 --pin-client 1)
reuse=()
if [ -n "${KEEP:-}" ]; then
  dir="$KEEP"; mkdir -p "$dir"
  [ -f "$dir/var/fleetcommand.db" ] && reuse=(--reuse)
else
  dir="$(mktemp -d /tmp/fc-scale-bench-XXXXXX)"
  trap 'rm -rf "$dir"' EXIT
fi
echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), $(git -C "$repo" rev-parse --short HEAD)"
python3 "$here/scale.py" "$fc_bin" "$dir" --workspaces "${WORKSPACES:-1000000}" --regions "${REGIONS:-100}" \
  --domains "${DOMAINS:-100000}" --pages "${PAGES:-400}" --creates "${CREATES:-2000}" --deletes "${DELETES:-200}" \
  --restarts "${RESTARTS:-3}" ${ATTRIBUTE:+--attribute} "${pin[@]}" "${reuse[@]}"
(cd "$dir" && "$fc_bin" fsck --config "$dir/fc.json" 2>&1 | tail -1)
