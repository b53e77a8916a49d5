# Times named phases of a script and prints them at the end (sourced by
# scripts/test.sh). phase NAME CMD... runs CMD and records its wall time.
PHASE_NAMES=()
PHASE_SECS=()
PHASES_START=$(date +%s)
phase() {
  local name=$1 t0 rc=0
  shift
  t0=$(date +%s)
  "$@" || rc=$?
  PHASE_NAMES+=("$name")
  PHASE_SECS+=($(( $(date +%s) - t0 )))
  if [ "$rc" -ne 0 ]; then
    echo "phase '$name' failed (exit $rc)" >&2
    phases_report >&2
    exit "$rc"
  fi
}
phases_report() {
  local i
  echo "== phase times (budget for a cold run: 1200 s in all; docs/building.md)"
  for i in "${!PHASE_NAMES[@]}"; do
    printf '   %-10s %5d s\n' "${PHASE_NAMES[$i]}" "${PHASE_SECS[$i]}"
  done
  printf '   %-10s %5d s\n' total $(( $(date +%s) - PHASES_START ))
}
