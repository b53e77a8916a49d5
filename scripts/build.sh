#!/usr/bin/env bash
# Installs what is missing, then configures and builds into ./build (Ninja, ccache).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench  # the benchmarks run this build
# Let ccache share objects between clones in different folders (CI clones
# fresh each time): paths below the source dir are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j"$(nproc)"
