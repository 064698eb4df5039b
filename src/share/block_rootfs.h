// The Storage of a block-device root filesystem, shared by every sharing
// mode: nothing happens on the host; the guest agent mounts the device
// itself at <guest-shared>/<cid>/<rootfs_name>.
#pragma once

#include <string>

#include "core/result.h"
#include "core/types.h"
#include "share/guest_paths.h"

namespace vmshare::share {

// REQUIRES: container.state.rootfs.block_device_id is set. Adds "ro" for a
// read-only rootfs and "nouuid" for xfs. kInvalidArgument when the rootfs has
// no filesystem type.
Result<SharedFile> BlockRootfsShare(const Container& container, const std::string& block_driver,
                                    const std::string& guest_shared_dir,
                                    const std::string& rootfs_name = kRootfsDir);

}  // namespace vmshare::share
