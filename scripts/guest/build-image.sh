#!/usr/bin/env bash
# Builds the guest image vmshare boots: Debian's cloud kernel plus an
# initramfs holding the virtio/fuse/overlay modules it needs, busybox, and an
# init (the static vmshare-agent, or a shell script while developing).
#
# Usage: build-image.sh --out DIR --cache DIR --init FILE
#   DIR/vmlinuz, DIR/initramfs.img and DIR/kernel-release are written
#   (each replaced atomically); the kernel .deb is kept in the cache dir so a
#   rebuild does not download it again.
#
# Guest layout the agent relies on:
#   /init                     the init (mode 0755)
#   /bin/busybox + applets    busybox-static, with a symlink per applet
#   /lib/modules/<release>/*.ko  uncompressed modules
#   /etc/vmshare/modules      one absolute .ko path per line, in load order
set -euo pipefail

out= cache= init=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --init) init=$2; shift 2 ;;
    *) echo "build-image: unknown argument \"$1\"" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] && [ -n "$cache" ] && [ -n "$init" ] || {
  echo "usage: build-image.sh --out DIR --cache DIR --init FILE" >&2; exit 2; }
[ -f "$init" ] || { echo "build-image: init \"$init\" does not exist" >&2; exit 1; }
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "build-image: $busybox missing (install busybox-static)" >&2; exit 1; }

# Load order: each module after the ones it depends on (modinfo depends).
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
         virtio_console fuse virtiofs overlay)

mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)
cache=$(cd "$cache" && pwd)

# The meta package names the versioned kernel package it depends on.
resolve_kernel() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

# Two builds may share one cache (ninja builds both guest images at once).
# The cache is filled under an exclusive lock on the cache dir, and a
# download lands in a private temp dir and is renamed into place, so a .deb
# under its final name is always complete: no build reads a half-written one,
# and the second build finds the first one's download instead of repeating it.
exec {cache_lock}<"$cache"
flock "$cache_lock"
# Held by nobody else now: any temp dir left is a killed build's.
rm -rf "$cache"/.download.*
download=
trap 'rm -rf "$download"' EXIT

kpkg=$(resolve_kernel)
if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ] && ! ls "$cache"/linux-image-*-cloud-amd64_*_amd64.deb >/dev/null 2>&1; then
  # A machine whose package lists were never fetched (fresh containers).
  echo "build-image: apt-get update (no package lists)" >&2
  apt-get update -qq >&2 || true
  kpkg=$(resolve_kernel)
fi
deb=
if [ -n "$kpkg" ]; then
  deb=$(ls "$cache"/"$kpkg"_*_amd64.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    echo "build-image: downloading $kpkg" >&2
    download=$(mktemp -d "$cache/.download.XXXXXX")
    (cd "$download" && apt-get download "$kpkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
    for f in "$download"/"$kpkg"_*_amd64.deb; do
      [ -f "$f" ] && mv -f "$f" "$cache/"
    done
    rm -rf "$download"
    deb=$(ls "$cache"/"$kpkg"_*_amd64.deb 2>/dev/null | head -n1 || true)
  fi
fi
if [ -z "$deb" ]; then
  # Offline, or apt lists not updated: fall back to any cached cloud kernel.
  deb=$(ls "$cache"/linux-image-*-cloud-amd64_*_amd64.deb 2>/dev/null | sort -V | tail -n1 || true)
fi
# Cached files are never rewritten, only added: reading $deb needs no lock.
exec {cache_lock}<&-
[ -n "$deb" ] || { echo "build-image: no cloud kernel package (run apt-get update?)" >&2; exit 1; }

work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg -x "$deb" "$work/pkg"
release=$(ls "$work/pkg/lib/modules" | head -n1)
kdir="$work/pkg/lib/modules/$release"

root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc/vmshare,mnt,root} "$root/lib/modules/$release"
chmod 1777 "$root/tmp"
: > "$root/etc/vmshare/modules"
for m in "${modules[@]}"; do
  if grep -q "/$m\.ko" "$kdir/modules.builtin" 2>/dev/null; then
    continue  # built in: nothing to load
  fi
  src=$(find "$kdir/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n1)
  [ -n "$src" ] || { echo "build-image: module $m not in $deb" >&2; exit 1; }
  dst="$root/lib/modules/$release/$m.ko"
  # Decompressed here so finit_module needs no in-kernel decompression.
  case "$src" in
    *.xz) xz -dc "$src" > "$dst" ;;
    *.zst) zstd -qdc "$src" > "$dst" ;;
    *.gz) gzip -dc "$src" > "$dst" ;;
    *) cp "$src" "$dst" ;;
  esac
  echo "/lib/modules/$release/$m.ko" >> "$root/etc/vmshare/modules"
done

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] && continue
  ln -sf busybox "$root/bin/$applet"
done
# An ELF init is stripped: debug info only slows the guest's unpacking (a
# RelWithDebInfo agent is ~20 MB, stripped a few).
if [ "$(head -c 4 "$init" | od -An -c | tr -d ' ')" = '177ELF' ] && command -v strip >/dev/null; then
  strip --strip-all -o "$root/init" "$init"
  chmod 0755 "$root/init"
else
  install -m 0755 "$init" "$root/init"
fi
# /sbin/init keeps a shell-less reboot/poweroff from looking for init elsewhere.
ln -sf ../init "$root/sbin/init"
echo "$release" > "$root/etc/vmshare/kernel-release"

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
   cpio --null -o -H newc --owner=0:0 --quiet --reproducible) | gzip -6 -n > "$work/initramfs.img"
cp "$work/pkg/boot/vmlinuz-$release" "$work/vmlinuz"
echo "$release" > "$work/kernel-release"
for f in vmlinuz initramfs.img kernel-release; do
  mv -f "$work/$f" "$out/$f"
done
echo "build-image: $out/vmlinuz + initramfs.img (kernel $release, init $(basename "$init"))" >&2
