#include "agent/server/process_table.h"

#include <poll.h>

#include <vector>

namespace vmshare::agent {
namespace {

// How often the reaper looks for exited orphans, which have no pidfd to wake it.
constexpr std::chrono::milliseconds kOrphanSweep{1000};

}  // namespace

ProcessTable::ProcessTable(sys::Env* env) : env_(env) {
  if (auto fd = env_->EventFd(); fd.ok()) wake_ = std::move(fd).value();
  reaper_ = std::thread([this] { ReapLoop(); });
}

ProcessTable::~ProcessTable() {
  stop_ = true;
  Wake();
  reaper_.join();
}

void ProcessTable::Wake() {
  if (!wake_.valid()) return;
  const uint64_t one = 1;
  env_->WriteAll(wake_, std::string_view(reinterpret_cast<const char*>(&one), sizeof one))
      .IgnoreError();
}

void ProcessTable::ReapExitedLocked() {
  for (;;) {
    auto r = env_->ReapAnyChild();
    if (!r.ok() || !r->has_value()) return;
    const sys::ReapedChild& child = **r;
    auto it = running_.find(child.pid);
    if (it == running_.end()) continue;  // an orphan, or a child that failed to start
    it->second->exited = true;
    it->second->status = child.status.exited ? child.status.code : 128 + child.status.code;
    running_.erase(it);
    cv_.notify_all();
  }
}

void ProcessTable::ReapLoop() {
  while (!stop_) {
    // The processes stay alive through the poll: `watched` holds them.
    std::vector<std::shared_ptr<Process>> watched;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ReapExitedLocked();
      for (const auto& [pid, p] : running_) watched.push_back(p);
    }
    std::vector<const sys::Fd*> fds;
    if (wake_.valid()) fds.push_back(&wake_);
    for (const auto& p : watched) fds.push_back(&p->child.pidfd);
    auto ready = fds.empty() ? Result<std::vector<short>>(InternalError("no wake fd"))
                             : env_->PollMany(fds, POLLIN, kOrphanSweep);
    if (!ready.ok()) {
      env_->SleepFor(std::chrono::milliseconds(100));
      continue;
    }
    if (wake_.valid() && ((*ready)[0] & POLLIN)) env_->Read(wake_, 8).status().IgnoreError();
  }
}

Result<std::shared_ptr<ProcessTable::Process>> ProcessTable::Start(
    const sys::ContainedProcessOptions& options) {
  return StartWith([&] { return env_->SpawnContained(options); });
}

Result<std::shared_ptr<ProcessTable::Process>> ProcessTable::StartWith(
    const std::function<Result<sys::Child>()>& spawn) {
  std::shared_ptr<Process> p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(sys::Child child, spawn());
    p = std::make_shared<Process>();
    p->child = std::move(child);
    running_[p->child.pid] = p;
  }
  Wake();  // the reaper polls the new pidfd from now on
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
