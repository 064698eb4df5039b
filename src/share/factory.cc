// NewSharer: the only place that names sharing strategies.
#include <memory>
#include <string>

#include "core/ids.h"
#include "share/copy_sharer.h"
#include "share/sharer.h"
#include "share/virtio_fs_sharer.h"
#include "share/watcher_sharer.h"

namespace vmshare::share {
namespace {

Status ValidateConfig(const SharerConfig& config) {
  RETURN_IF_ERROR(ValidateId("sandbox", config.sandbox_id));
  if (config.root.empty() || config.root[0] != '/')
    return InvalidArgumentError("vmshare root " + Quote(config.root) +
                                ": must be an absolute path");
  if (!config.share_base.empty() && config.share_base[0] != '/')
    return InvalidArgumentError("share base " + Quote(config.share_base) +
                                ": must be an absolute path");
  if (config.rootfs_name.empty() || config.rootfs_name == "." || config.rootfs_name == ".." ||
      config.rootfs_name.find('/') != std::string::npos || config.rootfs_name.size() > 255)
    return InvalidArgumentError("rootfs name " + Quote(config.rootfs_name) +
                                ": must be one path component (not \".\" or \"..\")");
  if (config.guest_shared_dir.empty() || config.guest_shared_dir[0] != '/')
    return InvalidArgumentError("guest shared directory " + Quote(config.guest_shared_dir) +
                                ": must be an absolute path");
  if (config.block_driver != "blk" && config.block_driver != "mmioblk" &&
      config.block_driver != "scsi")
    return InvalidArgumentError("block driver " + Quote(config.block_driver) +
                                ": unknown (want blk, mmioblk or scsi)");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<FilesystemSharer>> NewSharer(std::string_view shared_fs,
                                                    SharerConfig config) {
  RETURN_IF_ERROR(ValidateConfig(config));
  if (config.env == nullptr) config.env = sys::Env::Default();
  // Both strategies sit behind WatchingSharer, which takes watched volumes.
  if (shared_fs == "virtio-fs") {
    auto inner = std::make_unique<VirtioFsSharer>(config);
    std::string watchable = inner->paths().mounts + "/" + kWatchableDir;
    std::unique_ptr<FilesystemSharer> sharer =
        std::make_unique<WatchingSharer>(std::move(config), std::move(inner), std::move(watchable));
    return sharer;
  }
  if (shared_fs == "none") {
    std::unique_ptr<FilesystemSharer> sharer =
        std::make_unique<WatchingSharer>(config, std::make_unique<CopySharer>(config), "");
    return sharer;
  }
  return InvalidArgumentError("shared filesystem " + Quote(shared_fs) +
                              ": unknown sharing mode (want \"virtio-fs\" or \"none\")");
}

}  // namespace vmshare::share
