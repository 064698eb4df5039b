// VirtioFsSharer: container root filesystems.
//
// A directory rootfs is bound at mounts/<cid>/rootfs and reaches the guest
// through the virtio-fs export at <guest-shared>/<cid>/rootfs. A block-device
// rootfs (Mount::block_device_id set, Mount::type its filesystem) is not
// mounted on the host at all: the guest agent mounts the device itself, at
// the same guest path, from the one Storage returned.
#include <fcntl.h>

#include <algorithm>

#include "core/ids.h"
#include "share/bind.h"
#include "share/block_rootfs.h"
#include "share/guest_paths.h"
#include "share/safe_resolve.h"
#include "share/virtio_fs_sharer.h"

namespace vmshare::share {

Result<SharedFile> VirtioFsSharer::ShareBlockRootfs(const Container& container) const {
  return BlockRootfsShare(container, config_.block_driver, config_.guest_shared_dir,
                          config_.rootfs_name);
}

Result<SharedFile> VirtioFsSharer::ShareRootFilesystem(Container& container) {
  RETURN_IF_ERROR(CheckContainerId(container));
  Mount& rootfs = container.state.rootfs;
  if (!rootfs.block_device_id.empty()) return ShareBlockRootfs(container);

  // Built only on error: the share path is hot.
  auto context = [&] {
    return "share rootfs " + Quote(rootfs.source) + " of container " + Quote(container.id);
  };
  if (rootfs.mounted)
    return FailedPreconditionError(context() + ": already shared at " + Quote(rootfs.host_path));
  const std::string container_dir = paths_.mounts + "/" + container.id;
  const std::string target = container_dir + "/" + config_.rootfs_name;
  const std::string old_host_path = rootfs.host_path;
  auto attach = [&](const sys::Fd& mounts) -> Status {
    Status made = env_->MkdirAt(mounts, container.id, 0755);
    if (!made.ok() && made.code() != Code::kAlreadyExists) return made.WithContext(context());
    ASSIGN_OR_RETURN(sys::Fd dir, OpenDirEntryNoFollow(env_, mounts, container.id));
    // mounts/<cid> could be another container's volume share that happens to
    // be named like this id; never create our rootfs inside someone's volume.
    ASSIGN_OR_RETURN(sys::FileInfo dir_info,
                     env_->StatAt(dir, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
    if (dir_info.mount_root)
      return FailedPreconditionError(context() + ": " + Quote(container_dir) +
                                     " is already a mount point");
    const bool read_only =
        rootfs.read_only ||
        std::find(rootfs.options.begin(), rootfs.options.end(), "ro") != rootfs.options.end();
    auto before = [&]() -> Status {
      if (!config_.before_mount) return Status::Ok();
      rootfs.host_path = target;
      return config_.before_mount(container, rootfs);
    };
    Status s = Attach("rootfs", rootfs.source, dir, container_dir, config_.rootfs_name, read_only,
                      /*recursive=*/false, before);
    if (!s.ok()) {
      rootfs.host_path = old_host_path;
      // mounts/<cid>/rootfs already there (Attach's mkdir said EEXIST): say
      // whether it is a share, and leave it and mounts/<cid> alone.
      if (s.err() == EEXIST) {
        auto taken = IsMountRoot(env_, target);
        if (taken.ok() && *taken)
          s = FailedPreconditionError(context() + ": " + Quote(target) +
                                      " is already a mount point");
      } else {
        env_->UnlinkAt(mounts, container.id, AT_REMOVEDIR).IgnoreError();
      }
      return s.WithContext("share rootfs of container " + Quote(container.id));
    }
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(std::shared_ptr<const sys::Fd> mounts, RequirePrepared());
  Status s = attach(*mounts);
  if (!s.ok() && MaybeStaleMounts(s)) {
    ASSIGN_OR_RETURN(mounts, RequirePrepared(/*fresh=*/true));
    s = attach(*mounts);
  }
  if (!s.ok()) return s;
  rootfs.host_path = target;
  rootfs.mounted = true;
  SharedFile shared;
  shared.guest_path = GuestPath(config_.guest_shared_dir, container.id + "/" + config_.rootfs_name);
  return shared;
}

Status VirtioFsSharer::UnshareRootFilesystem(Container& container) {
  RETURN_IF_ERROR(CheckContainerId(container));
  Mount& rootfs = container.state.rootfs;
  if (!rootfs.block_device_id.empty()) {
    rootfs.mounted = false;
    return Status::Ok();
  }
  const std::string context = "unshare rootfs of container " + Quote(container.id);
  const std::string container_dir = paths_.mounts + "/" + container.id;
  auto dir = env_->OpenAt(sys::Cwd(), container_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!dir.ok()) {
    if (dir.status().code() != Code::kNotFound) return dir.status().WithContext(context);
    rootfs.mounted = false;
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(sys::FileInfo dir_info,
                   env_->StatAt(*dir, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
  if (dir_info.mount_root)
    return FailedPreconditionError(context + ": " + Quote(container_dir) +
                                   " is a mount point, not this container's directory");
  RETURN_IF_ERROR(DetachAndRemove(container_dir + "/" + config_.rootfs_name).WithContext(context));
  Status s = env_->UnlinkAt(sys::Cwd(), container_dir, AT_REMOVEDIR);
  if (!s.ok() && s.code() != Code::kNotFound) return s.WithContext(context);
  rootfs.mounted = false;
  return Status::Ok();
}

}  // namespace vmshare::share
