#!/usr/bin/env bash
# Builds the libFuzzer fuzzers (tests/fuzz, tests/agent/fuzz) with clang, ASan and UBSan in
# their own build directory and runs each for FUZZ_SECONDS, then prints the
# executions and crashes of each. Exits non-zero when any fuzzer crashed or
# broke a property; the input is left in $BUILD/artifacts/<fuzzer>/.
#
#   FUZZ_SECONDS   seconds per fuzzer (default 600)
#   FUZZ_PARALLEL  1: run the fuzzers at the same time (default), 0: in turn
#   FUZZ_NICE      nice level of the fuzzers (default 10)
#   FUZZERS        which ones (default: all)
#   FUZZ_BUILD     build directory (default build-fuzz)
# The normal gcc build is not touched; it runs the same fuzzers as quick
# replays of their corpora (ctest -L fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-1}
FUZZ_NICE=${FUZZ_NICE:-10}
FUZZERS=${FUZZERS:-"persist_schema_fuzzer persist_store_fuzzer bundle_fuzzer capi_json_fuzzer agent_frame_fuzzer agent_request_fuzzer"}
BUILD=${FUZZ_BUILD:-build-fuzz}

# clang and its libFuzzer/sanitizer runtimes are needed by fuzzing only, so
# they are asked for here rather than listed in install-deps.sh.
scripts/install-deps.sh clang libclang-rt-14-dev

# -Wno-unknown-warning-option: VMSHARE_WARNINGS has gcc's -Wshadow=local.
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
flags+=" -fno-omit-frame-pointer -Wno-unknown-warning-option"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DVMSHARE_FUZZ=ON >/dev/null
# shellcheck disable=SC2086
ninja -C "$BUILD" $FUZZERS

run_one() {
  local name=$1 work="$BUILD/fuzz-corpus/$1" art="$BUILD/artifacts/$1/"
  mkdir -p "$work" "$art"
  # Seeds and regressions are read-only inputs; new finds go to $work.
  local src=tests/fuzz args=()
  case "$name" in
    agent_*) src=tests/agent/fuzz; args+=(-rss_limit_mb=2048) ;;
    bundle_fuzzer) args+=(-dict=tests/fuzz/bundle.dict) ;;
    *) args+=(-dict=tests/fuzz/persist.dict) ;;
  esac
  local inputs=("$src/corpus/$name")
  [ -d "$src/regressions/$name" ] && inputs+=("$src/regressions/$name")
  nice -n "$FUZZ_NICE" "$BUILD/$src/$name" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
    "${args[@]}" -print_final_stats=1 -artifact_prefix="$art" "$work" \
    "${inputs[@]}" >"$BUILD/$name.log" 2>&1 || true
}

echo "fuzz: running $FUZZERS for ${FUZZ_SECONDS}s each (parallel=$FUZZ_PARALLEL, nice $FUZZ_NICE)"
pids=()
for f in $FUZZERS; do
  rm -rf "$BUILD/artifacts/$f"
  if [ "$FUZZ_PARALLEL" = 1 ]; then run_one "$f" & pids+=($!); else run_one "$f"; fi
done
for p in "${pids[@]}"; do wait "$p"; done

total_crashes=0
printf '%-24s %14s %10s %10s %8s\n' fuzzer executions exec/s corpus crashes
for f in $FUZZERS; do
  log="$BUILD/$f.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$BUILD/fuzz-corpus/$f" -type f | wc -l)
  crashes=$(find "$BUILD/artifacts/$f" -type f | wc -l)
  # No final stats means the fuzzer died without saying why: count it.
  if [ -z "$execs" ] && [ "$crashes" = 0 ]; then crashes=1; fi
  total_crashes=$((total_crashes + crashes))
  printf '%-24s %14s %10s %10s %8s\n' "$f" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes"
  if [ "$crashes" != 0 ]; then
    echo "  see $log and $BUILD/artifacts/$f/" >&2
    grep -m3 -E "FUZZ PROPERTY VIOLATED|ERROR: (Address|Leak|libFuzzer)|runtime error" "$log" >&2 || true
  fi
done
[ "$total_crashes" = 0 ]
