// The parts of an OCI runtime spec the shim acts on: config.json of a
// bundle containerd prepared, and the process spec of an Exec.
//
// Parsing never throws: malformed JSON or a field of the wrong type is
// kInvalidArgument naming the file (or "exec spec") and the JSON field.
// Pure functions; ReadSpec only reads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
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
};

struct SpecMountEntry {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct OciSpec {
  SpecProcess process;
  std::string root_path;  // as written (relative paths are against the bundle)
  bool root_readonly = false;
  std::string hostname;
  std::vector<SpecMountEntry> mounts;
  std::map<std::string, std::string> annotations;
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

// True when the host shares this mount with the guest (a bind mount);
// proc, sysfs, tmpfs, devpts and the like are made by the guest itself.
bool IsHostBindMount(const SpecMountEntry& m);

}  // namespace vmshare::shim
