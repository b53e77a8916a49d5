# Shared by the bench scripts that start the daemon themselves
# (bench/scheduler/run.sh, cpu_counts.sh, bench/storage/backup_run.sh).
#
# wait_ready NAME PID PORT LOG [TENTHS]: returns once the daemon answers
# /readyz on 127.0.0.1:PORT; exits the script (status 1, the log's tail on
# stderr) if process PID ended first or after TENTHS tenths of a second
# (default 600: one minute).
wait_ready() {
  local name=$1 pid=$2 port=$3 log=$4 tenths=${5:-600}
  for _ in $(seq 1 "$tenths"); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name: daemon did not come up" >&2
  tail -5 "$log" >&2
  exit 1
}
