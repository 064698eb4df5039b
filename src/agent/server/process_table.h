// ProcessTable: starts container processes and learns how they end.
//
// One reaper thread reaps every child of the agent (as pid 1 that includes
// orphans re-parented to it) and records the exit of the ones started here.
// It sleeps in poll(2) on the pidfds of the running processes and a wake
// eventfd (Start and the destructor ring it), and sweeps for orphans, which
// have no pidfd, at least once a second. Reaping is non-blocking and done
// under the table lock, and Start() holds that lock across the spawn, so a
// reaped pid is matched before it can be recycled and a process that exits
// at once is registered before the reaper looks for it. Exit statuses follow
// Kata: the exit code, or 128 + signal number. Thread-safe. The destructor
// stops and joins the reaper, so nothing outlives the table.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/ttrpc_server.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

class ProcessTable {
 public:
  struct Process {
    sys::Child child;
    bool exited = false;  // GUARDED_BY(table mu_)
    int32_t status = 0;   // GUARDED_BY(table mu_)
  };

  explicit ProcessTable(sys::Env* env);
  ~ProcessTable();
  ProcessTable(const ProcessTable&) = delete;
  ProcessTable& operator=(const ProcessTable&) = delete;

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
  void ReapExitedLocked();  // REQUIRES: mu_ held
  void Wake();

  sys::Env* env_;
  sys::Fd wake_;  // eventfd; invalid if it could not be made (then the reaper polls)
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<pid_t, std::shared_ptr<Process>> running_;  // GUARDED_BY(mu_)
  std::thread reaper_;  // last: started after everything it uses exists
};

}  // namespace vmshare::agent
