// NewSharer: the only place that names sharing strategies.
#include <memory>
#include <string>

#include "core/ids.h"
#include "share/sharer.h"
#include "share/virtio_fs_sharer.h"

namespace vmshare::share {
namespace {

Status ValidateConfig(const SharerConfig& config) {
  RETURN_IF_ERROR(ValidateId("sandbox", config.sandbox_id));
  if (config.root.empty() || config.root[0] != '/')
    return InvalidArgumentError("vmshare root " + Quote(config.root) + ": must be an absolute path");
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

Result<std::unique_ptr<FilesystemSharer>> NewSharer(std::string_view shared_fs, SharerConfig config) {
  RETURN_IF_ERROR(ValidateConfig(config));
  if (config.env == nullptr) config.env = sys::Env::Default();
  if (shared_fs == "virtio-fs") {
    std::unique_ptr<FilesystemSharer> sharer = std::make_unique<VirtioFsSharer>(std::move(config));
    return sharer;
  }
  return InvalidArgumentError("shared filesystem " + Quote(shared_fs) +
                              ": unknown sharing mode (want \"virtio-fs\")");
}

}  // namespace vmshare::share
