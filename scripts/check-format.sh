#!/usr/bin/env bash
# Checks that C/C++ sources match .clang-format (Google style, 100 columns).
#
# Usage: check-format.sh [--fix] [FILE...]
#   Without FILEs: every tracked C/C++ file under src tests bench include
#   examples (`git ls-files`; outside a git checkout, `find`). Lists each file
#   that differs and exits 1 if any does; --fix rewrites them in place.
#   Exits 77 (CTest's skip) when clang-format is not installed.
set -euo pipefail
fix=0
if [ "${1:-}" = --fix ]; then fix=1; shift; fi
# FILEs are taken relative to where we were started; the rest of the script
# runs at the top of the tree (where .clang-format is).
args=()
for f in "$@"; do args+=("$(realpath -m -- "$f")"); done
set -- "${args[@]}"
cd "$(dirname "$0")/.."
# The tree's style even for a FILE outside it.
style="--style=file:$PWD/.clang-format"
clang_format=${CLANG_FORMAT:-clang-format}
command -v "$clang_format" >/dev/null || {
  echo "check-format: $clang_format not found (scripts/install-deps.sh installs it)" >&2; exit 77; }

dirs=(src tests bench include examples)
if [ $# -gt 0 ]; then
  files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- "${dirs[@]}" | grep -E '\.(c|cc|cpp|h|hpp)$' || true)
else
  existing=()
  for d in "${dirs[@]}"; do [ -d "$d" ] && existing+=("$d"); done
  mapfile -t files < <(find "${existing[@]}" -type f \
    \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \) | sort)
fi

bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! "$clang_format" "$style" "$f" | cmp -s - "$f"; then
    if [ "$fix" = 1 ]; then
      "$clang_format" "$style" -i "$f"
      echo "check-format: reformatted $f"
    else
      echo "check-format: $f differs from .clang-format"
      bad=$((bad + 1))
    fi
  fi
done
if [ "$bad" -gt 0 ]; then
  echo "check-format: $bad of ${#files[@]} files differ ($("$clang_format" --version));" \
       "scripts/check-format.sh --fix [FILE...] rewrites them" >&2
  exit 1
fi
