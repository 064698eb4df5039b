// The OCI runtime spec as the shim acts on it: config.json of a bundle
// containerd prepared, and the process spec of an Exec.
//
// Read by the one reader `vmshare run` uses too (oci/config.h), under
// oci::Policy::kShim: what containerd and CRI write for every container and
// the VM makes moot (seccomp, AppArmor/SELinux labels, oomScoreAdj,
// resources, cgroupsPath, rootfs propagation, a sysctl of a namespace the pod
// shares) is accepted and listed in `notices` for the shim log; what would
// change the container's meaning (hooks, user namespaces, idmapped mounts,
// ...) is refused. docs/oci-runtime-spec.md has the per-field table.
//
// Parsing never throws: malformed JSON or a field of the wrong type is
// kInvalidArgument naming the file (or "exec spec") and the JSON field.
// Pure functions; ReadSpec only reads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"
#include "core/types.h"
#include "oci/config.h"
#include "sys/env.h"

namespace vmshare::shim {

inline constexpr size_t kMaxSpecBytes = 4 << 20;

// CRI annotations that group containers into one pod sandbox.
inline constexpr char kCriContainerType[] = "io.kubernetes.cri.container-type";
inline constexpr char kCriSandboxId[] = "io.kubernetes.cri.sandbox-id";

struct SpecProcess {
  bool terminal = false;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  // Its privileges. The guest gives an exec process its container's (the
  // agent's ExecProcess takes none of its own); Exec compares them.
  std::optional<agent::SpecCapabilities> capabilities;
  std::vector<agent::SpecRlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<uint32_t> umask;
  // What is accepted but not applied (exec specs; a container's are in
  // OciSpec::notices).
  std::vector<std::string> notices;
};

struct OciSpec {
  SpecProcess process;
  std::string root_path;  // as written (relative paths are against the bundle)
  bool root_readonly = false;
  std::vector<Mount> mounts;  // "ro" sets read_only
  std::map<std::string, std::string> annotations;
  // hostname, the process's capabilities/rlimits/noNewPrivileges/umask/
  // additionalGids and linux.namespaces/devices/sysctl/maskedPaths/
  // readonlyPaths, for the guest agent (process args, env, ... above).
  agent::ContainerSpec guest;
  // What is accepted but not applied, one sentence each, for the shim log.
  std::vector<std::string> notices;
};

Result<OciSpec> ParseSpec(std::string_view json_text, const std::string& name);
// <bundle>/config.json.
Result<OciSpec> ReadSpec(sys::Env* env, const std::string& bundle);
Result<SpecProcess> ParseProcessSpec(std::string_view json_text, const std::string& name);

// Which sandbox a container belongs to: the CRI sandbox id for a
// "container", else (a "sandbox" or a container without CRI annotations)
// its own id.
std::string SandboxIdOf(const OciSpec& spec, const std::string& container_id);
// True unless the spec says it is a CRI "container" of another sandbox.
bool StartsSandbox(const OciSpec& spec, const std::string& container_id);

// The guest agent's own check of spec.guest (namespaces, hostname,
// capabilities, rlimits, umask, sysctl, paths), so that a spec it would
// refuse fails before a guest boots.
Status CheckGuestSpec(const OciSpec& spec);

// True when the host shares this mount with the guest (a bind mount);
// proc, sysfs, tmpfs, devpts and the like are made by the guest itself.
using oci::IsHostBind;

}  // namespace vmshare::shim
