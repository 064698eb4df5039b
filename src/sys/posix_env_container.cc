// PosixEnv: a container init in three steps (SpawnContainer, ContainerSetup,
// ContainerExec), and SpawnContained, which runs all three at once, or (with
// options.enter) starts a process in a running container: forked into the
// init's pid namespace (setns on the calling thread for that one clone), it
// joins the init's other namespaces through /proc/<pid>/ns, enters the
// init's root and applies ids and privileges as the init did.
//
// The child is cloned straight into its new namespaces (pid, uts, ipc, net,
// cgroup, time), so it is pid 1 of its own pid namespace. There it makes the
// namespace-bound filesystems (proc, mqueue, sysfs, cgroup2) as detached
// mounts and passes them back over a SOCK_SEQPACKET channel; the parent moves
// them into the root at their place in the spec's mount order. Each step of
// the child answers on the channel: a message is a failure (step, errno) or
// "ready"; EOF after the exec step means execve succeeded (the channel is
// close-on-exec). A terminal (tty_fd) becomes stdio and the controlling tty
// of a new session; cgroup_procs is joined before a cgroup namespace is
// made. Everything the child touches is prepared before clone:
// after fork in a threaded process only async-signal-safe calls are allowed.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

enum Step : int {
  kReady = 0,
  kStepStdio = 1,
  kStepLoopback,
  kStepFs,
  kStepSendFs,
  kStepWait,
  kStepUnshare,
  kStepPrivate,
  kStepChdirRoot,
  kStepPivot,
  kStepDetachOld,
  kStepProc,
  kStepHostname,
  kStepSysctl,
  kStepReadonly,
  kStepMask,
  kStepRlimit,
  kStepKeepCaps,
  kStepBounding,
  kStepGroups,
  kStepGid,
  kStepUid,
  kStepCapset,
  kStepAmbient,
  kStepUmask,
  kStepCwd,
  kStepNoNewPrivs,
  kStepExec,
  kStepCgroup,
  kStepCgroupNs,
  kStepTty,
  kStepSetns,
  kStepEnterRoot,
};

const char* StepName(int step) {
  switch (step) {
    case kStepStdio:
      return "set up stdio";
    case kStepLoopback:
      return "bring up loopback";
    case kStepFs:
      return "make filesystem";
    case kStepSendFs:
      return "hand back filesystem";
    case kStepWait:
      return "wait for parent";
    case kStepUnshare:
      return "unshare mount namespace";
    case kStepPrivate:
      return "make / private";
    case kStepChdirRoot:
      return "chdir to root";
    case kStepPivot:
      return "pivot_root into root";
    case kStepDetachOld:
      return "detach old root";
    case kStepProc:
      return "mount proc on /proc";
    case kStepHostname:
      return "sethostname";
    case kStepSysctl:
      return "write sysctl";
    case kStepReadonly:
      return "make path read-only";
    case kStepMask:
      return "mask path";
    case kStepRlimit:
      return "setrlimit";
    case kStepKeepCaps:
      return "keep capabilities";
    case kStepBounding:
      return "drop bounding capability";
    case kStepGroups:
      return "setgroups";
    case kStepGid:
      return "setgid";
    case kStepUid:
      return "setuid";
    case kStepCapset:
      return "capset";
    case kStepAmbient:
      return "raise ambient capability";
    case kStepUmask:
      return "umask";
    case kStepCwd:
      return "chdir to cwd";
    case kStepNoNewPrivs:
      return "set no_new_privs";
    case kStepExec:
      return "execve";
    case kStepCgroup:
      return "join cgroup";
    case kStepCgroupNs:
      return "unshare cgroup namespace";
    case kStepTty:
      return "take the terminal";
    case kStepSetns:
      return "join namespace of the container";
    case kStepEnterRoot:
      return "enter root of the container";
    default:
      return "start";
  }
}

struct Msg {
  int step;
  int err;
  int index;  // which filesystem, sysctl, path or rlimit (-1: none)
};

struct PreparedFs {
  const char* type;
  const char* source;
  std::vector<std::pair<std::string, std::string>> kv;  // value "" and !has_value: a flag
  std::vector<bool> has_value;
  unsigned attr_flags;
};

struct Prepared {
  const char* root;
  bool mount_proc;
  std::vector<char*> argv, envp;
  const char* cwd;
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
  int stdin_fd, stdout_fd, stderr_fd;
  int channel, parent_end;
  bool loopback;
  std::vector<PreparedFs> fs;
  const char* hostname;  // nullptr: keep
  std::vector<const char*> sysctl_paths, sysctl_values, readonly, masked;
  std::vector<ContainerRlimit> rlimits;
  bool has_caps;
  ContainerCaps caps;
  bool nnp;
  int umask;                 // -1: keep
  int tty_fd;                // -1: none
  const char* cgroup_procs;  // nullptr: stay
  bool cgroup_ns;            // unshare(CLONE_NEWCGROUP) once in the cgroup
  // Exec: fds moved to 4, 5, ... before the rest are closed (the namespaces
  // to join, then the root to enter).
  std::vector<int> keep;
};

constexpr int kChannelFd = 3;

[[noreturn]] void Fail(int step, int index = -1) {
  Msg m{step, errno, index};
  [[maybe_unused]] ssize_t n = ::send(kChannelFd, &m, sizeof m, MSG_NOSIGNAL);
  ::_exit(127);
}

void Report(int step) {
  Msg m{step, 0, -1};
  if (::send(kChannelFd, &m, sizeof m, MSG_NOSIGNAL) < 0) ::_exit(127);
}

void AwaitGo() {
  char c;
  ssize_t n;
  do {
    n = ::recv(kChannelFd, &c, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) ::_exit(127);  // the parent gave up on us
}

constexpr size_t kMaxKeep = 8;

// Moves stdio (or the terminal) to 0-2, the channel to 3 and p.keep to 4...,
// and closes everything else: no fd of the agent (another container's
// channel, a ttrpc socket) stays in the container, even before execve. With
// a terminal the child then starts a session with it as controlling tty.
void RenumberFds(const Prepared& p) {
  const bool tty = p.tty_fd >= 0;
  int in = ::fcntl(tty ? p.tty_fd : p.stdin_fd, F_DUPFD_CLOEXEC, 10);
  int out = tty                ? ::fcntl(p.tty_fd, F_DUPFD_CLOEXEC, 10)
            : p.stdout_fd >= 0 ? ::fcntl(p.stdout_fd, F_DUPFD_CLOEXEC, 10)
                               : ::fcntl(1, F_DUPFD_CLOEXEC, 10);
  int err = tty                ? ::fcntl(p.tty_fd, F_DUPFD_CLOEXEC, 10)
            : p.stderr_fd >= 0 ? ::fcntl(p.stderr_fd, F_DUPFD_CLOEXEC, 10)
                               : ::fcntl(2, F_DUPFD_CLOEXEC, 10);
  int kept[kMaxKeep];
  const size_t nkeep = p.keep.size() < kMaxKeep ? p.keep.size() : kMaxKeep;
  for (size_t i = 0; i < nkeep; ++i) kept[i] = ::fcntl(p.keep[i], F_DUPFD_CLOEXEC, 10);
  int ch = ::fcntl(p.channel, F_DUPFD_CLOEXEC, 10);
  if (ch < 0) ::_exit(127);
  if (::dup3(ch, kChannelFd, O_CLOEXEC) < 0) ::_exit(127);
  if (in < 0 || out < 0 || err < 0) Fail(kStepStdio);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) Fail(kStepStdio);
  for (size_t i = 0; i < nkeep; ++i) {
    if (kept[i] < 0 || ::dup3(kept[i], kChannelFd + 1 + static_cast<int>(i), O_CLOEXEC) < 0)
      Fail(kStepStdio, static_cast<int>(i));
  }
  ::close_range(kChannelFd + 1 + static_cast<unsigned>(nkeep), ~0U, 0);
  if (tty && (::setsid() < 0 || ::ioctl(0, TIOCSCTTY, 0) < 0)) Fail(kStepTty);
}

// Into the container's cgroup before a cgroup namespace is made, so that the
// namespace's root is the container's cgroup.
void JoinCgroup(const Prepared& p) {
  if (p.cgroup_procs != nullptr) {
    const int cg = ::open(p.cgroup_procs, O_WRONLY | O_CLOEXEC);
    if (cg < 0 || ::write(cg, "0", 1) != 1) Fail(kStepCgroup);
    ::close(cg);
  }
  if (p.cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0) Fail(kStepCgroupNs);
}

void BringUpLoopback() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) Fail(kStepLoopback);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) Fail(kStepLoopback);
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) Fail(kStepLoopback);
  ::close(s);
}

void SendFd(int fd, int index) {
  Msg m{kStepFs, 0, index};
  struct iovec iov = {&m, sizeof m};
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))];
  std::memset(buf, 0, sizeof buf);
  struct msghdr mh;
  std::memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = buf;
  mh.msg_controllen = sizeof buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (::sendmsg(kChannelFd, &mh, MSG_NOSIGNAL) < 0) Fail(kStepSendFs, index);
  ::close(fd);
}

void MakeFilesystems(const Prepared& p) {
  for (size_t i = 0; i < p.fs.size(); ++i) {
    const PreparedFs& f = p.fs[i];
    const int idx = static_cast<int>(i);
    int fsfd = static_cast<int>(::syscall(SYS_fsopen, f.type, FSOPEN_CLOEXEC));
    if (fsfd < 0) Fail(kStepFs, idx);
    if (f.source[0] != '\0' &&
        ::syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", f.source, 0) < 0)
      Fail(kStepFs, idx);
    for (size_t k = 0; k < f.kv.size(); ++k) {
      const long r = f.has_value[k] ? ::syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                                                f.kv[k].first.c_str(), f.kv[k].second.c_str(), 0)
                                    : ::syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG,
                                                f.kv[k].first.c_str(), nullptr, 0);
      if (r < 0) Fail(kStepFs, idx);
    }
    if (::syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
      Fail(kStepFs, idx);
    int mfd = static_cast<int>(::syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, f.attr_flags));
    if (mfd < 0) Fail(kStepFs, idx);
    ::close(fsfd);
    SendFd(mfd, idx);
  }
}

void EnterRoot(const Prepared& p) {
  if (::unshare(CLONE_NEWNS) < 0) Fail(kStepUnshare);
  // Nothing the container mounts may propagate back to the agent, and
  // pivot_root refuses shared mounts.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) Fail(kStepPrivate);
  if (::chdir(p.root) < 0) Fail(kStepChdirRoot);
  if (::syscall(SYS_pivot_root, ".", ".") == 0) {
    // The old root is stacked under the new one at "/"; detach it.
    if (::umount2(".", MNT_DETACH) < 0) Fail(kStepDetachOld);
  } else if (errno == EINVAL) {
    // The current root is the initramfs rootfs, which cannot be pivoted away.
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0 || ::chroot(".") < 0) Fail(kStepPivot);
  } else {
    Fail(kStepPivot);
  }
  if (::chdir("/") < 0) Fail(kStepChdirRoot);
  if (p.mount_proc &&
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
    Fail(kStepProc);
  }
}

// runc's order: hostname, sysctl, read-only paths, masked paths.
void ApplyPaths(const Prepared& p) {
  if (p.hostname && ::sethostname(p.hostname, std::strlen(p.hostname)) < 0) Fail(kStepHostname);
  for (size_t i = 0; i < p.sysctl_paths.size(); ++i) {
    int fd = ::open(p.sysctl_paths[i], O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    const size_t len = std::strlen(p.sysctl_values[i]);
    if (fd < 0 || ::write(fd, p.sysctl_values[i], len) != static_cast<ssize_t>(len))
      Fail(kStepSysctl, static_cast<int>(i));
    ::close(fd);
  }
  for (size_t i = 0; i < p.readonly.size(); ++i) {
    const char* path = p.readonly[i];
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;  // runc skips paths the root lacks
      Fail(kStepReadonly, static_cast<int>(i));
    }
    struct mount_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr,
                  sizeof attr) < 0)
      Fail(kStepReadonly, static_cast<int>(i));
  }
  for (size_t i = 0; i < p.masked.size(); ++i) {
    const char* path = p.masked[i];
    struct stat st;
    if (::lstat(path, &st) < 0) {
      if (errno == ENOENT) continue;
      Fail(kStepMask, static_cast<int>(i));
    }
    const int r = S_ISDIR(st.st_mode)
                      ? ::mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=0")
                      : ::mount("/dev/null", path, nullptr, MS_BIND, nullptr);
    if (r < 0) Fail(kStepMask, static_cast<int>(i));
  }
}

void SetCaps(const ContainerCaps& c) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  for (int i = 0; i < 2; ++i) {
    d[i].effective = static_cast<uint32_t>(c.effective >> (32 * i));
    d[i].permitted = static_cast<uint32_t>(c.permitted >> (32 * i));
    d[i].inheritable = static_cast<uint32_t>(c.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &h, d) < 0) Fail(kStepCapset);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    Fail(kStepAmbient);
  for (int cap = 0; cap < 64; ++cap) {
    if ((c.ambient >> cap & 1) != 0 && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      Fail(kStepAmbient, cap);
  }
}

// rlimits, bounding set, ids, capabilities, umask, cwd, no_new_privs.
void ApplyProcess(const Prepared& p) {
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    struct rlimit rl = {p.rlimits[i].soft, p.rlimits[i].hard};
    if (::setrlimit(p.rlimits[i].resource, &rl) < 0) Fail(kStepRlimit, static_cast<int>(i));
  }
  if (p.has_caps) {
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) Fail(kStepKeepCaps);
    for (int cap = 0; cap < 64; ++cap) {
      if ((p.caps.bounding >> cap & 1) != 0) continue;
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
        if (errno == EINVAL) break;  // past the kernel's last capability
        Fail(kStepBounding, cap);
      }
    }
  }
  // Raw syscalls, not glibc's setgroups/setgid/setuid: those signal every
  // thread glibc knows of, and after a raw clone that list is the agent's
  // threads, whose tids name other processes (or this one: the agent is pid
  // 1 in the guest, as the init is in its new pid namespace) — a hang.
  if (::syscall(SYS_setgroups, p.groups.size(), p.groups.data()) < 0) Fail(kStepGroups);
  if (::syscall(SYS_setresgid, p.gid, p.gid, p.gid) < 0) Fail(kStepGid);
  if (::syscall(SYS_setresuid, p.uid, p.uid, p.uid) < 0) Fail(kStepUid);
  if (p.has_caps) SetCaps(p.caps);
  if (p.umask >= 0) ::umask(static_cast<mode_t>(p.umask));
  if (::chdir(p.cwd) < 0) Fail(kStepCwd);
  if (p.nnp && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) Fail(kStepNoNewPrivs);
}

[[noreturn]] void ExecProcess(const Prepared& p) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  // execvpe searches the PATH of `environ`, so make that the container's.
  environ = const_cast<char**>(p.envp.data());
  ::execvpe(p.argv[0], p.argv.data(), p.envp.data());
  Fail(kStepExec);
}

[[noreturn]] void InitChild(const Prepared& p) {
  ::close(p.parent_end);
  RenumberFds(p);
  JoinCgroup(p);
  if (p.loopback) BringUpLoopback();
  MakeFilesystems(p);
  Report(kReady);
  AwaitGo();  // the parent builds the root
  EnterRoot(p);
  ApplyPaths(p);
  ApplyProcess(p);
  Report(kReady);
  AwaitGo();  // StartContainer
  ExecProcess(p);
}

// ExecProcess: already in the container's pid namespace (the parent forked
// it there); joins the other namespaces of the init (p.keep: their fds, then
// the init's root), enters its root and runs. No waits: the first message on
// the channel is a failure, EOF is a successful execve.
[[noreturn]] void EnteredChild(const Prepared& p) {
  ::close(p.parent_end);
  RenumberFds(p);
  JoinCgroup(p);
  const int nns = static_cast<int>(p.keep.size()) - 1;
  for (int i = 0; i < nns; ++i) {
    if (::setns(kChannelFd + 1 + i, 0) < 0) Fail(kStepSetns, i);
  }
  // The init's root, not the namespace's: with the chroot fallback (an
  // initramfs root) they differ.
  if (::fchdir(kChannelFd + 1 + nns) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0)
    Fail(kStepEnterRoot);
  ::close_range(kChannelFd + 1, ~0U, 0);
  ApplyProcess(p);
  ExecProcess(p);
}

unsigned FsmountAttrs(const MountAttrs& a) {
  unsigned f = 0;
  if (a.read_only) f |= MOUNT_ATTR_RDONLY;
  if (a.nosuid) f |= MOUNT_ATTR_NOSUID;
  if (a.nodev) f |= MOUNT_ATTR_NODEV;
  if (a.noexec) f |= MOUNT_ATTR_NOEXEC;
  return f;
}

PreparedFs PrepareFs(const ContainerFilesystem& f) {
  PreparedFs out;
  out.type = f.type.c_str();
  out.source = f.source.c_str();
  for (const auto& o : f.options) {
    const size_t eq = o.find('=');
    out.kv.emplace_back(o.substr(0, eq), eq == std::string::npos ? "" : o.substr(eq + 1));
    out.has_value.push_back(eq != std::string::npos);
  }
  out.attr_flags = FsmountAttrs(f.attrs);
  return out;
}

// One message from the child: a failure becomes the error; fds that came
// with it land in *fd.
Result<Msg> ReadMsg(const Fd& channel, int* fd, const std::string& what) {
  Msg m{};
  struct iovec iov = {&m, sizeof m};
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))];
  struct msghdr mh;
  std::memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = buf;
  mh.msg_controllen = sizeof buf;
  ssize_t n;
  do {
    n = ::recvmsg(channel.get(), &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return SysError(what + ": read from child");
  if (fd != nullptr) *fd = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got;
      std::memcpy(&got, CMSG_DATA(c), sizeof got);
      if (fd != nullptr)
        *fd = got;
      else
        ::close(got);
    }
  }
  if (n == 0) return Msg{-1, 0, -1};  // EOF
  if (n != static_cast<ssize_t>(sizeof m))
    return InternalError(what + ": short message from child");
  return m;
}

Status StepError(const Msg& m, const std::string& what) {
  std::string step = StepName(m.step);
  if (m.index >= 0) step += " #" + std::to_string(m.index);
  return SysErrorCode(m.err, what + ": " + step);
}

std::string What(const ContainerInit& init) {
  return "start container init (pid " + std::to_string(init.child.pid) + ")";
}

// Waits for "ready"; EOF is the child's death before it.
Status AwaitReady(ContainerInit& init, std::vector<Fd>* fds) {
  const std::string what = What(init);
  for (;;) {
    int fd = -1;
    ASSIGN_OR_RETURN(Msg m, ReadMsg(init.channel, &fd, what));
    if (m.step == -1) return InternalError(what + ": child exited");
    if (m.step == kReady) return Status::Ok();
    if (m.step == kStepFs && m.err == 0 && fd >= 0 && fds != nullptr) {
      fds->emplace_back(fd);
      continue;
    }
    if (fd >= 0) ::close(fd);
    return StepError(m, what);
  }
}

Status Go(ContainerInit& init) {
  const char c = 1;
  if (::send(init.channel.get(), &c, 1, MSG_NOSIGNAL) != 1)
    return SysError(What(init) + ": signal child");
  return Status::Ok();
}

// Everything the child reads, from `o` (which must outlive the child's start).
Status Prepare(const ContainedProcessOptions& o, const std::string& what, Prepared* pp,
               Fd* empty_in) {
  Prepared& p = *pp;
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
  p.cgroup_ns = (o.clone_flags & CLONE_NEWCGROUP) != 0;
  p.loopback = (o.clone_flags & CLONE_NEWNET) != 0;
  for (const auto& f : o.filesystems) p.fs.push_back(PrepareFs(f));
  p.hostname = o.hostname ? o.hostname->c_str() : nullptr;
  for (const auto& [path, value] : o.sysctl) {
    p.sysctl_paths.push_back(path.c_str());
    p.sysctl_values.push_back(value.c_str());
  }
  for (const auto& s : o.readonly_paths) p.readonly.push_back(s.c_str());
  for (const auto& s : o.masked_paths) p.masked.push_back(s.c_str());
  p.rlimits = o.rlimits;
  p.has_caps = o.caps.has_value();
  if (o.caps) p.caps = *o.caps;
  p.nnp = o.no_new_privileges;
  p.umask = o.umask ? static_cast<int>(*o.umask) : -1;
  if (o.stdin_fd == nullptr) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return SysError(what + ": pipe");
    *empty_in = Fd(in[0]);
    ::close(in[1]);  // stdin reads EOF at once
  }
  p.stdin_fd = o.stdin_fd ? o.stdin_fd->get() : empty_in->get();
  return Status::Ok();
}

std::string WhatStart(const ContainedProcessOptions& o) {
  return "start " + Quote(o.argv[0]) + " in " + Quote(o.root);
}

// The fds an exec needs of the init it joins: its namespaces (cgroup, ipc,
// uts, net, then mnt, the order the child joins them), its root, and its
// pid namespace (for the fork). Opened through /proc/<pid>, then checked
// against the pidfd: the init was alive after they were opened, so the pid
// was not a recycled one.
struct EnterFds {
  std::vector<Fd> ns;
  Fd root, pid_ns, own_pid_ns;
};

Result<EnterFds> OpenEnterFds(const Child& target, const std::string& what) {
  EnterFds e;
  const std::string proc = "/proc/" + std::to_string(target.pid);
  for (const char* name : {"cgroup", "ipc", "uts", "net", "mnt"}) {
    const std::string path = proc + "/ns/" + name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SysError(what + ": open " + Quote(path));
    e.ns.emplace_back(fd);
  }
  int fd = ::open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError(what + ": open " + Quote(proc + "/root"));
  e.root = Fd(fd);
  fd = ::open((proc + "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysError(what + ": open " + Quote(proc + "/ns/pid"));
  e.pid_ns = Fd(fd);
  fd = ::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysError(what + ": open /proc/self/ns/pid");
  e.own_pid_ns = Fd(fd);
  if (::syscall(SYS_pidfd_send_signal, target.pidfd.get(), 0, nullptr, 0) < 0) {
    if (errno == ESRCH) return FailedPreconditionError(what + ": the container's init has exited");
    return SysError(what + ": check the container's init");
  }
  return e;
}

// SpawnContained with options.enter: a process in a running container.
Result<Child> SpawnEntered(const ContainedProcessOptions& o) {
  const std::string what = WhatStart(o);
  Prepared p;
  Fd empty_in;
  RETURN_IF_ERROR(Prepare(o, what, &p, &empty_in));
  p.cgroup_ns = false;  // joined with the init's namespaces
  ASSIGN_OR_RETURN(EnterFds e, OpenEnterFds(*o.enter, what));
  for (const auto& fd : e.ns) p.keep.push_back(fd.get());
  p.keep.push_back(e.root.get());
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return SysError(what + ": socketpair");
  Fd parent_end(sv[0]), child_end(sv[1]);
  p.channel = child_end.get();
  p.parent_end = parent_end.get();
  // A pid namespace is entered only by a new child: for this clone the
  // calling thread's children go to the init's (per thread; undone at once).
  if (::setns(e.pid_ns.get(), CLONE_NEWPID) < 0) return SysError(what + ": join pid namespace");
  const long pid = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  const int clone_errno = errno;
  if (pid == 0) EnteredChild(p);
  if (::setns(e.own_pid_ns.get(), CLONE_NEWPID) < 0) {
    // Never leave this thread forking into a container.
    Status failed = SysError(what + ": leave pid namespace");
    if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
    return failed;
  }
  if (pid < 0) return SysErrorCode(clone_errno, what + ": clone");
  child_end.Reset();
  Child child;
  child.pid = static_cast<pid_t>(pid);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    Status failed = SysError(what + ": pidfd_open");
    ::kill(child.pid, SIGKILL);
    return failed;
  }
  child.pidfd = Fd(pidfd);
  ASSIGN_OR_RETURN(Msg m, ReadMsg(parent_end, nullptr, what));
  if (m.step == -1) return child;  // close-on-exec: execve succeeded
  return StepError(m, what);       // the failed child is left for ReapAnyChild
}

}  // namespace

Result<ContainerInit> PosixEnv::SpawnContainer(const ContainedProcessOptions& o) {
  if (o.argv.empty()) return InvalidArgumentError("start process in \"" + o.root + "\": no args");
  const std::string what = WhatStart(o);
  Prepared p;
  Fd empty_in;
  RETURN_IF_ERROR(Prepare(o, what, &p, &empty_in));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return SysError(what + ": socketpair");
  Fd parent_end(sv[0]), child_end(sv[1]);
  p.channel = child_end.get();
  p.parent_end = parent_end.get();

  // A raw clone: the child starts in its new namespaces (pid 1 of a new pid
  // namespace), with fork's semantics otherwise. The cgroup namespace comes
  // after the child has joined its cgroup (JoinCgroup).
  const unsigned long flags = static_cast<unsigned long>(o.clone_flags & ~CLONE_NEWCGROUP);
  const long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) return SysError(what + ": clone");
  if (pid == 0) InitChild(p);
  child_end.Reset();
  ContainerInit init;
  init.child.pid = static_cast<pid_t>(pid);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    Status failed = SysError(what + ": pidfd_open");
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    return failed;
  }
  init.child.pidfd = Fd(pidfd);
  init.channel = std::move(parent_end);
  Status ready = AwaitReady(init, &init.filesystems);
  if (!ready.ok()) {
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    // The caller gets no Child to wait for: reap here (the pidfd names it).
    siginfo_t info;
    ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED);
    return ready;
  }
  return init;
}

Status PosixEnv::ContainerSetup(ContainerInit& init) {
  RETURN_IF_ERROR(Go(init));
  return AwaitReady(init, nullptr);
}

Status PosixEnv::ContainerExec(ContainerInit& init) {
  RETURN_IF_ERROR(Go(init));
  ASSIGN_OR_RETURN(Msg m, ReadMsg(init.channel, nullptr, What(init)));
  init.channel.Reset();
  if (m.step == -1) return Status::Ok();  // close-on-exec: execve succeeded
  return StepError(m, What(init));
}

Result<Child> PosixEnv::SpawnContained(const ContainedProcessOptions& o) {
  if (o.argv.empty()) return InvalidArgumentError("start process in \"" + o.root + "\": no args");
  if (o.enter != nullptr) return SpawnEntered(o);
  ASSIGN_OR_RETURN(ContainerInit init, SpawnContainer(o));
  Status s = ContainerSetup(init);
  if (s.ok()) s = ContainerExec(init);
  if (!s.ok()) {
    const std::string what = "start " + Quote(o.argv[0]) + " in " + Quote(o.root);
    return s.WithContext(what);  // the failed child is left for ReapAnyChild
  }
  return std::move(init.child);
}

}  // namespace vmshare::sys
