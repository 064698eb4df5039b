// PosixEnv: what the guest agent needs beyond the rest of Env — starting a
// process inside a container root, reaping any child (the agent may be pid
// 1), loading kernel modules, and powering the VM off.
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

extern char** environ;

namespace vmshare::sys {
namespace {

// Steps the child reports on failure, in order.
enum Step : int {
  kStepSync = 1,
  kStepUnshare,
  kStepPrivate,
  kStepChdirRoot,
  kStepPivot,
  kStepDetachOld,
  kStepProc,
  kStepStdio,
  kStepGroups,
  kStepGid,
  kStepUid,
  kStepCwd,
  kStepExec,
  kStepCgroup,
  kStepTty,
};

const char* StepName(int step) {
  switch (step) {
    case kStepSync: return "wait for parent";
    case kStepUnshare: return "unshare mount namespace";
    case kStepPrivate: return "make / private";
    case kStepChdirRoot: return "chdir to root";
    case kStepPivot: return "pivot_root into root";
    case kStepDetachOld: return "detach old root";
    case kStepProc: return "mount proc on /proc";
    case kStepStdio: return "set up stdio";
    case kStepGroups: return "setgroups";
    case kStepGid: return "setgid";
    case kStepUid: return "setuid";
    case kStepCwd: return "chdir to cwd";
    case kStepExec: return "execve";
    case kStepCgroup: return "join cgroup";
    case kStepTty: return "take the terminal";
    default: return "start";
  }
}

// Everything the child touches is prepared before fork: after fork in a
// threaded process only async-signal-safe calls are allowed.
struct Prepared {
  const char* root;
  bool mount_proc;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* cwd;
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
  int stdin_fd, stdout_fd, stderr_fd;
  int sync_fd, sync_write_fd, report_fd;
  int tty_fd;                // -1: none
  const char* cgroup_procs;  // nullptr: none
};

[[noreturn]] void ContainedChild(const Prepared& p) {
  auto fail = [&](int step) {
    int msg[2] = {step, errno};
    [[maybe_unused]] ssize_t n = ::write(p.report_fd, msg, sizeof msg);
    ::_exit(127);
  };
  char c;
  // Our copy of the write end would keep the read below from seeing EOF.
  ::close(p.sync_write_fd);
  if (::read(p.sync_fd, &c, 1) < 0) fail(kStepSync);
  if (p.cgroup_procs != nullptr) {
    const int cg = ::open(p.cgroup_procs, O_WRONLY | O_CLOEXEC);
    if (cg < 0 || ::write(cg, "0", 1) != 1) fail(kStepCgroup);
    ::close(cg);
  }
  if (::unshare(CLONE_NEWNS) < 0) fail(kStepUnshare);
  // Nothing the container mounts may propagate back to the agent, and
  // pivot_root refuses shared mounts.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) fail(kStepPrivate);
  if (::chdir(p.root) < 0) fail(kStepChdirRoot);
  if (::syscall(SYS_pivot_root, ".", ".") == 0) {
    // The old root is stacked under the new one at "/"; detach it.
    if (::umount2(".", MNT_DETACH) < 0) fail(kStepDetachOld);
  } else if (errno == EINVAL) {
    // The current root is the initramfs rootfs, which cannot be pivoted away.
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0 || ::chroot(".") < 0) fail(kStepPivot);
  } else {
    fail(kStepPivot);
  }
  if (::chdir("/") < 0) fail(kStepChdirRoot);
  if (p.mount_proc &&
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
    fail(kStepProc);
  }
  if (p.tty_fd >= 0) {
    if (::setsid() < 0 || ::ioctl(p.tty_fd, TIOCSCTTY, 0) < 0) fail(kStepTty);
    for (int i = 0; i < 3; ++i) {
      if (::dup2(p.tty_fd, i) < 0) fail(kStepStdio);
    }
  } else {
    if (::dup2(p.stdin_fd, 0) < 0) fail(kStepStdio);
    if (p.stdout_fd >= 0 && ::dup2(p.stdout_fd, 1) < 0) fail(kStepStdio);
    if (p.stderr_fd >= 0 && ::dup2(p.stderr_fd, 2) < 0) fail(kStepStdio);
  }
  if (::setgroups(p.groups.size(), p.groups.data()) < 0) fail(kStepGroups);
  if (::setgid(p.gid) < 0) fail(kStepGid);
  if (::setuid(p.uid) < 0) fail(kStepUid);
  if (::chdir(p.cwd) < 0) fail(kStepCwd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  // execvpe searches the PATH of `environ`, so make that the container's.
  environ = const_cast<char**>(p.envp.data());
  ::execvpe(p.argv[0], p.argv.data(), p.envp.data());
  fail(kStepExec);
  ::_exit(127);
}

}  // namespace

Result<Child> PosixEnv::SpawnContained(const ContainedProcessOptions& o) {
  if (o.argv.empty()) return InvalidArgumentError("start process in \"" + o.root + "\": no args");
  Prepared p;
  p.root = o.root.c_str();
  p.mount_proc = o.mount_proc;
  for (const auto& a : o.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  for (const auto& e : o.env) p.envp.push_back(const_cast<char*>(e.c_str()));
  p.envp.push_back(nullptr);
  p.cwd = o.cwd.empty() ? "/" : o.cwd.c_str();
  p.uid = o.uid;
  p.gid = o.gid;
  p.groups = o.additional_gids;
  p.stdout_fd = o.stdout_fd ? o.stdout_fd->get() : -1;
  p.stderr_fd = o.stderr_fd ? o.stderr_fd->get() : -1;
  p.tty_fd = o.tty_fd ? o.tty_fd->get() : -1;
  p.cgroup_procs = o.cgroup_procs.empty() ? nullptr : o.cgroup_procs.c_str();

  const std::string what = "start " + Quote(o.argv[0]) + " in " + Quote(o.root);
  int in[2], sync[2], report[2];
  if (::pipe2(in, O_CLOEXEC) < 0) return SysError("pipe").WithContext(what);
  Fd in_r(in[0]);
  ::close(in[1]);  // stdin reads EOF at once
  if (::pipe2(sync, O_CLOEXEC) < 0) return SysError("pipe").WithContext(what);
  Fd sync_r(sync[0]), sync_w(sync[1]);
  if (::pipe2(report, O_CLOEXEC) < 0) return SysError("pipe").WithContext(what);
  Fd report_r(report[0]), report_w(report[1]);
  p.stdin_fd = o.stdin_fd ? o.stdin_fd->get() : in_r.get();
  p.sync_fd = sync_r.get();
  p.sync_write_fd = sync_w.get();
  p.report_fd = report_w.get();

  const pid_t pid = ::fork();
  if (pid < 0) return SysError("fork").WithContext(what);
  if (pid == 0) ContainedChild(p);
  // The child waits on `sync` until the pidfd exists, so a reaper thread can
  // never reap it (and free its pid) before we hold the pidfd.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  const int open_err = errno;
  sync_w.Reset();
  report_w.Reset();
  Child child;
  child.pid = pid;
  if (pidfd < 0) {
    ::kill(pid, SIGKILL);
    return SysErrorCode(open_err, "pidfd_open").WithContext(what);
  }
  child.pidfd = Fd(pidfd);
  int msg[2];
  const ssize_t n = RetryEintr([&] { return ::read(report_r.get(), msg, sizeof msg); });
  if (n == static_cast<ssize_t>(sizeof msg)) {
    return SysErrorCode(msg[1], StepName(msg[0])).WithContext(what);
  }
  return child;
}

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
