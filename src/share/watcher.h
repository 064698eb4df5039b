// FileEventWatcher: keeps guest copies of watched volumes in sync with the
// host, driven by inotify (no polling).
//
// One thread waits on one inotify fd (a watch on each volume directory:
// entries created, deleted, moved, attributes, the directory itself going)
// and an eventfd that Add/Remove/Stop use to wake it. Every event on a
// volume marks it dirty; once the pending events are read, each dirty
// volume's copies are brought up to date with VolumeSync (watcher_sync.h),
// which reproduces the kubelet's update order in the guest. IN_Q_OVERFLOW
// marks every volume for a rescan; so do Start and any failed sync, which
// is retried with a growing delay (100 ms .. 5 s) until it succeeds or the
// host volume directory is gone (then the guest copy is left as it is).
//
// Thread safety: every public method may be called from any thread. The
// mutex is never held across a call to the agent (a guest round trip, up
// to its deadline): the thread claims the dirty copies under it, then syncs
// them one at a time without it, so Add/Remove of other copies never wait
// for a sync. Remove of the copy being synced waits for that sync to end,
// so nothing is written to a copy after Remove returns. The report
// callback runs on the watcher thread without the mutex; it must not call
// back into the watcher.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/client.h"
#include "core/result.h"
#include "share/watcher_sync.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::share {

class FileEventWatcher {
 public:
  using AgentFn = std::function<agent::AgentClient*()>;
  using ReportFn = std::function<void(const std::string& volume, const Status& status)>;

  // REQUIRES: env outlives the watcher. `agent` may return nullptr while
  // there is no guest; syncs then wait for the next Add/Start/event.
  FileEventWatcher(sys::Env* env, AgentFn agent, ReportFn report = {});
  ~FileEventWatcher();
  FileEventWatcher(const FileEventWatcher&) = delete;
  FileEventWatcher& operator=(const FileEventWatcher&) = delete;

  // Keeps guest_dir (a copy made by VolumeSync) in sync with host_dir.
  // Adding a guest_dir again is a no-op. While running, the new copy is
  // rescanned at once.
  void Add(const std::string& host_dir, const std::string& guest_dir);
  // Stops syncing guest_dir; the guest copy stays as it is. If the watcher
  // is syncing that copy, returns once that sync has ended.
  void Remove(const std::string& guest_dir);

  // Starts the thread; every copy is rescanned first. Idempotent: OK when
  // already running. Fails only when inotify or the eventfd cannot be made.
  Status Start();
  // Returns once the thread has finished its current agent call (if any)
  // and exited. Safe when not running.
  void Stop();
  bool running() const { return running_; }

 private:
  struct Copy {
    // Shared with the sync in flight, which outlives a Remove.
    std::shared_ptr<VolumeSync> sync;
    bool dirty = true;
    bool rescan = true;
  };
  struct Volume {
    int wd = -1;
    bool gone = false;                   // the host directory vanished
    std::map<std::string, Copy> copies;  // by guest dir
  };

  // One claimed copy to sync.
  struct Job {
    std::string host_dir;
    std::string guest_dir;
    std::shared_ptr<VolumeSync> sync;
    bool rescan = false;
  };
  struct Report {
    std::string volume;
    Status status;
  };

  void Loop();
  void Wake();
  // Reads every pending inotify event. REQUIRES: mu_ held.
  void DrainEvents();
  // Watches the dirty volumes not watched yet and claims their dirty copies
  // (clears dirty/rescan; a failed job sets them again). Sets *failed when
  // something must be retried. REQUIRES: mu_ held.
  std::vector<Job> ClaimDirty(std::vector<Report>* reports, bool* failed);
  // Syncs one claimed copy, without mu_ across the agent calls; false when
  // it failed and must be retried.
  bool RunJob(const Job& job, agent::AgentClient* agent, std::vector<Report>* reports);
  // The copy a job was claimed from, unless it was removed (or replaced)
  // since. REQUIRES: mu_ held.
  Copy* FindCopy(const Job& job);
  void Deliver(std::vector<Report>* reports);

  sys::Env* env_;
  AgentFn agent_;
  ReportFn report_;
  sys::Fd inotify_;
  sys::Fd wake_;
  std::mutex mu_;
  std::map<std::string, Volume> volumes_;  // by host dir; GUARDED_BY(mu_)
  std::map<int, std::string> by_wd_;       // GUARDED_BY(mu_)
  std::condition_variable synced_;         // in_flight_ changed
  std::string in_flight_;                  // guest dir being synced; GUARDED_BY(mu_)
  int64_t retry_ms_ = 0;                   // watcher thread only (and Start)
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::mutex start_mu_;  // serialises Start/Stop
};

}  // namespace vmshare::share
