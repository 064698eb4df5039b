#include "agent/server/mount_options.h"

#include <sys/mount.h>

#include <charconv>
#include <map>

namespace vmshare::agent {

ParsedMountOptions ParseMountOptions(const std::vector<std::string>& options) {
  // {set, clear}
  static const std::map<std::string, std::pair<unsigned long, unsigned long>> kFlags = {
      {"ro", {MS_RDONLY, 0}},
      {"rw", {0, MS_RDONLY}},
      {"nosuid", {MS_NOSUID, 0}},
      {"suid", {0, MS_NOSUID}},
      {"nodev", {MS_NODEV, 0}},
      {"dev", {0, MS_NODEV}},
      {"noexec", {MS_NOEXEC, 0}},
      {"exec", {0, MS_NOEXEC}},
      {"sync", {MS_SYNCHRONOUS, 0}},
      {"async", {0, MS_SYNCHRONOUS}},
      {"dirsync", {MS_DIRSYNC, 0}},
      {"noatime", {MS_NOATIME, 0}},
      {"atime", {0, MS_NOATIME}},
      {"nodiratime", {MS_NODIRATIME, 0}},
      {"relatime", {MS_RELATIME, 0}},
      {"norelatime", {0, MS_RELATIME}},
      {"strictatime", {MS_STRICTATIME, 0}},
      {"defaults", {0, 0}},
  };
  static const char* kPropagation[] = {"private", "rprivate", "shared",     "rshared",
                                       "slave",   "rslave",   "unbindable", "runbindable"};
  ParsedMountOptions out;
  for (const auto& o : options) {
    if (o == "bind" || o == "rbind") {
      out.bind = true;
      out.recursive = out.recursive || o == "rbind";
      continue;
    }
    if (auto it = kFlags.find(o); it != kFlags.end()) {
      out.flags = (out.flags | it->second.first) & ~it->second.second;
      continue;
    }
    bool propagation = false;
    for (const char* p : kPropagation) propagation = propagation || o == p;
    if (propagation) continue;  // the agent keeps its own mounts private
    if (o.rfind("fsgid=", 0) == 0) {
      gid_t g = 0;
      auto [ptr, ec] = std::from_chars(o.data() + 6, o.data() + o.size(), g);
      if (ec == std::errc() && ptr == o.data() + o.size()) out.fsgid = g;
      continue;
    }
    if (o.rfind("X-", 0) == 0 || o.rfind("io.katacontainers", 0) == 0) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

sys::MountAttrs BindMountAttrs(const ParsedMountOptions& opts) {
  sys::MountAttrs attrs;
  attrs.read_only = (opts.flags & MS_RDONLY) != 0;
  attrs.nosuid = (opts.flags & MS_NOSUID) != 0;
  attrs.nodev = (opts.flags & MS_NODEV) != 0;
  attrs.noexec = (opts.flags & MS_NOEXEC) != 0;
  attrs.recursive = opts.recursive;
  return attrs;
}

}  // namespace vmshare::agent
