#!/ usr / bin / env bash
#Makes an OCI bundle with N bind mounts, for timing `vmshare run` by mount
#count(issue 14 item 6 : 100 mounts against 3):
# <out> / config.json   `/ bin / echo hi` in a busybox rootfs, N bind mounts
# <out> / rootfs / a copy of the example bundle's rootfs, with the N
#mount points made(as a bundle that lists them has)
# <out> / volumes / vK / one small directory per mount(every third read - only)
#Usage : make - mounts - bundle.sh-- example DIR-- out DIR-- mounts N
#-- example the example bundle(build / example - bundle) whose rootfs is used
#-- no - dirs leave the mount points out of the rootfs(the guest makes them)
#DIR of-- out is replaced.
#
#To time 100 mounts against 3 by hand(paired, alternating runs):
#bench / vm / make - mounts - bundle.sh-- example build / example - \
    bundle-- out / tmp / b3-- mounts 3
#bench / vm / make - mounts - bundle.sh-- example build / example - \
    bundle-- out / tmp / b100-- mounts 100
#for i in 1 2 3 4 5; do for n in 3 100; do
#/ usr / bin / time - f                                                                   \
    "$n mounts: %e s" build / src / cli / vmshare run -- accel tcg -- bundle / tmp / b$n> \
    / dev / null
#done; done
#bench / vm / run_bench.cc's BM_RunTcgMounts/3 and /100 do the same in one program.
set - euo pipefail example = out = mounts = dirs = 1 while[$ # - gt 0];
do
  case "$1" in
    --example) example=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --mounts) mounts=$2; shift 2 ;;
    --no-dirs) dirs=0; shift ;;
    *) echo "make-mounts-bundle: unknown argument \"$1\"" >&2; exit 2 ;;
  esac
done
if [ -z "$example" ] || [ -z "$out" ] || [ -z "$mounts" ]; then
  echo "usage: make-mounts-bundle.sh --example DIR --out DIR --mounts N [--no-dirs]" >&2
  exit 2
fi
case "$mounts" in ''|*[!0-9]*) echo "make-mounts-bundle: --mounts \"$mounts\": not a number" >&2; exit 2 ;; esac
[ -d "$example/rootfs" ] || { echo "make-mounts-bundle: \"$example/rootfs\": not a directory" >&2; exit 1; }

tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/volumes"
cp -a "$example/rootfs" "$tmp/rootfs"
abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
{
  printf '{\n  "ociVersion": "1.0.2",\n'
  printf '  "process": {"terminal": false, "user": {"uid": 0, "gid": 0},\n'
  printf '              "args": ["/bin/echo", "hi"], "env": ["PATH=/bin"], "cwd": "/"},\n'
  printf '  "root": {"path": "rootfs", "readonly": false},\n'
  printf '  "hostname": "vmshare-mounts",\n'
  printf '  "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]},\n'
  printf '  "mounts": [\n    {"destination": "/proc", "type": "proc", "source": "proc"}'
  for ((k = 0; k < mounts; k++)); do
    mkdir -p "$tmp/volumes/v$k"
    echo "volume $k" > "$tmp/volumes/v$k/f"
    [ "$dirs" = 1 ] && mkdir -p "$tmp/rootfs/mnt/v$k"
    mode=rw
    [ $((k % 3)) = 2 ] && mode=ro
    printf ',\n    {"destination": "/mnt/v%d", "type": "bind", "source": "%s/volumes/v%d", "options": ["rbind", "%s"]}' \
      "$k" "$abs" "$k" "$mode"
  done
  printf '\n  ]\n}\n'
} > "$tmp/config.json"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
