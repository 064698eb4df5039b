#!/bin/sh
# Development /init for the guest image, used until (or instead of) the
# vmshare agent: proves the kernel boots, the modules load, the virtio-fs
# share mounts and the agent virtio-serial port exists, then powers off.
# Prints "vmshare-dev-init: ok" on the console when all of it worked.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r ko; do
  insmod "$ko" || echo "vmshare-dev-init: insmod $ko failed"
done < /etc/vmshare/modules
shared=/run/kata-containers/shared/containers
mkdir -p "$shared"
ok=1
if mount -t virtiofs kataShared "$shared"; then
  echo "vmshare-dev-init: share:" $(ls "$shared")
else
  echo "vmshare-dev-init: mount virtiofs failed"; ok=0
fi
port=
for n in /sys/class/virtio-ports/*/name; do
  [ -f "$n" ] && [ "$(cat "$n")" = agent.channel.0 ] && port=/dev/$(basename "$(dirname "$n")")
done
if [ -n "$port" ]; then
  echo "vmshare-dev-init: agent port $port"
  echo "hello from the guest" > "$port"
else
  echo "vmshare-dev-init: no agent.channel.0 port"; ok=0
fi
[ $ok = 1 ] && echo "vmshare-dev-init: ok"
sync
poweroff -f
