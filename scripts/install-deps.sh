#!/usr/bin/env bash
# Installs what building, testing and running vmshare needs, from Debian's
# packages, plus any packages named as arguments (scripts/fuzz.sh adds its
# toolchain this way). Does nothing when everything is there already.
set -euo pipefail
pkgs=(cmake ninja-build g++ pkg-config make
      libprotobuf-dev protobuf-compiler nlohmann-json3-dev libcli11-dev
      libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libmount-dev
      qemu-system-x86 qemu-system-common busybox-static cpio kmod zstd xz-utils e2fsprogs util-linux
      clang-format runc "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
