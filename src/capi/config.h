// The configuration documents of vmshare_sharer_open and vmshare_store_open
// (keys and defaults are documented in include/vmshare/vmshare.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace vmshare::capi {

struct SharerOptions {
  std::string sandbox_id;
  std::string root = "/run/vmshare";
  std::string shared_fs = "virtio-fs";
  std::vector<std::string> sandbox_bind_mounts;
  std::string guest_shared_dir = kGuestSharedDir;
  std::string kubelet_root = "/var/lib/kubelet";
  std::string share_base;  // empty: <root>/sandboxes
  std::string rootfs_name = "rootfs";
  std::string agent_socket;  // empty: no agent
  bool persist = true;
};

// kInvalidArgument for malformed JSON, an unknown key, a key of the wrong
// type, a missing or invalid sandbox_id, or a relative root / share_base /
// agent_socket / bind mount.
Result<SharerOptions> ParseSharerConfig(std::string_view text);

struct StoreOptions {
  std::string root = "/run/vmshare";
};

Result<StoreOptions> ParseStoreConfig(std::string_view text);

}  // namespace vmshare::capi
