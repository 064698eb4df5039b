#include "agent/server/init.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <chrono>
#include <sstream>

#include "agent/server/in_root.h"
#include "core/ids.h"

namespace vmshare::agent {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<std::string> ReadSmallFile(sys::Env* env, const std::string& path, size_t limit) {
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(sys::Cwd(), path, O_RDONLY));
  return env->ReadAll(fd, limit);
}

}  // namespace

Status MountEarlyFilesystems(sys::Env* env) {
  struct Fs {
    const char* target;
    const char* type;
    unsigned long flags;
    const char* data;
  };
  static const Fs kFs[] = {
      {"/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""},
      {"/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""},
      {"/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""},
      {"/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
      {"/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666"},
      {"/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
  };
  Status first;
  for (const auto& fs : kFs) {
    Status s = MkdirAll(env, fs.target, 0755);
    if (s.ok()) {
      auto info = env->StatAt(sys::Cwd(), fs.target, 0);
      if (info.ok() && info->mount_root) continue;
      s = env->Mount(fs.type, fs.target, fs.type, fs.flags, fs.data);
      if (!s.ok() && s.err() == EBUSY) s = Status::Ok();
    }
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

Status LoadModules(sys::Env* env, const std::string& list_path) {
  auto list = ReadSmallFile(env, list_path, 1 << 20);
  if (!list.ok()) {
    if (list.status().code() == Code::kNotFound) return Status::Ok();
    return list.status();
  }
  std::istringstream in(*list);
  std::string line;
  Status first;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const size_t end = line.find_first_of(" \t", start);
    const std::string path = line.substr(start, end == std::string::npos ? end : end - start);
    std::string params;
    if (end != std::string::npos) {
      const size_t p = line.find_first_not_of(" \t", end);
      if (p != std::string::npos) params = line.substr(p);
    }
    Status s;
    if (path[0] != '/') {
      s = InvalidArgumentError("load kernel module " + Quote(path) + " (" + list_path +
                               "): not an absolute path to a .ko file");
    } else {
      auto fd = env->OpenAt(sys::Cwd(), path, O_RDONLY);
      if (!fd.ok()) {
        s = fd.status();
      } else {
        const bool compressed =
            EndsWith(path, ".xz") || EndsWith(path, ".zst") || EndsWith(path, ".gz");
        s = env->LoadModule(*fd, params, compressed);
        if (!s.ok() && s.err() == EEXIST) s = Status::Ok();
        if (!s.ok()) s = s.WithContext("load kernel module " + Quote(path));
      }
    }
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

Result<std::string> FindVirtioPort(sys::Env* env, const std::string& port_name,
                                   const std::string& sysfs_ports, const std::string& dev_dir,
                                   int timeout_ms) {
  const int64_t deadline = env->NowNanos() + int64_t{timeout_ms} * 1'000'000;
  for (;;) {
    auto dir = env->OpenAt(sys::Cwd(), sysfs_ports, O_RDONLY | O_DIRECTORY);
    if (dir.ok()) {
      auto entries = env->ReadDir(*dir);
      if (entries.ok()) {
        for (const auto& e : *entries) {
          auto name = ReadSmallFile(env, sysfs_ports + "/" + e.name + "/name", 4096);
          if (!name.ok()) continue;
          std::string n = *name;
          while (!n.empty() && (n.back() == '\n' || n.back() == '\0')) n.pop_back();
          if (n == port_name) return dev_dir + "/" + e.name;
        }
      }
    }
    if (env->NowNanos() > deadline) {
      return NotFoundError("virtio-serial port " + Quote(port_name) + " not found under " +
                           sysfs_ports);
    }
    // The port appears when QEMU's control message for it is handled, right
    // after virtio_console loads: poll finely, each miss is boot time.
    env->SleepFor(std::chrono::milliseconds(5));
  }
}

}  // namespace vmshare::agent
