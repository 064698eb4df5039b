// Plain state types shared by every layer.
//
// Mount, DeviceMap, Process and ContainerState mirror Kata's
// persist/api/container.go field for field (persist/ maps them to Kata's JSON
// names); Storage mirrors the agent's grpc.Storage; SharedFile is the outcome
// of sharing one file with the guest (fs_share.go). No behaviour lives here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vmshare {

// DeviceMap: how a VM device maps into a container.
struct DeviceMap {
  std::string id;              // ID: reference to the VM device
  std::string container_path;  // ContainerPath
  uint32_t file_mode = 0;      // FileMode (Go os.FileMode bits)
  uint32_t uid = 0;            // UID in the container namespace
  uint32_t gid = 0;            // GID in the container namespace
  bool operator==(const DeviceMap&) const = default;
};

// Mount: a container mount (also used for the rootfs).
struct Mount {
  std::string source;
  std::string destination;
  std::string type;                  // filesystem type ("bind", "xfs", ...)
  std::vector<std::string> options;  // mount options
  std::string host_path;             // host-side bind mount path, once shared
  std::string block_device_id;       // set when backed by a VM block device
  bool read_only = false;
  bool mounted = false;  // the host side mount exists
  bool operator==(const Mount&) const = default;
};

// Process: a container process as the host sees it.
struct Process {
  std::string token;       // unique per sandbox
  int pid = 0;             // host pid (typically the shim's)
  std::string start_time;  // RFC 3339, as Go's time.Time marshals
  bool operator==(const Process&) const = default;
};

// ContainerState: persisted per container.
struct ContainerState {
  std::string state;  // "ready", "running", "stopped", ...
  Mount rootfs;
  std::string cgroup_path;
  std::vector<DeviceMap> device_maps;
  std::vector<Mount> mounts;
  std::vector<Process> process;
  std::string bundle_path;
  bool operator==(const ContainerState&) const = default;
};

// A container as the sharer sees it: its id and its state (whose rootfs and
// mounts the sharer fills in as it shares them).
struct Container {
  std::string id;
  ContainerState state;
};

// FSGroup of a Storage (agent.proto: field 1 is absent).
struct FsGroup {
  uint32_t group_id = 0;
  enum class ChangePolicy { kAlways = 0, kOnRootMismatch = 1 } policy = ChangePolicy::kAlways;
  bool operator==(const FsGroup&) const = default;
};

// Storage: what the guest agent mounts (grpc.Storage).
struct Storage {
  std::string driver;
  std::vector<std::string> driver_options;
  std::string source;
  std::string fstype;
  std::vector<std::string> options;
  std::string mount_point;  // guest path
  std::optional<FsGroup> fs_group;
  bool shared = false;
  bool operator==(const Storage&) const = default;
};

// SharedFile: the outcome of sharing a host file or directory with the guest.
struct SharedFile {
  std::vector<Storage> container_storages;
  std::vector<Storage> volume_storages;
  std::string guest_path;
  bool operator==(const SharedFile&) const = default;
};

// vmshare: a host process started for a sandbox (virtiofsd, qemu), recorded
// before it is spawned and updated once it runs, so that `vmshare gc` can
// kill it after a crash, and only while the pid still names that process:
// pid plus its start time (/proc/<pid>/stat field 22, clock ticks after boot).
struct RecordedProcess {
  std::string role;               // "virtiofsd", "qemu", ...
  int pid = 0;                    // 0 while only intended
  uint64_t start_time_ticks = 0;  // 0 while only intended
  std::string state;              // "starting", "running" or "exited"
  bool operator==(const RecordedProcess&) const = default;
};

// The sandbox fields vmshare persists. Kata's persist.json has many more; the
// ones named here keep Kata's meaning, and `vmshare` holds what only we use.
struct SandboxState {
  uint32_t persist_version = 2;            // PersistVersion
  std::string state;                       // State: "ready", "running", ...
  std::string sandbox_container;           // SandboxContainer
  std::string shared_fs = "virtio-fs";     // vmshare: "virtio-fs" or "none"
  std::vector<std::string> bind_mounts;    // vmshare: sandbox bind mount sources
  std::string share_base;                  // vmshare: "" or Kata's share-tree base
  std::string rootfs_name = "rootfs";      // vmshare: Kata's rootfsSuffix
  std::vector<RecordedProcess> processes;  // vmshare: see RecordedProcess
  bool operator==(const SandboxState&) const = default;
};

// Guest-side constants (Kata's conventions, kept so a Kata agent could consume
// the same Storage list).
inline constexpr char kGuestSharedDir[] = "/run/kata-containers/shared/containers";
inline constexpr char kShareTag[] = "kataShared";

}  // namespace vmshare
