// Reading an OCI runtime spec (config.json) into what vmshare acts on: the
// one reader of `vmshare run` (cli/bundle.h) and the containerd shim
// (shim/oci_spec.h).
//
// ParseConfig returns the root, the process, the mounts, the annotations and
// an agent::ContainerSpec holding hostname, process.capabilities/rlimits/
// noNewPrivileges/user.umask/user.additionalGids/terminal and
// linux.namespaces/devices/sysctl/maskedPaths/readonlyPaths, which the guest
// agent applies. A field vmshare cannot apply is handled by `policy`
// (docs/oci-runtime-spec.md has the table):
//   kRun:  refused, the error naming the field (a few are notices).
//   kShim: what containerd and the CRI plugin write for every container and
//          the VM makes moot (seccomp, AppArmor/SELinux labels, oomScoreAdj,
//          resources, cgroupsPath, propagation, ...) is accepted with a
//          notice, as Kata does; what would change the container's meaning
//          (hooks, user namespaces, idmapped mounts, ...) is still refused.
// Errors are kInvalidArgument: `read OCI config "<name>": <json path>: why`.
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"
#include "core/types.h"

namespace vmshare::oci {

enum class Policy { kRun, kShim };

struct Process {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool terminal = false;
};

struct Config {
  std::string root_path;  // root.path as written (relative: against the bundle)
  bool root_readonly = false;
  Process process;
  std::vector<Mount> mounts;  // every spec mount, in order; "ro" sets read_only
  // hostname and the process/linux fields the agent applies (args, env,
  // mounts and root are above).
  agent::ContainerSpec spec;
  std::map<std::string, std::string> annotations;
  // What is accepted but not applied, one sentence each.
  std::vector<std::string> notices;
};

// config.json text; `name` is what errors call the file. kRun requires
// root.path.
Result<Config> ParseConfig(std::string_view json_text, const std::string& name, Policy policy);

// The process object alone (the spec of a containerd Exec): process and the
// process fields of spec (capabilities, rlimits, noNewPrivileges, umask,
// additionalGids, terminal), with the same policy for process fields.
Result<Config> ParseProcess(std::string_view json_text, const std::string& name, Policy policy);

// True when the host must share this mount with the guest: type "bind", or an
// option "bind"/"rbind". proc, sysfs, tmpfs, devpts, mqueue, cgroup and the
// like are made by the guest itself.
bool IsHostBind(const Mount& m);

// True when the mount's options ask for read-only ("ro").
bool HasReadOnlyOption(const std::vector<std::string>& options);

}  // namespace vmshare::oci
