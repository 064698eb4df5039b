// sandbox::Guest: a sandbox's VM and the containers in it, as phases that a
// caller may run in one go (`vmshare run`) or one call at a time across a
// long-lived process (the containerd shim):
//
//   Guest::New        find the guest image, choose the accelerator (no process)
//   Boot              start virtiofsd (only when the sandbox exports a
//                     directory: not with shared_fs "none") and QEMU, each
//                     recorded before and after it is spawned; wait for the
//                     agent; CreateSandbox with the sharer's storages
//   CreateContainer   share its rootfs and host mounts (Sandbox::AddContainer:
//                     recorded before mounted, rolled back on error), then
//                     CreateContainer in the guest with the OCI mounts in the
//                     bundle's order (spec.h)
//   StartContainer    StartContainer
//   WaitContainer     WaitProcess (exit code, 128 + n for signal n)
//   SignalContainer   SignalProcess
//   RemoveContainer   RemoveContainer in the guest, then unshare on the host
//                     and drop the record
//   Shutdown          stop the watcher, DestroySandbox, QEMU's exit (killed
//                     at the deadline), virtiofsd's, the run dir
//
// Exec (ExecProcess, stdin, ptys) is for later: agent() is the client a
// process-level call uses, keyed by container id and exec id as the agent's
// protocol is; the streams of a process are read there too
// (agent().ReadStdout/ReadStderr).
//
// The Guest does not own its Sandbox: REQUIRES the sandbox outlives it and
// holds its lock (Sandbox::Hold) or takes it per call. After Shutdown (or
// destruction, which kills what still runs) no process or run dir of the
// guest is left; the share tree and the record are the Sandbox's
// (Sandbox::Cleanup).
//
// Thread safety: Interrupt() from any thread at any time; agent() calls from
// any thread (the client is thread-safe); all other calls from one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/client.h"
#include "agent/messages.h"
#include "core/result.h"
#include "core/types.h"
#include "sandbox/sandbox.h"
#include "sandbox/spec.h"
#include "vm/guest.h"

namespace vmshare::sandbox {

struct GuestOptions {
  std::string accel = "auto";  // auto | kvm | tcg
  std::string guest_dir;       // empty: vm::FindGuestImage's default
  std::string console_log;     // non-empty: keep the guest console in this file
  int memory_mb = 512;
  int cpus = 1;
  std::chrono::milliseconds boot_timeout{60000};
  std::string hostname = "vmshare";  // CreateSandbox's hostname
};

// What CreateContainer made.
struct CreatedContainer {
  agent::CreateContainerRequest request;  // as sent to the agent
  int64_t shared_at = 0;                  // Env::NowNanos() once sharing was done
};

class Guest {
 public:
  // Finds the image and resolves the accelerator (probing KVM, cached under
  // the root). Starts nothing. REQUIRES: sandbox prepared and outliving the
  // guest.
  static Result<std::unique_ptr<Guest>> New(Sandbox& sandbox, GuestOptions options);
  ~Guest();
  Guest(const Guest&) = delete;
  Guest& operator=(const Guest&) = delete;

  const std::string& accel() const { return accel_; }

  // Boots the VM and creates the sandbox in the guest; attaches the agent to
  // the sandbox (copy mode and watched volumes reach the guest through it).
  // kDeadlineExceeded when the agent did not answer in time, kUnavailable
  // when QEMU exited (panic) or Interrupt() was called. On error nothing is
  // left running.
  Status Boot();
  bool booted() const { return booted_; }

  // REQUIRES: booted().
  agent::AgentClient& agent() { return vm_->agent(); }

  // Shares the container (request.container: rootfs source, host mounts are
  // the request's from_host entries) and creates it in the guest. On error
  // nothing of it is left shared or recorded. kAlreadyExists for an id in
  // use.
  Result<CreatedContainer> CreateContainer(const ContainerRequest& request);
  Status StartContainer(const std::string& cid);
  // Blocks until the container's process (exec_id "": its init) exits; its
  // exit code, or 128 + n when signal n killed it.
  Result<int32_t> WaitContainer(const std::string& cid, const std::string& exec_id = "");
  // Sends `signal` to the container's init (exec_id "") or an exec.
  Status SignalContainer(const std::string& cid, const std::string& exec_id, int signal);
  // Removes the container in the guest (when `ask_guest` and the guest
  // lives; bounded wait for the process to die), then unshares everything of
  // it on the host and drops its record (Sandbox::RemoveContainer), even when
  // the guest part failed. Returns the first error.
  Status RemoveContainer(const std::string& cid, bool ask_guest = true);
  // The ids of the containers created and not removed, sorted.
  std::vector<std::string> Containers() const;

  // Stops the watcher, detaches the agent from the sandbox, DestroySandbox
  // (the agent powers the guest off), waits for QEMU within `deadline` (then
  // kills it), ends virtiofsd, removes the run dir. Returns the first error
  // after doing all of it. Containers not removed are not unshared: call
  // RemoveContainer first (their host shares are the sandbox's).
  Status Shutdown(std::chrono::milliseconds deadline = std::chrono::milliseconds(10000));

  // Thread-safe: kills QEMU so that every agent call fails at once.
  void Interrupt();
  // False once QEMU exited (or was never started).
  bool Alive();
  // Waits up to `timeout` for QEMU to exit by itself; true when it did.
  bool WaitExit(std::chrono::milliseconds timeout);
  // The last `max_bytes` of the guest console (for error messages).
  std::string ConsoleTail(size_t max_bytes);

 private:
  Guest(Sandbox& sandbox, GuestOptions options);

  Sandbox& sandbox_;
  GuestOptions options_;
  std::string accel_;
  std::unique_ptr<vm::Guest> vm_;
  bool booted_ = false;
  // Containers created here: their shared state, for removal.
  std::map<std::string, Container> containers_;
};

}  // namespace vmshare::sandbox
