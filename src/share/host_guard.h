// The host's kernel filesystems are never shared with a guest.
//
// A source that is, or lies in, the host's /proc, /sys or /dev, or on any
// kernel pseudo-filesystem (procfs, sysfs, cgroup, debugfs, devpts, ...), or
// that is the host's root itself (whose recursive bind would carry all of
// them), would hand a guest the host's process table, kernel knobs or
// devices. The check runs on the opened source fd, so it holds however the
// path was spelled: "/proc", "/tmp/x/proc" with /tmp/x -> /, "/proc/../proc",
// or a bind mount of /proc elsewhere all end at the same filesystem, and the
// decision is made on what the fd is (fstatfs magic; the device and inode
// of the host's /, /proc, /sys and /dev; the devices of every mount at or
// below /proc, /sys and /dev, which catches /dev/shm and other plain tmpfs
// mounts there and binds of them elsewhere), never on the string given.
//
// The identities are read once (ReadHostIdentities; a ShareHost keeps them
// for its sharer's lifetime), so a share costs one fstatfs on top of the
// statx it already made. A mount made below /dev after they were read is
// caught by its magic if it is a kernel filesystem, not if it is a plain
// tmpfs: sharers are per sandbox and re-read them when they are made.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::share {

struct HostIdentities {
  struct Inode {
    std::string dir;  // "/", "/proc", "/sys" or "/dev"
    dev_t dev = 0;
    uint64_t ino = 0;
  };
  std::vector<Inode> inodes;  // the ones that exist
  struct Device {
    dev_t dev = 0;
    std::string dir;  // the host directory it is mounted at or below
  };
  // Filesystems mounted at or below /proc, /sys or /dev (from mountinfo).
  std::vector<Device> kernel_devs;
};

// Reads them: statx of /, /proc, /sys, /dev and /proc/self/mountinfo's
// device numbers. A missing mountinfo (no /proc) leaves kernel_devs with
// just /dev's device when /dev is a filesystem of its own.
Result<HostIdentities> ReadHostIdentities(sys::Env* env);

// OK when `source` (an fd from OpenSourceNoFollow, `info` its statx) may be
// shared. Otherwise kPermissionDenied: `<what> "<path>": is the host's /proc
// (procfs); sharing host kernel filesystems is refused`.
Status RefuseHostKernelFs(sys::Env* env, const HostIdentities& host, const sys::Fd& source,
                          const sys::FileInfo& info, std::string_view what,
                          const std::string& path);

}  // namespace vmshare::share
