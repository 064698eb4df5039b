#!/usr/bin/env bash
# Runs every benchmark binary in the build dir, side by side in one run.
set -euo pipefail
build=${1:-build}
for b in "$build"/bench/*/*_bench; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time=0.2 "${@:2}"
done
