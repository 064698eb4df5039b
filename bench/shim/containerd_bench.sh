#!/usr/bin/env bash
# The shim's costs, beside `vmshare run` in the same run (not a test):
#   1. `ctr run --rm ... true` wall time vs `vmshare run ... true`: the
#      difference is what containerd + the shim add to a guest's boot;
#   2. a pod of 1 vs 10 containers: time until the last one is RUNNING;
#   3. the shim's resident memory with a pod of 10 containers.
# Runs a private containerd (CRI off) in a private mount namespace, as the
# e2e tests do. Usage: containerd_bench.sh BUILD_DIR [RUNS]
set -euo pipefail
build=$(realpath "${1:?usage: containerd_bench.sh BUILD_DIR [RUNS]}")
runs=${2:-3}
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${VMSHARE_BENCH_NS:-}" ]; then
  exec unshare -m --propagation private env VMSHARE_BENCH_NS=1 "$0" "$@"
fi
tmp=$(mktemp -d /tmp/vmshare-shim-bench.XXXXXX)
mkdir -p /run/containerd
mount -t tmpfs -o mode=0711 tmpfs /run/containerd
"$src/scripts/guest/make-example-bundle.sh" --out "$tmp/bundle" >/dev/null
rootfs=$tmp/bundle/rootfs
cat > "$tmp/shim.json" <<JSON
{"root":"$tmp/vmroot","accel":"${VMSHARE_ACCEL:-auto}","guest_dir":"$build/guest","memory_mb":256}
JSON
cat > "$tmp/config.toml" <<TOML
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$tmp/c.sock"
TOML
PATH=$build/src/shim:$PATH VMSHARE_SHIM_CONFIG=$tmp/shim.json containerd --config "$tmp/config.toml" \
  >"$tmp/containerd.log" 2>&1 &
cpid=$!
ctr() { command ctr --address "$tmp/c.sock" "$@"; }
cleanup() {
  for t in $(ctr task ls -q 2>/dev/null); do ctr task kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  sleep 1
  for t in $(ctr task ls -q 2>/dev/null); do ctr task delete -f "$t" >/dev/null 2>&1 || true; done
  for c in $(ctr container ls -q 2>/dev/null); do ctr container delete "$c" >/dev/null 2>&1 || true; done
  kill "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
  umount -l /run/containerd || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== run one container that runs true ($runs runs each, alternating; ms)"
: > "$tmp/ctr.ms"; : > "$tmp/run.ms"
for i in $(seq "$runs"); do
  t0=$(now); ctr run --rm --runtime io.containerd.vmshare.v2 --rootfs "$rootfs" "b$i" true; t1=$(now)
  ms "$t0" "$t1" >> "$tmp/ctr.ms"
  t0=$(now); "$build/src/cli/vmshare" --root "$tmp/vmroot" run --bundle "$tmp/bundle" \
    --accel "${VMSHARE_ACCEL:-auto}" --guest-dir "$build/guest" --memory 256 -- /bin/true; t1=$(now)
  ms "$t0" "$t1" >> "$tmp/run.ms"
done
echo "ctr run --rm (containerd + shim): median $(median < "$tmp/ctr.ms") ms  [$(tr '\n' ' ' < "$tmp/ctr.ms")]"
echo "vmshare run:                       median $(median < "$tmp/run.ms") ms  [$(tr '\n' ' ' < "$tmp/run.ms")]"

pod() {  # pod NAME N: sandbox + N containers, prints ms until the last is RUNNING
  local name=$1 n=$2 t0 t1
  local ann=(--annotation io.kubernetes.cri.sandbox-id="$name")
  t0=$(now)
  ctr run -d --runtime io.containerd.vmshare.v2 "${ann[@]}" \
    --annotation io.kubernetes.cri.container-type=sandbox --rootfs "$rootfs" "$name" sleep 1000 >/dev/null
  for i in $(seq "$n"); do
    ctr run -d --runtime io.containerd.vmshare.v2 "${ann[@]}" \
      --annotation io.kubernetes.cri.container-type=container --rootfs "$rootfs" "$name-c$i" sleep 1000 >/dev/null
  done
  until ctr task ls | grep -q "^$name-c$n .*RUNNING"; do sleep 0.05; done
  t1=$(now)
  ms "$t0" "$t1"
}
pod_down() {
  local name=$1 n=$2
  for i in $(seq "$n") ""; do
    local id=$name${i:+-c$i}
    ctr task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for i in $(seq "$n") ""; do
    local id=$name${i:+-c$i}
    until ctr task ls | grep -q "^$id .*STOPPED"; do sleep 0.05; done
    ctr task delete "$id" >/dev/null 2>&1 || true
    ctr container delete "$id" >/dev/null
  done
}
echo "== pod: sandbox + 1 vs + 10 containers (ms until the last is RUNNING)"
echo "pod of 1:  $(pod p1 1) ms"
pod_down p1 1
echo "pod of 10: $(pod p10 10) ms"
shim=$(pgrep -f "containerd-shim-vmshare-v2 .*-id p10 " | head -1)
echo "== shim memory with a pod of 10: $(awk '/VmRSS/ {print $2, $3}' "/proc/$shim/status") RSS," \
     "$(awk '/VmHWM/ {print $2, $3}' "/proc/$shim/status") peak"
pod_down p10 10
