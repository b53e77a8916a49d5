#!/usr/bin/env bash
# Installs every build dependency and every peer the tests use, from Debian
# 12's packages only; with --bench also the load generators only benchmarks
# use (scripts/build.sh passes it). Idempotent: installs only what is missing.
#
# The install is part of the cold CI budget (docs/building.md "The budget"):
# every package goes in the arrays below, so that one apt-get transaction
# installs everything (a large peer such as a browser for the console's test
# included: never a second apt-get call, in a test or elsewhere), with
# --no-install-recommends; a tool only benchmarks use goes in BENCH_PKGS.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libsqlite3-dev libssl-dev nlohmann-json3-dev libspdlog-dev
  libfmt-dev doctest-dev libidn2-dev libpsl-dev publicsuffix libsystemd-dev
  libcli11-dev libyaml-cpp-dev libpq-dev
  libgoogle-perftools-dev
  clang libclang-rt-14-dev clang-format
  python3-yaml
)
PEER_PKGS=(
  python3 sqlite3 curl openssl ca-certificates procps iproute2
  pebble bind9 bind9-dnsutils unbound knot knot-dnsutils nginx-light
  systemd lintian adduser prometheus buildah debootstrap python3-jsonschema
  postgresql-15
  # tests/storage/patroni_itest.py: docs/deploy.md's Patroni example (Patroni
  # 3.0.2 pulls python3-etcd; it speaks etcd 3.4's v3 API through its etcd3 key;
  # 12 packages with their dependencies, 8 s of apt-get install here)
  patroni etcd-server
  chromium chromium-driver python3-selenium
)
# Load generators of bench/*/run.sh only (no test runs them): lego alone is a
# 5 MB download and 22 MB unpacked that CI does not need. linux-perf: the
# profiles that bench/webhooks/run.sh records with PERF_OUT. valgrind: the
# instruction counts of bench/scheduler/cpu_counts.sh.
BENCH_PKGS=(dnsperf lego wrk linux-perf valgrind)
if [ "${1:-}" = "--bench" ]; then PEER_PKGS+=("${BENCH_PKGS[@]}"); fi

missing=()
# kubectl renders the Kubernetes manifests (kustomize); Debian's is
# kubernetes-client. A machine that already has a kubectl (another package)
# keeps it: both provide /usr/bin/kubectl.
if ! command -v kubectl >/dev/null; then PEER_PKGS+=(kubernetes-client); fi
# npm installs the pinned test tools (package-lock.json files: @redocly/cli
# for the OpenAPI lint, kubernetes-models for the manifests), which run on
# Debian 12's Node.js 18; a machine with another Node.js keeps it.
if ! command -v npm >/dev/null; then PEER_PKGS+=(nodejs npm); fi
for p in "${BUILD_PKGS[@]}" "${PEER_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Peers such as bind9, unbound and nginx would start system-wide services on
# port 53/80 when installed; the tests start their own instances on loopback
# ports instead, so keep the package scripts from starting anything.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

echo "install-deps: installing ${#missing[@]} packages in one transaction: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# One apt-get transaction for everything (one download pass, one dpkg run, the
# triggers — man-db, ldconfig, systemd — processed once). --force-unsafe-io:
# dpkg skips its fsync per unpacked file (a throw-away CI machine loses nothing
# it could not reinstall). `apt-get update` only when the package lists are
# older than 6 hours (or missing); if the install then fails on a stale list
# (a 404 after a point release), update and retry once.
APT_INSTALL=(apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-unsafe-io)
lists_fresh() {
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -360 -print -quit \
    2>/dev/null)" ]
}
if lists_fresh; then
  echo "install-deps: package lists are fresh (< 6 h), no apt-get update"
  if $SUDO "${APT_INSTALL[@]}" "${missing[@]}"; then exit 0; fi
  echo "install-deps: install failed on the present lists; apt-get update and retry"
fi
$SUDO apt-get update -q
$SUDO "${APT_INSTALL[@]}" "${missing[@]}"
