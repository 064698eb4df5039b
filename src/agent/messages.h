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
#include <vector>

#include "core/types.h"

namespace vmshare::agent {

// One OCI mount of a container spec (oci.proto Mount).
struct SpecMount {
  std::string source;
  std::string destination;  // absolute path inside the container root
  std::string type;         // "bind", "proc", "tmpfs", ...
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
  bool terminal = false;          // process.terminal
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

}  // namespace vmshare::agent
