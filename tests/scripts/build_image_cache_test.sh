#!/usr/bin/env bash
# Two guest image builds sharing one --cache, started at once (as ninja does
# for the agent and the development images), against a fake apt whose
# download of the kernel .deb is slow and non-atomic. Both builds must
# succeed, produce the same image (kernel, initramfs file list), and the kernel must be downloaded once.
#
# Without the cache lock both builds download: the second sees the first's
# half-written .deb under its final name and `dpkg -x` fails on it.
#
# Usage: build_image_cache_test.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: build_image_cache_test.sh SOURCE_DIR}
script="$src/scripts/guest/build-image.sh"
[ -x /bin/busybox ] || { echo "SKIP: /bin/busybox missing"; exit 0; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
release=6.1.0-99-cloud-amd64
pkg="linux-image-$release"

# A tiny kernel package with the layout build-image.sh reads.
tree="$tmp/pkg"
kdir="$tree/lib/modules/$release"
mkdir -p "$tree/DEBIAN" "$tree/boot" "$kdir/kernel/drivers"
cat > "$tree/DEBIAN/control" <<CONTROL
Package: $pkg
Version: 6.1.999-1
Architecture: amd64
Maintainer: vmshare tests <tests@invalid>
Description: fake cloud kernel for build_image_cache_test
CONTROL
echo "fake kernel" > "$tree/boot/vmlinuz-$release"
: > "$kdir/modules.builtin"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         virtio_console fuse virtiofs overlay; do
  echo "fake module $m" > "$kdir/kernel/drivers/$m.ko"
done
# Padding so the half-written file is clearly not an archive.
head -c 262144 /dev/urandom > "$tree/boot/padding"
dpkg-deb -Zgzip --build "$tree" "$tmp/kernel.deb" >/dev/null

# The fake apt: `apt-cache depends` names the package; `apt-get download`
# writes it under its final name in two halves, a second apart, and logs
# each download.
bin="$tmp/bin"
mkdir -p "$bin"
cat > "$bin/apt-cache" <<FAKE
#!/bin/sh
[ "\$1" = depends ] && echo "  Depends: $pkg"
FAKE
cat > "$bin/apt-get" <<FAKE
#!/bin/sh
[ "\$1" = download ] || exit 0
echo download >> "$tmp/downloads"
out="\$2_6.1.999-1_amd64.deb"
size=\$(stat -c %s "$tmp/kernel.deb")
head -c \$((size / 2)) "$tmp/kernel.deb" > "\$out"
sleep 1
tail -c +\$((size / 2 + 1)) "$tmp/kernel.deb" >> "\$out"
FAKE
chmod +x "$bin/apt-cache" "$bin/apt-get"
printf '#!/bin/sh\necho init\n' > "$tmp/init"

cache="$tmp/cache"
PATH="$bin:$PATH" "$script" --out "$tmp/a" --cache "$cache" --init "$tmp/init" 2> "$tmp/a.log" &
a=$!
# b starts while a is mid-download: unlocked, it would find a's half-written
# .deb (any timing passes with the lock; this one shows the corruption).
sleep 0.5
PATH="$bin:$PATH" "$script" --out "$tmp/b" --cache "$cache" --init "$tmp/init" 2> "$tmp/b.log" &
b=$!
fail=0
wait "$a" || { echo "FAIL: build a failed:"; cat "$tmp/a.log"; fail=1; }
wait "$b" || { echo "FAIL: build b failed:"; cat "$tmp/b.log"; fail=1; }
[ "$fail" = 0 ] || exit 1

n=$(wc -l < "$tmp/downloads")
[ "$n" = 1 ] || { echo "FAIL: the kernel was downloaded $n times, want 1"; exit 1; }
for f in vmlinuz kernel-release; do
  cmp -s "$tmp/a/$f" "$tmp/b/$f" || { echo "FAIL: the two builds' $f differ"; exit 1; }
done
# The initramfs holds file mtimes, so the two differ; each must list the
# same files, the modules among them.
for d in a b; do
  gzip -dc "$tmp/$d/initramfs.img" | cpio -it --quiet | sort > "$tmp/$d.list"
  grep -qx "lib/modules/$release/virtiofs.ko" "$tmp/$d.list" ||
    { echo "FAIL: build $d's initramfs lacks the modules"; exit 1; }
done
cmp -s "$tmp/a.list" "$tmp/b.list" || { echo "FAIL: the two initramfs list different files"; exit 1; }
cmp -s "$tmp/a/vmlinuz" "$tree/boot/vmlinuz-$release" || { echo "FAIL: vmlinuz is not the package's"; exit 1; }
[ "$(cat "$tmp/a/kernel-release")" = "$release" ] || { echo "FAIL: wrong kernel-release"; exit 1; }
left=$(find "$cache" -mindepth 1 -name '.download.*' | wc -l)
[ "$left" = 0 ] || { echo "FAIL: $left download temp dirs left in the cache"; exit 1; }
echo "PASS: two concurrent builds, one download, identical images"
