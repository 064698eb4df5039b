// FilesystemSharer: how a sandbox's container files reach the guest.
//
// The interface is Kata's FilesystemSharer (seeds/fs_share.go) in C++: eight
// methods, the same contracts. A strategy implements it in one file
// (virtio_fs_sharer.cc; copy_sharer.cc for shared_fs = "none"; both behind
// watcher_sharer.cc, which takes watched Kubernetes volumes) and
// NewSharer() in factory.cc is the only code that names strategies.
//
// Thread safety: a sharer serialises nothing itself. Callers (the CLI holds
// the sandbox lock) must not run two methods of one sandbox concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "sys/env.h"

namespace vmshare::agent {
class AgentClient;
}  // namespace vmshare::agent

namespace vmshare::share {

// Everything a sharer needs to know about its sandbox.
struct SharerConfig {
  // The OS. Not owned; must outlive the sharer. nullptr means Env::Default().
  sys::Env* env = nullptr;
  // Host root of vmshare. The sandbox's share tree is
  // <root>/sandboxes/<sandbox_id>/{mounts,shared,private} unless share_base
  // is set.
  std::string root = "/run/vmshare";
  // Kata compatibility (its kataHostSharedDir()): when non-empty, an
  // absolute directory, and the share tree is
  // <share_base>/<sandbox_id>/{mounts,shared,private} instead.
  std::string share_base;
  // The name of a container's rootfs directory in the share, host and guest
  // (<cid>/<rootfs_name>): Kata's rootfsSuffix. One path component.
  std::string rootfs_name = "rootfs";
  // Validated (core/ids.h) before anything touches the filesystem.
  std::string sandbox_id;
  // Host directories or regular files shared read-only with every container
  // of the sandbox (Kata's sandbox_bind_mounts). Each appears at
  // mounts/sandbox-mounts/<basename> on the host and
  // <guest_shared_dir>/sandbox-mounts/<basename> in the guest; two entries
  // with the same basename are refused.
  std::vector<std::string> sandbox_bind_mounts;
  // Where the guest mounts the share (tag kShareTag).
  std::string guest_shared_dir = kGuestSharedDir;
  // Storage driver for block-device root filesystems: "blk" (virtio-blk PCI),
  // "mmioblk" (virtio-blk MMIO) or "scsi" (virtio-scsi), as the Kata agent
  // names them.
  std::string block_driver = "blk";
  // Called by ShareFile and ShareRootFilesystem once the share's host path
  // is decided (mount.host_path set, mount.mounted still false) and the
  // source has been opened, right before anything is created or mounted, so
  // that the caller can persist the share first (DESIGN: every mount is
  // recorded before it is made, for gc after a crash). An error aborts the
  // share with nothing created. The host path may be one the caller decided
  // and recorded already (see ShareStrategy::ShareFile). Empty: no hook.
  std::function<Status(const Container& container, const Mount& mount)> before_mount;

  // Issue #5: copying into the guest and watched volumes.
  // The agent channel, asked for whenever the guest must be reached (it may
  // only exist once the VM is up): nullptr (or no function) means no guest
  // yet. Copy mode ("none") needs it to share anything; virtio-fs mode needs
  // it to copy watched volumes (without it their copy waits for the watcher).
  std::function<agent::AgentClient*()> agent;
  // Kubelet root; watched volumes live below <kubelet_root>/pods/. Resolved
  // once if it is a symlink; both forms match.
  std::string kubelet_root = "/var/lib/kubelet";
  // The sandbox's containers as persisted: StartFileEventWatcher derives its
  // watch set from their mounts (plus what this sharer shares afterwards).
  std::function<Result<std::vector<Container>>()> containers;
  // Progress of long copies: the host path being copied and the bytes sent
  // so far (called every few MiB and once at the end of each share).
  std::function<void(const std::string& path, uint64_t bytes)> copy_progress;
  // The watcher's reports, from its thread: OK after a watched volume
  // (host directory) was brought up to date in the guest, else why not
  // (it retries by rescanning).
  std::function<void(const std::string& volume, const Status& status)> watch_report;
};

// The six share methods and what the guest needs of the share itself: what
// every sharing strategy implements (virtio_fs_sharer.h, copy_sharer.h).
// Volume watching is not a strategy's business: WatchingSharer (the
// FilesystemSharer NewSharer returns) adds it in front of any strategy.
class ShareStrategy {
 public:
  virtual ~ShareStrategy() = default;

  // Sets the host side up so that container files can be shared: the
  // sandbox's share tree and its sandbox bind mounts. Called before any
  // container runs. Idempotent: may be called several times in a row without
  // Cleanup in between; a second call adds no mount.
  virtual Status Prepare() = 0;

  // Undoes Prepare: afterwards nothing of the sandbox is mounted and its
  // directory is gone (including shares that were never unshared). Called
  // after all containers are terminated. Idempotent: may be called several
  // times in a row, or without Prepare. Never deletes across a mount
  // boundary: if something is still mounted inside the tree after the
  // detach, it fails with kFailedPrecondition naming the path and removes
  // nothing below it.
  virtual Status Cleanup() = 0;

  // Shares one container file or directory (mount.source on the host) with
  // the guest. On success the mount's host_path and mounted fields are set
  // and the returned SharedFile holds the guest path (and any storages the
  // guest needs). std::nullopt means the strategy does not share this mount
  // and the guest must ignore it (the seed's nil); virtio-fs always shares
  // or fails. A mount whose host_path is already set (not mounted) to a
  // name this strategy would give it (virtio-fs: mounts/<cid>-<16 hex>-
  // <basename(destination)>) is shared under that name, so a caller can
  // decide and record the names of many shares before making any (the
  // sandbox layer's one intent write per container); any other host_path is
  // replaced by a fresh name. Errors: kInvalidArgument (bad id, relative or symlink source,
  // unusable destination), kNotFound (missing source, named),
  // kFailedPrecondition (sandbox not prepared, mount already shared). On
  // error nothing is left mounted or created.
  virtual Result<std::optional<SharedFile>> ShareFile(Container& container, Mount& mount) = 0;

  // Stops sharing what ShareFile shared for `mount` (found by its host_path)
  // and clears mount.mounted. A mount that is no longer mounted (or whose
  // mountpoint is gone) is not an error. A host_path outside this
  // container's part of the share tree is refused (kInvalidArgument) and
  // nothing is unmounted. A deliberate difference from Kata, whose
  // UnshareFile unmounts whatever HostPath names: a host path is state a
  // crash or a bug can corrupt, and unmounting outside the sandbox's own
  // tree could take down a mount the host needs.
  virtual Status UnshareFile(Container& container, Mount& mount) = 0;

  // Shares container.state.rootfs with the guest. The returned SharedFile's
  // guest_path is where the container's rootfs is in the guest; its
  // container_storages say what the agent must mount first (e.g. a block
  // device). Sets rootfs.host_path / rootfs.mounted when a host mount is made.
  virtual Result<SharedFile> ShareRootFilesystem(Container& container) = 0;

  // Stops sharing the container's rootfs; afterwards nothing of the
  // container's rootfs share is mounted or on disk. Idempotent.
  virtual Status UnshareRootFilesystem(Container& container) = 0;

  // The guest-side storages of the share itself, which the agent mounts
  // once per sandbox (CreateSandbox) before any container: virtio-fs gives
  // its export (driver "virtio-fs", source kShareTag, fstype "virtiofs",
  // mount point guest_shared_dir); a strategy that copies gives none.
  virtual std::vector<Storage> SandboxStorages() const = 0;

  // The host directory a shared-filesystem device (virtiofsd) exports for
  // this sandbox (virtio-fs: the share tree's shared/); "" when the strategy
  // needs no such device (copy mode: QEMU runs without one).
  virtual std::string HostExportDir() const = 0;
};

// Kata's FilesystemSharer (seeds/fs_share.go): the six share methods plus
// the two of the volume watcher; the public boundary (NewSharer, the C ABI).
class FilesystemSharer : public ShareStrategy {
 public:
  // Starts watching volumes whose content the guest must see change
  // (configmaps, secrets, projected and downward-API volumes) and pushing
  // the changes into the guest, in both modes (watcher_sharer.h, watcher.h):
  // every watched volume shared so far, or recorded in
  // SharerConfig::containers, is rescanned first. Idempotent.
  virtual Status StartFileEventWatcher() = 0;

  // Stops the watcher started by StartFileEventWatcher. Safe to call when
  // none runs.
  virtual void StopFileEventWatcher() = 0;
};

// Builds the sharer for `shared_fs` ("virtio-fs"). An unknown name, an
// invalid sandbox id, a relative root or an unknown block driver is
// kInvalidArgument. Touches no file.
Result<std::unique_ptr<FilesystemSharer>> NewSharer(std::string_view shared_fs,
                                                    SharerConfig config);

}  // namespace vmshare::share
