// Containers: the guest side of CreateContainer, StartContainer,
// ReadStdout/ReadStderr, WaitProcess and RemoveContainer.
//
// CreateContainer mounts the request's storages (StorageManager), binds the
// source root (<shared>/<cid>/rootfs, or spec root.path when absolute) at
// <run>/containers/<cid>/rootfs, then mounts each OCI mount at its
// destination inside that root. Targets are created and opened with
// openat2(RESOLVE_IN_ROOT) on the root fd, and mounted by fd, so no symlink in
// the image can put a mount outside the root. A "proc" mount is made by the
// process itself when it starts (in its own mount namespace). A read-only
// root is made read-only after the mounts (the mounts keep their own flags).
// StartContainer runs the process with the root as "/" (pivot_root), its
// stdio on pipes (or a pty) the stream calls serve; ExecProcess adds more
// processes (exec.cc, which has the process calls). RemoveContainer kills
// them all (SIGKILL, then its cgroup), detaches the whole bundle root at once,
// and drops its storage references (storages marked `shared` stay until the
// sandbox ends). Each container has a cgroup v2 of its own when the guest has
// cgroup v2 (cgroup.h; Stats, Update, Pause/Resume, OOM events).
// On a failed CreateContainer nothing made for it is left behind.
// Thread-safe.
#pragma once

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
  std::shared_ptr<sys::Fd> stdin_w;   // GUARDED_BY(stdin_mu); null once closed
  bool stdin_closed = false;          // GUARDED_BY(stdin_mu)
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
  Status Remove(const std::string& container_id, uint32_t timeout_seconds,
                const CallContext& ctx);
  // Removes every container (DestroySandbox); returns the first error.
  Status RemoveAll(const CallContext& ctx);

  std::string BundleRoot(const std::string& container_id) const;

 private:
  struct Container {
    std::string id;
    std::string exec_id;
    ContainerSpec spec;
    std::vector<Storage> storages;  // references held
    bool mount_proc = false;
    std::string cgroup;     // its cgroup v2 directory; "" without one
    uint64_t oom_seen = 0;  // OOM kills already reported; GUARDED_BY(mu_)
    std::shared_ptr<ContainerProcess> init;  // set by Start; GUARDED_BY(mu_)
    std::map<std::string, std::shared_ptr<ContainerProcess>> execs;  // GUARDED_BY(mu_)
  };

  Status BuildRoot(const CreateContainerRequest& r, Container* c);
  Status MountSpecMount(const sys::Fd& root, const SpecMount& m, Container* c);
  Result<std::shared_ptr<Container>> Find(const ProcessRef& ref);
  void Teardown(const Container& c);
  // exec.cc: starts `o` as process `exec_id` of `c` with fresh stdio.
  // REQUIRES: mu_ held.
  Result<std::shared_ptr<ContainerProcess>> StartProcessLocked(Container* c,
                                                               const std::string& exec_id,
                                                               bool init, bool terminal,
                                                               sys::ContainedProcessOptions o);
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
