#include "share/share_host.h"

#include <fcntl.h>

#include <cerrno>

namespace vmshare::share {

bool IsUnavailable(const Status& s) {
  return !s.ok() && (s.err() == ENOSYS || s.err() == EPERM || s.err() == EINVAL);
}

KernelFeatures ProbeKernelFeatures(sys::Env* env) {
  // A closed fd: where the syscall exists and is allowed, the kernel gets as
  // far as looking the fd up and answers EBADF; nothing is opened or mounted.
  const sys::Fd bad;
  KernelFeatures f;
  f.openat2 =
      !IsUnavailable(env->OpenAt2(bad, "probe", O_PATH, 0, sys::kResolveNoMagiclinks).status());
  const bool open_tree = !IsUnavailable(env->CloneTree(bad, "", /*recursive=*/false).status());
  sys::MountAttrs attrs;
  attrs.propagation = sys::Propagation::kPrivate;
  const bool setattr = !IsUnavailable(env->MountSetattr(bad, attrs));
  f.mount_api = open_tree && setattr;
  return f;
}

const KernelFeatures& ShareHost::features() {
  std::call_once(features_once_, [this] { features_ = ProbeKernelFeatures(env_); });
  return features_;
}

Status ShareHost::RefuseKernelFs(const sys::Fd& source, const sys::FileInfo& info,
                                 std::string_view what, const std::string& path) {
  const HostIdentities* ids = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!identities_) {
      ASSIGN_OR_RETURN(HostIdentities read, ReadHostIdentities(env_));
      identities_ = std::move(read);
    }
    ids = &*identities_;
  }
  return RefuseHostKernelFs(env_, *ids, source, info, what, path);
}

}  // namespace vmshare::share
