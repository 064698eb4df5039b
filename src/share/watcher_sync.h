// VolumeSync: brings one guest copy of a watched volume up to date with the
// host volume directory, in the order the kubelet itself updates it
// (reference/kubernetes-volume-updates.md), so that the guest sees the same
// atomic switch:
//   1. the timestamped directory ..data points at, with every file (modes,
//      owners, nested keys), unless the guest already has it whole;
//   2. the top-level key symlinks the guest lacks (dangling until 3);
//   3. the switch: a symlink ..data_tmp -> <new dir>, renamed over ..data in
//      the guest (guest inotify sees IN_MOVED_FROM ..data_tmp/IN_MOVED_TO
//      ..data);
//   4. removal of the key entries the host no longer has;
//   5. removal of every other timestamped directory (and a stray ..data_tmp).
// Readers going through ..data therefore see the old payload or the new
// one, never a mix. Every step is idempotent, so a Sync after any failure
// (or after lost events) converges.
//
// A volume directory without ..data (not written by the kubelet's atomic
// writer) is mirrored entry by entry at the top level; entries changed in
// place below the top level are only picked up by a rescan.
//
// What the guest holds is remembered between calls; `rescan` forgets it and
// lists the guest again (start-up, inotify overflow, after an error). Not
// thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>

#include "agent/client.h"
#include "core/result.h"
#include "share/copy_tree.h"
#include "sys/env.h"

namespace vmshare::share {

struct SyncStats {
  uint64_t switches = 0;  // ..data renames done in the guest
  uint64_t syncs = 0;     // Sync calls that changed something in the guest
  uint64_t batched = 0;   // of those, the ones done in one Batch call
};

class VolumeSync {
 public:
  // host_dir: the volume directory on the host. guest_dir: its copy, a
  // guest path below a tmpfs (its parent is made one with MountTmpfs).
  VolumeSync(sys::Env* env, std::string host_dir, std::string guest_dir,
             TreeCopier::Progress progress = {})
      : env_(env),
        host_dir_(std::move(host_dir)),
        guest_dir_(std::move(guest_dir)),
        progress_(std::move(progress)) {}

  // Errors name the volume; kNotFound when the host directory is gone.
  Status Sync(agent::AgentClient* agent, bool rescan);

  const std::string& host_dir() const { return host_dir_; }
  const std::string& guest_dir() const { return guest_dir_; }
  const SyncStats& stats() const { return stats_; }

 private:
  struct Entry {
    uint32_t mode = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string link_target;  // symlinks
    bool operator==(const Entry&) const = default;
  };
  // What a volume directory holds, split the kubelet's way.
  struct Layout {
    std::string data_target;             // ..data's target, "" if none
    std::set<std::string> payload_dirs;  // other ".."-prefixed entries
    std::map<std::string, Entry> keys;   // user-visible entries
    bool stray_tmp = false;              // ..data_tmp present
  };
  class Steps;
  class DirectSteps;
  class BatchSteps;
  Status Rescan(agent::AgentClient* agent);
  // Brings the guest copy to `want` through `steps`; false when `steps`
  // could not take one of them (a BatchSteps, for a payload too big).
  Result<bool> Apply(Steps& steps, const sys::Fd& host, const Layout& want);
  // Apply as one Batch call when the changes fit in one, else step by step.
  Status ApplyInOneBatch(agent::AgentClient* agent, const sys::Fd& host, const Layout& want);

  sys::Env* env_;
  std::string host_dir_;
  std::string guest_dir_;
  TreeCopier::Progress progress_;
  bool known_ = false;
  Layout guest_;
  std::set<std::string> complete_;  // payload dirs copied whole by this object
  SyncStats stats_;
};

}  // namespace vmshare::share
