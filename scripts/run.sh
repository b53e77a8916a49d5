#!/usr/bin/env bash
# Sets everything up and runs the daemon on its embedded defaults:
# database under ./var/, API on 127.0.0.1:8080, HTTP-01 responder on
# 127.0.0.1:8081, DNS on 127.0.0.1:5353, the first admin token in var/admin.token.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec ./build/app/fleetcommand serve "$@"
