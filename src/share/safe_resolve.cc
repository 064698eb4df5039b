#include "share/safe_resolve.h"

#include <fcntl.h>

#include <cerrno>

#include "core/ids.h"

namespace vmshare::share {

Result<OpenedSource> OpenSourceNoFollow(ShareHost& host, std::string_view what,
                                        const std::string& path) {
  sys::Env* env = host.env();
  if (path.empty() || path[0] != '/')
    return InvalidArgumentError(std::string(what) + " " + Quote(path) +
                                ": must be an absolute path");
  // Without openat2 (kernels before 5.6, seccomp profiles that refuse it)
  // O_NOFOLLOW still guards the final component, which is the part of the
  // policy that matters most.
  auto fd = host.features().openat2
                ? env->OpenAt2(sys::Cwd(), path, O_PATH | O_NOFOLLOW, 0, sys::kResolveNoMagiclinks)
                : env->OpenAt(sys::Cwd(), path, O_PATH | O_NOFOLLOW);
  if (!fd.ok()) {
    if (fd.status().code() == Code::kNotFound)
      return NotFoundError(std::string(what) + " " + Quote(path) + ": does not exist");
    if (fd.status().err() == ELOOP)
      return InvalidArgumentError(
          std::string(what) + " " + Quote(path) +
          ": resolves through a magic link (or too many symlinks), refused");
    return fd.status().WithContext(std::string(what));
  }
  ASSIGN_OR_RETURN(sys::FileInfo info, env->StatAt(*fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
  if (info.is_lnk())
    return InvalidArgumentError(std::string(what) + " " + Quote(path) +
                                ": is a symbolic link; give the path it points to");
  RETURN_IF_ERROR(host.RefuseKernelFs(*fd, info, what, path));
  return OpenedSource{std::move(fd).value(), info};
}

Result<sys::Fd> OpenEntryNoFollow(sys::Env* env, const sys::Fd& dir, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return InvalidArgumentError("open mountpoint " + Quote(name) + ": not a single path component");
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(dir, name, O_PATH | O_NOFOLLOW));
  ASSIGN_OR_RETURN(sys::FileInfo info, env->StatAt(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
  if (info.is_lnk())
    return InvalidArgumentError("open mountpoint " + Quote(name) + ": is a symbolic link, refused");
  return fd;
}

Result<sys::Fd> OpenDirEntryNoFollow(sys::Env* env, const sys::Fd& dir, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return InvalidArgumentError("open mountpoint " + Quote(name) + ": not a single path component");
  auto fd = env->OpenAt(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!fd.ok() && (fd.status().err() == ENOTDIR || fd.status().err() == ELOOP))
    return InvalidArgumentError("open mountpoint " + Quote(name) +
                                ": not a directory (symlinks are refused)");
  return fd;
}

}  // namespace vmshare::share
