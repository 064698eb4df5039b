#!/usr/bin/env bash
# Generates the example OCI bundle `vmshare run` uses without --bundle:
#   <out>/config.json
#   <out>/rootfs/                 busybox (static) with a symlink per applet
#   <out>/volumes/data/           a read-write volume      -> /data
#   <out>/volumes/readonly/       a read-only volume       -> /readonly
#   <out>/kubelet/pods/<uid>/volumes/kubernetes.io~configmap/app-config/
#                                 a configmap volume laid out as the kubelet
#                                 does (..<timestamp>/, ..data, key symlinks)
#                                 -> /etc/app-config (read-only)
# The process is a short script that shows each of them from inside the guest.
# Usage: make-example-bundle.sh --out DIR   (DIR is replaced)
set -euo pipefail
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    *) echo "make-example-bundle: unknown argument \"$1\"" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "usage: make-example-bundle.sh --out DIR" >&2; exit 2; }
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-example-bundle: $busybox missing (install busybox-static)" >&2; exit 1; }

tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/rootfs/{bin,etc,proc,sys,dev,tmp,data,readonly,etc/app-config,root}
chmod 1777 "$tmp/rootfs/tmp"
cp "$busybox" "$tmp/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$tmp/rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$tmp/rootfs/etc/passwd"
echo "root:x:0:" > "$tmp/rootfs/etc/group"
echo "this file is in the container's root filesystem" > "$tmp/rootfs/etc/vmshare-example"

mkdir -p "$tmp/volumes/data" "$tmp/volumes/readonly"
echo "written on the host before the run" > "$tmp/volumes/data/host-note.txt"
echo "a read-only volume: the guest cannot change this" > "$tmp/volumes/readonly/README"

# The kubelet's configmap layout (see kubernetes-volume-updates.md).
uid=3f1c2a9e-5b7d-4c1e-9a2b-7d6e5f4c3b2a
cm="$tmp/kubelet/pods/$uid/volumes/kubernetes.io~configmap/app-config"
ts="..2026_11_22_10_00_00.000000001"
mkdir -p "$cm/$ts"
echo "hello from a configmap" > "$cm/$ts/greeting"
echo "debug" > "$cm/$ts/log-level"
chmod 0644 "$cm/$ts/greeting" "$cm/$ts/log-level"
ln -s "$ts" "$cm/..data"
ln -s ..data/greeting "$cm/greeting"
ln -s ..data/log-level "$cm/log-level"

mkdir -p "$tmp/rootfs/usr/local/bin"
cat > "$tmp/rootfs/usr/local/bin/show-volumes" <<'SH'
#!/bin/sh
echo "== rootfs: $(cat /etc/vmshare-example)"
echo "== kernel: $(uname -r)"
echo "== /data (read-write):"; ls /data
echo "written by the guest at $(date)" > /data/from-guest.txt && echo "   wrote /data/from-guest.txt"
echo "== /readonly (read-only): $(cat /readonly/README)"
if touch /readonly/should-fail 2>/tmp/err; then echo "   UNEXPECTED: write succeeded"; else echo "   write refused: $(cat /tmp/err)"; fi
echo "== /etc/app-config (configmap):"; ls -la /etc/app-config/
echo "   greeting = $(cat /etc/app-config/greeting)"
echo "== mounts:"; grep -E " /(data|readonly|etc/app-config) " /proc/mounts
SH
chmod 0755 "$tmp/rootfs/usr/local/bin/show-volumes"

# Absolute host paths of the volumes once $tmp is renamed to $out.
abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
cat > "$tmp/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/sh", "/usr/local/bin/show-volumes"],
    "env": ["PATH=/bin:/usr/local/bin", "HOME=/root"],
    "cwd": "/"
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "vmshare-example",
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
  },
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": $(json_str "$abs/volumes/data"),
     "options": ["rbind", "rw"]},
    {"destination": "/readonly", "type": "bind", "source": $(json_str "$abs/volumes/readonly"),
     "options": ["rbind", "ro"]},
    {"destination": "/etc/app-config", "type": "bind",
     "source": $(json_str "$abs/kubelet/pods/$uid/volumes/kubernetes.io~configmap/app-config"),
     "options": ["rbind", "ro"]}
  ]
}
JSON
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
