// ShareHost: what a sharer learns about its host once and then reuses for
// every share.
//
//   - Which syscalls the kernel (and the seccomp profile the runtime runs
//     under) lets us use: the new mount API (open_tree, mount_setattr,
//     move_mount) and openat2. Each is probed once, on first use, by a call
//     that cannot change anything (a bad fd: a kernel that has the syscall
//     answers EBADF). ENOSYS (an old kernel), EPERM (a seccomp profile that
//     refuses unknown syscalls) and EINVAL (some kernels and profiles) mean
//     "not available"; the callers then take their fallbacks (bind.h,
//     share_tree.h, safe_resolve.h). This is the only place that decides it.
//   - The identities the host guard compares every source with (host_guard.h):
//     read on first use, so a sharer that never shares a source never pays.
//
// Thread-safe. Not copyable (sharers own one each).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "share/host_guard.h"
#include "sys/env.h"

namespace vmshare::share {

struct KernelFeatures {
  bool mount_api = false;  // open_tree + mount_setattr + move_mount
  bool openat2 = false;
};

// True for the errors that mean "this syscall is not available here":
// ENOSYS, EPERM, EINVAL.
bool IsUnavailable(const Status& s);

// The probe itself (uncached). Exposed for tests.
KernelFeatures ProbeKernelFeatures(sys::Env* env);

class ShareHost {
 public:
  explicit ShareHost(sys::Env* env) : env_(env) {}
  ShareHost(const ShareHost&) = delete;
  ShareHost& operator=(const ShareHost&) = delete;

  sys::Env* env() const { return env_; }

  // Probed on the first call, then cached.
  const KernelFeatures& features();

  // RefuseHostKernelFs (host_guard.h) with the identities read on the first
  // call. `info` is what `source` refers to (from OpenSourceNoFollow).
  Status RefuseKernelFs(const sys::Fd& source, const sys::FileInfo& info, std::string_view what,
                        const std::string& path);

 private:
  sys::Env* env_;
  std::once_flag features_once_;
  KernelFeatures features_;
  std::mutex mu_;
  std::optional<HostIdentities> identities_;  // guarded by mu_ until set
};

}  // namespace vmshare::share
