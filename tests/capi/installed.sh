#!/usr/bin/env bash
# Tests of the INSTALLED vmshare package (the prefix `cmake --install` filled
# in, see tests/capi/CMakeLists.txt):
#
#   installed.sh install  BUILD PREFIX         cmake --install into PREFIX
#   installed.sh symbols  PREFIX VERSION       SONAME, version, only vmshare_* exported
#   installed.sh layout   PREFIX               every installed file where it belongs
#   installed.sh pkgconfig PREFIX SRC WORK CC  example built with pkg-config, run
#   installed.sh cmake    PREFIX SRC WORK      example built with find_package, run
#   installed.sh ctest    PREFIX SRC WORK CC VERSION   tests/capi/capi_test.c, run
#   installed.sh go       PREFIX SRC WORK      bindings/go's `go test ./...` (exit 77:
#                                              skipped, Go is not installed)
#
# The examples and C tests mount: as root they run in a private mount
# namespace (unshare -m), else the parts that mount are skipped.
set -euo pipefail
mode=$1
shift

fail() { echo "FAIL: $*" >&2; exit 1; }

libdir_of() {
  local d
  for d in "$1"/lib "$1"/lib64 "$1"/lib/*-linux-gnu; do
    [ -e "$d/libvmshare.so" ] && { echo "$d"; return; }
  done
  fail "no libvmshare.so under $1"
}

# Runs "$@" in a private mount namespace when root.
in_namespace() {
  if [ "$(id -u)" = 0 ]; then unshare -m --propagation private "$@"; else "$@"; fi
}

case $mode in
install)
  build=$1 prefix=$2
  rm -rf "$prefix"
  cmake --install "$build" --prefix "$prefix" >/dev/null
  ;;
symbols)
  prefix=$1 version=$2
  lib=$(libdir_of "$prefix")
  real=$(readlink -f "$lib/libvmshare.so")
  [ "$(basename "$real")" = "libvmshare.so.$version" ] || fail "libvmshare.so points to $real, want libvmshare.so.$version"
  soname=$(objdump -p "$real" | awk '$1 == "SONAME" {print $2}')
  [ "$soname" = "libvmshare.so.${version%%.*}" ] || fail "SONAME is '$soname', want libvmshare.so.${version%%.*}"
  [ -e "$lib/$soname" ] || fail "$lib/$soname is missing"
  exported=$(nm -D --defined-only "$real" | awk '{print $3}' | sed 's/@.*//' | sort -u)
  [ -n "$exported" ] || fail "nm -D found no exported symbol"
  others=$(echo "$exported" | grep -v '^vmshare_' | grep -v '^VMSHARE_' || true)
  [ -z "$others" ] || fail "symbols other than vmshare_* are exported: $(echo $others | head -c 400)"
  header="$prefix/include/vmshare/vmshare.h"
  # Every function the header declares is exported, and nothing else.
  declared=$(grep -oE '\bvmshare_[a-z_]+\(' "$header" | tr -d '(' | sort -u)
  missing=$(comm -23 <(echo "$declared") <(echo "$exported" | grep '^vmshare_'))
  extra=$(comm -13 <(echo "$declared") <(echo "$exported" | grep '^vmshare_'))
  [ -z "$missing" ] || fail "declared but not exported: $missing"
  [ -z "$extra" ] || fail "exported but not declared: $extra"
  echo "libvmshare.so.$version (SONAME $soname) exports $(echo "$exported" | grep -c '^vmshare_') vmshare_* symbols, nothing else"
  ;;
layout)
  prefix=$1
  lib=$(libdir_of "$prefix")
  for f in include/vmshare/vmshare.h bin/vmshare libexec/vmshare/vmshare-agent \
           share/vmshare/guest/vmlinuz share/vmshare/guest/initramfs.img; do
    [ -e "$prefix/$f" ] || fail "$prefix/$f is not installed"
  done
  for f in pkgconfig/vmshare.pc cmake/vmshare/vmshareConfig.cmake cmake/vmshare/vmshareConfigVersion.cmake \
           cmake/vmshare/vmshareTargets.cmake; do
    [ -e "$lib/$f" ] || fail "$lib/$f is not installed"
  done
  "$prefix/bin/vmshare" --help >/dev/null || fail "the installed vmshare does not run"
  # The agent is the guest's init: static, no interpreter.
  ! objdump -p "$prefix/libexec/vmshare/vmshare-agent" | grep -q NEEDED || fail "vmshare-agent is not static"
  # The installed vmshare boots the image installed beside it: in a moved
  # copy of the prefix without a kernel, it names that copy's missing kernel
  # (not the build tree's, which is still there).
  moved=$(mktemp -d)
  trap 'rm -rf "$moved"' EXIT
  cp -a "$prefix/." "$moved/"
  rm -f "$moved/share/vmshare/guest/vmlinux" "$moved/share/vmshare/guest/vmlinuz"
  out=$(in_namespace env -u VMSHARE_GUEST_DIR "$moved/bin/vmshare" run --root "$moved/state" -- /bin/true 2>&1) &&
    fail "vmshare run without an installed kernel succeeded"
  grep -qF "$moved/share/vmshare/guest/vmlinuz" <<<"$out" ||
    fail "the installed vmshare did not look beside itself for the guest image: $out"
  echo "layout ok"
  ;;
pkgconfig)
  prefix=$1 src=$2 work=$3 cc=$4
  lib=$(libdir_of "$prefix")
  rm -rf "$work" && mkdir -p "$work"
  export PKG_CONFIG_PATH="$lib/pkgconfig"
  pkg-config --exists vmshare || fail "pkg-config does not find vmshare"
  # shellcheck disable=SC2046
  "$cc" -std=c11 -Wall -Wextra -Werror "$src/examples/share_dir.c" $(pkg-config --cflags --libs vmshare) \
    -o "$work/share_dir"
  export LD_LIBRARY_PATH="$lib"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$work/src" && echo hi > "$work/src/file"
    in_namespace "$work/share_dir" "$work/root" ex1 "$work/src" | tee "$work/out"
    grep -q '"Mounted":true' "$work/out" || fail "the example did not share"
    grep -q '^cleaned up' "$work/out" || fail "the example did not clean up"
  else
    "$work/share_dir" 2>/dev/null && fail "usage error expected"
    echo "SKIP running the example: not root"
  fi
  ;;
cmake)
  prefix=$1 src=$2 work=$3
  lib=$(libdir_of "$prefix")
  rm -rf "$work"
  cmake -S "$src/examples" -B "$work" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$work" >/dev/null
  # The imported target carries the installed include directory.
  grep -q "$prefix/include" "$work/CMakeFiles/share_dir.dir/flags.make" || fail "vmshare::vmshare gives no include dir"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$work/src" && echo hi > "$work/src/file"
    LD_LIBRARY_PATH="$lib" in_namespace "$work/share_dir" "$work/root" ex2 "$work/src" | tee "$work/out"
    grep -q '^cleaned up' "$work/out" || fail "the example did not clean up"
  else
    echo "SKIP running the example: not root"
  fi
  ;;
ctest)
  prefix=$1 src=$2 work=$3 cc=$4 version=$5
  lib=$(libdir_of "$prefix")
  rm -rf "$work" && mkdir -p "$work"
  export PKG_CONFIG_PATH="$lib/pkgconfig"
  # shellcheck disable=SC2046
  "$cc" -std=gnu11 -Wall -Wextra -Werror "$src/tests/capi/capi_test.c" $(pkg-config --cflags --libs vmshare) \
    -o "$work/capi_test"
  LD_LIBRARY_PATH="$lib" in_namespace "$work/capi_test" "$version"
  ;;
go)
  prefix=$1 src=$2 work=$3
  lib=$(libdir_of "$prefix")
  go=$(command -v go || true)
  [ -n "$go" ] || go=$(ls /usr/lib/go-*/bin/go 2>/dev/null | sort -V | tail -1)
  [ -n "$go" ] || { echo "SKIP: Go is not installed (scripts/install-deps.sh installs golang-1.19-go)"; exit 77; }
  mkdir -p "$work"
  # Nothing may be downloaded: the standard library only, the local toolchain.
  export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOTELEMETRY=off CGO_ENABLED=1
  export GOCACHE="$work/cache" GOPATH="$work/gopath" PKG_CONFIG_PATH="$lib/pkgconfig" LD_LIBRARY_PATH="$lib"
  cd "$src/bindings/go"
  "$go" vet ./...
  # The test binary re-executes itself under unshare(1) when root.
  "$go" test -count=1 -v ./...
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
