// CopySharer: the FilesystemSharer for a hypervisor without a shared
// filesystem (shared_fs "none", e.g. Firecracker): files are copied into the
// guest over the agent channel (CopyFile, see copy_tree.h) instead of being
// bind mounted on the host.
//
//   volume   -> copied to <guest-shared>/<cid>-<16 hex>-<basename(dest)>
//   writable directory -> copied once per sandbox to
//               <guest-shared>/sandbox-<16 hex>-<basename(source)>; every
//               container sharing the same source gets that guest path, and
//               the copy is removed with the last of them
//   rootfs   -> directory: copied to <guest-shared>/<cid>/rootfs;
//               block device: its Storage (block_rootfs.h), nothing copied
// Mount::host_path records the guest path (as Kata's copy mode does);
// Mount::mounted stays false, since nothing is mounted on the host.
//
// The source is opened once without following a final symlink
// (safe_resolve.h) and copied from that fd; below it symlinks are copied as
// links, never followed. A source that is a socket, fifo or device is not
// shared (std::nullopt). Sharing needs the agent (SharerConfig::agent):
// without one, ShareFile and ShareRootFilesystem fail with
// kFailedPrecondition and change nothing; unsharing without one (the guest
// is gone) only forgets. Sandbox bind mounts are not supported in this mode
// (Prepare fails with kUnimplemented naming them).
//
// Watched volumes never reach this class: the WatchingSharer in front of it
// (watcher_sharer.h) takes them.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "share/sharer.h"

namespace vmshare::share {

class CopySharer final : public ShareStrategy {
 public:
  // REQUIRES: config validated (NewSharer does it).
  explicit CopySharer(SharerConfig config);

  Status Prepare() override;
  Status Cleanup() override;
  Result<std::optional<SharedFile>> ShareFile(Container& container, Mount& mount) override;
  Status UnshareFile(Container& container, Mount& mount) override;
  Result<SharedFile> ShareRootFilesystem(Container& container) override;
  Status UnshareRootFilesystem(Container& container) override;
  // Nothing: the guest's shared directory is its own (the agent makes it).
  std::vector<Storage> SandboxStorages() const override { return {}; }
  // Nothing to export: no shared-filesystem device.
  std::string HostExportDir() const override { return ""; }

 private:
  struct SharedDir {
    std::string guest_path;
    std::multiset<std::string> users;  // container ids, one per mount
  };
  Result<agent::AgentClient*> Agent(const std::string& context) const;
  // Learns the sandbox's shared writable directories from persisted state
  // (once), so a restarted vmshare reuses and reference-counts them.
  void LearnSharedDirs();
  // Copies the opened source to guest_path; on error removes what was copied.
  Result<bool> CopyTo(agent::AgentClient* agent, const sys::Fd& source, const std::string& host,
                      const std::string& guest_path);
  // Points mount.host_path at `guest`, runs config_.before_mount, then copies
  // the opened source there. On any error mount.host_path is restored to
  // what it was; a copy error gets `context`, a before_mount error is as is.
  Status CopyIn(agent::AgentClient* agent, Container& container, Mount& mount,
                const sys::Fd& source, const std::string& guest, const std::string& context);

  SharerConfig config_;
  sys::Env* env_;
  std::map<std::string, SharedDir> shared_dirs_;  // by source path
  bool learned_ = false;
};

}  // namespace vmshare::share
