#include "share/host_guard.h"

#include <fcntl.h>

#include <array>
#include <cstdint>
#include <utility>

#include "core/ids.h"

namespace vmshare::share {
namespace {

// statfs f_type values (linux/magic.h), repeated so no kernel header is needed.
constexpr std::array<std::pair<uint64_t, const char*>, 17> kKernelFs = {{
    {0x9fa0, "procfs"},
    {0x62656572, "sysfs"},
    {0x1cd1, "devpts"},
    {0x27e0eb, "cgroup"},
    {0x63677270, "cgroup2"},
    {0x64626720, "debugfs"},
    {0x74726163, "tracefs"},
    {0x73636673, "securityfs"},
    {0xcafe4a11, "bpf"},
    {0xde5e81e4, "efivarfs"},
    {0x6165676c, "pstore"},
    {0x62656570, "configfs"},
    {0x19800202, "mqueue"},
    {0x42494e4d, "binfmt_misc"},
    {0x65735543, "fusectl"},
    {0xf97cff8c, "selinuxfs"},
    {0x50495045, "pipefs"},
}};

// The host directories whose filesystems (and everything below them) are
// the kernel's, and the root, which holds them all.
constexpr std::array<const char*, 3> kHostKernelDirs = {"/proc", "/sys", "/dev"};

bool UnderDir(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

Status Refused(std::string_view what, const std::string& path, const std::string& why) {
  return PermissionDeniedError(std::string(what) + " " + Quote(path) + ": " + why +
                               "; sharing host kernel filesystems is refused");
}

}  // namespace

Status RefuseHostKernelFs(sys::Env* env, const sys::Fd& source, std::string_view what, const std::string& path) {
  ASSIGN_OR_RETURN(uint64_t magic, env->FsMagic(source));
  for (const auto& [m, name] : kKernelFs)
    if (magic == m) return Refused(what, path, std::string("is on the host's ") + name);

  ASSIGN_OR_RETURN(sys::FileInfo info, env->StatAt(source, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
  // Where the kernel says the fd is: catches /dev/shm, /dev/mqueue and other
  // mounts below the host's /dev that are plain tmpfs.
  auto real = env->FdPath(source);
  if (real.ok()) {
    if (*real == "/") return Refused(what, path, "is the host's root");
    for (const char* dir : kHostKernelDirs)
      if (UnderDir(*real, dir)) return Refused(what, path, std::string("is in the host's ") + dir);
  }
  // Same filesystem as the host's /dev (devtmpfs reports tmpfs's magic), or
  // the very inode of /, /proc, /sys or /dev (e.g. reached by a bind mount
  // elsewhere, where the path above does not say so).
  for (const char* dir : {"/", "/proc", "/sys", "/dev"}) {
    auto host = env->StatAt(sys::Cwd(), dir, 0);
    if (!host.ok()) continue;
    if (host->dev == info.dev && host->ino == info.ino)
      return Refused(what, path, std::string("is the host's ") + dir);
    if (std::string_view(dir) == "/dev" && host->dev == info.dev && host->dev != 0) {
      auto root = env->StatAt(sys::Cwd(), "/", 0);
      // Only when /dev is a filesystem of its own, not a directory of "/".
      if (root.ok() && root->dev != host->dev) return Refused(what, path, "is on the host's /dev");
    }
  }
  return Status::Ok();
}

}  // namespace vmshare::share
