#!/usr/bin/env bash
# `make demo`: the main job. `vmshare run` boots a real guest (Debian's cloud
# kernel, our agent as init, QEMU + virtiofsd), shares the built-in example
# bundle (a busybox rootfs, a read-write, a read-only and a configmap volume),
# runs its script in the guest, and tears everything down. Then the host side
# shows what the guest wrote and that nothing was left behind.
set -euo pipefail
build=${1:-build}
vmshare="$build/src/cli/vmshare"
bundle="$build/example-bundle"
root=/run/vmshare-demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -f "$bundle/volumes/data/from-guest.txt"
say "vmshare --root $root run   (the example bundle's script runs in the guest)"
"$vmshare" --root "$root" run
say "on the host: the guest's write to the read-write volume"
cat "$bundle/volumes/data/from-guest.txt"
say "on the host: nothing left behind"
echo "mounts under $root: $(grep -c " $root" /proc/self/mountinfo || true)"
echo "qemu/virtiofsd processes: $(pgrep -c -f 'qemu-system|virtiofsd' || true)"
echo "sandbox dirs: $(ls "$root/sandboxes" 2>/dev/null | wc -l)"
say "the share tree, step by step (scripts/demo-share.sh)"
"$(dirname "$0")/demo-share.sh" "$build"
