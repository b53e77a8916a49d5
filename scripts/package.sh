#!/usr/bin/env bash
# Builds the Debian package from an optimized build (build/):
#   bash scripts/package.sh   → build/fleetcommand_<version>_<arch>.deb
# docs/deploy.md says what it installs; tests/app/package_itest.py checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
cpack -G DEB
ls -l fleetcommand_*.deb
