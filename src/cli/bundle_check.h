// What `vmshare run` checks of a bundle before any VM exists, and the host
// side of root.readonly.
//
// ResolveBundleSources makes every bind source absolute (a relative source
// is relative to the bundle directory, as the runtime spec says), follows a
// symlinked source on the host to what it names (as runc does:
// /etc/localtime -> /usr/share/zoneinfo/...), and opens the result exactly as
// the sharer will (final component not followed, host kernel filesystems and
// the host root refused), so a missing or forbidden source fails before the
// boot. It opens the rootfs the same way. Sources are rewritten to their
// resolved form; the sharer checks them again when it shares.
//
// CheckCopyModeMounts (--shared-fs none): the guest works on copies, so a
// read-write bind's writes would never reach the host. Refused by default,
// naming the mount; `guest_local_copies` accepts guest-local copies.
// emptyDir volumes under the kubelet root are pod-local by nature and stay
// guest-local without it.
//
// CreateMountTargets: with root.readonly the guest cannot create missing
// mount points in a read-only share, so they are made on the host first
// (directories, or empty files for file binds), resolved inside the rootfs
// (openat2 RESOLVE_IN_ROOT): runc creates them in the rootfs the same way.
#pragma once

#include <string>

#include "cli/bundle.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::cli {

Status ResolveBundleSources(sys::Env* env, Bundle* bundle);

Status CheckCopyModeMounts(const Bundle& bundle, const std::string& kubelet_root,
                           bool guest_local_copies);

Status CreateMountTargets(sys::Env* env, const Bundle& bundle);

// True for a source at or below <kubelet_root>/pods/<uid>/volumes/kubernetes.io~empty-dir/.
bool IsEmptyDirVolume(const std::string& kubelet_root, const std::string& source);

}  // namespace vmshare::cli
