// Reading an OCI bundle: the parts of config.json vmshare uses.
//
// ReadBundle opens <dir>/config.json (at most 4 MiB), parses it, and returns
// the root filesystem, the process and the mounts. Every failure names the
// file: a missing bundle or config is NotFound, bad JSON or a field of the
// wrong type is InvalidArgument with the JSON path of the field. Nothing is
// changed on disk either way. Thread-compatible; pure apart from the read.
// The parsing is oci::ParseConfig's (oci/config.h) under oci::Policy::kRun,
// the reader the containerd shim shares.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"
#include "core/types.h"
#include "oci/config.h"
#include "sys/env.h"

namespace vmshare::cli {

inline constexpr size_t kMaxConfigBytes = 4 << 20;

// The process as oci::ParseConfig reads it (args, env, cwd, uid, gid, terminal).
using BundleProcess = oci::Process;

struct Bundle {
  std::string dir;     // the bundle directory as given
  std::string rootfs;  // root.path made absolute against dir
  bool rootfs_readonly = false;
  BundleProcess process;
  std::vector<Mount> mounts;  // every spec mount, in order
  // hostname, process.capabilities/rlimits/noNewPrivileges/user.umask/
  // user.additionalGids/terminal and linux.namespaces/devices/sysctl/
  // maskedPaths/readonlyPaths, passed to the guest as they are (args, env,
  // mounts and root live above). Fields vmshare cannot apply (hooks, seccomp,
  // user namespaces, AppArmor/SELinux labels, ...) fail the read.
  agent::ContainerSpec oci;
  // What vmshare leaves out and says so on stderr (process.terminal,
  // linux.resources).
  std::vector<std::string> notices;
};

Result<Bundle> ReadBundle(sys::Env* env, const std::string& dir);

// Parses config.json text; `name` is what errors call the file.
Result<Bundle> ParseBundleConfig(std::string_view json_text, const std::string& dir,
                                 const std::string& name);

// oci/config.h's: a host bind mount (shared with the guest), and "ro".
using oci::HasReadOnlyOption;
using oci::IsHostBind;

}  // namespace vmshare::cli
