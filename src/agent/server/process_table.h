// ProcessTable: starts container processes and learns how they end.
//
// One reaper thread reaps every child of the agent (as pid 1 that includes
// orphans re-parented to it) and records the exit of the ones started here.
// Start() holds the table lock across the spawn, so a process that exits at
// once is still registered before the reaper can look it up. Exit statuses
// follow Kata: the exit code, or 128 + signal number. Thread-safe; lives as
// long as the process (the reaper is never joined).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "agent/ttrpc_server.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

class ProcessTable {
 public:
  struct Process {
    sys::Child child;
    bool exited = false;   // GUARDED_BY(table mu_)
    int32_t status = 0;    // GUARDED_BY(table mu_)
  };

  explicit ProcessTable(sys::Env* env);

  Result<std::shared_ptr<Process>> Start(const sys::ContainedProcessOptions& options);
  // Like Start, for a child that `spawn` makes (a container init, which is
  // registered at CreateContainer and execs at StartContainer).
  Result<std::shared_ptr<Process>> StartWith(const std::function<Result<sys::Child>()>& spawn);
  // Blocks until `p` exits, the call's deadline passes (kDeadlineExceeded) or
  // its connection ends (kUnavailable). A zero-deadline context with no
  // cancel flag waits forever.
  Result<int32_t> Wait(const std::shared_ptr<Process>& p, const CallContext& ctx);
  // Like Wait, with an extra limit of `limit_ns` (0: none).
  Result<int32_t> WaitFor(const std::shared_ptr<Process>& p, const CallContext& ctx,
                          int64_t limit_ns);
  bool Exited(const std::shared_ptr<Process>& p);
  // Signals a process that has not been reaped (pidfd: never a recycled pid).
  Status Signal(const std::shared_ptr<Process>& p, int sig);

 private:
  void ReapLoop();

  sys::Env* env_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<pid_t, std::shared_ptr<Process>> running_;  // GUARDED_BY(mu_)
  uint64_t spawned_ = 0;                               // GUARDED_BY(mu_)
};

}  // namespace vmshare::agent
