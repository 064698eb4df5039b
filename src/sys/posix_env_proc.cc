// PosixEnv: processes, sockets, pipes, polling, inotify and time.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/ids.h"
#include "sys/posix_env.h"
#include "sys/retry.h"
#include "sys/sys_error.h"

namespace vmshare::sys {
namespace {

// Runs in the forked child: never returns. Reports an exec failure's errno
// through `report` (close-on-exec, so a successful exec closes it silently).
[[noreturn]] void ExecChild(const ChildOptions& o, int report) {
  auto fail = [&](int step) {
    int msg[2] = {step, errno};
    [[maybe_unused]] ssize_t n = ::write(report, msg, sizeof msg);
    ::_exit(127);
  };
  if (o.new_session && ::setsid() < 0) fail(1);
  if (o.die_with_parent && ::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail(2);
  auto redirect = [&](const std::optional<std::string>& path, int target, int flags,
                      bool dflt_null) {
    if (!path && !dflt_null) return;
    const int fd = ::open(path ? path->c_str() : "/dev/null", flags | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, target) < 0) fail(3);
    if (fd != target) ::close(fd);
  };
  redirect(o.stdin_path, 0, O_RDONLY, true);
  redirect(o.stdout_path, 1, O_WRONLY | O_CREAT | O_APPEND, false);
  redirect(o.stderr_path, 2, O_WRONLY | O_CREAT | O_APPEND, false);
  for (int fd : o.keep_fds) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) fail(4);
  }
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (o.env.empty()) {
    ::execvp(argv[0], argv.data());
  } else {
    std::vector<char*> envp;
    for (const auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execvpe(argv[0], argv.data(), envp.data());
  }
  fail(5);
  ::_exit(127);
}

}  // namespace

Result<Child> PosixEnv::Spawn(const ChildOptions& o) {
  if (o.argv.empty()) return InvalidArgumentError("spawn: empty argv");
  int report[2];
  if (::pipe2(report, O_CLOEXEC) < 0)
    return SysError("pipe").WithContext("spawn " + Quote(o.argv[0]));
  const pid_t pid = ::fork();
  if (pid < 0) {
    Status s = SysError("fork").WithContext("spawn " + Quote(o.argv[0]));
    ::close(report[0]);
    ::close(report[1]);
    return s;
  }
  if (pid == 0) {
    ::close(report[0]);
    ExecChild(o, report[1]);
  }
  ::close(report[1]);
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  int msg[2] = {0, 0};
  const ssize_t n = RetryEintr([&] { return ::read(report[0], msg, sizeof msg); });
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    int st;
    RetryEintr([&] { return ::waitpid(pid, &st, 0); });
    static const char* kSteps[] = {
        "", "setsid", "set parent death signal", "redirect stdio", "keep fds", "exec"};
    return SysErrorCode(msg[1], kSteps[std::clamp(msg[0], 0, 5)], o.argv[0]);
  }
  Child c;
  c.pid = pid;
  c.pidfd = std::move(pidfd);
  return c;
}

Result<ExitStatus> PosixEnv::Wait(Child& child, std::optional<std::chrono::milliseconds> timeout) {
  if (timeout && child.pidfd.valid()) {
    struct pollfd p = {child.pidfd.get(), POLLIN, 0};
    const int r = RetryEintr([&] { return ::poll(&p, 1, static_cast<int>(timeout->count())); });
    if (r < 0) return SysError("wait for pid " + std::to_string(child.pid));
    if (r == 0)
      return DeadlineExceededError("wait for pid " + std::to_string(child.pid) +
                                   ": still running after " + std::to_string(timeout->count()) +
                                   " ms");
  }
  int st = 0;
  if (RetryEintr([&] { return ::waitpid(child.pid, &st, 0); }) < 0)
    return SysError("wait for pid " + std::to_string(child.pid));
  child.pid = -1;
  child.pidfd.Reset();
  ExitStatus es;
  es.exited = WIFEXITED(st);
  es.code = es.exited ? WEXITSTATUS(st) : WTERMSIG(st);
  return es;
}

Status PosixEnv::Kill(const Child& child, int sig) {
  if (!child.pidfd.valid()) return FailedPreconditionError("kill: child already reaped");
  if (::syscall(SYS_pidfd_send_signal, child.pidfd.get(), sig, nullptr, 0) < 0)
    return SysError("kill pid " + std::to_string(child.pid));
  return Status::Ok();
}

Status PosixEnv::KillPid(pid_t pid, int sig) {
  if (::kill(pid, sig) < 0) return SysError("kill pid " + std::to_string(pid));
  return Status::Ok();
}

pid_t PosixEnv::GetPid() { return ::getpid(); }
uid_t PosixEnv::GetEuid() { return ::geteuid(); }
gid_t PosixEnv::GetEgid() { return ::getegid(); }

Result<Fd> PosixEnv::UnixListen(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return InvalidArgumentError("listen on \"" + path + "\": socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return SysError("socket").WithContext("listen on " + Quote(path));
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::listen(fd.get(), 16) < 0)
    return SysError("listen on", path);
  return fd;
}

Result<Fd> PosixEnv::UnixConnect(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return InvalidArgumentError("connect to \"" + path + "\": socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return SysError("socket").WithContext("connect to " + Quote(path));
  if (RetryEintr(
          [&] { return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr); }) < 0)
    return SysError("connect to", path);
  return fd;
}

Result<Fd> PosixEnv::Accept(const Fd& listener) {
  const int fd =
      RetryEintr([&] { return ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC); });
  if (fd < 0) return SysError("accept on", listener);
  return Fd(fd);
}

Status PosixEnv::SocketPair(Fd* a, Fd* b) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return SysError("socketpair");
  *a = Fd(sv[0]);
  *b = Fd(sv[1]);
  return Status::Ok();
}

Status PosixEnv::Pipe(Fd* read_end, Fd* write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return SysError("pipe");
  *read_end = Fd(p[0]);
  *write_end = Fd(p[1]);
  return Status::Ok();
}

Result<short> PosixEnv::PollOne(const Fd& fd, short events, std::chrono::milliseconds timeout) {
  struct pollfd p = {fd.get(), events, 0};
  const int r = RetryEintr([&] { return ::poll(&p, 1, static_cast<int>(timeout.count())); });
  if (r < 0) return SysError("poll", fd);
  return r == 0 ? static_cast<short>(0) : p.revents;
}

Result<Fd> PosixEnv::InotifyInit() {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return SysError("inotify_init");
  return Fd(fd);
}

Result<int> PosixEnv::InotifyAddWatch(const Fd& inotify, const std::string& path, uint32_t mask) {
  const int wd = ::inotify_add_watch(inotify.get(), path.c_str(), mask);
  if (wd < 0) return SysError("watch", path);
  return wd;
}

Status PosixEnv::InotifyRmWatch(const Fd& inotify, int wd) {
  if (::inotify_rm_watch(inotify.get(), wd) < 0)
    return SysError("remove watch " + std::to_string(wd));
  return Status::Ok();
}

Result<Fd> PosixEnv::EventFd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return SysError("eventfd");
  return Fd(fd);
}

Status PosixEnv::SetNonBlocking(const Fd& fd, bool on) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0)
    return SysError("set non-blocking on", fd);
  return Status::Ok();
}

int64_t PosixEnv::NowNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

void PosixEnv::SleepFor(std::chrono::nanoseconds d) {
  struct timespec ts = {static_cast<time_t>(d.count() / 1'000'000'000),
                        static_cast<long>(d.count() % 1'000'000'000)};
  RetryEintr([&] { return ::nanosleep(&ts, &ts); });
}

}  // namespace vmshare::sys
