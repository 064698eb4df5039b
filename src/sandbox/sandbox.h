// Sandbox: one sandbox's host-side lifecycle, the one place that sequences
// share/ and persist/ (DESIGN "Layers"). cli/, shim/ and capi/ call this;
// none of them repeats the share/record/roll-back sequence.
//
//   Open      builds the sharer from the persisted settings (or, for a
//             sandbox not recorded yet, from SandboxOptions::settings);
//             touches no file
//   Prepare   records the sandbox if it has no record, then makes its share
//             tree and sandbox bind mounts (a new sandbox whose Prepare fails
//             leaves nothing, record included)
//   AddContainer / RemoveContainer
//             a whole container: rootfs + host mounts shared with every share
//             recorded before it is made, rolled back on error; and undone
//   ShareFile / UnshareFile / ShareRootfs / UnshareRootfs
//             the same one share at a time (the seed's methods, as the C ABI
//             exposes them), each recorded before it is mounted
//   Cleanup   unshares what is left (with force), takes the tree down,
//             removes the record
//
// Record before mount (DESIGN: every mount is recorded before it is made):
// with SandboxOptions::persist, the container's persist.json holds each share's
// host path before the mount exists, so a crash at any instant leaves a record
// that RemoveContainer, Cleanup(force) or Collect (collect.h) acts on.
// AddContainer does it in O(1) durable writes whatever the mount count: it
// decides the host path of every share first (virtio-fs: the names the sharer
// takes them under, share::ShareStrategy::ShareFile), records them all in one
// write (the intent: HostPath set, Mounted false, i.e. "maybe mounted"), makes
// the mounts, and records them mounted in a second write. A share whose path
// could not be decided in advance (copy mode, watched volumes) is recorded by
// the sharer's hook (share::SharerConfig::before_mount) before it is made, one
// write each, as the one-share-at-a-time methods always do. An intent entry
// whose mount was never made is undone like a made one: unmounting nothing
// and removing a missing entry are not errors.
//
// Locking: every method that changes state runs under the sandbox's exclusive
// lock (persist::SandboxLock). Hold() takes it for as long as the caller
// wants (the shim and `vmshare run` hold it for the sandbox's life); a method
// called while it is not held takes it for the call only. With
// SandboxOptions::nonblocking_lock a lock held elsewhere fails at once with
// kBusy (the C ABI maps it to -EBUSY) instead of waiting. Without persist
// there is neither record nor lock; the caller serialises.
//
// Thread safety: one thread at a time, except that the sharer's agent may be
// attached or detached (SetAgent) while another thread waits on the guest.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "persist/lock.h"
#include "persist/store.h"
#include "sandbox/layout.h"
#include "share/sharer.h"
#include "sys/env.h"

namespace vmshare::agent {
class AgentClient;
}  // namespace vmshare::agent

namespace vmshare::sandbox {

struct SandboxOptions {
  sys::Env* env = nullptr;  // nullptr: Env::Default(). Not owned.
  std::string root = "/run/vmshare";
  std::string sandbox_id;  // validated by Open before anything else
  std::string kubelet_root = "/var/lib/kubelet";
  // What Prepare records for a sandbox that has none, and requires of one that
  // has (shared_fs, bind_mounts, share_base, rootfs_name; state is the state
  // recorded). std::nullopt: as recorded; default settings when not recorded.
  std::optional<SandboxState> settings;
  // Record every sandbox, container and share (default). false: no record,
  // no lock (the C ABI's "persist": false).
  bool persist = true;
  // Fail with kBusy instead of waiting when another process holds the lock.
  bool nonblocking_lock = false;
  // A unix socket where the guest agent listens, connected on first use
  // (copy mode and watched volumes need the agent). Empty: the agent is only
  // what SetAgent attaches (a booted Guest does).
  std::string agent_socket;
  // Passed to the sharer (share::SharerConfig): copy progress and the volume
  // watcher's reports.
  std::function<void(const std::string& path, uint64_t bytes)> copy_progress;
  std::function<void(const std::string& volume, const Status& status)> watch_report;
};

// A container shared with the guest: its state as recorded (host paths set)
// and what the guest needs for each share.
struct SharedContainer {
  Container container;
  SharedFile rootfs;
  // One per container.state.mounts, same order; std::nullopt: the sharer left
  // that mount out and the guest must ignore it (a fifo in copy mode).
  std::vector<std::optional<SharedFile>> mounts;
};

class Sandbox {
 public:
  // Validates the id, loads the record (if persist), builds the sharer.
  // kInvalidArgument for a bad id or setting, kCorruption for a torn record.
  // Touches no file.
  static Result<std::unique_ptr<Sandbox>> Open(SandboxOptions options);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& id() const { return layout_.sandbox_id; }
  const SandboxLayout& layout() const { return layout_; }
  // The settings in force: the record's, else the options'.
  const SandboxState& settings() const { return settings_; }
  // Whether a record existed when opened (or was made since by Prepare).
  bool recorded() const { return recorded_; }
  // OK when recorded (or without persist); else kNotFound "sandbox "<sid>"
  // does not exist (run `vmshare sandbox prepare <sid>` first)".
  Status RequireRecorded() const;
  sys::Env* env() const { return env_; }
  persist::StateStore* store() { return options_.persist ? &store_ : nullptr; }

  // The guest side of the share itself (share::FilesystemSharer::
  // SandboxStorages): what CreateSandbox passes the agent.
  std::vector<Storage> SandboxStorages() const;
  // The host directory a shared-filesystem device exports; "" when the
  // sandbox copies instead (shared_fs "none"): then no virtiofsd is started.
  std::string HostExportDir() const;

  // Takes the exclusive lock until Release() or destruction. kBusy with
  // nonblocking_lock when held elsewhere. OK (no-op) when already held or
  // without persist.
  Status Hold();
  void Release();

  // Records the sandbox (settings, state) if it has no record, then
  // share::FilesystemSharer::Prepare. kFailedPrecondition "prepare sandbox
  // "<sid>": already prepared with other settings (clean it up first)" when
  // the record's settings differ from options.settings. A new sandbox whose
  // Prepare fails is cleaned up and its record removed.
  Status Prepare();

  // Shares `container` (REQUIRES: state.mounts holds only mounts the host
  // shares, e.g. bind mounts) with the guest: its record is saved first with
  // the host path of every share (kAlreadyExists "share container "<cid>":
  // already shared in sandbox "<sid>"" if it has one), then the rootfs, then
  // each mount in order, then the final record (two durable writes in all
  // with virtio-fs; see "Record before mount" above). On error everything
  // of it is unshared again (what cannot be undone stays recorded) and the
  // error comes back with context "share container "<cid>"". kNotFound
  // "sandbox "<sid>" does not exist (run `vmshare sandbox prepare <sid>`
  // first)" when the sandbox has no record.
  Result<SharedContainer> AddContainer(Container container);

  // Unshares every mount recorded for the container, then its
  // rootfs, then removes its record. Stops at the first failure after saving
  // what is still shared, so a retry or gc can finish. kNotFound "unshare
  // container "<cid>": not shared in sandbox "<sid>"" without a record.
  Status RemoveContainer(const std::string& cid);
  // The same for a container the caller holds (no record needed; without
  // persist this is the only way).
  Status RemoveContainer(Container& container);

  // One share at a time, each under the lock and recorded (with persist):
  // the container's record is created if missing; a mount that is not one
  // of container.state.mounts is added to the record, or replaces the
  // record's entry with the same host_path. Unshare updates the recorded
  // entry (host_path cleared, mounted false). Contracts as in share/sharer.h.
  Result<std::optional<SharedFile>> ShareFile(Container& container, Mount& mount);
  Status UnshareFile(Container& container, Mount& mount);
  Result<SharedFile> ShareRootfs(Container& container);
  Status UnshareRootfs(Container& container);

  // Watched volumes (configmaps, secrets, ...) follow the host until
  // StopWatcher; idempotent (share::FilesystemSharer::StartFileEventWatcher).
  Status StartWatcher();
  void StopWatcher();

  // Stops the watcher, unshares every recorded container when `force`
  // (else kFailedPrecondition "clean up sandbox "<sid>": containers still
  // shared: a, b (unshare them, or use --force)"), takes the share tree down
  // (share::FilesystemSharer::Cleanup) and removes the record. Idempotent;
  // works on a sandbox without a record. The record stays (for gc) while the
  // run dir still exists: kFailedPrecondition naming it.
  Status Cleanup(bool force);

  // Process records (DESIGN: intent before action): pid 0 records the intent
  // to start `role`, a pid records it as started (pid + start time). No-op
  // without persist.
  Status RecordProcess(std::string_view role, pid_t pid);

  // The agent the sharer reaches the guest through (nullptr: no guest).
  // Thread-safe; the pointee must outlive its attachment.
  void SetAgent(agent::AgentClient* agent);

  // Loads the record (sandbox and containers) under a shared lock (or the
  // held exclusive one).
  Result<persist::SandboxRecord> Load();

 private:
  struct AgentConnection;
  // The lock of one call (or nothing when this object already holds one):
  // marks the object as locked, so that a nested call (the sharer asking for
  // the persisted containers mid-share) does not wait for its own lock.
  class CallLock {
   public:
    CallLock() = default;
    CallLock(persist::SandboxLock lock, bool* in_call)
        : lock_(std::move(lock)), in_call_(in_call) {}
    CallLock(CallLock&& o) noexcept
        : lock_(std::move(o.lock_)), in_call_(std::exchange(o.in_call_, nullptr)) {}
    CallLock& operator=(CallLock&&) = delete;
    ~CallLock() {
      if (in_call_ != nullptr) *in_call_ = false;
    }

   private:
    persist::SandboxLock lock_;
    bool* in_call_ = nullptr;
  };

  explicit Sandbox(SandboxOptions options);
  Status Init();
  share::SharerConfig SharerConfigFor(const SandboxState& settings);
  // The lock for one call: an empty one when Hold() or an enclosing call has
  // it (or without persist).
  Result<CallLock> LockForCall(persist::LockMode mode);
  Status SaveContainer(const std::string& cid, const ContainerState& state);
  // SharerConfig::before_mount: the container's record with `mount` in it,
  // unless AddContainer's intent write recorded that host path already.
  Status RecordShare(const Container& container, const Mount& mount);
  // Decides the host path of each share of `c` that has none and whose path
  // the sharer takes as given (virtio-fs: the rootfs and every volume).
  // Best effort: a share it cannot name (a bad destination) is left for the
  // sharer, which reports the error in its turn.
  void PlanHostPaths(Container& c);
  // Unshares the container's mounts and rootfs, then drops its record.
  // REQUIRES: the lock held.
  Status UnshareAll(Container& container);
  agent::AgentClient* Agent();

  SandboxOptions options_;
  sys::Env* env_;
  SandboxLayout layout_;
  SandboxState settings_;
  bool recorded_ = false;
  persist::StateStore store_;
  persist::SandboxLock held_;
  bool in_call_ = false;  // a CallLock holds the lock
  // While AddContainer shares a container: its id and the host paths its
  // intent write recorded.
  struct Intent {
    std::string cid;
    std::set<std::string> host_paths;
  };
  std::optional<Intent> intent_;
  std::atomic<agent::AgentClient*> attached_{nullptr};
  std::unique_ptr<AgentConnection> connection_;  // options_.agent_socket's client
  std::unique_ptr<share::FilesystemSharer> sharer_;
};

}  // namespace vmshare::sandbox
