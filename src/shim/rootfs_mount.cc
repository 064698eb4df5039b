#include "shim/rootfs_mount.h"

#include <sys/mount.h>

#include <cerrno>

namespace vmshare::shim {
namespace {

struct Parsed {
  unsigned long flags = 0;
  std::string data;
};

Parsed ParseOptions(const std::vector<std::string>& options) {
  Parsed p;
  for (const auto& o : options) {
    if (o == "ro")
      p.flags |= MS_RDONLY;
    else if (o == "rw")
      continue;
    else if (o == "nosuid")
      p.flags |= MS_NOSUID;
    else if (o == "nodev")
      p.flags |= MS_NODEV;
    else if (o == "noexec")
      p.flags |= MS_NOEXEC;
    else if (o == "bind")
      p.flags |= MS_BIND;
    else if (o == "rbind")
      p.flags |= MS_BIND | MS_REC;
    else
      p.data += (p.data.empty() ? "" : ",") + o;
  }
  return p;
}

}  // namespace

Status MountRootfs(sys::Env* env, const std::vector<RootfsMount>& mounts,
                   const std::string& target) {
  int made = 0;
  for (const auto& m : mounts) {
    Parsed p = ParseOptions(m.options);
    Status s;
    if (m.type == "bind" || (p.flags & MS_BIND)) {
      s = env->Mount(m.source, target, "", p.flags | MS_BIND, "");
      if (s.ok() && (p.flags & MS_RDONLY))
        s = env->Mount("", target, "", MS_BIND | MS_REMOUNT | MS_RDONLY, "");
    } else if (m.type == "overlay") {
      s = env->Mount("overlay", target, "overlay", p.flags, p.data);
    } else {
      s = InvalidArgumentError("rootfs mount type \"" + m.type + "\" is not supported");
    }
    if (!s.ok()) {
      for (; made > 0; --made) env->Unmount(target, MNT_DETACH).IgnoreError();
      return s.WithContext("mount rootfs on " + target);
    }
    ++made;
  }
  return Status::Ok();
}

Status UnmountRootfs(sys::Env* env, const std::string& target) {
  for (;;) {
    Status s = env->Unmount(target, MNT_DETACH);
    if (s.ok()) continue;
    // EINVAL: not a mount point (any more); ENOENT: gone.
    if (s.err() == EINVAL || s.err() == ENOENT) return Status::Ok();
    return s.WithContext("unmount rootfs " + target);
  }
}

}  // namespace vmshare::shim
