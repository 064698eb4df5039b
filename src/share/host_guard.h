// The host's kernel filesystems are never shared with a guest.
//
// A source that is, or lies in, the host's /proc, /sys or /dev, or on any
// kernel pseudo-filesystem (procfs, sysfs, cgroup, debugfs, devpts, ...), or
// that is the host's root itself (whose recursive bind would carry all of
// them), would hand a guest the host's process table, kernel knobs or
// devices. The check runs on the opened source fd, so it holds however the
// path was spelled: "/proc", "/tmp/x/proc" with /tmp/x -> /, "/proc/../proc",
// or a bind mount of /proc elsewhere all end at the same filesystem, and the
// decision is made on what the fd is (fstatfs magic, the device and inode
// of the host's /, /proc, /sys and /dev, the kernel's path for the fd), never
// on the string given.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::share {

// OK when `source` (an fd from OpenSourceNoFollow) may be shared. Otherwise
// kPermissionDenied: `<what> "<path>": is the host's /proc (procfs); sharing
// host kernel filesystems is refused`.
Status RefuseHostKernelFs(sys::Env* env, const sys::Fd& source, std::string_view what, const std::string& path);

}  // namespace vmshare::share
