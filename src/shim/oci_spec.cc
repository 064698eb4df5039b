#include "shim/oci_spec.h"

#include <fcntl.h>

#include "agent/server/oci_process.h"

namespace vmshare::shim {
namespace {

// The guest kernel drops the capabilities it lacks, as runc does.
constexpr int kCapLastBound = 63;

SpecProcess ProcessOf(oci::Config& c) {
  SpecProcess p;
  p.terminal = c.process.terminal;
  p.args = std::move(c.process.args);
  p.env = std::move(c.process.env);
  p.cwd = std::move(c.process.cwd);
  p.uid = c.process.uid;
  p.gid = c.process.gid;
  p.additional_gids = c.spec.additional_gids;
  p.capabilities = c.spec.capabilities;
  p.rlimits = c.spec.rlimits;
  p.no_new_privileges = c.spec.no_new_privileges;
  p.umask = c.spec.umask;
  return p;
}

}  // namespace

Result<OciSpec> ParseSpec(std::string_view json_text, const std::string& name) {
  ASSIGN_OR_RETURN(oci::Config c, oci::ParseConfig(json_text, name, oci::Policy::kShim));
  OciSpec s;
  s.process = ProcessOf(c);
  s.root_path = std::move(c.root_path);
  s.root_readonly = c.root_readonly;
  s.mounts = std::move(c.mounts);
  s.annotations = std::move(c.annotations);
  s.guest = std::move(c.spec);
  s.notices = std::move(c.notices);
  return s;
}

Result<OciSpec> ReadSpec(sys::Env* env, const std::string& bundle) {
  const std::string path = bundle + "/config.json";
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(sys::Cwd(), path, O_RDONLY));
  ASSIGN_OR_RETURN(std::string text, env->ReadAll(fd, kMaxSpecBytes));
  return ParseSpec(text, path);
}

Result<SpecProcess> ParseProcessSpec(std::string_view json_text, const std::string& name) {
  ASSIGN_OR_RETURN(oci::Config c, oci::ParseProcess(json_text, name, oci::Policy::kShim));
  SpecProcess p = ProcessOf(c);
  p.notices = std::move(c.notices);
  return p;
}

Status CheckGuestSpec(const OciSpec& spec) {
  sys::ContainedProcessOptions unused;
  return agent::ApplyProcessSpec(spec.guest, kCapLastBound, &unused);
}

std::string SandboxIdOf(const OciSpec& spec, const std::string& container_id) {
  if (StartsSandbox(spec, container_id)) return container_id;
  return spec.annotations.at(kCriSandboxId);
}

bool StartsSandbox(const OciSpec& spec, const std::string& container_id) {
  auto type = spec.annotations.find(kCriContainerType);
  auto sid = spec.annotations.find(kCriSandboxId);
  if (type == spec.annotations.end() || type->second != "container") return true;
  return sid == spec.annotations.end() || sid->second.empty() || sid->second == container_id;
}

}  // namespace vmshare::shim
