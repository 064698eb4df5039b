// PosixEnv: what the guest agent needs beyond the rest of Env — reaping any
// child (the agent may be pid 1), loading kernel modules, and powering the VM
// off. Starting a process in a container root is posix_env_container.cc.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/ids.h"
#include "sys/posix_env.h"
#include "sys/retry.h"
#include "sys/sys_error.h"

namespace vmshare::sys {

Result<std::optional<ReapedChild>> PosixEnv::ReapAnyChild() {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  if (RetryEintr([&] { return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG); }) < 0) {
    if (errno == ECHILD) return std::optional<ReapedChild>();
    return SysError("wait for any child");
  }
  if (info.si_pid == 0) return std::optional<ReapedChild>();  // none exited yet
  ReapedChild r;
  r.pid = info.si_pid;
  r.status.exited = info.si_code == CLD_EXITED;
  r.status.code = info.si_status;
  return std::optional<ReapedChild>(r);
}

Status PosixEnv::LoadModule(const Fd& module_file, const std::string& params, bool compressed) {
  constexpr int kModuleInitCompressedFile = 4;  // linux/module.h, 5.17+
  if (::syscall(SYS_finit_module, module_file.get(), params.c_str(),
                compressed ? kModuleInitCompressedFile : 0) < 0) {
    return SysError("load kernel module", module_file);
  }
  return Status::Ok();
}

void PosixEnv::SyncAll() { ::sync(); }

Status PosixEnv::PowerOff() {
  if (::reboot(RB_POWER_OFF) < 0) return SysError("power off");
  return Status::Ok();
}

Status PosixEnv::IgnoreSignal(int sig) {
  if (::signal(sig, SIG_IGN) == SIG_ERR) return SysError("ignore signal " + std::to_string(sig));
  return Status::Ok();
}

}  // namespace vmshare::sys
