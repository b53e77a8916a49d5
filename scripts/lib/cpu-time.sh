#!/usr/bin/env bash
# Compiler/linker launcher that appends "user_s sys_s wall_s output" per step to
# $FC_CPU_LOG (default ./cpu-time.log), so a build's cost can be measured in
# CPU seconds even on a busy machine (wall times from .ninja_log are not):
#   cmake -S . -B build-m ... -DCMAKE_CXX_COMPILER_LAUNCHER=$PWD/scripts/lib/cpu-time.sh \
#         -DCMAKE_CXX_LINKER_LAUNCHER=$PWD/scripts/lib/cpu-time.sh
#   FC_CPU_LOG=$PWD/cpu.log cmake --build build-m -j2
#   sort -rn cpu.log | head      # docs/building.md has the last breakdown
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then out=$a; fi
  prev=$a
done
exec /usr/bin/time -a -o "${FC_CPU_LOG:-$PWD/cpu-time.log}" -f "%U %S %e $out" "$@"
