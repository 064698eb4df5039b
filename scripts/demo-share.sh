#!/usr/bin/env bash
# The share-tree demo: prepares a sandbox, shares an example OCI bundle
# (rootfs + a read-write and a read-only volume), shows the JSON result and
# the share tree, proves the read-only volume refuses writes, then unshares,
# cleans up and checks that nothing is left.
set -euo pipefail
build=${1:-build}
vmshare="$build/src/cli/vmshare"
root=/run/vmshare-demo
work=$(mktemp -d /tmp/vmshare-demo.XXXXXX)
trap '"$vmshare" --root "$root" sandbox cleanup demo --force >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

mkdir -p "$work/bundle/rootfs/etc" "$work/data" "$work/config"
echo "hello from the rootfs" > "$work/bundle/rootfs/etc/motd"
echo "a read-write volume" > "$work/data/README"
echo "a read-only volume" > "$work/config/settings.conf"
cat > "$work/bundle/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {"args": ["sh"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "$work/data", "options": ["rbind", "rw"]},
    {"destination": "/etc/app", "type": "bind", "source": "$work/config", "options": ["rbind", "ro"]}
  ]
}
JSON

say "vmshare sandbox prepare demo"
"$vmshare" --root "$root" sandbox prepare demo
say "vmshare container share demo web --bundle $work/bundle"
"$vmshare" --root "$root" container share demo web --bundle "$work/bundle" | tee "$work/share.json"
say "the share tree virtiofsd would export ($root/sandboxes/demo/shared)"
find "$root/sandboxes/demo/shared" -maxdepth 3 | sort
say "mounts under $root"
grep " $root" /proc/self/mountinfo | awk '{print $5, $6}'
say "a write through the read-only volume fails"
ro=$(find "$root/sandboxes/demo/shared" -maxdepth 1 -name 'web-*-app')
if (echo x > "$ro/new-file") 2>"$work/err"; then echo "UNEXPECTED: write succeeded"; exit 1; fi
cat "$work/err"
say "vmshare state show demo"
"$vmshare" --root "$root" state show demo
say "vmshare container unshare demo web; vmshare sandbox cleanup demo"
"$vmshare" --root "$root" container unshare demo web
"$vmshare" --root "$root" sandbox cleanup demo
left=$(grep -c " $root" /proc/self/mountinfo || true)
echo "mounts left under $root: $left; sandbox dirs left: $(ls "$root/sandboxes" 2>/dev/null | wc -l)"
[ "$left" = 0 ]
