// Containers: the process calls. Each container has its init process (made
// at CreateContainer, run at StartContainer) and any number of execs
// (ExecProcess, in the init's namespaces and root), each with its own
// stdio: pipes for stdin, stdout and stderr, or one guest pty for a terminal
// process. Streams end as Kata's agent ends them (see Read in container.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <cstdlib>
#include <sstream>

#include "agent/server/container.h"
#include "core/ids.h"

namespace vmshare::agent {
namespace {

constexpr uint32_t kMaxRead = 1u << 20;
constexpr size_t kMaxExecs = 1024;   // per container
constexpr size_t kStdinChunk = 512;  // <= PIPE_BUF: a write after POLLOUT never blocks
constexpr int kMaxSignal = 64;       // SIGRTMAX on Linux
constexpr std::chrono::milliseconds kPollSlice{100};

std::string Describe(const ProcessRef& ref) {
  return "process " + Quote(ref.exec_id.empty() ? ref.container_id : ref.exec_id) +
         " of container " + Quote(ref.container_id);
}

Status CallEnded(sys::Env* env, const CallContext& ctx, const std::string& what) {
  if (ctx.cancelled != nullptr && ctx.cancelled->load()) {
    return UnavailableError(what + ": connection closed");
  }
  if (ctx.deadline_ns != 0 && env->NowNanos() > ctx.deadline_ns) {
    return DeadlineExceededError(what + ": timed out");
  }
  return Status::Ok();
}

// Whether `pid` has a handler for `sig` (the SigCgt mask of /proc/<pid>/status).
bool CatchesSignal(sys::Env* env, pid_t pid, int sig) {
  auto fd = env->OpenAt(sys::Cwd(), "/proc/" + std::to_string(pid) + "/status", O_RDONLY);
  if (!fd.ok()) return false;
  auto text = env->ReadAll(*fd, 1 << 16);
  if (!text.ok()) return false;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigCgt:", 0) != 0) continue;
    const uint64_t mask = std::strtoull(line.c_str() + 7, nullptr, 16);
    return (mask >> (sig - 1)) & 1;
  }
  return false;
}

}  // namespace

Result<std::shared_ptr<ContainerProcess>> Containers::StartProcessLocked(
    Container* c, const std::string& exec_id, bool init, bool terminal,
    sys::ContainedProcessOptions o, const Spawner& spawn) {
  auto p = std::make_shared<ContainerProcess>();
  p->exec_id = exec_id;
  p->init = init;
  // The child's ends live until the spawn returns; ours are kept in `p`.
  sys::Fd in_r, in_w, out_r, out_w, err_r, err_w, master, slave;
  if (terminal) {
    RETURN_IF_ERROR(env_->OpenPty(&master, &slave));
    o.tty_fd = &slave;
  } else {
    RETURN_IF_ERROR(env_->Pipe(&in_r, &in_w));
    RETURN_IF_ERROR(env_->Pipe(&out_r, &out_w));
    RETURN_IF_ERROR(env_->Pipe(&err_r, &err_w));
    o.stdin_fd = &in_r;
    o.stdout_fd = &out_w;
    o.stderr_fd = &err_w;
  }
  if (!c->cgroup.empty()) o.cgroup_procs = c->cgroup + "/cgroup.procs";
  if (spawn) {
    ASSIGN_OR_RETURN(p->process, processes_->StartWith([&] { return spawn(o); }));
  } else {
    ASSIGN_OR_RETURN(p->process, processes_->Start(o));
  }
  if (terminal) {
    p->pty = std::make_shared<sys::Fd>(std::move(master));
    p->out = p->err = p->pty;
  } else {
    p->out = std::make_shared<sys::Fd>(std::move(out_r));
    p->err = std::make_shared<sys::Fd>(std::move(err_r));
    p->stdin_w = std::make_shared<sys::Fd>(std::move(in_w));
  }
  return p;
}

Result<std::shared_ptr<ContainerProcess>> Containers::FindProcess(const ProcessRef& ref) {
  ASSIGN_OR_RETURN(auto c, Find(ref));
  std::lock_guard<std::mutex> lock(mu_);
  const std::string& e = ref.exec_id;
  if (e.empty() || e == c->id || e == c->exec_id || (c->init && e == c->init->exec_id)) {
    if (!c->init) return FailedPreconditionError("container " + Quote(c->id) + " not started");
    return c->init;
  }
  auto it = c->execs.find(e);
  if (it == c->execs.end()) return NotFoundError(Describe(ref) + " does not exist");
  return it->second;
}

Status Containers::Exec(const ExecProcessRequest& r) {
  const std::string what = "exec " + Describe(r.process);
  if (r.process.exec_id.empty()) return InvalidArgumentError(what + ": exec_id is empty");
  RETURN_IF_ERROR(ValidateId("exec", r.process.exec_id));
  if (r.spec.args.empty()) return InvalidArgumentError(what + ": process has no args");
  if (r.spec.console_height > 0xffff || r.spec.console_width > 0xffff) {
    return InvalidArgumentError(what + ": console size out of range");
  }
  ASSIGN_OR_RETURN(auto c, Find(r.process));
  std::lock_guard<std::mutex> lock(mu_);
  if (!c->init || !c->started) return FailedPreconditionError(what + ": container not started");
  if (processes_->Exited(c->init->process)) {
    return FailedPreconditionError(what + ": the container's init process has exited");
  }
  const std::string& id = r.process.exec_id;
  if (id == c->id || id == c->init->exec_id || c->execs.contains(id)) {
    return AlreadyExistsError(what + ": exec id already in use");
  }
  if (c->execs.size() >= kMaxExecs) {
    return FailedPreconditionError(what + ": container has " + std::to_string(kMaxExecs) +
                                   " processes already");
  }
  // In the init's namespaces and root, with the container's privileges.
  sys::ContainedProcessOptions o = c->exec_base;
  o.root = BundleRoot(c->id);
  o.enter = &c->init->process->child;
  o.argv = r.spec.args;
  o.env = r.spec.env;
  o.cwd = r.spec.cwd;
  o.uid = r.spec.uid;
  o.gid = r.spec.gid;
  o.additional_gids.assign(r.spec.additional_gids.begin(), r.spec.additional_gids.end());
  auto p = StartProcessLocked(c.get(), id, /*init=*/false, r.spec.terminal, std::move(o));
  if (!p.ok()) return p.status().WithContext(what);
  if ((*p)->pty && r.spec.console_height != 0 && r.spec.console_width != 0) {
    env_->SetWindowSize(*(*p)->pty, static_cast<uint16_t>(r.spec.console_height),
                        static_cast<uint16_t>(r.spec.console_width))
        .IgnoreError();  // the process runs either way; a later resize can fix it
  }
  c->execs[id] = *p;
  return Status::Ok();
}

Result<std::string> Containers::Read(const ProcessRef& ref, bool stderr_stream, uint32_t len,
                                     const CallContext& ctx) {
  ASSIGN_OR_RETURN(auto p, FindProcess(ref));
  const std::string what =
      std::string("read ") + (stderr_stream ? "stderr" : "stdout") + " of " + Describe(ref);
  const std::shared_ptr<sys::Fd> fd = stderr_stream ? p->err : p->out;
  const size_t n = len == 0 ? kMaxRead : std::min(len, kMaxRead);
  for (;;) {
    RETURN_IF_ERROR(CallEnded(env_, ctx, what));
    // Exited first, then poll: output written before the exit is in the
    // pipe by now, so "nothing to read" after an exit really is the end.
    const bool exited = processes_->Exited(p->process);
    ASSIGN_OR_RETURN(
        short revents,
        env_->PollOne(*fd, POLLIN, exited ? std::chrono::milliseconds(0) : kPollSlice));
    if (revents != 0) {
      auto data = env_->Read(*fd, n);
      // A pty master reads EIO once every slave end is closed.
      if (!data.ok() && p->pty && data.status().err() == EIO) return InternalError("read meet eof");
      if (!data.ok()) return data.status().WithContext(what);
      if (data->empty()) return InternalError("read meet eof");
      return data;
    }
    if (exited) return InternalError("eof");
  }
}

Result<int32_t> Containers::Wait(const ProcessRef& ref, const CallContext& ctx) {
  ASSIGN_OR_RETURN(auto p, FindProcess(ref));
  ASSIGN_OR_RETURN(int32_t status, processes_->Wait(p->process, ctx));
  if (!p->init) {
    std::lock_guard<std::mutex> lock(mu_);
    auto c = containers_.find(ref.container_id);
    if (c != containers_.end()) {
      auto it = c->second->execs.find(p->exec_id);
      if (it != c->second->execs.end() && it->second == p) c->second->execs.erase(it);
    }
  }
  return status;
}

Status Containers::Signal(const SignalProcessRequest& r) {
  const std::string what = "signal " + Describe(r.process);
  if (r.signal > kMaxSignal) {
    return InvalidArgumentError(what + ": " + std::to_string(r.signal) + " is not a signal");
  }
  ASSIGN_OR_RETURN(auto p, FindProcess(r.process));
  int sig = static_cast<int>(r.signal);
  // Kata: an init that does not catch SIGTERM would ignore it (in a pid
  // namespace), so it gets SIGKILL.
  if (p->init && sig == SIGTERM && !CatchesSignal(env_, p->process->child.pid, SIGTERM)) {
    sig = SIGKILL;
  }
  RETURN_IF_ERROR(processes_->Signal(p->process, sig).WithContext(what));
  if (!r.process.exec_id.empty() || sig == 0) return Status::Ok();
  // No exec id: every other process of the container too, frozen while
  // they are listed and signalled so none can fork away.
  auto cg = CgroupOf(r.process.container_id);
  if (!cg.ok()) return Status::Ok();  // no cgroup: init is all we know of
  cgroups_->Freeze(*cg, true).IgnoreError();
  auto pids = cgroups_->Pids(*cg);
  if (pids.ok()) {
    for (pid_t pid : *pids) {
      if (pid != p->process->child.pid) env_->KillPid(pid, sig).IgnoreError();
    }
  }
  return cgroups_->Freeze(*cg, false).WithContext(what);
}

Result<uint32_t> Containers::WriteStdin(const WriteStreamRequest& r, const CallContext& ctx) {
  ASSIGN_OR_RETURN(auto p, FindProcess(r.process));
  const std::string what = "write stdin of " + Describe(r.process);
  std::shared_ptr<sys::Fd> fd;
  {
    std::lock_guard<std::mutex> lock(p->stdin_mu);
    if (p->stdin_closed) return FailedPreconditionError(what + ": stdin is closed");
    fd = p->pty ? p->pty : p->stdin_w;
  }
  size_t done = 0;
  while (done < r.data.size()) {
    Status ended = CallEnded(env_, ctx, what);
    if (!ended.ok()) {
      if (done > 0) break;
      return ended;
    }
    ASSIGN_OR_RETURN(short revents, env_->PollOne(*fd, POLLOUT, kPollSlice));
    if (revents == 0) continue;
    const size_t chunk = std::min(kStdinChunk, r.data.size() - done);
    Status s = (revents & POLLOUT)
                   ? env_->WriteAll(*fd, std::string_view(r.data).substr(done, chunk))
                   : UnavailableError("the process closed its stdin");
    if (!s.ok()) {
      if (done > 0) break;  // report what was written
      return s.WithContext(what);
    }
    done += chunk;
  }
  return static_cast<uint32_t>(done);
}

Status Containers::CloseStdin(const ProcessRef& ref) {
  ASSIGN_OR_RETURN(auto p, FindProcess(ref));
  std::lock_guard<std::mutex> lock(p->stdin_mu);
  if (p->stdin_closed) return Status::Ok();
  p->stdin_closed = true;
  if (p->pty) {
    // The terminal stays (it carries the output): send the EOF character,
    // which a reader in canonical mode sees as end of input. A terminal
    // whose process has gone (EIO) has no input to end.
    env_->WriteAll(*p->pty, "\x04").IgnoreError();
    return Status::Ok();
  }
  p->stdin_w.reset();
  return Status::Ok();
}

Status Containers::ResizeTty(const TtyWinResizeRequest& r) {
  const std::string what = "resize terminal of " + Describe(r.process);
  if (r.row > 0xffff || r.column > 0xffff) {
    return InvalidArgumentError(what + ": " + std::to_string(r.row) + "x" +
                                std::to_string(r.column) + " is out of range");
  }
  ASSIGN_OR_RETURN(auto p, FindProcess(r.process));
  if (!p->pty) return FailedPreconditionError(what + ": it has no terminal");
  return env_->SetWindowSize(*p->pty, static_cast<uint16_t>(r.row), static_cast<uint16_t>(r.column))
      .WithContext(what);
}

Status Containers::StopAll(const Container& c, uint32_t timeout_seconds, const CallContext& ctx) {
  std::vector<std::shared_ptr<ContainerProcess>> procs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (c.init) procs.push_back(c.init);
    for (const auto& [id, p] : c.execs) procs.push_back(p);
  }
  for (const auto& p : procs) RETURN_IF_ERROR(processes_->Signal(p->process, SIGKILL));
  const int64_t limit = int64_t{timeout_seconds} * 1'000'000'000;
  for (const auto& p : procs) {
    RETURN_IF_ERROR(processes_->WaitFor(p->process, ctx, limit).status());
  }
  // Whatever they left behind (daemons, grandchildren) goes with the cgroup.
  if (!c.cgroup.empty()) RETURN_IF_ERROR(cgroups_->Remove(c.cgroup, ctx, limit));
  return Status::Ok();
}

Result<std::string> Containers::CgroupOf(const std::string& cid) {
  ASSIGN_OR_RETURN(auto c, Find({cid, ""}));
  if (c->cgroup.empty()) {
    return FailedPreconditionError("container " + Quote(cid) +
                                   " has no cgroup: cgroup v2 is not mounted at " +
                                   Quote(paths_.cgroup_root));
  }
  return c->cgroup;
}

}  // namespace vmshare::agent
