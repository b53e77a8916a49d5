#!/usr/bin/env bash
# Usage: leaked-peers.sh RUN_ID
# After a test run whose processes carried FC_TEST_RUN_ID=RUN_ID in their
# environment (scripts/test.sh sets it for ctest only), lists every process
# that still carries it — a daemon, agent or peer (Pebble, BIND, unbound,
# Knot, PostgreSQL's postmaster, etcd, Patroni, nginx, a receiver) some test
# left running — as "leaked after the test run: pid … cmd …", and stops it
# (SIGTERM, SIGKILL after 5 s). A leak is reported, never fatal: exit 0.
# The environment marks this run's processes only, whoever else runs tests
# on the machine at the same time. PostgreSQL's backends rewrite their
# environment area (their ps display) but exit with their postmaster.
set -uo pipefail
id=${1:?usage: leaked-peers.sh RUN_ID}
leaked=()
for env in /proc/[0-9]*/environ; do
  pid=${env#/proc/}
  pid=${pid%/environ}
  [ "$pid" = "$$" ] && continue
  if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "FC_TEST_RUN_ID=$id"; then
    cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-300)
    [ -n "$cmd" ] || continue # a zombie: already gone
    echo "leaked after the test run: pid $pid cmd $cmd"
    leaked+=("$pid")
  fi
done
if [ ${#leaked[@]} -eq 0 ]; then
  echo "leaked-peers: no process of this test run left running"
  exit 0
fi
kill -TERM "${leaked[@]}" 2>/dev/null
for _ in $(seq 50); do
  alive=()
  for pid in "${leaked[@]}"; do
    [ -n "$({ tr -d '\0' <"/proc/$pid/cmdline"; } 2>/dev/null)" ] && alive+=("$pid")
  done
  [ ${#alive[@]} -eq 0 ] && break
  sleep 0.1
done
[ ${#alive[@]} -gt 0 ] && kill -KILL "${alive[@]}" 2>/dev/null
echo "leaked-peers: ${#leaked[@]} process(es) of this test run were left running; stopped"
exit 0
