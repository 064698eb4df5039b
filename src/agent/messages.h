// Plain request/response types of the agent protocol, free of protobuf.
//
// Host code (client.h) and guest code (server/) speak in these; translate.h
// turns them into the Kata-compatible wire bytes and back, and is the only
// place that sees generated protobuf types. Only the fields vmshare uses are
// here; Storage and FsGroup come from core/types.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/types.h"

namespace vmshare::agent {

// One OCI mount of a container spec (oci.proto Mount).
struct SpecMount {
  std::string source;
  std::string destination;           // absolute path inside the container root
  std::string type;                  // "bind", "proc", "tmpfs", ...
  std::vector<std::string> options;  // "ro", "rbind", "nosuid", ...
  bool operator==(const SpecMount&) const = default;
};

// process.capabilities: names such as "CAP_KILL".
struct SpecCapabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
  bool operator==(const SpecCapabilities&) const = default;
};

// process.rlimits[]: type such as "RLIMIT_NOFILE".
struct SpecRlimit {
  std::string type;
  uint64_t hard = 0;
  uint64_t soft = 0;
  bool operator==(const SpecRlimit&) const = default;
};

// linux.namespaces[]: a path names an existing namespace to join.
struct SpecNamespace {
  std::string type;  // "pid", "network", "mount", "ipc", "uts", "cgroup", "user", "time"
  std::string path;
  bool operator==(const SpecNamespace&) const = default;
};

// linux.devices[].
struct SpecDevice {
  std::string path;  // absolute, inside the container
  std::string type;  // "c", "b", "u" or "p"
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t file_mode = 0;  // permission bits; 0: 0666
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool operator==(const SpecDevice&) const = default;
};

// The subset of an OCI runtime spec the agent acts on.
struct ContainerSpec {
  std::vector<std::string> args;  // process.args; args[0] is looked up in PATH
  std::vector<std::string> env;   // process.env, "K=V"
  std::string cwd = "/";          // process.cwd
  uint32_t uid = 0;               // process.user.uid
  uint32_t gid = 0;               // process.user.gid
  std::vector<uint32_t> additional_gids;
  // root.path: empty means <shared>/<cid>/rootfs; else an absolute guest path.
  std::string root_path;
  bool root_readonly = false;     // root.readonly
  std::vector<SpecMount> mounts;  // in order; proc, mqueue, sysfs, cgroup in the new namespaces
  std::string hostname;
  bool terminal = false;                         // process.terminal: stdio on a guest pty
  std::optional<SpecCapabilities> capabilities;  // none: left as they are
  std::vector<SpecRlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<uint32_t> umask;  // process.user.umask (a vmshare field on the wire)
  std::vector<SpecNamespace> namespaces;
  std::vector<SpecDevice> devices;  // beyond the default ones
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  bool operator==(const ContainerSpec&) const = default;
};

struct CreateSandboxRequest {
  std::string hostname;
  std::vector<Storage> storages;
  std::string sandbox_id;
  bool operator==(const CreateSandboxRequest&) const = default;
};

struct CreateContainerRequest {
  std::string container_id;
  std::string exec_id;
  std::vector<Storage> storages;
  ContainerSpec spec;
  bool operator==(const CreateContainerRequest&) const = default;
};

// CopyFileRequest, Kata semantics: the S_IFMT bits of file_mode pick a
// directory, a symlink (target in data) or a regular file (data written at
// offset; the file appears once file_size bytes have arrived).
struct CopyFileRequest {
  std::string path;  // absolute, under /run/kata-containers/shared/containers/
  int64_t file_size = 0;
  uint32_t file_mode = 0;
  uint32_t dir_mode = 0;
  int32_t uid = 0;
  int32_t gid = 0;
  int64_t offset = 0;
  std::string data;
  bool operator==(const CopyFileRequest&) const = default;
};

struct RemoveContainerRequest {
  std::string container_id;
  uint32_t timeout_seconds = 0;  // 0: wait forever for the process to die
  bool operator==(const RemoveContainerRequest&) const = default;
};

// Shared by StartContainer (exec_id unused), WaitProcess and ReadStdout/Err.
struct ProcessRef {
  std::string container_id;
  std::string exec_id;  // empty: the container's main process
  bool operator==(const ProcessRef&) const = default;
};

struct ReadStreamRequest {
  ProcessRef process;
  uint32_t len = 0;  // most bytes to return
  bool operator==(const ReadStreamRequest&) const = default;
};

// grpc.Health/Check answer (HealthCheckResponse.ServingStatus).
enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2 };

// grpc.Health/Version answer.
struct VersionInfo {
  std::string grpc_version;
  std::string agent_version;
  bool operator==(const VersionInfo&) const = default;
};

// oci.Process, for ExecProcess: what runs and how.
struct ProcessSpec {
  std::vector<std::string> args;  // args[0] is looked up in env's PATH
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  bool terminal = false;        // stdin/stdout/stderr on a guest pty
  uint32_t console_height = 0;  // ConsoleSize; 0: leave the pty's default
  uint32_t console_width = 0;
  bool operator==(const ProcessSpec&) const = default;
};

struct ExecProcessRequest {
  ProcessRef process;  // exec_id names the new process; unique in its container
  ProcessSpec spec;
  bool operator==(const ExecProcessRequest&) const = default;
};

struct SignalProcessRequest {
  ProcessRef process;  // empty exec_id: init, then every process of the container
  uint32_t signal = 0;
  bool operator==(const SignalProcessRequest&) const = default;
};

// WriteStdin; the reply is the number of bytes written.
struct WriteStreamRequest {
  ProcessRef process;
  std::string data;
  bool operator==(const WriteStreamRequest&) const = default;
};

struct TtyWinResizeRequest {
  ProcessRef process;
  uint32_t row = 0;
  uint32_t column = 0;
  bool operator==(const TtyWinResizeRequest&) const = default;
};

// oci.LinuxResources, the parts UpdateContainer applies (cgroup v2). Unset
// (nullopt) fields are left as they are.
struct LinuxResources {
  std::optional<int64_t> memory_limit;        // bytes; -1: unlimited
  std::optional<int64_t> memory_reservation;  // bytes (memory.low)
  std::optional<int64_t> memory_swap;         // memory+swap bytes; -1: unlimited
  std::optional<uint64_t> cpu_shares;         // cgroup v1 shares, mapped to cpu.weight
  std::optional<int64_t> cpu_quota;           // us per period; -1: unlimited
  std::optional<uint64_t> cpu_period;         // us
  std::string cpu_cpus;                       // cpuset.cpus; "" unchanged
  std::string cpu_mems;                       // cpuset.mems; "" unchanged
  std::optional<int64_t> pids_limit;          // <= 0: unlimited
  bool operator==(const LinuxResources&) const = default;
};

struct UpdateContainerRequest {
  std::string container_id;
  LinuxResources resources;
  bool operator==(const UpdateContainerRequest&) const = default;
};

// StatsContainerResponse.cgroup_stats, from the container's cgroup v2 files.
// Times are nanoseconds.
struct ContainerStats {
  uint64_t cpu_total_ns = 0;
  uint64_t cpu_kernel_ns = 0;
  uint64_t cpu_user_ns = 0;
  uint64_t cpu_periods = 0;
  uint64_t cpu_throttled_periods = 0;
  uint64_t cpu_throttled_ns = 0;
  uint64_t memory_cache = 0;                                   // memory.stat "file"
  uint64_t memory_usage = 0;                                   // memory.current
  uint64_t memory_max_usage = 0;                               // memory.peak
  uint64_t memory_failcnt = 0;                                 // memory.events "max"
  uint64_t memory_limit = 0;                                   // memory.max ("max": UINT64_MAX)
  uint64_t swap_usage = 0;                                     // memory.swap.current
  uint64_t swap_limit = 0;                                     // memory.swap.max
  std::vector<std::pair<std::string, uint64_t>> memory_stats;  // memory.stat, sorted
  uint64_t pids_current = 0;
  uint64_t pids_limit = 0;  // pids.max ("max": 0)
  bool operator==(const ContainerStats&) const = default;
};

struct ListProcessesRequest {
  std::string container_id;
  std::string format;  // "json" or "table"
  std::vector<std::string> args;
  bool operator==(const ListProcessesRequest&) const = default;
};

// types.IPAddress / Interface / Route / ARPNeighbor.
struct IpAddress {
  bool ipv6 = false;
  std::string address;
  std::string mask;
  bool operator==(const IpAddress&) const = default;
};

struct NetInterface {
  std::string device;
  std::string name;
  std::vector<IpAddress> addresses;
  uint64_t mtu = 0;
  std::string hw_addr;
  std::string pci_path;
  std::string type;
  uint32_t raw_flags = 0;
  bool operator==(const NetInterface&) const = default;
};

struct NetRoute {
  std::string dest;
  std::string gateway;
  std::string device;
  std::string source;
  uint32_t scope = 0;
  bool ipv6 = false;
  bool operator==(const NetRoute&) const = default;
};

struct ArpNeighbor {
  std::optional<IpAddress> to_ip;
  std::string device;
  std::string lladdr;
  int32_t state = 0;
  int32_t flags = 0;
  bool operator==(const ArpNeighbor&) const = default;
};

struct GuestDetailsRequest {
  bool mem_block_size = false;
  bool mem_hotplug_probe = false;
  bool operator==(const GuestDetailsRequest&) const = default;
};

struct GuestDetails {
  uint64_t mem_block_size_bytes = 0;
  bool support_mem_hotplug_probe = false;
  std::string agent_version;
  bool init_daemon = false;
  std::vector<std::string> device_handlers;
  std::vector<std::string> storage_handlers;
  bool supports_seccomp = false;
  std::vector<std::string> extra_features;
  bool operator==(const GuestDetails&) const = default;
};

struct SetGuestDateTimeRequest {
  int64_t sec = 0;
  int64_t usec = 0;
  bool operator==(const SetGuestDateTimeRequest&) const = default;
};

}  // namespace vmshare::agent
