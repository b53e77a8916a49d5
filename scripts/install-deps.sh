#!/usr/bin/env bash
# Installs every build dependency and every peer the tests and benchmarks use,
# from Debian 12's packages only. Idempotent: installs only what is missing.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libsqlite3-dev libssl-dev nlohmann-json3-dev libspdlog-dev
  libfmt-dev doctest-dev libidn2-dev libpsl-dev publicsuffix
  clang libclang-rt-14-dev clang-format
  python3-yaml
)
PEER_PKGS=(
  python3 sqlite3 curl openssl ca-certificates procps iproute2
  pebble bind9 bind9-dnsutils unbound knot knot-dnsutils dnsperf lego nginx-light wrk
  python3-jsonschema
)

# The OpenAPI lint test (tests/api/openapi_lint_itest.sh) runs the @redocly/cli
# pinned in tools/openapi/package-lock.json, which needs Node.js >= 20.19 with
# npm >= 10; Debian 12's nodejs is 18, so it comes from NodeSource's
# node_20.x repository (https://github.com/nodesource/distributions). The test
# runs `npm ci` itself and fails (never skips) without them.
node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a==20&&b>=19)?0:1)'
}
if ! node_ok; then
  echo "install-deps: WARNING: Node.js >= 20.19 with npm not found; itest_api_openapi_lint_itest will fail" >&2
fi

missing=()
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

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
