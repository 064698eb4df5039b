// Mount option strings ("ro", "nosuid", "size=64m", ...) -> mount(2) flags
// and filesystem data, as the OCI spec and Kata's Storage.options use them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "sys/env.h"

namespace vmshare::agent {

struct ParsedMountOptions {
  unsigned long flags = 0;     // MS_* (MS_RDONLY, MS_NOSUID, ...)
  std::string data;            // the rest, comma-joined, for the filesystem
  bool bind = false;           // "bind" or "rbind"
  bool recursive = false;      // "rbind"
  std::optional<gid_t> fsgid;  // Kata's "fsgid=N" (never passed to the fs)
};

ParsedMountOptions ParseMountOptions(const std::vector<std::string>& options);

// The attributes a bind mount of these options gets through MountSetattr:
// ro/nosuid/nodev/noexec from the flags, recursive for "rbind"; propagation
// unchanged.
sys::MountAttrs BindMountAttrs(const ParsedMountOptions& opts);

}  // namespace vmshare::agent
