#include "share/share_tree.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

#include "core/ids.h"
#include "share/bind.h"

namespace vmshare::share {
namespace {

// mkdir that accepts an existing directory; true when it made a new one.
Result<bool> MkdirExistOk(sys::Env* env, const std::string& path, mode_t mode) {
  Status s = env->MkdirAt(sys::Cwd(), path, mode);
  if (s.ok()) return true;
  if (s.err() != EEXIST) return s;
  ASSIGN_OR_RETURN(sys::FileInfo info, env->StatAt(sys::Cwd(), path, AT_SYMLINK_NOFOLLOW));
  if (!info.is_dir())
    return FailedPreconditionError("create directory " + Quote(path) +
                                   ": exists and is not a directory (symlinks are refused)");
  return false;
}

// A directory just made is no mount root; one that was there may be.
Result<bool> IsMountRootUnlessNew(sys::Env* env, const std::string& path, bool made) {
  if (made) return false;
  return IsMountRoot(env, path);
}

Result<sys::Fd> OpenDirPath(sys::Env* env, const std::string& path) {
  return env->OpenAt(sys::Cwd(), path, O_PATH | O_NOFOLLOW | O_DIRECTORY);
}

std::string ProcFd(const sys::Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

unsigned long LegacyPropagation(sys::Propagation p) {
  switch (p) {
    case sys::Propagation::kShared:
      return MS_SHARED;
    case sys::Propagation::kSlave:
      return MS_SLAVE;
    case sys::Propagation::kUnbindable:
      return MS_UNBINDABLE;
    default:
      return MS_PRIVATE;
  }
}

// Changes the propagation of the attached mount `root` refers to.
Status SetPropagation(sys::Env* env, bool mount_api, const sys::Fd& root,
                      sys::Propagation propagation) {
  if (!mount_api) return env->Mount("", ProcFd(root), "", LegacyPropagation(propagation), "");
  sys::MountAttrs attrs;
  attrs.propagation = propagation;
  return env->MountSetattr(root, attrs);
}

// Makes `path` a mount of its own (a bind of itself) with `propagation`.
// Without the new mount API the same is done with mount(2) on
// /proc/self/fd/N paths; the window in which the bind briefly has the
// parent's propagation only exists during Prepare, before anything is shared.
Status SelfBind(sys::Env* env, bool mount_api, const std::string& path,
                sys::Propagation propagation) {
  ASSIGN_OR_RETURN(sys::Fd dir, OpenDirPath(env, path));
  if (!mount_api) {
    RETURN_IF_ERROR(env->Mount(ProcFd(dir), ProcFd(dir), "", MS_BIND, ""));
    ASSIGN_OR_RETURN(sys::Fd root, OpenDirPath(env, path));
    RETURN_IF_ERROR(env->Mount("", ProcFd(root), "", MS_PRIVATE, ""));
    if (propagation == sys::Propagation::kPrivate) return Status::Ok();
    return env->Mount("", ProcFd(root), "", LegacyPropagation(propagation), "");
  }
  // Both propagation changes on the detached clone: private first (a clone
  // of a shared mount is a peer of it), then the wanted kind, which for
  // shared invents a peer group of its own. It is attached in its final state.
  ASSIGN_OR_RETURN(sys::Fd tree, env->CloneTree(dir, "", /*recursive=*/false));
  sys::MountAttrs attrs;
  attrs.propagation = sys::Propagation::kPrivate;
  RETURN_IF_ERROR(env->MountSetattr(tree, attrs));
  if (propagation != sys::Propagation::kPrivate) {
    attrs.propagation = propagation;
    RETURN_IF_ERROR(env->MountSetattr(tree, attrs));
  }
  return env->MoveMount(tree, dir);
}

// shared/: a read-only (top mount only) slave bind of mounts/.
Status BindSharedView(sys::Env* env, bool mount_api, const ShareTreePaths& paths) {
  ASSIGN_OR_RETURN(sys::Fd mounts, OpenDirPath(env, paths.mounts));
  ASSIGN_OR_RETURN(sys::Fd target, OpenDirPath(env, paths.shared));
  if (!mount_api) {
    RETURN_IF_ERROR(env->Mount(ProcFd(mounts), ProcFd(target), "", MS_BIND | MS_REC, ""));
    ASSIGN_OR_RETURN(sys::Fd root, OpenDirPath(env, paths.shared));
    RETURN_IF_ERROR(env->Mount("", ProcFd(root), "", MS_SLAVE | MS_REC, ""));
    return env->Mount("", ProcFd(root), "", MS_REMOUNT | MS_BIND | MS_RDONLY, "");
  }
  ASSIGN_OR_RETURN(sys::Fd tree, env->CloneTree(mounts, "", /*recursive=*/true));
  // Read-only on the top mount only: shares below keep their own flag.
  sys::MountAttrs ro;
  ro.read_only = true;
  RETURN_IF_ERROR(env->MountSetattr(tree, ro));
  sys::MountAttrs slave;
  slave.propagation = sys::Propagation::kSlave;
  slave.recursive = true;
  RETURN_IF_ERROR(env->MountSetattr(tree, slave));
  return env->MoveMount(tree, target);
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return path.substr(0, slash);
}

bool OtherMount(const sys::FileInfo& entry, const sys::FileInfo& parent) {
  if (entry.mount_root) return true;
  if (entry.mnt_id != 0 && parent.mnt_id != 0) return entry.mnt_id != parent.mnt_id;
  return entry.dev != parent.dev;
}

Status RefuseMount(const std::string& path) {
  return FailedPreconditionError(
      "remove " + Quote(path) +
      ": still a mount point (or on another mount); refusing to delete through it");
}

Status RemoveBelow(sys::Env* env, const std::string& path, const sys::FileInfo& info, int depth) {
  if (!info.is_dir()) return env->UnlinkAt(sys::Cwd(), path, 0);
  if (depth > 32)
    return FailedPreconditionError("remove " + Quote(path) + ": tree deeper than 32 levels");
  ASSIGN_OR_RETURN(sys::Fd dir, env->OpenAt(sys::Cwd(), path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  ASSIGN_OR_RETURN(std::vector<sys::DirEntry> entries, env->ReadDir(dir));
  for (const sys::DirEntry& e : entries) {
    const std::string child = path + "/" + e.name;
    auto child_info = env->StatAt(sys::Cwd(), child, AT_SYMLINK_NOFOLLOW);
    if (!child_info.ok()) {
      if (child_info.status().code() == Code::kNotFound) continue;
      return child_info.status();
    }
    if (OtherMount(*child_info, info)) return RefuseMount(child);
    RETURN_IF_ERROR(RemoveBelow(env, child, *child_info, depth + 1));
  }
  return env->UnlinkAt(sys::Cwd(), path, AT_REMOVEDIR);
}

}  // namespace

ShareTreePaths ShareTreePaths::For(const std::string& root, const std::string& sandbox_id,
                                   const std::string& share_base) {
  std::string r = share_base.empty() ? root : share_base;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (r == "/") r.clear();
  ShareTreePaths p;
  p.sandboxes = share_base.empty() ? r + "/sandboxes" : r;
  p.sandbox = p.sandboxes + "/" + sandbox_id;
  p.mounts = p.sandbox + "/mounts";
  p.shared = p.sandbox + "/shared";
  p.private_dir = p.sandbox + "/private";
  return p;
}

Status MakeDirs(sys::Env* env, const std::string& path, mode_t mode) {
  if (path.empty() || path[0] != '/')
    return InvalidArgumentError("create directory " + Quote(path) + ": not an absolute path");
  // Usually it all exists: one openat2 that refuses every symlink on the way
  // proves it. Anything else (missing, a symlink, no openat2) walks.
  if (env->OpenAt2(sys::Cwd(), path, O_PATH | O_DIRECTORY, 0, sys::kResolveNoSymlinks).ok())
    return Status::Ok();
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (next > pos) RETURN_IF_ERROR(MkdirExistOk(env, path.substr(0, next), mode).status());
    pos = next + 1;
  }
  return Status::Ok();
}

Status BuildShareTree(sys::Env* env, bool mount_api, const ShareTreePaths& paths) {
  RETURN_IF_ERROR(MakeDirs(env, paths.sandboxes, 0755));
  RETURN_IF_ERROR(MkdirExistOk(env, paths.sandbox, 0700).status());
  ASSIGN_OR_RETURN(bool made_mounts, MkdirExistOk(env, paths.mounts, 0755));
  ASSIGN_OR_RETURN(bool made_shared, MkdirExistOk(env, paths.shared, 0755));

  ASSIGN_OR_RETURN(bool shared_done, IsMountRootUnlessNew(env, paths.shared, made_shared));
  ASSIGN_OR_RETURN(bool mounts_done, IsMountRootUnlessNew(env, paths.mounts, made_mounts));
  if (shared_done && !mounts_done) {
    // shared/ is a slave of a mounts/ that is gone: it would never see a new
    // share again. Rebuild it from scratch below.
    RETURN_IF_ERROR(DetachAll(env, paths.shared));
    shared_done = false;
  }
  if (!mounts_done) {
    RETURN_IF_ERROR(SelfBind(env, mount_api, paths.mounts, sys::Propagation::kShared)
                        .WithContext("prepare " + Quote(paths.mounts)));
  } else if (!shared_done) {
    // A previous Prepare stopped between the two binds. Nothing depends on
    // mounts/' peer group yet, so (re)making it a fresh shared group is safe
    // and guarantees shared/ below becomes a slave of the right group.
    ASSIGN_OR_RETURN(sys::Fd root, OpenDirPath(env, paths.mounts));
    RETURN_IF_ERROR(SetPropagation(env, mount_api, root, sys::Propagation::kPrivate));
    RETURN_IF_ERROR(SetPropagation(env, mount_api, root, sys::Propagation::kShared));
  }
  if (!shared_done) {
    Status s = BindSharedView(env, mount_api, paths);
    RETURN_IF_ERROR(s.WithContext("prepare " + Quote(paths.shared)));
  }
  // The staging directory only the mount(2) fallback needs.
  if (mount_api) return Status::Ok();
  ASSIGN_OR_RETURN(bool made_private, MkdirExistOk(env, paths.private_dir, 0755));
  ASSIGN_OR_RETURN(bool private_done, IsMountRootUnlessNew(env, paths.private_dir, made_private));
  if (!private_done) {
    RETURN_IF_ERROR(SelfBind(env, mount_api, paths.private_dir, sys::Propagation::kPrivate)
                        .WithContext("prepare " + Quote(paths.private_dir)));
  }
  return Status::Ok();
}

Status DetachShareTree(sys::Env* env, const ShareTreePaths& paths) {
  // shared/ first: it is the slave, so detaching it never propagates back.
  // One detach each; anything stacked below is found by RemoveShareTree's
  // rmdir (EBUSY) and detached there, and so is private/ (only the mount(2)
  // fallback makes it).
  for (const std::string* dir : {&paths.shared, &paths.mounts}) {
    Status s = env->Unmount(*dir, MNT_DETACH);
    if (!s.ok() && s.err() != EINVAL && s.err() != ENOENT) return s;
  }
  return Status::Ok();
}

namespace {

// rmdir of a tree directory; one that another mount is stacked on (EBUSY)
// is detached (all of them) and tried again.
Status RemoveTreeDir(sys::Env* env, const std::string& dir) {
  Status s = env->UnlinkAt(sys::Cwd(), dir, AT_REMOVEDIR);
  if (!s.ok() && s.err() == EBUSY) {
    RETURN_IF_ERROR(DetachAll(env, dir));
    s = env->UnlinkAt(sys::Cwd(), dir, AT_REMOVEDIR);
  }
  if (!s.ok() && s.err() == ENOENT) return Status::Ok();
  return s;
}

}  // namespace

Status RemoveShareTree(sys::Env* env, const ShareTreePaths& paths) {
  // The usual case: the tree mounts are gone and the directories are empty.
  // rmdir never deletes through a mount (EBUSY) nor a non-empty directory
  // (ENOTEMPTY); either sends it to the careful walk below, which says why.
  // private/ is looked at only when the sandbox dir is not empty.
  if (RemoveTreeDir(env, paths.shared).ok() && RemoveTreeDir(env, paths.mounts).ok()) {
    Status s = env->UnlinkAt(sys::Cwd(), paths.sandbox, AT_REMOVEDIR);
    if (!s.ok() && s.err() == ENOTEMPTY && RemoveTreeDir(env, paths.private_dir).ok())
      s = env->UnlinkAt(sys::Cwd(), paths.sandbox, AT_REMOVEDIR);
    if (s.ok() || s.err() == ENOENT) return Status::Ok();
  }
  return RemoveTreeSameMount(env, paths.sandbox);
}

Status RemoveTreeSameMount(sys::Env* env, const std::string& path) {
  auto info = env->StatAt(sys::Cwd(), path, AT_SYMLINK_NOFOLLOW);
  if (!info.ok()) return info.status().code() == Code::kNotFound ? Status::Ok() : info.status();
  ASSIGN_OR_RETURN(sys::FileInfo parent,
                   env->StatAt(sys::Cwd(), Dirname(path), AT_SYMLINK_NOFOLLOW));
  if (OtherMount(*info, parent)) return RefuseMount(path);
  return RemoveBelow(env, path, *info, 0);
}

}  // namespace vmshare::share
