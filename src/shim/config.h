// The shim's configuration: /etc/vmshare/shim.json, or the file named by
// $VMSHARE_SHIM_CONFIG.
//
//   {"root": "/run/vmshare", "shared_fs": "virtio-fs", "accel": "auto",
//    "memory_mb": 512, "guest_dir": "", "kubelet_root": "/var/lib/kubelet",
//    "debug": false}
//
// Every key is optional; a missing default file gives the defaults. A file
// named by the variable must exist. Unknown keys are refused (a misspelt
// key would otherwise be silently ignored), as are values of the wrong type
// or out of range, with the file and the key in the message.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::shim {

inline constexpr char kDefaultConfigPath[] = "/etc/vmshare/shim.json";
inline constexpr char kConfigEnvVar[] = "VMSHARE_SHIM_CONFIG";

struct ShimConfig {
  std::string root = "/run/vmshare";    // vmshare's state and share-tree root
  std::string shared_fs = "virtio-fs";  // or "none"
  std::string accel = "auto";           // auto | kvm | tcg
  int memory_mb = 512;                  // guest memory
  std::string guest_dir;                // empty: the installed guest image
  std::string kubelet_root = "/var/lib/kubelet";
  bool debug = false;  // log debug lines to containerd's log
};

// Parses config text; `name` is what errors call the file.
Result<ShimConfig> ParseShimConfig(std::string_view json_text, const std::string& name);

// Reads `env_value` (the variable's value, empty when unset) or the default
// path.
Result<ShimConfig> LoadShimConfig(sys::Env* env, const std::string& env_value);

}  // namespace vmshare::shim
