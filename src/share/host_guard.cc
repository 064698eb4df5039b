#include "share/host_guard.h"

#include <fcntl.h>
#include <sys/sysmacros.h>

#include <array>
#include <charconv>
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
constexpr std::array<std::string_view, 3> kHostKernelDirs = {"/proc", "/sys", "/dev"};

bool UnderDir(std::string_view path, std::string_view dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) &&
        IsOctal(s[i + 3])) {
      out +=
          static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "<id> <parent> <major>:<minor> <root> <mount point> ...": the device and
// the mount point of each line.
void AddKernelDevs(std::string_view table, HostIdentities* host) {
  while (!table.empty()) {
    const size_t nl = table.find('\n');
    std::string_view line = table.substr(0, nl);
    table = nl == std::string_view::npos ? std::string_view() : table.substr(nl + 1);
    std::string_view field[5];
    size_t n = 0;
    while (n < 5 && !line.empty()) {
      const size_t sp = line.find(' ');
      field[n++] = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    }
    if (n < 5) continue;
    const size_t colon = field[2].find(':');
    if (colon == std::string_view::npos) continue;
    unsigned major = 0, minor = 0;
    auto [e1, r1] = std::from_chars(field[2].data(), field[2].data() + colon, major);
    auto [e2, r2] =
        std::from_chars(field[2].data() + colon + 1, field[2].data() + field[2].size(), minor);
    if (r1 != std::errc() || r2 != std::errc()) continue;
    const std::string target = Unescape(field[4]);
    for (std::string_view dir : kHostKernelDirs) {
      if (UnderDir(target, dir))
        host->kernel_devs.push_back({makedev(major, minor), std::string(dir)});
    }
  }
}

Status Refused(std::string_view what, const std::string& path, const std::string& why) {
  return PermissionDeniedError(std::string(what) + " " + Quote(path) + ": " + why +
                               "; sharing host kernel filesystems is refused");
}

}  // namespace

Result<HostIdentities> ReadHostIdentities(sys::Env* env) {
  HostIdentities host;
  for (const char* dir : {"/", "/proc", "/sys", "/dev"}) {
    auto info = env->StatAt(sys::Cwd(), dir, 0);
    if (info.ok()) host.inodes.push_back({dir, info->dev, info->ino});
  }
  auto fd = env->OpenAt(sys::Cwd(), "/proc/self/mountinfo", O_RDONLY);
  auto table = fd.ok() ? env->ReadAll(*fd, 64 << 20) : Result<std::string>(fd.status());
  if (table.ok()) {
    AddKernelDevs(*table, &host);
  } else if (host.inodes.size() == 4 && host.inodes[3].dev != host.inodes[0].dev) {
    host.kernel_devs.push_back({host.inodes[3].dev, "/dev"});
  }
  return host;
}

Status RefuseHostKernelFs(sys::Env* env, const HostIdentities& host, const sys::Fd& source,
                          const sys::FileInfo& info, std::string_view what,
                          const std::string& path) {
  ASSIGN_OR_RETURN(uint64_t magic, env->FsMagic(source));
  for (const auto& [m, name] : kKernelFs)
    if (magic == m) return Refused(what, path, std::string("is on the host's ") + name);
  // The very inode of /, /proc, /sys or /dev (however it was reached: a bind
  // mount elsewhere, a symlinked parent).
  for (const HostIdentities::Inode& h : host.inodes) {
    if (h.dev == info.dev && h.ino == info.ino)
      return Refused(what, path,
                     h.dir == "/" ? std::string("is the host's root") : "is the host's " + h.dir);
  }
  // Any filesystem mounted at or below them: devtmpfs (which reports tmpfs's
  // magic), /dev/shm, /dev/mqueue, hugetlbfs, ...
  for (const HostIdentities::Device& d : host.kernel_devs) {
    if (d.dev == info.dev && d.dev != 0) return Refused(what, path, "is in the host's " + d.dir);
  }
  return Status::Ok();
}

}  // namespace vmshare::share
