#include "persist/remove_tree.h"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>

namespace vmshare::persist {
namespace {

// True when `child` sits on a different mount than `parent`.
bool OtherMount(const sys::FileInfo& parent, const sys::FileInfo& child) {
  if (child.mount_root || child.dev != parent.dev) return true;
  return parent.mnt_id != 0 && child.mnt_id != 0 && parent.mnt_id != child.mnt_id;
}

Status RemoveContents(sys::Env* env, const sys::Fd& dir, const std::string& path,
                      const sys::FileInfo& top) {
  ASSIGN_OR_RETURN(auto entries, env->ReadDir(dir));
  for (const auto& e : entries) {
    const std::string child_path = path + "/" + e.name;
    auto info = env->StatAt(dir, e.name, AT_SYMLINK_NOFOLLOW);
    if (!info.ok()) {
      if (info.status().err() == ENOENT) continue;
      return info.status();
    }
    if (info->is_dir()) {
      if (OtherMount(top, *info))
        return FailedPreconditionError("remove \"" + child_path +
                                       "\": a mount point; refusing to cross it");
      ASSIGN_OR_RETURN(sys::Fd sub, env->OpenAt(dir, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      RETURN_IF_ERROR(RemoveContents(env, sub, child_path, top));
    }
    Status s = env->UnlinkAt(dir, e.name, info->is_dir() ? AT_REMOVEDIR : 0);
    if (!s.ok() && s.err() != ENOENT) return s;
  }
  return Status::Ok();
}

}  // namespace

Status RemoveTreeAt(sys::Env* env, const sys::Fd& dir, const std::string& dir_path,
                    const std::string& name) {
  const std::string path = dir_path + "/" + name;
  auto parent = env->StatAt(dir, "", AT_EMPTY_PATH);
  if (!parent.ok()) return parent.status();
  auto info = env->StatAt(dir, name, AT_SYMLINK_NOFOLLOW);
  if (!info.ok()) return info.status().err() == ENOENT ? Status::Ok() : info.status();
  if (info->is_dir()) {
    if (OtherMount(*parent, *info))
      return FailedPreconditionError("remove \"" + path +
                                     "\": a mount point; refusing to cross it");
    ASSIGN_OR_RETURN(sys::Fd sub, env->OpenAt(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    RETURN_IF_ERROR(RemoveContents(env, sub, path, *info));
  }
  Status s = env->UnlinkAt(dir, name, info->is_dir() ? AT_REMOVEDIR : 0);
  if (!s.ok() && s.err() != ENOENT) return s;
  // The removal is durable once the parent directory is.
  return env->Fsync(dir);
}

}  // namespace vmshare::persist
