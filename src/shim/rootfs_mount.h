// containerd's rootfs mounts (a snapshot: usually one overlay or bind
// mount) made on <bundle>/rootfs before the container is shared with the
// guest, and unmade when it is deleted. containerd names the sources (its
// own snapshot directories); the target is the bundle containerd made.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "shim/task_wire.h"
#include "sys/env.h"

namespace vmshare::shim {

// Mounts each in order on `target`. Only "overlay" and "bind" types are
// known; anything else is kInvalidArgument naming it. On error what was
// mounted is unmounted again.
Status MountRootfs(sys::Env* env, const std::vector<RootfsMount>& mounts,
                   const std::string& target);
// Detaches everything mounted on `target`; OK when nothing is.
Status UnmountRootfs(sys::Env* env, const std::string& target);

}  // namespace vmshare::shim
