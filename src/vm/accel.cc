#include "vm/accel.h"

#include <fcntl.h>
#include <signal.h>

#include "core/ids.h"

namespace vmshare::vm {
namespace {

bool KvmDeviceOpens(sys::Env* env) {
  return env->OpenAt(sys::Cwd(), "/dev/kvm", O_RDWR | O_CLOEXEC).ok();
}

std::string ReadCache(sys::Env* env, const std::string& path) {
  if (path.empty()) return "";
  Result<sys::Fd> fd = env->OpenAt(sys::Cwd(), path, O_RDONLY | O_CLOEXEC);
  if (!fd.ok()) return "";
  Result<std::string> text = env->ReadAll(*fd, 16);
  if (!text.ok()) return "";
  if (*text == "kvm" || *text == "tcg") return *text;
  return "";
}

// Best effort: a cache that cannot be written only costs another probe.
void WriteCache(sys::Env* env, const std::string& path, const std::string& accel) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp." + std::to_string(env->GetPid());
  Result<sys::Fd> fd = env->OpenAt(sys::Cwd(), tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (!fd.ok()) return;
  if (!env->WriteAll(*fd, accel).ok() || !env->RenameAt(sys::Cwd(), tmp, sys::Cwd(), path).ok())
    env->UnlinkAt(sys::Cwd(), tmp, 0).IgnoreError();
}

}  // namespace

bool KvmRunsGuest(sys::Env* env, const AccelProbe& probe) {
  if (!KvmDeviceOpens(env)) return false;
  sys::ChildOptions o;
  o.argv = {probe.qemu_binary, "-accel",     "kvm",  "-machine", "q35",     "-m",         "128M",
            "-nodefaults",     "-display",   "none", "-monitor", "none",    "-serial",    "none",
            "-no-user-config", "-no-reboot", "-nic", "none",     "-kernel", probe.kernel, "-append",
            "panic=-1 quiet"};
  o.stdout_path = "/dev/null";
  o.stderr_path = "/dev/null";
  o.new_session = true;
  o.die_with_parent = true;
  Result<sys::Child> child = env->Spawn(o);
  if (!child.ok()) return false;
  Result<sys::ExitStatus> st = env->Wait(*child, probe.timeout);
  if (!st.ok()) {
    env->Kill(*child, SIGKILL).IgnoreError();
    env->Wait(*child).status().IgnoreError();
    return false;
  }
  return st->exited && st->code == 0;
}

Result<std::string> ResolveAccel(sys::Env* env, const std::string& mode, const AccelProbe& probe) {
  if (mode == "tcg") return std::string("tcg");
  if (mode == "kvm") {
    if (!KvmDeviceOpens(env))
      return FailedPreconditionError("use accelerator \"kvm\": /dev/kvm cannot be opened");
    return std::string("kvm");
  }
  if (mode != "auto")
    return InvalidArgumentError("accelerator " + Quote(mode) + ": must be auto, kvm or tcg");
  if (!KvmDeviceOpens(env)) return std::string("tcg");
  if (std::string cached = ReadCache(env, probe.cache_file); !cached.empty()) return cached;
  const std::string accel = KvmRunsGuest(env, probe) ? "kvm" : "tcg";
  WriteCache(env, probe.cache_file, accel);
  return accel;
}

}  // namespace vmshare::vm
