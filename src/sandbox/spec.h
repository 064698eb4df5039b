// The container spec the host hands the agent, built from a bundle's
// container and what sharing produced. Pure functions, tested without a VM.
//
// Mount order (OCI runtime spec: mounts MUST be made in the listed order):
// the spec's mounts are the bundle's, in the bundle's order; a mount the host
// shares (a bind mount) is replaced IN PLACE by a bind of its shared guest
// path, and a mount the guest makes itself (proc, tmpfs, devpts, ...) passes
// through unchanged. A bind listed after a /dev tmpfs therefore lands on it
// and is not covered by it (Kubernetes' /dev/termination-log).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"
#include "core/types.h"

namespace vmshare::sandbox {

// One OCI mount of a bundle and who makes it.
struct BundleMount {
  Mount mount;
  // true: the host shares mount.source (a bind mount); false: the guest
  // makes it (proc, tmpfs, sysfs, devpts, mqueue, ...).
  bool from_host = false;
};

struct ContainerRequest {
  std::string id;
  std::string bundle_path;  // recorded, informational
  Mount rootfs;             // source: absolute host path (or block device)
  std::vector<BundleMount> mounts;  // in the bundle's order
  // The process and the rest of the spec, as the caller wants them in the
  // guest. root_path and mounts are filled in by BuildCreateRequest.
  agent::ContainerSpec spec;
};

// The container state AddContainer shares: rootfs plus the from_host mounts
// in order ("ro" in options also sets read_only).
Container ContainerToShare(const ContainerRequest& request);

// The guest-side bind of a host mount the sharer placed at guest_path:
// type "bind", options without rw/ro plus "rbind" unless bind/rbind is
// there, then "ro" or "rw".
agent::SpecMount GuestBind(const Mount& mount, const std::string& guest_path);

// The CreateContainerRequest: root_path from the rootfs share, the spec's
// mounts as described above (a host mount the sharer left out, nullopt, is
// dropped), storages: the rootfs's container storages, then each shared
// mount's container and volume storages, in mount order.
// REQUIRES: shared_mounts has one entry per from_host mount, in order
// (kInvalidArgument otherwise).
Result<agent::CreateContainerRequest> BuildCreateRequest(
    const ContainerRequest& request, const SharedFile& rootfs,
    const std::vector<std::optional<SharedFile>>& shared_mounts);

}  // namespace vmshare::sandbox
