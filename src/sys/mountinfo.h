// The mount table of the calling process's mount namespace, read through
// libmount (util-linux) from /proc/self/mountinfo.
//
// This is the only place vmshare parses the mount table: it costs ~2.6 µs
// per mount (DESIGN), so it serves reconciliation (`vmshare gc`, tests) and
// is never on a per-share path, where a statx mount-root check suffices.
// Kept out of PosixEnv because libmount is a shared library the statically
// linked guest agent must not pull in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace vmshare::sys {

// One line of mountinfo; paths are unescaped (libmount decodes "\040" etc.).
struct MountEntry {
  int id = 0;          // mount id
  int parent_id = 0;   // the mount it sits on
  std::string target;  // mount point, as seen from this process's root
  std::string root;    // the root of the mount within its filesystem
  std::string source;  // device or "none"
  std::string fstype;
  std::string options;  // per-mount options ("rw,nosuid,...")
};

// The mount table in the kernel's order (a parent is listed before the
// mounts on top of it). kIoError naming mountinfo when it cannot be read.
Result<std::vector<MountEntry>> ReadMountTable();

// The entries whose target is `dir` itself or lies below it (string prefix
// at a path boundary), in table order.
std::vector<MountEntry> MountsUnder(const std::vector<MountEntry>& table, const std::string& dir);

}  // namespace vmshare::sys
