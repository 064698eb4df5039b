#include "agent/server/copy_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "agent/server/in_root.h"
#include "core/ids.h"
#include "core/types.h"

namespace vmshare::agent {
namespace {

constexpr uint64_t kResolve = kResolveInSharedRoot;

// The part of `path` after kGuestSharedDir, compared component by component.
Result<std::string> RelativeToShared(const std::string& path) {
  const std::string_view prefix = kGuestSharedDir;
  auto bad = [&] {
    return InvalidArgumentError("copy file " + Quote(path) + ": path is not under " +
                                std::string(prefix) + "/");
  };
  if (path.compare(0, prefix.size(), prefix) != 0) return bad();
  if (path.size() == prefix.size() || path[prefix.size()] != '/') return bad();
  return path.substr(prefix.size() + 1);
}

Status CopyDirectory(sys::Env* env, const sys::Fd& parent, const std::string& name,
                     const CopyFileRequest& r) {
  auto info = env->StatAt(parent, name, AT_SYMLINK_NOFOLLOW);
  if (info.ok() && !info->is_dir()) RETURN_IF_ERROR(RemoveEntry(env, parent, name));
  Status made = env->MkdirAt(parent, name, r.file_mode & 07777);
  if (!made.ok() && made.err() != EEXIST) return made;
  ASSIGN_OR_RETURN(sys::Fd dir, env->OpenAt(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  // Owner before mode: chown clears setuid/setgid.
  RETURN_IF_ERROR(
      env->ChownAt(dir, "", static_cast<uid_t>(r.uid), static_cast<gid_t>(r.gid), AT_EMPTY_PATH));
  return env->ChmodFd(dir, r.file_mode & 07777);
}

Status CopySymlink(sys::Env* env, const sys::Fd& parent, const std::string& name,
                   const CopyFileRequest& r, std::string_view target) {
  if (target.empty() || target.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("bad symlink target " + Quote(target));
  }
  RETURN_IF_ERROR(RemoveEntry(env, parent, name));
  RETURN_IF_ERROR(env->SymlinkAt(std::string(target), parent, name));
  return env->ChownAt(parent, name, static_cast<uid_t>(r.uid), static_cast<gid_t>(r.gid),
                      AT_SYMLINK_NOFOLLOW);
}

// The shared root, made if missing (the first copy).
Result<sys::Fd> OpenSharedRoot(sys::Env* env, const std::string& shared_root) {
  auto root = env->OpenAt(sys::Cwd(), shared_root, O_PATH | O_DIRECTORY);
  if (root.ok() || root.status().err() != ENOENT) return root;
  RETURN_IF_ERROR(MkdirAll(env, shared_root, 0755));
  return env->OpenAt(sys::Cwd(), shared_root, O_PATH | O_DIRECTORY);
}

// The parent directory of parts.back(), made (with `mode`) where missing.
// Usually it exists: one lookup of the whole prefix finds it.
Result<sys::Fd> OpenParent(sys::Env* env, const sys::Fd& root,
                           const std::vector<std::string>& parts, mode_t mode) {
  const size_t n = parts.size() - 1;
  auto parent = env->OpenAt2(root, n == 0 ? "." : JoinComponents(parts, n), O_PATH | O_DIRECTORY, 0,
                             kResolve);
  if (parent.ok()) return parent;
  return MkdirAllInRoot(env, root, parts, n, mode, kResolve);
}

}  // namespace

Status RemoveEntry(sys::Env* env, const sys::Fd& dir, const std::string& name) {
  Status s = env->UnlinkAt(dir, name, 0);
  if (s.ok() || s.err() == ENOENT) return Status::Ok();
  if (s.err() == EISDIR || s.err() == EPERM) return env->UnlinkAt(dir, name, AT_REMOVEDIR);
  return s;
}

Status CheckCopyChunk(const CopyFileRequest& r, std::string_view data) {
  if (r.file_size < 0 || r.offset < 0 ||
      r.offset + static_cast<int64_t>(data.size()) > r.file_size) {
    return InvalidArgumentError("chunk at offset " + std::to_string(r.offset) + " of " +
                                std::to_string(data.size()) + " bytes does not fit file_size " +
                                std::to_string(r.file_size));
  }
  return Status::Ok();
}

Status CopyThroughTemp(sys::Env* env, const sys::Fd& parent, const std::string& name,
                       const CopyFileRequest& r, std::string_view data) {
  const std::string tmp = kCopyTempPrefix + name;
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW;
  if (r.offset == 0) flags |= O_TRUNC;
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(parent, tmp, flags, 0600));
  if (!data.empty()) {
    RETURN_IF_ERROR(env->WriteAll(fd, data, static_cast<uint64_t>(r.offset)));
  }
  // A whole file in one chunk (the usual small file) is complete as written.
  const bool whole = r.offset == 0 && static_cast<int64_t>(data.size()) == r.file_size;
  if (!whole) {
    ASSIGN_OR_RETURN(sys::FileInfo info, env->StatAt(fd, "", AT_EMPTY_PATH));
    if (static_cast<int64_t>(info.size) != r.file_size) return Status::Ok();  // more to come
  }
  // Owner before mode: chown clears setuid/setgid.
  RETURN_IF_ERROR(
      env->ChownAt(fd, "", static_cast<uid_t>(r.uid), static_cast<gid_t>(r.gid), AT_EMPTY_PATH));
  RETURN_IF_ERROR(env->ChmodFd(fd, r.file_mode & 07777));
  Status renamed = env->RenameAt(parent, tmp, parent, name);
  // rename cannot replace a directory with a file: an empty one goes first.
  if (renamed.ok() || renamed.err() != EISDIR) return renamed;
  RETURN_IF_ERROR(env->UnlinkAt(parent, name, AT_REMOVEDIR));
  return env->RenameAt(parent, tmp, parent, name);
}

Status CopyFile(sys::Env* env, const std::string& shared_root, const CopyFileRequest& r) {
  return CopyFile(env, shared_root, r, r.data);
}

Status CopyFile(sys::Env* env, const std::string& shared_root, const CopyFileRequest& r,
                std::string_view data) {
  ASSIGN_OR_RETURN(std::string rel, RelativeToShared(r.path));
  ASSIGN_OR_RETURN(auto parts, SplitRelative(rel, "copy file"));
  if (parts.empty()) {
    return InvalidArgumentError("copy file " + Quote(r.path) + ": names the shared directory");
  }
  const std::string& name = parts.back();
  if (name.rfind(kCopyTempPrefix, 0) == 0) {
    return InvalidArgumentError("copy file " + Quote(r.path) + ": names starting with " +
                                kCopyTempPrefix + " are reserved");
  }
  ASSIGN_OR_RETURN(sys::Fd root, OpenSharedRoot(env, shared_root));
  auto parent = OpenParent(env, root, parts, r.dir_mode & 0777);
  if (!parent.ok()) {
    if (parent.status().err() == ELOOP) {
      return PermissionDeniedError("copy file " + Quote(r.path) +
                                   ": a parent directory is a symlink");
    }
    return parent.status().WithContext("copy file " + Quote(r.path));
  }
  if (parts.size() > 1) {
    RETURN_IF_ERROR(env->ChownAt(*parent, "", static_cast<uid_t>(r.uid), static_cast<gid_t>(r.gid),
                                 AT_EMPTY_PATH));
  }
  Status s;
  switch (r.file_mode & S_IFMT) {
    case S_IFDIR:
      s = CopyDirectory(env, *parent, name, r);
      break;
    case S_IFLNK:
      s = CopySymlink(env, *parent, name, r, data);
      break;
    default:
      s = CheckCopyChunk(r, data);
      if (s.ok()) s = CopyThroughTemp(env, *parent, name, r, data);
      break;
  }
  return s.WithContext("copy file " + Quote(r.path));
}

}  // namespace vmshare::agent
