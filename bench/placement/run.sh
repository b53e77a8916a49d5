#!/usr/bin/env bash
# Placement decisions at 10 / 1,000 / 10,000 regions, before (scan: views() +
# pick(), the create path until issue #16 item 3) and after (index:
# CapacityIndex::pick) in the same run, then callgrind's instructions per
# placement for both (stable under load). docs/BENCHMARKS.md "Placement index".
#   bench/placement/run.sh BENCH_BINARY [COUNT (100000)] [CALLGRIND_COUNT (2000)]
# BENCH_BINARY: placement_bench from a Release build (or -O2).
set -euo pipefail
bin=${1:?usage: run.sh PLACEMENT_BENCH [COUNT] [CALLGRIND_COUNT]}
count=${2:-100000}
cg=${3:-2000}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for policy in spread binpack; do
  for regions in 10 1000 10000; do
    for mode in scan index; do
      # exit 3 = some placement found no region (binpack fills the few eu
      # regions of a 10-region fleet): reported, the same in both modes
      { "$bin" --count "$count" --budget-s 60 --policy "$policy" --regions "$regions" \
          --mode "$mode" || [ $? -eq 3 ]; } | tr '\n' ' '
      echo
    done
  done
done
if command -v valgrind >/dev/null; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for regions in 10 1000 10000; do
    for mode in scan index; do
      # instructions of a run with 0 placements are subtracted: set-up only
      for n in 1 "$cg"; do
        valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n" "$bin" --count "$n" \
          --budget-s 600 --regions "$regions" --mode "$mode" >/dev/null 2>"$tmp/log.$n" || true
        grep -o 'Collected : [0-9]*' "$tmp/log.$n" | awk '{print $3}' >"$tmp/ir.$n"
      done
      awk -v r="$regions" -v m="$mode" -v n="$cg" -v a="$(cat "$tmp/ir.1")" -v b="$(cat "$tmp/ir.$cg")" \
        'BEGIN { printf "callgrind mode=%s regions=%d instructions_per_placement=%.0f\n", m, r, (b - a) / (n - 1) }'
    done
  done
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
