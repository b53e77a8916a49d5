#!/usr/bin/env bash
# Prepares, in the background while scripts/test.sh compiles, what some tests
# would otherwise fetch from the network in the test phase:
#   - the container test's Debian base image (debootstrap, ~2 min, only on a
#     machine whose buildah store does not have it yet),
#   - the npm installs of the OpenAPI lint, the Kubernetes manifest checks and
#     the console's axe-core (once per lock file, into the build tree).
# Each is the test's own code (`--prepare`), so what is prepared is exactly what
# the test would make; a step that fails here is only logged: the test does it
# again and fails with its own message. Network and disk bound, so it runs
# niced beside the compiler. Usage: prepare-peers.sh BUILD_DIR (absolute).
set -uo pipefail
cd "$(dirname "$0")/../.."
export FC_SOURCE_DIR=$PWD FC_BUILD_DIR=${1:?build dir} PYTHONPATH=$PWD/tests/lib
export PYTHONDONTWRITEBYTECODE=1
step() {
  local name=$1 t0 rc=0
  shift
  t0=$(date +%s)
  nice -n 10 "$@" || rc=$?
  echo "prepare-peers: step=$name rc=$rc seconds=$(( $(date +%s) - t0 ))"
}
if [ "$(id -u)" -eq 0 ] && command -v buildah >/dev/null && command -v debootstrap >/dev/null; then
  step container-base python3 tests/app/container_itest.py --prepare
fi
if command -v npm >/dev/null; then
  step npm-openapi-lint bash tests/api/openapi_lint_itest.sh --prepare
  step npm-kubernetes-models python3 tests/app/kubernetes_itest.py --prepare
  step npm-console-axe python3 tests/console/console_itest.py --prepare
fi
exit 0
