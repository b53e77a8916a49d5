#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (Debian 12's, 14.x)
# makes of it with the committed .clang-format (STYLE.md: Google, 100 columns).
# Fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z '*.cpp' '*.hpp' | xargs -0 clang-format --dry-run --Werror
echo "check-format: $(git ls-files '*.cpp' '*.hpp' | wc -l) files formatted"
