// PosixEnv: what the VM launcher needs beyond processes — signal delivery
// through a signalfd (so an interrupted `vmshare run` tears down in order
// instead of dying in a handler) and process-group kill.
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "sys/posix_env.h"
#include "sys/retry.h"
#include "sys/sys_error.h"

namespace vmshare::sys {

Result<Fd> PosixEnv::SignalFd(const std::vector<int>& signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  // Blocked first: a signal arriving between the two calls stays pending
  // and is read from the fd.
  if (const int e = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); e != 0)
    return SysErrorCode(e, "block signals");
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return SysError("signalfd");
  return Fd(fd);
}

Result<int> PosixEnv::ReadSignal(const Fd& signal_fd) {
  struct signalfd_siginfo info;
  const ssize_t n = RetryEintr([&] { return ::read(signal_fd.get(), &info, sizeof info); });
  if (n < 0) {
    if (errno == EAGAIN) return 0;
    return SysError("read signalfd");
  }
  if (n != static_cast<ssize_t>(sizeof info)) return InternalError("read signalfd: short read");
  return static_cast<int>(info.ssi_signo);
}

Status PosixEnv::KillProcessGroup(pid_t pgid, int sig) {
  if (pgid <= 1)
    return InvalidArgumentError("kill process group " + std::to_string(pgid) + ": not a group");
  if (::kill(-pgid, sig) < 0) return SysError("kill process group " + std::to_string(pgid));
  return Status::Ok();
}

Result<Fd> PosixEnv::DupFd(int fd) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) return SysError("duplicate fd " + std::to_string(fd));
  return Fd(copy);
}

}  // namespace vmshare::sys
