#include "shim/task_service.h"

#include <csignal>

#include "core/ids.h"

namespace vmshare::shim {
namespace {

// The guest agent starts an exec process with its container's privileges:
// what an exec spec asks beyond (or short of) them is said in the log.
std::vector<std::string> PrivilegesNotApplied(const SpecProcess& exec, const SpecProcess& init) {
  std::vector<std::string> out;
  const char* kTail = " differ from the container's, which the guest gives its exec processes";
  if (exec.capabilities != init.capabilities)
    out.push_back(std::string("process.capabilities") + kTail);
  if (exec.rlimits != init.rlimits) out.push_back(std::string("process.rlimits") + kTail);
  if (exec.no_new_privileges != init.no_new_privileges)
    out.push_back(std::string("process.noNewPrivileges") + kTail);
  if (exec.umask && exec.umask != init.umask)
    out.push_back(std::string("process.user.umask") + kTail);
  return out;
}

}  // namespace

namespace {

std::string AbsoluteRoot(const std::string& bundle, const std::string& root_path) {
  if (root_path.empty()) return bundle + "/rootfs";
  if (root_path[0] == '/') return root_path;
  return bundle + "/" + root_path;
}

}  // namespace

std::string Describe(const ProcessKey& k) {
  return k.exec_id.empty() ? "task " + Quote(k.id)
                           : "exec " + Quote(k.exec_id) + " of task " + Quote(k.id);
}

TaskService::TaskService(TaskServiceOptions options) : options_(std::move(options)) {}

TaskService::~TaskService() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, c] : containers_) {
      if (c.init && c.init->watcher.joinable()) threads.push_back(std::move(c.init->watcher));
      for (auto& [eid, p] : c.execs)
        if (p->watcher.joinable()) threads.push_back(std::move(p->watcher));
    }
  }
  for (auto& t : threads) t.join();
}

std::string TaskService::sandbox_id() {
  std::lock_guard<std::mutex> lock(mu_);
  return sandbox_id_;
}

Result<std::shared_ptr<TaskService::Proc>> TaskService::Find(const ProcessKey& k) {
  auto it = containers_.find(k.id);
  if (it == containers_.end()) return NotFoundError("task " + Quote(k.id) + " not found");
  if (k.exec_id.empty()) return it->second.init;
  auto e = it->second.execs.find(k.exec_id);
  if (e == it->second.execs.end()) return NotFoundError(Describe(k) + " not found");
  return e->second;
}

Status TaskService::EnsureBackend(const std::string& sandbox_id, const OciSpec& spec,
                                  bool starts_sandbox) {
  std::lock_guard<std::mutex> boot(boot_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_)
      return FailedPreconditionError("sandbox " + Quote(sandbox_id_) + " is shut down");
    if (backend_ != nullptr) {
      if (sandbox_id != sandbox_id_)
        return InvalidArgumentError("this shim serves sandbox " + Quote(sandbox_id_) + ", not " +
                                    Quote(sandbox_id));
      if (starts_sandbox)
        return AlreadyExistsError("sandbox " + Quote(sandbox_id) + " is already running");
      return Status::Ok();
    }
  }
  if (!starts_sandbox)
    return FailedPreconditionError("sandbox " + Quote(sandbox_id) +
                                   " is not running: its sandbox container must be created first");
  std::unique_ptr<SandboxBackend> b = options_.make_backend();
  RETURN_IF_ERROR(b->Boot(sandbox_id, spec).WithContext("boot sandbox " + Quote(sandbox_id)));
  std::lock_guard<std::mutex> lock(mu_);
  backend_ = std::move(b);
  sandbox_id_ = sandbox_id;
  return Status::Ok();
}

Result<std::string> TaskService::PrepareRootfs(const CreateTask& r, const OciSpec& spec,
                                               bool* mounted) {
  const std::string root = AbsoluteRoot(r.bundle, spec.root_path);
  *mounted = false;
  if (r.rootfs.empty()) return root;
  if (!options_.mount_rootfs)
    return UnimplementedError("create task " + Quote(r.id) + ": rootfs mounts are not supported");
  RETURN_IF_ERROR(options_.mount_rootfs(r.rootfs, root));
  *mounted = true;
  return root;
}

Result<uint32_t> TaskService::Create(const CreateTask& r) {
  RETURN_IF_ERROR(ValidateId("task", r.id));
  if (!r.checkpoint.empty())
    return UnimplementedError("create task " + Quote(r.id) + ": checkpoints are not supported");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (containers_.contains(r.id))
      return AlreadyExistsError("task " + Quote(r.id) + " already exists");
  }
  ASSIGN_OR_RETURN(OciSpec spec, ReadSpec(options_.env, r.bundle));
  if (spec.process.terminal != r.stdio.terminal) spec.process.terminal = r.stdio.terminal;
  // What the guest would refuse fails here, before a guest boots.
  RETURN_IF_ERROR(CheckGuestSpec(spec).WithContext("create task " + Quote(r.id)));
  for (const std::string& n : spec.notices) Notice("create task " + Quote(r.id) + ": " + n);
  const std::string sid = SandboxIdOf(spec, r.id);
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  const bool starts = StartsSandbox(spec, r.id);
  RETURN_IF_ERROR(EnsureBackend(sid, spec, starts));

  bool mounted = false;
  ASSIGN_OR_RETURN(std::string rootfs, PrepareRootfs(r, spec, &mounted));
  Result<std::unique_ptr<StdioRelay>> io = StdioRelay::Open(options_.env, r.stdio);
  Status created = io.ok()
                       ? backend_->CreateContainer(ContainerSpecIn{r.id, r.bundle, rootfs, spec})
                       : io.status();
  if (!created.ok()) {
    if (mounted && options_.unmount_rootfs) options_.unmount_rootfs(rootfs).IgnoreError();
    if (starts) ShutdownBackend().IgnoreError();
    return created.WithContext("create task " + Quote(r.id));
  }
  auto init = std::make_shared<Proc>();
  init->key = ProcessKey{r.id, ""};
  init->stdio = r.stdio;
  init->io = std::move(io).value();
  const uint32_t pid = backend_->pid() != 0 ? backend_->pid() : options_.shim_pid;
  init->exit.pid = pid;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Container& c = containers_[r.id];
    c.id = r.id;
    c.bundle = r.bundle;
    c.started_sandbox = starts;
    c.mounted_rootfs = mounted;
    c.init = init;
    c.process = spec.process;
  }
  Emit(TaskCreateEvent(r, pid));
  return pid;
}

Status TaskService::StartProcess(const std::shared_ptr<Proc>& p) {
  const ProcessKey& k = p->key;
  if (k.exec_id.empty()) {
    RETURN_IF_ERROR(backend_->StartContainer(k.id));
  } else {
    RETURN_IF_ERROR(backend_->ExecProcess(k.id, k.exec_id, p->exec_spec));
  }
  p->io->Start(backend_.get(), k.id, k.exec_id);
  std::lock_guard<std::mutex> lock(mu_);
  p->status = TaskStatus::kRunning;
  p->watcher = std::thread([this, p] { WatchExit(p); });
  return Status::Ok();
}

Result<uint32_t> TaskService::Start(const ProcessKey& k) {
  std::shared_ptr<Proc> p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(p, Find(k));
    if (p->status != TaskStatus::kCreated)
      return FailedPreconditionError("start " + Describe(k) + ": it is not in the created state");
    if (!k.exec_id.empty() && containers_[k.id].init->status != TaskStatus::kRunning)
      return FailedPreconditionError("start " + Describe(k) + ": the task is not running");
    p->status = TaskStatus::kPaused;  // "starting": keeps a second Start out
  }
  Status s = StartProcess(p);
  if (!s.ok()) {
    // It never ran: it is over, with the status of a process the runtime
    // could not run, and whoever waits for it hears so now.
    std::lock_guard<std::mutex> lock(mu_);
    p->status = TaskStatus::kStopped;
    p->exit.exit_status = kGuestLostStatus;
    p->exit.exited_at_ns = WallClockNanos();
    exited_.notify_all();
    return s.WithContext("start " + Describe(k));
  }
  if (k.exec_id.empty()) {
    Emit(TaskStartEvent(k.id, p->exit.pid));
  } else {
    Emit(TaskExecStartedEvent(k, p->exit.pid));
  }
  std::lock_guard<std::mutex> lock(mu_);
  p->start_emitted = true;
  exited_.notify_all();
  return p->exit.pid;
}

void TaskService::WatchExit(std::shared_ptr<Proc> p) {
  // The exit is collected only after the output has ended, as Kata's shim
  // does: the agent forgets an exec once WaitProcess has answered, so a read
  // after it fails and what the pipe still held is lost; and containerd's
  // clients take the exit for the end of the process's output. This waits
  // for the exit, not for the children: the agent ends a stream when the
  // process has exited and its pipe is drained, even if a child it left
  // behind holds the pipe's other end.
  p->io->WaitOutputEnd();
  Result<int32_t> code = backend_->WaitProcess(p->key.id, p->key.exec_id);
  uint32_t status = kGuestLostStatus;
  if (code.ok()) {
    status = static_cast<uint32_t>(*code);
  } else {
    Log("wait " + Describe(p->key) + ": " + code.status().message() + "; exit status " +
        std::to_string(kGuestLostStatus));
  }
  const int64_t at = WallClockNanos();
  ExitInfo e;
  {
    std::unique_lock<std::mutex> lock(mu_);
    p->status = TaskStatus::kStopped;
    p->exit.exit_status = status;
    p->exit.exited_at_ns = at;
    e = p->exit;
    exited_.notify_all();
    // A process that exits at once must not have its exit published before
    // its start: containerd would see the events out of order.
    exited_.wait(lock, [&] { return p->start_emitted; });
  }
  Emit(TaskExitEvent(p->key, e));
}

Result<ExitInfo> TaskService::Wait(const ProcessKey& k, const std::atomic<bool>* cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Proc> p, Find(k));
  for (;;) {
    if (p->status == TaskStatus::kStopped || p->deleted) return p->exit;
    if (cancelled != nullptr && cancelled->load())
      return UnavailableError("wait " + Describe(k) + ": connection closed");
    exited_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

Result<ProcessState> TaskService::State(const ProcessKey& k) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Proc> p, Find(k));
  ProcessState s;
  s.id = k.id;
  s.exec_id = k.exec_id;
  s.bundle = containers_[k.id].bundle;
  s.pid = p->exit.pid;
  s.status = p->status == TaskStatus::kPaused ? TaskStatus::kCreated : p->status;
  s.stdio = p->stdio;
  s.exit_status = p->exit.exit_status;
  s.exited_at_ns = p->exit.exited_at_ns;
  return s;
}

Status TaskService::Kill(const KillTask& r) {
  std::vector<ProcessKey> targets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::shared_ptr<Proc> p, Find(r.key));
    if (p->status == TaskStatus::kStopped)
      return NotFoundError("kill " + Describe(r.key) + ": process already finished");
    if (p->status != TaskStatus::kRunning)
      return FailedPreconditionError("kill " + Describe(r.key) + ": it has not started");
    targets.push_back(r.key);
    if (r.all && r.key.exec_id.empty()) {
      for (const auto& [eid, e] : containers_[r.key.id].execs)
        if (e->status == TaskStatus::kRunning) targets.push_back(e->key);
    }
  }
  if (r.signal == 0 || r.signal > 64)
    return InvalidArgumentError("kill " + Describe(r.key) + ": signal " + std::to_string(r.signal) +
                                " is out of range");
  for (const ProcessKey& t : targets) {
    Status s = backend_->SignalProcess(t.id, t.exec_id, static_cast<int>(r.signal));
    if (!s.ok() && t == r.key) return s.WithContext("kill " + Describe(t));
  }
  return Status::Ok();
}

Status TaskService::Exec(const ExecTask& r) {
  RETURN_IF_ERROR(ValidateId("exec", r.exec_id));
  ASSIGN_OR_RETURN(SpecProcess spec,
                   ParseProcessSpec(r.spec_json, "exec spec of " + Quote(r.exec_id)));
  if (spec.args.empty())
    return InvalidArgumentError("exec " + Quote(r.exec_id) + ": no process args");
  spec.terminal = r.stdio.terminal;
  for (const std::string& n : spec.notices) Notice(Describe({r.id, r.exec_id}) + ": " + n);
  ASSIGN_OR_RETURN(std::unique_ptr<StdioRelay> io, StdioRelay::Open(options_.env, r.stdio));
  const ProcessKey k{r.id, r.exec_id};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = containers_.find(r.id);
    if (it == containers_.end()) return NotFoundError("task " + Quote(r.id) + " not found");
    if (it->second.init->status != TaskStatus::kRunning)
      return FailedPreconditionError("exec in task " + Quote(r.id) + ": it is not running");
    if (it->second.execs.contains(r.exec_id))
      return AlreadyExistsError(Describe(k) + " already exists");
    for (const std::string& n : PrivilegesNotApplied(spec, it->second.process))
      Notice(Describe(k) + ": " + n);
    auto p = std::make_shared<Proc>();
    p->key = k;
    p->stdio = r.stdio;
    p->exec_spec = std::move(spec);
    p->io = std::move(io);
    p->exit.pid = it->second.init->exit.pid;
    it->second.execs[r.exec_id] = std::move(p);
  }
  Emit(TaskExecAddedEvent(k));
  return Status::Ok();
}

Status TaskService::ResizePty(const shim::ResizePty& r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::shared_ptr<Proc> p, Find(r.key));
    if (!p->stdio.terminal)
      return FailedPreconditionError("resize " + Describe(r.key) + ": it has no terminal");
    if (p->status != TaskStatus::kRunning) return Status::Ok();
  }
  return backend_->ResizeTerminal(r.key.id, r.key.exec_id, r.width, r.height);
}

Status TaskService::CloseIO(const CloseIo& r) {
  std::shared_ptr<Proc> p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(p, Find(r.key));
  }
  if (r.stdin_close) p->io->CloseStdin();
  return Status::Ok();
}

Result<std::vector<uint32_t>> TaskService::Pids(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Proc> p, Find(ProcessKey{id, ""}));
  return std::vector<uint32_t>{p->exit.pid};
}

Result<ConnectInfo> TaskService::Connect(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Proc> p, Find(ProcessKey{id, ""}));
  return ConnectInfo{options_.shim_pid, p->exit.pid, "vmshare"};
}

}  // namespace vmshare::shim
