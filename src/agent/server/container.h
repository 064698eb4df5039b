// Containers: the guest side of CreateContainer, StartContainer,
// ReadStdout/ReadStderr, WaitProcess and RemoveContainer.
//
// CreateContainer mounts the request's storages (StorageManager), starts the
// container's init in its new namespaces (oci_process.h; pid 1 of its own
// pid namespace, stopped before execve), binds the source root
// (<shared>/<cid>/rootfs, or spec root.path when absolute) at
// <run>/containers/<cid>/rootfs without nosuid/nodev, then mounts each OCI
// mount at its destination inside that root, strictly in the spec's order;
// proc, mqueue, sysfs and cgroup are made by the init in its namespaces and
// moved in at their place. Targets are created and opened with
// openat2(RESOLVE_IN_ROOT) on the root fd, and mounted by fd, so no symlink in
// the image can put a mount outside the root. Then /dev (devices.h), then a
// read-only root is made read-only, last. The init then pivots into the root
// and applies hostname, sysctl, paths, ids and privileges; any failure fails
// CreateContainer. StartContainer lets it execve, its stdout and stderr on
// pipes the Read calls drain. RemoveContainer kills it
// (SIGKILL), detaches the whole bundle root at once, and drops its storage
// references (storages marked `shared` stay until the sandbox ends).
// On a failed CreateContainer nothing made for it is left behind.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/messages.h"
#include "agent/server/process_table.h"
#include "agent/server/storage.h"
#include "agent/ttrpc_server.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

struct AgentPaths {
  // Where the virtio-fs share is mounted; CopyFile's root. On the wire paths
  // always say kGuestSharedDir; this is where that is on disk.
  std::string shared_root = kGuestSharedDir;
  // Per-container bundles: <run_dir>/containers/<cid>/rootfs.
  std::string run_dir = "/run/vmshare-agent";
};

class Containers {
 public:
  Containers(sys::Env* env, AgentPaths paths, StorageManager* storages, ProcessTable* processes)
      : env_(env), paths_(std::move(paths)), storages_(storages), processes_(processes) {}

  Status Create(const CreateContainerRequest& request);
  Status Start(const std::string& container_id);
  // Up to len bytes (at most 1 MiB) of stdout (or stderr); "" at end of stream.
  Result<std::string> Read(const ProcessRef& ref, bool stderr_stream, uint32_t len,
                           const CallContext& ctx);
  Result<int32_t> Wait(const ProcessRef& ref, const CallContext& ctx);
  Status Remove(const std::string& container_id, uint32_t timeout_seconds, const CallContext& ctx);
  // Removes every container (DestroySandbox); returns the first error.
  Status RemoveAll(const CallContext& ctx);

  std::string BundleRoot(const std::string& container_id) const;

 private:
  struct Container {
    std::string id;
    std::string exec_id;
    ContainerSpec spec;
    std::vector<Storage> storages;             // references held
    std::shared_ptr<sys::ContainerInit> init;  // made at Create, execs at Start
    bool started = false;
    std::shared_ptr<ProcessTable::Process> process;
    std::shared_ptr<sys::Fd> stdout_r, stderr_r;
  };

  Status SpawnInit(const CreateContainerRequest& r, Container* c);
  Status BuildRoot(const CreateContainerRequest& r, Container* c);
  Status MountSpecMount(const sys::Fd& root, const SpecMount& m, Container* c,
                        std::vector<sys::Fd>* ns_filesystems);
  Result<int> CapLast();
  Result<std::shared_ptr<Container>> Find(const ProcessRef& ref);
  void Teardown(const Container& c);

  sys::Env* env_;
  AgentPaths paths_;
  StorageManager* storages_;
  ProcessTable* processes_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Container>> containers_;  // GUARDED_BY(mu_)
};

}  // namespace vmshare::agent
