#include "share/bind.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

#include "core/ids.h"
#include "share/safe_resolve.h"

namespace vmshare::share {
namespace {

std::string ProcFd(const sys::Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

Status BindNewApi(sys::Env* env, sys::Fd tree, const BindTarget& target, const BindSpec& spec) {
  // Private first: a clone of a shared host mount would otherwise stay a
  // peer of it, so host mounts under the source would leak into the share
  // and ours back onto the host.
  sys::MountAttrs attrs;
  attrs.read_only = spec.read_only;
  attrs.propagation = sys::Propagation::kPrivate;
  attrs.recursive = spec.recursive;
  RETURN_IF_ERROR(env->MountSetattr(tree, attrs));
  if (target.fd != nullptr) return env->MoveMount(tree, *target.fd);
  return env->MoveMountAt(tree, target.parent, target.name);
  // `tree` closes here: an open tree fd would keep the mount busy (EBUSY on
  // a later non-lazy umount).
}

Status RemoveStagingEntry(sys::Env* env, const Staging& staging, bool is_dir) {
  return env->UnlinkAt(*staging.dir, staging.name, is_dir ? AT_REMOVEDIR : 0);
}

Status BindLegacy(sys::Env* env, const sys::Fd& source, bool source_is_dir, const sys::Fd& target,
                  const BindSpec& spec, const Staging& staging) {
  if (spec.read_only && spec.recursive)
    return UnimplementedError(
        "read-only recursive bind: needs mount_setattr (kernel 5.12 or newer)");
  if (source_is_dir) {
    RETURN_IF_ERROR(env->MkdirAt(*staging.dir, staging.name, 0700));
  } else {
    ASSIGN_OR_RETURN(sys::Fd created, env->OpenAt(*staging.dir, staging.name,
                                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600));
  }
  const std::string staged_path = staging.path + "/" + staging.name;
  Status s = [&]() -> Status {
    ASSIGN_OR_RETURN(sys::Fd spot, OpenEntryNoFollow(env, *staging.dir, staging.name));
    const unsigned long rec = spec.recursive ? MS_REC : 0;
    RETURN_IF_ERROR(env->Mount(ProcFd(source), ProcFd(spot), "", MS_BIND | rec, ""));
    // Reopen: `spot` still names the directory under the new mount.
    ASSIGN_OR_RETURN(sys::Fd staged, OpenEntryNoFollow(env, *staging.dir, staging.name));
    RETURN_IF_ERROR(env->Mount("", ProcFd(staged), "", MS_PRIVATE | rec, ""));
    if (spec.read_only) {
      RETURN_IF_ERROR(env->Mount("", ProcFd(staged), "", MS_REMOUNT | MS_BIND | MS_RDONLY, ""));
    }
    return env->Mount(ProcFd(staged), ProcFd(target), "", MS_MOVE, "");
  }();
  if (!s.ok()) DetachAll(env, staged_path).IgnoreError();
  Status rm = RemoveStagingEntry(env, staging, source_is_dir);
  if (!s.ok()) return s;
  return rm;
}

}  // namespace

Status BindByFd(sys::Env* env, bool mount_api, const sys::Fd& source,
                const std::string& source_name, bool source_is_dir, const BindTarget& target,
                const BindSpec& spec, const Staging& staging) {
  // Built only on error: the share path is hot.
  auto context = [&] { return "bind mount " + Quote(source_name) + " onto " + Quote(target.path); };
  if (!mount_api) {
    if (staging.dir == nullptr)
      return InternalError(context() + ": no staging directory for the mount(2) fallback");
    Status s = [&]() -> Status {
      if (target.fd != nullptr)
        return BindLegacy(env, source, source_is_dir, *target.fd, spec, staging);
      ASSIGN_OR_RETURN(sys::Fd fd, OpenEntryNoFollow(env, target.parent, target.name));
      return BindLegacy(env, source, source_is_dir, fd, spec, staging);
    }();
    return s.ok() ? s : s.WithContext(context());
  }
  auto tree = env->CloneTree(source, "", spec.recursive);
  if (!tree.ok()) return tree.status().WithContext(context());
  Status s = BindNewApi(env, std::move(tree).value(), target, spec);
  return s.ok() ? s : s.WithContext(context());
}

Result<bool> IsMountRoot(sys::Env* env, const std::string& path) {
  auto info = env->StatAt(sys::Cwd(), path, AT_SYMLINK_NOFOLLOW);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) return false;
    return info.status();
  }
  return info->mount_root;
}

Status DetachAll(sys::Env* env, const std::string& path) {
  for (int i = 0; i < 64; ++i) {
    Status s = env->Unmount(path, MNT_DETACH);
    if (s.ok()) continue;
    // EINVAL: not (or no longer) a mount point; ENOENT: nothing there.
    if (s.err() == EINVAL || s.err() == ENOENT) return Status::Ok();
    return s;
  }
  return FailedPreconditionError("unmount " + Quote(path) + ": still mounted after 64 detaches");
}

Status DetachAndRemoveEntry(sys::Env* env, const std::string& path) {
  for (int i = 0; i < 64; ++i) {
    Status s = env->Unmount(path, MNT_DETACH);
    if (!s.ok() && s.err() != EINVAL) return s.err() == ENOENT ? Status::Ok() : s;
    Status rm = env->UnlinkAt(sys::Cwd(), path, AT_REMOVEDIR);
    if (!rm.ok() && rm.err() == ENOTDIR) rm = env->UnlinkAt(sys::Cwd(), path, 0);
    if (rm.ok() || rm.err() == ENOENT) return Status::Ok();
    // EBUSY: another mount is stacked there; detach that one too. After an
    // EINVAL (no mount left) the error is the answer.
    if (rm.err() != EBUSY || !s.ok()) return rm;
  }
  return FailedPreconditionError("unmount " + Quote(path) + ": still mounted after 64 detaches");
}

}  // namespace vmshare::share
