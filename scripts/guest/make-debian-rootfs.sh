#!/usr/bin/env bash
# Builds a small Debian-style root filesystem from a few .debs, as the
# runc-spec conformance test needs one: Debian's merged /usr (/bin, /sbin,
# /lib, /lib64 are links into /usr), setuid-root binaries (mount and umount
# from the "mount" package; their libraries are left out, only their modes
# matter), the C library, base-files, and a static busybox for a shell and
# tools; no /proc, /sys or /dev, like the rootfs dirs users pair with
# `runc spec`.
#
# Usage: make-debian-rootfs.sh --out DIR --cache DIR
#   The .debs are fetched with `apt-get download` into the cache dir once
#   (under a lock, to a temp name then renamed, as build-image.sh does) and
#   extracted with `dpkg -x`; no network is needed once they are cached.
#   DIR is replaced atomically.
set -euo pipefail
out= cache=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    *) echo "make-debian-rootfs: unknown argument \"$1\"" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] && [ -n "$cache" ] || { echo "usage: make-debian-rootfs.sh --out DIR --cache DIR" >&2; exit 2; }
packages=(base-files libc6 busybox-static mount)
mkdir -p "$cache" "$(dirname "$out")"
cache=$(cd "$cache" && pwd)

exec {cache_lock}<"$cache"
flock "$cache_lock"
rm -rf "$cache"/.download.*
download=
trap 'rm -rf "$download"' EXIT
for p in "${packages[@]}"; do
  ls "$cache"/"${p}"_*.deb >/dev/null 2>&1 && continue
  echo "make-debian-rootfs: downloading $p" >&2
  download=$(mktemp -d "$cache/.download.XXXXXX")
  if ! (cd "$download" && apt-get download "$p" >/dev/null 2>&1); then
    [ "$(id -u)" = 0 ] && apt-get update -qq >&2 || true
    (cd "$download" && apt-get download "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
  fi
  for f in "$download"/"${p}"_*.deb; do [ -f "$f" ] && mv -f "$f" "$cache/"; done
  rm -rf "$download"
  ls "$cache"/"${p}"_*.deb >/dev/null 2>&1 || { echo "make-debian-rootfs: cannot download $p" >&2; exit 1; }
done
exec {cache_lock}<&-

tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
for p in "${packages[@]}"; do
  dpkg -x "$(ls "$cache"/"${p}"_*.deb | sort -V | tail -n1)" "$tmp"
done
# Merged /usr: what a package put in /bin goes to /usr/bin, and /bin is a link.
for d in bin sbin lib lib64; do
  if [ -d "$tmp/$d" ] && [ ! -L "$tmp/$d" ]; then
    mkdir -p "$tmp/usr/$d"
    cp -a "$tmp/$d/." "$tmp/usr/$d/"
    rm -rf "${tmp:?}/$d"
  fi
  mkdir -p "$tmp/usr/$d"
  ln -s "usr/$d" "$tmp/$d"
done
# As in the bundles `runc spec` users make: no /proc, /sys or /dev to mount on.
rm -rf "${tmp:?}/proc" "${tmp:?}/sys" "${tmp:?}/dev"
for applet in $("$tmp/usr/bin/busybox" --list); do
  [ -e "$tmp/usr/bin/$applet" ] || [ -e "$tmp/usr/sbin/$applet" ] || ln -s busybox "$tmp/usr/bin/$applet"
done
mkdir -p "$tmp/etc" "$tmp/root" "$tmp/tmp"
chmod 1777 "$tmp/tmp"
echo "root:x:0:0:root:/root:/bin/sh" > "$tmp/etc/passwd"
echo "root:x:0:" > "$tmp/etc/group"
# A hard link and a known mtime, for the copy-mode checks.
echo "linked" > "$tmp/etc/vmshare-linked"
ln "$tmp/etc/vmshare-linked" "$tmp/etc/vmshare-linked2"
touch -h -d @1577934245 "$tmp/etc/vmshare-linked"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
