#!/usr/bin/env bash
# Prints the N slowest tests of the last ctest run in BUILD_DIR (from the JUnit
# file scripts/test.sh asks ctest for) and their sum, so a test that grows
# slow shows in every CI log (what to do about it: docs/building.md).
set -euo pipefail
dir=${1:?build dir}
n=${2:-10}
junit="$dir/ctest-junit.xml"
[ -f "$junit" ] || exit 0
python3 - "$junit" "$n" <<'PY'
import sys
import xml.etree.ElementTree as ET

cases = [(float(c.get("time") or 0), c.get("name"), c.find("failure") is not None
          or c.get("status") == "fail") for c in ET.parse(sys.argv[1]).iter("testcase")]
cases.sort(reverse=True)
total = sum(t for t, _, _ in cases)
print(f"== tests: {len(cases)} run, {total:.0f} s summed (wall is less: ctest runs them in"
      f" parallel); slowest:")
for t, name, failed in cases[: int(sys.argv[2])]:
    print(f"   {t:6.1f} s  {name}{'  (failed)' if failed else ''}")
PY
