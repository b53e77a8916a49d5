#!/usr/bin/env bash
# HTTP benchmark (docs/BENCHMARKS.md "HTTP"): an authenticated
# GET /v1/regions/{id} through fleetcommand vs. nginx serving the very same
# bytes as a static file, both on loopback, both with
# `wrk -t2 -c64 -d${DURATION}s --latency`, in the same run.
#
#   bench/http/run.sh [BUILD_DIR]          (default: build-ft next to this repo)
#   env: FC_BIN (overrides BUILD_DIR), DURATION (default 10), LOG_LEVEL (daemon
#   log.level, default info: one access-log line per request, as deployed),
#   PIN (default 1: each server on core 0, wrk on the other cores, so the
#   load generator never shares the server's core), CONNS (default 64)
#
# Starts both servers in a private temp dir, stops them by pid on exit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build-ft}" && pwd)"
fc_bin="${FC_BIN:-$build/app/fleetcommand}"
duration="${DURATION:-10}"
log_level="${LOG_LEVEL:-info}"
conns="${CONNS:-64}"
srv_pin=(); wrk_pin=()
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -gt 1 ]; then
  srv_pin=(taskset -c 0); wrk_pin=(taskset -c "1-$(($(nproc) - 1))")
fi
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
done
[ -x "$fc_bin" ] || { echo "run.sh: no fleetcommand binary at $fc_bin (build it or set FC_BIN)" >&2; exit 2; }

tmp="$(mktemp -d /tmp/fc-http-bench-XXXXXX)"
fc_pid=""
ngx_pid=""
cleanup() {
  [ -n "$fc_pid" ] && kill "$fc_pid" 2>/dev/null && wait "$fc_pid" 2>/dev/null || true
  [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # url, bounded to ~10 s
  for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "run.sh: $1 did not come up" >&2; [ -f "$tmp/fc.log" ] && tail -5 "$tmp/fc.log" >&2; exit 1
}

# --- fleetcommand ---
api_port="$(free_port)"; acme_port="$(free_port)"; dns_port="$(free_port)"
cat >"$tmp/fc.json" <<EOF
{"api": {"listen": "127.0.0.1:$api_port"}, "acme_http": {"listen": "127.0.0.1:$acme_port"},
 "dns": {"listen": "127.0.0.1:$dns_port"}, "log": {"level": "$log_level"}}
EOF
(cd "$tmp" && exec "${srv_pin[@]}" "$fc_bin" serve --config "$tmp/fc.json" 2>"$tmp/fc.log") &
fc_pid=$!
wait_http "http://127.0.0.1:$api_port/readyz"
for _ in $(seq 1 100); do [ -s "$tmp/var/admin.token" ] && break; sleep 0.05; done
token="$(cat "$tmp/var/admin.token")"
curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"id":"eu-west-1","name":"EU West","labels":{"jurisdiction":"eu"},
       "ingress":{"ipv4":["192.0.2.10"],"ipv6":[],"hostname":null},
       "capacity":{"memory_mib":65536,"cpu_millis":32000,"workspaces":100}}' \
  "http://127.0.0.1:$api_port/v1/regions"
fc_url="http://127.0.0.1:$api_port/v1/regions/eu-west-1"
mkdir -p "$tmp/www"
curl -fsS -H "Authorization: Bearer $token" "$fc_url" >"$tmp/www/region.json"
# nginx's worker drops root privileges: let it read the file (not the rest).
chmod 0711 "$tmp"
chmod 0755 "$tmp/www"
chmod 0644 "$tmp/www/region.json"

# --- nginx: the same bytes as a static file, 1 worker, no daemonizing ---
ngx_port="$(free_port)"
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $tmp/nginx/access.log;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$ngx_port;
    root $tmp/www;
    location = /region.json { default_type application/json; }
  }
}
EOF
"${srv_pin[@]}" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
ngx_pid=$!
ngx_url="http://127.0.0.1:$ngx_port/region.json"
wait_http "$ngx_url"

echo "response body: $(wc -c <"$tmp/www/region.json") bytes (identical for both)"
echo "wrk -t2 -c$conns -d${duration}s --latency; fleetcommand log.level=$log_level; $(nproc) cores; pinned: ${srv_pin[*]:-no} / wrk ${wrk_pin[*]:-no}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

run_wrk() {  # name url [header]
  local out
  local args=(-t2 -c"$conns" -d"${duration}s" --latency -s "$here/percentiles.lua")
  if [ -n "${3:-}" ]; then
    out="$("${wrk_pin[@]}" wrk "${args[@]}" -H "$3" "$2")"
  else
    out="$("${wrk_pin[@]}" wrk "${args[@]}" "$2")"
  fi
  echo "$out" >"$tmp/wrk-$1.txt"
  local rps p99 p50 errors pct
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)"
  pct="$(awk '$1=="pct" {print $5, $6}' <<<"$out")"
  printf '%-13s req/s %10s   p50 %8s   p99 %8s   %s   %s\n' "$1" "$rps" "$p50" "$p99" "$pct" "$errors"
  echo "$rps" >"$tmp/rps-$1"
  echo "$p99" >"$tmp/p99-$1"
}

run_wrk nginx "$ngx_url"
run_wrk fleetcommand "$fc_url" "Authorization: Bearer $token"

python3 - "$tmp" <<'EOF'
import sys
d = sys.argv[1]
def num(name):
    return float(open(f"{d}/{name}").read().strip() or 0)
def ms(name):
    s = open(f"{d}/{name}").read().strip()
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1000.0)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float("nan")
ratio = num("rps-fleetcommand") / num("rps-nginx") if num("rps-nginx") else 0
p99 = ms("p99-fleetcommand")
print(f"\nratio fleetcommand/nginx req/s: {ratio:.2f}  (aim >= 0.5)")
print(f"fleetcommand p99: {p99:.2f} ms  (aim <= 5 ms)")
EOF
