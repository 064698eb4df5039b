// TaskService's ends: Delete of a process or a container, and Shutdown of
// the sandbox.
#include "core/ids.h"
#include "shim/task_service.h"

namespace vmshare::shim {

Status TaskService::ShutdownBackend() {
  std::lock_guard<std::mutex> boot(boot_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_ || backend_ == nullptr) {
      shut_down_ = true;
      return Status::Ok();
    }
    shut_down_ = true;
  }
  // The backend object stays: relays and watchers may still be returning
  // from calls into it; after Shutdown every such call fails, and every
  // relay is stopped, so that one waiting for room in a FIFO nobody reads
  // does not hold its exit watcher.
  Status s = backend_->Shutdown();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, c] : containers_) {
    if (c.init && c.init->io) c.init->io->Stop();
    for (auto& [eid, p] : c.execs)
      if (p->io) p->io->Stop();
  }
  return s;
}

Status TaskService::RemoveContainer(Container& c) {
  Status first;
  bool down;
  {
    std::lock_guard<std::mutex> lock(mu_);
    down = shut_down_;
  }
  if (!down) first = backend_->RemoveContainer(c.id);
  // The guest side is gone: every relay's reads end, which lets the exit
  // watchers go on; a relay that waits for room in a FIFO is stopped.
  std::vector<std::shared_ptr<Proc>> procs{c.init};
  for (auto& [eid, p] : c.execs) procs.push_back(p);
  for (auto& p : procs) {
    if (p->io) p->io->Stop();
    if (p->watcher.joinable()) p->watcher.join();
    p->io.reset();
  }
  if (c.mounted_rootfs && options_.unmount_rootfs) {
    Status s = options_.unmount_rootfs(c.bundle + "/rootfs");
    if (first.ok()) first = s;
  }
  return first;
}

Result<ExitInfo> TaskService::Delete(const ProcessKey& k) {
  if (!k.exec_id.empty()) {
    std::shared_ptr<Proc> p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ASSIGN_OR_RETURN(p, Find(k));
      if (p->status == TaskStatus::kRunning || p->status == TaskStatus::kPaused)
        return FailedPreconditionError("delete " + Describe(k) + ": it is still running");
      containers_[k.id].execs.erase(k.exec_id);
      p->deleted = true;
      exited_.notify_all();
    }
    // Its output ended before its exit was recorded: the relay goes with it.
    if (p->watcher.joinable()) p->watcher.join();
    p->io.reset();
    return p->exit;
  }
  Container c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = containers_.find(k.id);
    if (it == containers_.end()) return NotFoundError("task " + Quote(k.id) + " not found");
    const TaskStatus s = it->second.init->status;
    if (s == TaskStatus::kRunning || s == TaskStatus::kPaused)
      return FailedPreconditionError("delete task " + Quote(k.id) + ": it is still running");
    c = std::move(it->second);
    containers_.erase(it);
    c.init->deleted = true;
    for (auto& [eid, e] : c.execs) e->deleted = true;
    exited_.notify_all();
  }
  Status removed = RemoveContainer(c);
  if (!removed.ok()) Log("delete task " + Quote(k.id) + ": " + removed.message());
  bool last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last = containers_.empty();
  }
  if (c.started_sandbox || last) {
    Status down = ShutdownBackend();
    if (!down.ok()) Log("shut down sandbox " + Quote(sandbox_id()) + ": " + down.message());
  }
  const ExitInfo e = c.init->exit;
  Emit(TaskDeleteEvent(k, e));
  return e;
}

Result<bool> TaskService::Shutdown(const ShutdownTask& r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!containers_.empty() && !r.now) return false;
  }
  RETURN_IF_ERROR(ShutdownBackend().WithContext("shut down sandbox " + Quote(sandbox_id())));
  return true;
}

}  // namespace vmshare::shim
