#include "agent/server/process_table.h"

#include <thread>

namespace vmshare::agent {

ProcessTable::ProcessTable(sys::Env* env) : env_(env) {
  std::thread([this] { ReapLoop(); }).detach();
}

void ProcessTable::ReapLoop() {
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = spawned_;
    }
    auto r = env_->WaitAnyChild();
    if (!r.ok()) {
      // No children: sleep until Start() makes one (or a second passes, for
      // children someone else started).
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return spawned_ != seen; });
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(r->pid);
    if (it == running_.end()) continue;  // an orphan, or a child that failed to start
    it->second->exited = true;
    it->second->status = r->status.exited ? r->status.code : 128 + r->status.code;
    running_.erase(it);
    cv_.notify_all();
  }
}

Result<std::shared_ptr<ProcessTable::Process>> ProcessTable::Start(
    const sys::ContainedProcessOptions& options) {
  return StartWith([&] { return env_->SpawnContained(options); });
}

Result<std::shared_ptr<ProcessTable::Process>> ProcessTable::StartWith(
    const std::function<Result<sys::Child>()>& spawn) {
  std::lock_guard<std::mutex> lock(mu_);
  ++spawned_;
  cv_.notify_all();
  ASSIGN_OR_RETURN(sys::Child child, spawn());
  auto p = std::make_shared<Process>();
  p->child = std::move(child);
  running_[p->child.pid] = p;
  return p;
}

Result<int32_t> ProcessTable::WaitFor(const std::shared_ptr<Process>& p, const CallContext& ctx,
                                      int64_t limit_ns) {
  const int64_t limit = limit_ns > 0 ? env_->NowNanos() + limit_ns : 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!p->exited) {
    if (ctx.cancelled != nullptr && ctx.cancelled->load()) {
      return UnavailableError("wait for process " + std::to_string(p->child.pid) +
                              ": connection closed");
    }
    const int64_t now = env_->NowNanos();
    if ((ctx.deadline_ns != 0 && now > ctx.deadline_ns) || (limit != 0 && now > limit)) {
      return DeadlineExceededError("wait for process " + std::to_string(p->child.pid) +
                                   ": timed out");
    }
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  return p->status;
}

Result<int32_t> ProcessTable::Wait(const std::shared_ptr<Process>& p, const CallContext& ctx) {
  return WaitFor(p, ctx, 0);
}

bool ProcessTable::Exited(const std::shared_ptr<Process>& p) {
  std::lock_guard<std::mutex> lock(mu_);
  return p->exited;
}

Status ProcessTable::Signal(const std::shared_ptr<Process>& p, int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  if (p->exited) return Status::Ok();
  Status s = env_->Kill(p->child, sig);
  if (!s.ok() && s.err() == ESRCH) return Status::Ok();
  return s;
}

}  // namespace vmshare::agent
