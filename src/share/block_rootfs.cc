#include "share/block_rootfs.h"

#include <algorithm>

#include "core/ids.h"
#include "share/guest_paths.h"

namespace vmshare::share {

Result<SharedFile> BlockRootfsShare(const Container& container, const std::string& block_driver,
                                    const std::string& guest_shared_dir,
                                    const std::string& rootfs_name) {
  const Mount& rootfs = container.state.rootfs;
  if (rootfs.type.empty())
    return InvalidArgumentError("share rootfs of container " + Quote(container.id) +
                                ": block device " + Quote(rootfs.block_device_id) +
                                " has no filesystem type");
  auto has = [](const std::vector<std::string>& v, const char* o) {
    return std::find(v.begin(), v.end(), o) != v.end();
  };
  Storage storage;
  storage.driver = block_driver;
  storage.source = rootfs.block_device_id;
  storage.fstype = rootfs.type;
  storage.options = rootfs.options;
  if (rootfs.read_only && !has(storage.options, "ro")) storage.options.push_back("ro");
  // Every clone of an xfs image carries the same UUID; without nouuid the
  // guest refuses to mount a second container's copy.
  if (rootfs.type == "xfs" && !has(storage.options, "nouuid")) storage.options.push_back("nouuid");
  const std::string guest = GuestPath(guest_shared_dir, container.id + "/" + rootfs_name);
  storage.mount_point = guest;
  SharedFile shared;
  shared.container_storages.push_back(std::move(storage));
  shared.guest_path = guest;
  return shared;
}

}  // namespace vmshare::share
