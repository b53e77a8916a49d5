#!/usr/bin/env bash
# Prints the N slowest compile steps of the last build in BUILD_DIR (from
# .ninja_log) and how many units were compiled rather than taken from ccache,
# so a change that makes the build heavier shows in every CI log.
set -euo pipefail
dir=${1:?build dir}
n=${2:-8}
log="$dir/.ninja_log"
[ -f "$log" ] || exit 0
# .ninja_log v5: start_ms end_ms mtime output hash. Keep the last entry per
# output (the log appends across builds) and only object files.
awk 'NR > 1 && $4 ~ /\.o$/ { d[$4] = $2 - $1 } END { for (o in d) print d[o], o }' "$log" \
  | sort -rn > "$dir/.unit_times"
total=$(awk '{ s += $1 } END { printf "%.0f", s / 1000 }' "$dir/.unit_times")
slow=$(awk '$1 > 1000' "$dir/.unit_times" | wc -l)
echo "== compile steps: $(wc -l < "$dir/.unit_times") objects, $slow took over 1 s" \
  "(compiled, not from ccache), ${total} s summed; slowest:"
head -n "$n" "$dir/.unit_times" | awk '{ printf "   %6.1f s  %s\n", $1 / 1000, $2 }'
