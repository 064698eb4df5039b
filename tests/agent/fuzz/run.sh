#!/usr/bin/env bash
# Builds the agent's libFuzzer fuzzers (clang, ASan, UBSan) in their own build
# directory and runs each for FUZZ_SECONDS, in parallel, then prints the
# executions and crashes of each. Exits non-zero when one crashed or broke a
# property (the input is left in $BUILD/artifacts/<fuzzer>/). Same knobs as
# scripts/fuzz.sh: FUZZ_SECONDS (600), FUZZ_NICE (10), FUZZ_BUILD
# (build-agent-fuzz). clang comes from scripts/fuzz.sh's package list.
set -euo pipefail
cd "$(dirname "$0")/../../.."
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_NICE=${FUZZ_NICE:-10}
BUILD=${FUZZ_BUILD:-build-agent-fuzz}
FUZZERS="agent_frame_fuzzer agent_request_fuzzer"
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
  flags+=" -fno-omit-frame-pointer -Wno-unknown-warning-option"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DVMSHARE_FUZZ=ON >/dev/null
  # shellcheck disable=SC2086
  ninja -C "$BUILD" $FUZZERS
fi
pids=()
for f in $FUZZERS; do
  work="$BUILD/fuzz-corpus/$f" art="$BUILD/artifacts/$f/"
  rm -rf "$art"
  mkdir -p "$work" "$art"
  nice -n "$FUZZ_NICE" "$BUILD/tests/agent/fuzz/$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" "$work" \
    "tests/agent/fuzz/corpus/$f" >"$BUILD/$f.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
total=0
printf '%-24s %14s %10s %10s %8s\n' fuzzer executions exec/s corpus crashes
for f in $FUZZERS; do
  log="$BUILD/$f.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$BUILD/fuzz-corpus/$f" -type f | wc -l)
  crashes=$(find "$BUILD/artifacts/$f" -type f | wc -l)
  if [ -z "$execs" ] && [ "$crashes" = 0 ]; then crashes=1; fi
  total=$((total + crashes))
  printf '%-24s %14s %10s %10s %8s\n' "$f" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes"
  [ "$crashes" = 0 ] || grep -m3 -E "FUZZ PROPERTY VIOLATED|ERROR: |runtime error" "$log" >&2 || true
done
[ "$total" = 0 ]
