// Guest init duties of vmshare-agent and channel discovery.
//
// When the agent is pid 1 it sets up the minimum a Linux userland needs
// (MountEarlyFilesystems), loads the kernel modules it is told to
// (LoadModules) and, on the way out, syncs and powers the VM off. Reaping
// is ProcessTable's job.
#pragma once

#include <string>

#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::agent {

// Mounts proc on /proc, sysfs on /sys, cgroup2 on /sys/fs/cgroup, devtmpfs
// on /dev, devpts on /dev/pts (the containers' terminals) and a tmpfs on /run (creating the
// directories), skipping any that is already a mount point. Returns the first error after trying
// them all.
Status MountEarlyFilesystems(sys::Env* env);

// Loads the modules listed in `list_path`, in order. Format: one module per
// line, an absolute path to a .ko file (.ko.xz/.ko.zst/.ko.gz are handed to
// the kernel to decompress), optionally followed by whitespace and the
// module parameters ("/lib/modules/6.1.0/kernel/fs/fuse/virtiofs.ko
// opt=1"). Blank lines and lines starting with '#' are skipped. An
// already-loaded module is fine. A missing list file is no error (nothing to
// load); a line that fails is, naming the module (after trying the rest).
Status LoadModules(sys::Env* env, const std::string& list_path);

// The /dev node of the virtio-serial port whose
// <sysfs_ports>/<vportNpM>/name is `port_name`, e.g. "/dev/vport1p1" for
// "agent.channel.0". Waits up to `timeout_ms` for it to appear. NotFound
// otherwise.
Result<std::string> FindVirtioPort(sys::Env* env, const std::string& port_name,
                                   const std::string& sysfs_ports = "/sys/class/virtio-ports",
                                   const std::string& dev_dir = "/dev", int timeout_ms = 10000);

}  // namespace vmshare::agent
