// PosixEnv: the file details a faithful copy needs — device nodes, hard
// links, timestamps, modes by name and extended attributes.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "sys/posix_env.h"
#include "sys/retry.h"
#include "sys/sys_error.h"

namespace vmshare::sys {
namespace {

std::string ProcFd(const Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

}  // namespace

Status PosixEnv::MknodAt(const Fd& dir, const std::string& path, mode_t mode, dev_t dev) {
  if (RetryEintr([&] { return ::mknodat(dir.get(), path.c_str(), mode, dev); }) < 0)
    return SysError("mknod", dir, path);
  return Status::Ok();
}

Status PosixEnv::LinkAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                        const std::string& newpath) {
  if (RetryEintr([&] {
        return ::linkat(olddir.get(), oldpath.c_str(), newdir.get(), newpath.c_str(), 0);
      }) < 0)
    return SysError("link to " + DescribeAt(olddir, oldpath) + " at", newdir, newpath);
  return Status::Ok();
}

Status PosixEnv::SetTimes(const Fd& dir, const std::string& path, int64_t atime_ns,
                          int64_t mtime_ns) {
  struct timespec ts[2];
  ts[0].tv_sec = atime_ns / 1'000'000'000;
  ts[0].tv_nsec = atime_ns % 1'000'000'000;
  ts[1].tv_sec = mtime_ns / 1'000'000'000;
  ts[1].tv_nsec = mtime_ns % 1'000'000'000;
  // An fd open for reading or writing takes the times itself (no lookup);
  // an O_PATH one answers EBADF and goes by AT_EMPTY_PATH below.
  if (path.empty() && RetryEintr([&] { return ::futimens(dir.get(), ts); }) == 0)
    return Status::Ok();
  const int flags = path.empty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
  if (RetryEintr([&] { return ::utimensat(dir.get(), path.c_str(), ts, flags); }) < 0) {
    // Older kernels refuse AT_EMPTY_PATH here; name the fd instead.
    if (path.empty() && errno == EINVAL) {
      if (::utimensat(AT_FDCWD, ProcFd(dir).c_str(), ts, 0) == 0) return Status::Ok();
    }
    return SysError("set times of", dir, path);
  }
  return Status::Ok();
}

Status PosixEnv::ChmodAt(const Fd& dir, const std::string& path, mode_t mode) {
  if (RetryEintr([&] { return ::fchmodat(dir.get(), path.c_str(), mode, 0); }) < 0)
    return SysError("chmod", dir, path);
  return Status::Ok();
}

Status PosixEnv::SetXattr(const Fd& fd, const std::string& name, std::string_view value) {
  const std::string p = ProcFd(fd);
  if (::setxattr(p.c_str(), name.c_str(), value.data(), value.size(), 0) < 0) {
    return SysError("set xattr " + name + " on", fd);
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> PosixEnv::ListXattrs(const Fd& fd) {
  const std::string p = ProcFd(fd);
  std::vector<std::pair<std::string, std::string>> out;
  auto fail = [&](const std::string& what) { return SysError(what + " of", fd); };
  ssize_t n = ::listxattr(p.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return out;
    return fail("list xattrs");
  }
  if (n == 0) return out;
  std::string names(static_cast<size_t>(n), '\0');
  n = ::listxattr(p.c_str(), names.data(), names.size());
  if (n < 0) return fail("list xattrs");
  names.resize(static_cast<size_t>(n));
  for (size_t i = 0; i < names.size();) {
    const std::string name = names.c_str() + i;
    i += name.size() + 1;
    if (name.empty()) continue;
    ssize_t len = ::getxattr(p.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) return fail("get xattr \"" + name + "\"");
    std::string value(static_cast<size_t>(len), '\0');
    len = ::getxattr(p.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) return fail("get xattr \"" + name + "\"");
    value.resize(static_cast<size_t>(len));
    out.emplace_back(name, std::move(value));
  }
  return out;
}

}  // namespace vmshare::sys
