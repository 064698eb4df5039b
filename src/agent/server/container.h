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
// CreateContainer. Its stdio are pipes (or a pty) the stream calls serve, and
// it is in the container's cgroup v2 from the start. StartContainer lets it
// execve. ExecProcess adds more processes (exec.cc, which has the process
// calls), each in the init's namespaces and root with the container's
// capabilities, rlimits, no_new_privileges and umask. RemoveContainer kills
// them all (SIGKILL, then its cgroup), detaches the whole bundle root at once,
// and drops its storage references (storages marked `shared` stay until the
// sandbox ends). Each container has a cgroup v2 of its own when the guest has
// cgroup v2 (cgroup.h; Stats, Update, Pause/Resume, OOM events).
// On a failed CreateContainer nothing made for it is left behind.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/messages.h"
#include "agent/server/cgroup.h"
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
  // Parent of the containers' cgroups; "" for none.
  std::string cgroup_root = "/sys/fs/cgroup";
};

// One process of a container (its init or an exec) and the agent's ends of
// its stdio. A terminal process has one pty master for all three.
struct ContainerProcess {
  std::string exec_id;
  bool init = false;
  std::shared_ptr<ProcessTable::Process> process;
  std::shared_ptr<sys::Fd> out, err;  // read ends (== pty for a terminal)
  std::shared_ptr<sys::Fd> pty;       // master; null without a terminal
  std::mutex stdin_mu;
  std::shared_ptr<sys::Fd> stdin_w;  // GUARDED_BY(stdin_mu); null once closed
  bool stdin_closed = false;         // GUARDED_BY(stdin_mu)
};

class Containers {
 public:
  Containers(sys::Env* env, AgentPaths paths, StorageManager* storages, ProcessTable* processes)
      : env_(env), paths_(std::move(paths)), storages_(storages), processes_(processes) {}

  Containers(sys::Env* env, AgentPaths paths, StorageManager* storages, ProcessTable* processes,
             Cgroups* cgroups)
      : env_(env),
        paths_(std::move(paths)),
        storages_(storages),
        processes_(processes),
        cgroups_(cgroups) {}

  Status Create(const CreateContainerRequest& request);
  Status Start(const std::string& container_id);

  // ---- processes (exec.cc). A ProcessRef's exec_id "" (or the container's
  // exec_id or id) names the init process.
  Status Exec(const ExecProcessRequest& request);
  // Up to len bytes (at most 1 MiB) of stdout (or stderr). At the end of the
  // stream, Kata's answer: kInternal "read meet eof" (the pipe is at EOF) or
  // "eof" (the process has exited and nothing is left to read).
  Result<std::string> Read(const ProcessRef& ref, bool stderr_stream, uint32_t len,
                           const CallContext& ctx);
  // The exit status; an exec is forgotten once waited for, as Kata does.
  Result<int32_t> Wait(const ProcessRef& ref, const CallContext& ctx);
  Status Signal(const SignalProcessRequest& request);
  Result<uint32_t> WriteStdin(const WriteStreamRequest& request, const CallContext& ctx);
  Status CloseStdin(const ProcessRef& ref);
  Status ResizeTty(const TtyWinResizeRequest& request);

  // ---- cgroup calls (container_cgroup.cc).
  Result<ContainerStats> Stats(const std::string& container_id);
  Status Update(const UpdateContainerRequest& request);
  Status Pause(const std::string& container_id, bool paused);
  Result<std::string> ListProcesses(const ListProcessesRequest& request);
  // Blocks until a container's cgroup counts a new OOM kill, then returns its
  // id (each kill once), or the call is cancelled or expires.
  Result<std::string> NextOomEvent(const CallContext& ctx);
  Status Remove(const std::string& container_id, uint32_t timeout_seconds, const CallContext& ctx);
  // Removes every container (DestroySandbox); returns the first error.
  Status RemoveAll(const CallContext& ctx);

  std::string BundleRoot(const std::string& container_id) const;

 private:
  struct Container {
    std::string id;
    std::string exec_id;
    ContainerSpec spec;
    std::vector<Storage> storages;  // references held
    std::string cgroup;             // its cgroup v2 directory; "" without one
    uint64_t oom_seen = 0;          // OOM kills already reported; GUARDED_BY(mu_)
    // The init between clone and execve: made at Create, execs at Start.
    std::shared_ptr<sys::ContainerInit> setup;
    bool created = false;  // Create is done; GUARDED_BY(mu_)
    bool started = false;  // GUARDED_BY(mu_)
    // What an exec gets of the init's spec: caps, rlimits, nnp, umask.
    sys::ContainedProcessOptions exec_base;
    std::shared_ptr<ContainerProcess> init;  // set by Create; GUARDED_BY(mu_)
    std::map<std::string, std::shared_ptr<ContainerProcess>> execs;  // GUARDED_BY(mu_)
  };

  Status SpawnInit(const CreateContainerRequest& r, Container* c);
  Status BuildRoot(const CreateContainerRequest& r, Container* c);
  Status MountSpecMount(const sys::Fd& root, const SpecMount& m, Container* c,
                        std::vector<sys::Fd>* ns_filesystems);
  Result<int> CapLast();
  Result<std::shared_ptr<Container>> Find(const ProcessRef& ref);
  void Teardown(const Container& c);
  // exec.cc: starts `o` as process `exec_id` of `c` with fresh stdio, by
  // `spawn` (the init: SpawnContainer) or else SpawnContained.
  // REQUIRES: mu_ held.
  using Spawner = std::function<Result<sys::Child>(const sys::ContainedProcessOptions&)>;
  Result<std::shared_ptr<ContainerProcess>> StartProcessLocked(Container* c,
                                                               const std::string& exec_id,
                                                               bool init, bool terminal,
                                                               sys::ContainedProcessOptions o,
                                                               const Spawner& spawn = nullptr);
  Result<std::shared_ptr<ContainerProcess>> FindProcess(const ProcessRef& ref);
  // Kills every process of `c` and waits for them (RemoveContainer).
  Status StopAll(const Container& c, uint32_t timeout_seconds, const CallContext& ctx);
  Result<std::string> CgroupOf(const std::string& container_id);

  sys::Env* env_;
  AgentPaths paths_;
  StorageManager* storages_;
  ProcessTable* processes_;
  Cgroups* cgroups_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Container>> containers_;  // GUARDED_BY(mu_)
};

}  // namespace vmshare::agent
