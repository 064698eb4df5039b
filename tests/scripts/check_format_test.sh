#!/usr/bin/env bash
# scripts/check-format.sh on files outside the tree: a misformatted file is
# reported (exit 1) and left alone, --fix rewrites it in the tree's style
# (Google, 100 columns), and a formatted file passes (exit 0).
set -euo pipefail
src=${1:?usage: check_format_test.sh SOURCE_DIR}
check="$src/scripts/check-format.sh"
command -v clang-format >/dev/null || { echo "SKIP: clang-format missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int  main( ) {return 0;}\n' > "$tmp/bad.cc"
cp "$tmp/bad.cc" "$tmp/orig.cc"
if "$check" "$tmp/bad.cc" > "$tmp/out" 2>&1; then
  echo "FAIL: a misformatted file passed"; cat "$tmp/out"; exit 1
fi
grep -q "bad.cc differs" "$tmp/out" || { echo "FAIL: the file is not named:"; cat "$tmp/out"; exit 1; }
cmp -s "$tmp/bad.cc" "$tmp/orig.cc" || { echo "FAIL: the check changed the file"; exit 1; }
"$check" --fix "$tmp/bad.cc" > /dev/null
[ "$(cat "$tmp/bad.cc")" = "int main() { return 0; }" ] ||
  { echo "FAIL: --fix wrote:"; cat "$tmp/bad.cc"; exit 1; }
"$check" "$tmp/bad.cc" || { echo "FAIL: a formatted file failed"; exit 1; }
# 100 columns: a 95-column line stays on one line.
line="int f(int a, int b) { return a + b + a + b + a + b + a + b + a + b + a + b + a + b + 1234; }"
printf '%s\n' "$line" > "$tmp/long.cc"
"$check" "$tmp/long.cc" || { echo "FAIL: a ${#line}-column line was split"; exit 1; }
echo "PASS"
