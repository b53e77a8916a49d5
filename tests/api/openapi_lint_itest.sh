#!/usr/bin/env bash
# Lints api/openapi/openapi.yaml with the pinned @redocly/cli
# (tools/openapi/package.json + package-lock.json): zero errors, zero warnings.
# `npm ci` installs into the build tree once per lock file; no network or an
# install failure fails this test (it never skips). `--prepare` installs only.
set -euo pipefail
SRC=${FC_SOURCE_DIR:?FC_SOURCE_DIR not set}
BUILD=${FC_BUILD_DIR:?FC_BUILD_DIR not set}
TOOL="$BUILD/openapi-lint"
mkdir -p "$TOOL"
if ! command -v npm >/dev/null; then
  echo "FAIL: npm not found; scripts/install-deps.sh installs Debian's nodejs and npm" >&2
  exit 1
fi
if ! cmp -s "$SRC/tools/openapi/package-lock.json" "$TOOL/package-lock.json" ||
   [ ! -x "$TOOL/node_modules/.bin/redocly" ]; then
  cp "$SRC/tools/openapi/package.json" "$SRC/tools/openapi/package-lock.json" "$TOOL/"
  echo "openapi-lint: npm ci in $TOOL"
  if ! (cd "$TOOL" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund); then
    rm -f "$TOOL/package-lock.json"  # retry the install next time
    echo "FAIL: npm ci of @redocly/cli failed (no network to the npm registry?)" >&2
    exit 1
  fi
fi
# --prepare: only the install (scripts/test.sh runs it during the build).
if [ "${1:-}" = "--prepare" ]; then exit 0; fi
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1
out=$(cd "$TOOL" && timeout 120 ./node_modules/.bin/redocly lint --format=stylish \
  --config "$SRC/tools/openapi/redocly.yaml" "$SRC/api/openapi/openapi.yaml" 2>&1) || {
  echo "$out"
  echo "FAIL: redocly lint reported errors" >&2
  exit 1
}
echo "$out" | grep -v '^\s*[║╔╚]' || true
if echo "$out" | grep -Eq '^\s+[0-9]+:[0-9]+\s+warning'; then
  echo "FAIL: redocly lint reported warnings" >&2
  exit 1
fi
echo "openapi-lint: 0 errors, 0 warnings"
