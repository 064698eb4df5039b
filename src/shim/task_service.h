// TaskService: containerd's Task API (containerd.task.v2.Task) in plain
// types, over the SandboxBackend of the one sandbox this shim serves.
//
// A shim serves one sandbox: a lone container, or a pod's sandbox container
// and the containers that name it in their CRI annotations. The first Create
// boots the guest; each Create shares its container into it; deleting the
// container that started the sandbox shuts the guest down. Process exits are
// watched by one thread per process, which waits for the process's output to
// end (relayed and its FIFOs closed, which is containerd's EOF), then for its
// exit, records exit status and time (128 + n for a signal n, 255 when the
// guest went away), wakes Wait callers and publishes TaskExit: neither Wait
// nor TaskExit ever comes before the last byte of output.
//
// Errors use vmshare codes that task_rpc.cc maps to the grpc codes
// containerd's errdefs understand: kNotFound for an unknown container or
// exec id or a process that already exited (Kill), kAlreadyExists,
// kFailedPrecondition for a call in the wrong state, kUnimplemented.
//
// Thread safety: every method is thread-safe. mu_ guards the tables and is
// never held across a backend (guest) call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "shim/backend.h"
#include "shim/events.h"
#include "shim/oci_spec.h"
#include "shim/stdio_relay.h"
#include "shim/task_wire.h"
#include "sys/env.h"

namespace vmshare::shim {

// The status a process gets when the guest died under it.
inline constexpr uint32_t kGuestLostStatus = 255;

// "task \"c1\"" or "exec \"e1\" of task \"c1\"", for messages.
std::string Describe(const ProcessKey& k);

struct TaskServiceOptions {
  sys::Env* env = nullptr;
  EventSink* events = nullptr;
  // Makes the backend for the sandbox on the first Create.
  std::function<std::unique_ptr<SandboxBackend>()> make_backend;
  uint32_t shim_pid = 0;
  std::function<void(const std::string&)> log;
  // What a spec asks and the guest does not apply (oci_spec.h notices);
  // empty: they go to `log`.
  std::function<void(const std::string&)> notice;
  // Mounts containerd's rootfs mounts (snapshots) on <bundle>/rootfs and
  // unmounts them; empty: such a Create is refused.
  std::function<Status(const std::vector<RootfsMount>&, const std::string& target)> mount_rootfs;
  std::function<Status(const std::string& target)> unmount_rootfs;
};

class TaskService {
 public:
  explicit TaskService(TaskServiceOptions options);
  // Joins the exit watchers. REQUIRES: the backend was shut down (Shutdown
  // or the last Delete), so that no process is left to wait for.
  ~TaskService();

  Result<uint32_t> Create(const CreateTask& r);
  Result<uint32_t> Start(const ProcessKey& k);
  // Blocks until the process exited, or `cancelled` is set (kUnavailable).
  Result<ExitInfo> Wait(const ProcessKey& k, const std::atomic<bool>* cancelled);
  Result<ProcessState> State(const ProcessKey& k);
  Status Kill(const KillTask& r);
  Result<ExitInfo> Delete(const ProcessKey& k);
  Result<std::vector<uint32_t>> Pids(const std::string& id);
  Status Exec(const ExecTask& r);
  Status ResizePty(const ResizePty& r);
  Status CloseIO(const CloseIo& r);
  Result<ConnectInfo> Connect(const std::string& id);
  // Returns true when the shim should exit now: no container is left (or
  // `now`); the guest is then shut down.
  Result<bool> Shutdown(const ShutdownTask& r);

  // The sandbox id, once the first Create chose it ("" before).
  std::string sandbox_id();

 private:
  struct Proc {
    ProcessKey key;
    StdioPaths stdio;
    SpecProcess exec_spec;  // execs only
    TaskStatus status = TaskStatus::kCreated;
    bool deleted = false;  // Wait callers stop waiting
    // TaskStart/TaskExecStarted was emitted: its TaskExit may follow.
    bool start_emitted = false;
    ExitInfo exit;
    std::unique_ptr<StdioRelay> io;
    std::thread watcher;
  };
  struct Container {
    std::string id;
    std::string bundle;
    bool started_sandbox = false;
    bool mounted_rootfs = false;
    std::shared_ptr<Proc> init;
    SpecProcess process;  // the init's, whose privileges its execs get
    std::map<std::string, std::shared_ptr<Proc>> execs;
  };

  Result<std::shared_ptr<Proc>> Find(const ProcessKey& k);  // REQUIRES: mu_ held
  Status EnsureBackend(const std::string& sandbox_id, const OciSpec& spec, bool starts_sandbox);
  Result<std::string> PrepareRootfs(const CreateTask& r, const OciSpec& spec, bool* mounted);
  Status StartProcess(const std::shared_ptr<Proc>& p);
  void WatchExit(std::shared_ptr<Proc> p);
  Status RemoveContainer(Container& c);
  Status ShutdownBackend();
  void Log(const std::string& line) {
    if (options_.log) options_.log(line);
  }
  void Notice(const std::string& line) {
    if (options_.notice) {
      options_.notice(line);
    } else {
      Log(line);
    }
  }
  void Emit(EventPayload e) {
    if (options_.events != nullptr) options_.events->Publish(std::move(e));
  }

  TaskServiceOptions options_;
  std::mutex boot_mu_;                       // serializes booting and shutting down the backend
  std::unique_ptr<SandboxBackend> backend_;  // set once under boot_mu_ and mu_
  std::mutex mu_;
  std::condition_variable exited_;
  std::string sandbox_id_;                       // GUARDED_BY(mu_)
  std::map<std::string, Container> containers_;  // GUARDED_BY(mu_)
  bool shut_down_ = false;                       // GUARDED_BY(mu_)
};

}  // namespace vmshare::shim
