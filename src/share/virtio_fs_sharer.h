// VirtioFsSharer: shares container files through a virtio-fs export.
//
// Host side (see share_tree.h for the tree and why it propagates):
//   volume  -> bind at mounts/<cid>-<16 hex>-<basename(dest)>
//   rootfs  -> bind at mounts/<cid>/rootfs (directory rootfs), or no host
//              mount and one Storage for the guest (block-device rootfs)
//   sandbox bind mount -> read-only bind at mounts/sandbox-mounts/<basename>
// Guest side: the same relative path under config.guest_shared_dir.
//
// Mount::host_path records the path UNDER mounts/ (where the bind is made
// and what UnshareFile detaches); the same share is visible at the same
// relative path under shared/, which is what virtiofsd serves.
//
// Read-only shares are made read-only on the detached mount before it is
// attached (bind.h), so they are never writable anywhere: under mounts/,
// under shared/, or in a mount namespace that received them by propagation.
//
// Mount options honoured by ShareFile: "ro" (same as Mount::read_only) and
// "rbind" (include mounts below the source; read-only then covers them all).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "share/share_host.h"
#include "share/share_tree.h"
#include "share/sharer.h"

namespace vmshare::share {

class VirtioFsSharer final : public ShareStrategy {
 public:
  // REQUIRES: config validated (NewSharer does it). config.env nullptr
  // means Env::Default().
  explicit VirtioFsSharer(SharerConfig config);

  Status Prepare() override;
  Status Cleanup() override;
  Result<std::optional<SharedFile>> ShareFile(Container& container, Mount& mount) override;
  Status UnshareFile(Container& container, Mount& mount) override;
  Result<SharedFile> ShareRootFilesystem(Container& container) override;
  Status UnshareRootFilesystem(Container& container) override;
  // The virtio-fs Storage of the export (tag kShareTag).
  std::vector<Storage> SandboxStorages() const override;
  // paths().shared.
  std::string HostExportDir() const override { return paths_.shared; }

  const ShareTreePaths& paths() const { return paths_; }

 private:
  Status CheckContainerId(const Container& container) const;
  // The O_PATH fd of mounts/ once it is a mount root (the share tree is
  // there); kFailedPrecondition otherwise. Opened and checked once, then
  // kept: `fresh` drops the kept one first. A kept fd goes stale only when
  // another process cleans the tree up (and maybe prepares it again); a
  // share through it then fails, without mounting anything: mkdirat in the
  // removed directory says ENOENT, move_mount onto a detached mount EINVAL.
  // ShareFile and ShareRootFilesystem retry once with a fresh fd on those.
  Result<std::shared_ptr<const sys::Fd>> RequirePrepared(bool fresh = false);
  // Drops the kept mounts/ fd (Prepare, Cleanup).
  void ForgetMounts();
  // An error a stale kept mounts/ fd would give (see RequirePrepared).
  static bool MaybeStaleMounts(const Status& s);
  Status ShareSandboxMounts();
  // Opens `source`, calls `before` (if any), creates `name` in `parent`
  // (the directory `parent_dir`; a directory or an empty file, matching the
  // source) and binds the source onto it. On error the mountpoint is
  // removed again.
  Status Attach(const std::string& what, const std::string& source, const sys::Fd& parent,
                const std::string& parent_dir, const std::string& name, bool read_only,
                bool recursive, const std::function<Status()>& before = {});
  // Detaches whatever is mounted at `path` and removes the entry.
  Status DetachAndRemove(const std::string& path);
  Result<SharedFile> ShareBlockRootfs(const Container& container) const;

  SharerConfig config_;
  sys::Env* env_;
  ShareTreePaths paths_;
  mutable ShareHost host_;
  std::mutex mounts_mu_;
  std::shared_ptr<const sys::Fd> mounts_;  // guarded by mounts_mu_
};

}  // namespace vmshare::share
