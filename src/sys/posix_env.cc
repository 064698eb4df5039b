// PosixEnv: files, directories, locks and mounts.
#include "sys/posix_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/ids.h"
#include "sys/retry.h"
#include "sys/sys_error.h"

namespace vmshare::sys {
namespace {}  // namespace

void Fd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

const Fd& Cwd() {
  static const Fd* cwd = new Fd(AT_FDCWD);
  return *cwd;
}

Env* Env::Default() {
  static Env* env = new PosixEnv;
  return env;
}

std::string DescribeAt(const Fd& dir, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  if (dir.get() == AT_FDCWD) return path;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", dir.get());
  char buf[4096];
  const ssize_t n = ::readlink(link, buf, sizeof buf - 1);
  std::string base =
      n > 0 ? std::string(buf, static_cast<size_t>(n)) : "fd " + std::to_string(dir.get());
  if (path.empty()) return base;
  return base == "/" ? "/" + path : base + "/" + path;
}

Result<Fd> PosixEnv::OpenAt(const Fd& dir, const std::string& path, int flags, mode_t mode) {
  const int fd =
      RetryEintr([&] { return ::openat(dir.get(), path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) return SysError("open", dir, path);
  return Fd(fd);
}

Result<Fd> PosixEnv::OpenAt2(const Fd& dir, const std::string& path, int flags, mode_t mode,
                             uint64_t resolve) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  const long fd =
      RetryEintr([&] { return ::syscall(SYS_openat2, dir.get(), path.c_str(), &how, sizeof how); });
  if (fd < 0) return SysError("open", dir, path);
  return Fd(static_cast<int>(fd));
}

Status PosixEnv::MkdirAt(const Fd& dir, const std::string& path, mode_t mode) {
  if (RetryEintr([&] { return ::mkdirat(dir.get(), path.c_str(), mode); }) < 0)
    return SysError("mkdir", dir, path);
  return Status::Ok();
}

Status PosixEnv::UnlinkAt(const Fd& dir, const std::string& path, int flags) {
  if (RetryEintr([&] { return ::unlinkat(dir.get(), path.c_str(), flags); }) < 0)
    return SysError(flags & AT_REMOVEDIR ? "rmdir" : "unlink", dir, path);
  return Status::Ok();
}

Status PosixEnv::RenameAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                          const std::string& newpath, unsigned flags) {
  if (RetryEintr([&] {
        return ::renameat2(olddir.get(), oldpath.c_str(), newdir.get(), newpath.c_str(), flags);
      }) < 0) {
    const int e = errno;
    return SysErrorCode(e, "rename " + Quote(DescribeAt(olddir, oldpath)) + " to",
                        DescribeAt(newdir, newpath));
  }
  return Status::Ok();
}

Status PosixEnv::SymlinkAt(const std::string& target, const Fd& dir, const std::string& path) {
  if (RetryEintr([&] { return ::symlinkat(target.c_str(), dir.get(), path.c_str()); }) < 0)
    return SysError("symlink", dir, path);
  return Status::Ok();
}

Result<std::string> PosixEnv::ReadlinkAt(const Fd& dir, const std::string& path) {
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlinkat(dir.get(), path.c_str(), buf.data(), buf.size());
    if (n < 0) return SysError("readlink", dir, path);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

Result<FileInfo> PosixEnv::StatAt(const Fd& dir, const std::string& path, int flags) {
  struct statx sx = {};
  const unsigned mask = STATX_BASIC_STATS | STATX_MNT_ID;
  if (RetryEintr([&] { return ::statx(dir.get(), path.c_str(), flags, mask, &sx); }) < 0)
    return SysError("stat", dir, path);
  FileInfo info;
  info.mode = sx.stx_mode;
  info.uid = sx.stx_uid;
  info.gid = sx.stx_gid;
  info.size = sx.stx_size;
  info.ino = sx.stx_ino;
  info.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  info.rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  info.mnt_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
  info.mount_root = (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
                    (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  info.mtime_ns = sx.stx_mtime.tv_sec * 1'000'000'000LL + sx.stx_mtime.tv_nsec;
  info.atime_ns = sx.stx_atime.tv_sec * 1'000'000'000LL + sx.stx_atime.tv_nsec;
  info.nlink = sx.stx_nlink;
  return info;
}

Status PosixEnv::ChmodFd(const Fd& fd, mode_t mode) {
  if (RetryEintr([&] { return ::fchmod(fd.get(), mode); }) < 0) return SysError("chmod", fd);
  return Status::Ok();
}

Status PosixEnv::ChownAt(const Fd& dir, const std::string& path, uid_t uid, gid_t gid, int flags) {
  if (RetryEintr([&] { return ::fchownat(dir.get(), path.c_str(), uid, gid, flags); }) < 0)
    return SysError("chown", dir, path);
  return Status::Ok();
}

Status PosixEnv::Truncate(const Fd& fd, uint64_t size) {
  if (RetryEintr([&] { return ::ftruncate(fd.get(), static_cast<off_t>(size)); }) < 0)
    return SysError("truncate", fd);
  return Status::Ok();
}

Result<std::vector<DirEntry>> PosixEnv::ReadDir(const Fd& dir) {
  // Reopen so the caller's fd offset is untouched and fdopendir may own it.
  const int fd = ::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError("open directory", dir);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    Status s = SysError("open directory", dir);
    ::close(fd);
    return s;
  }
  std::vector<DirEntry> out;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    out.push_back({e->d_name, e->d_type});
  }
  const int e = errno;
  ::closedir(d);
  if (e != 0) {
    return SysErrorCode(e, "read directory", DescribeAt(dir, ""));
  }
  return out;
}

Status PosixEnv::WriteAll(const Fd& fd, std::string_view data, std::optional<uint64_t> offset) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = RetryEintr([&] {
      return offset ? ::pwrite(fd.get(), data.data() + done, data.size() - done,
                               static_cast<off_t>(*offset + done))
                    : ::write(fd.get(), data.data() + done, data.size() - done);
    });
    if (n < 0) return SysError("write", fd);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::string> PosixEnv::Read(const Fd& fd, size_t max) {
  std::string buf;
  ssize_t n = 0;
  // No zero-filling of what read(2) is about to overwrite.
  buf.resize_and_overwrite(max, [&](char* p, size_t) {
    n = RetryEintr([&] { return ::read(fd.get(), p, max); });
    return n < 0 ? 0 : static_cast<size_t>(n);
  });
  if (n < 0) return SysError("read", fd);
  return buf;
}

Result<size_t> PosixEnv::ReadInto(const Fd& fd, char* buf, size_t max) {
  const ssize_t n = RetryEintr([&] { return ::read(fd.get(), buf, max); });
  if (n < 0) return SysError("read", fd);
  return static_cast<size_t>(n);
}

Result<std::string> PosixEnv::ReadAll(const Fd& fd, size_t limit) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return SysError("read", fd);
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > limit)
      return InvalidArgumentError("read \"" + DescribeAt(fd, "") + "\": larger than " +
                                  std::to_string(limit) + " bytes");
    out.append(buf, static_cast<size_t>(n));
  }
}

Status PosixEnv::Fsync(const Fd& fd) {
  if (RetryEintr([&] { return ::fsync(fd.get()); }) < 0) return SysError("fsync", fd);
  return Status::Ok();
}

Result<std::string> PosixEnv::FdPath(const Fd& fd) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd.get());
  std::string buf(4096, '\0');
  const ssize_t n = ::readlink(link, buf.data(), buf.size());
  if (n < 0) return SysError("readlink", Cwd(), link);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Status PosixEnv::Flock(const Fd& fd, int op) {
  if (RetryEintr([&] { return ::flock(fd.get(), op); }) < 0) return SysError("lock", fd);
  return Status::Ok();
}

Result<Fd> PosixEnv::CloneTree(const Fd& dir, const std::string& path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW;
  if (recursive) flags |= AT_RECURSIVE;
  if (path.empty()) flags |= AT_EMPTY_PATH;
  const int fd = RetryEintr([&] { return ::open_tree(dir.get(), path.c_str(), flags); });
  if (fd < 0) return SysError("clone mount tree", dir, path);
  return Fd(fd);
}

Status PosixEnv::MountSetattr(const Fd& fd, const MountAttrs& a) {
  struct mount_attr attr = {};
  if (a.read_only) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (a.nosuid) attr.attr_set |= MOUNT_ATTR_NOSUID;
  if (a.nodev) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (a.noexec) attr.attr_set |= MOUNT_ATTR_NOEXEC;
  if (a.clear_nosuid_nodev) attr.attr_clr |= MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  switch (a.propagation) {
    case Propagation::kUnchanged:
      break;
    case Propagation::kPrivate:
      attr.propagation = MS_PRIVATE;
      break;
    case Propagation::kShared:
      attr.propagation = MS_SHARED;
      break;
    case Propagation::kSlave:
      attr.propagation = MS_SLAVE;
      break;
    case Propagation::kUnbindable:
      attr.propagation = MS_UNBINDABLE;
      break;
  }
  const unsigned flags = AT_EMPTY_PATH | (a.recursive ? AT_RECURSIVE : 0);
  if (RetryEintr([&] { return ::mount_setattr(fd.get(), "", flags, &attr, sizeof attr); }) < 0)
    return SysError("set mount attributes on", fd);
  return Status::Ok();
}

Status PosixEnv::MoveMount(const Fd& tree, const Fd& target) {
  if (RetryEintr([&] {
        return ::move_mount(tree.get(), "", target.get(), "",
                            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
      }) < 0)
    return SysError("move mount onto", target);
  return Status::Ok();
}

Status Env::MoveMountAt(const Fd& tree, const Fd& dir, const std::string& name) {
  ASSIGN_OR_RETURN(Fd target, OpenAt(dir, name, O_PATH | O_NOFOLLOW));
  return MoveMount(tree, target);
}

Status PosixEnv::MoveMountAt(const Fd& tree, const Fd& dir, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos)
    return InvalidArgumentError("move mount onto " + Quote(name) + ": not one path component");
  // No MOVE_MOUNT_T_SYMLINKS: a symlink at `name` is never followed.
  if (RetryEintr([&] {
        return ::move_mount(tree.get(), "", dir.get(), name.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
      }) < 0)
    return SysError("move mount onto", dir, name);
  return Status::Ok();
}

Status PosixEnv::Mount(const std::string& source, const std::string& target,
                       const std::string& fstype, unsigned long flags, const std::string& data) {
  if (RetryEintr([&] {
        return ::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                       fstype.empty() ? nullptr : fstype.c_str(), flags,
                       data.empty() ? nullptr : data.c_str());
      }) < 0) {
    const int e = errno;
    return SysErrorCode(e, "mount " + Quote(source) + " on", target);
  }
  return Status::Ok();
}

Status PosixEnv::Unmount(const std::string& target, int flags) {
  if (RetryEintr([&] { return ::umount2(target.c_str(), flags | UMOUNT_NOFOLLOW); }) < 0)
    return SysError("unmount", Cwd(), target);
  return Status::Ok();
}

Status PosixEnv::Unshare(int flags) {
  if (::unshare(flags) < 0) return SysError("unshare namespaces");
  return Status::Ok();
}

Status PosixEnv::GetRandom(void* out, size_t len) {
  auto* p = static_cast<unsigned char*>(out);
  while (len > 0) {
    const ssize_t n = RetryEintr([&] { return ::getrandom(p, len, 0); });
    if (n < 0) {
      const int e = errno;
      return ErrnoError(e, "getrandom");
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace vmshare::sys
