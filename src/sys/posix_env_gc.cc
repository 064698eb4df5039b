// PosixEnv: what `vmshare gc` and the share layer's host-filesystem guard
// need beyond the rest of Env — a pidfd for a process vmshare did not start
// (so a recorded pid is signalled only while it is the same process), and
// the filesystem type of an open file.
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/posix_env.h"
#include "sys/retry.h"
#include "sys/sys_error.h"

namespace vmshare::sys {

Result<Child> PosixEnv::OpenProcess(pid_t pid) {
  if (pid <= 0) return InvalidArgumentError("open process " + std::to_string(pid) + ": not a pid");
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return SysError("open process " + std::to_string(pid));
  Child c;
  c.pid = pid;
  c.pidfd = Fd(static_cast<int>(fd));
  return c;
}

Result<uint64_t> PosixEnv::FsMagic(const Fd& fd) {
  struct statfs st;
  if (RetryEintr([&] { return ::fstatfs(fd.get(), &st); }) < 0) return SysError("statfs", fd);
  return static_cast<uint64_t>(st.f_type);
}

Status PosixEnv::UnmountFd(const Fd& fd, int flags) {
  // Without UMOUNT_NOFOLLOW: the magic link must be followed to reach the
  // mount the fd holds (it names that mount exactly, whatever happened to
  // the path since).
  const std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  if (RetryEintr([&] { return ::umount2(proc.c_str(), flags); }) < 0)
    return SysError("unmount", fd);
  return Status::Ok();
}

}  // namespace vmshare::sys
