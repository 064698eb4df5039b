// Guest: one booted VM with a live agent channel — the launcher's processes
// plus an AgentClient on the virtio-serial port.
//
// Boot() starts virtiofsd and QEMU and waits until the agent answers
// grpc.Health/Check, within a deadline; Shutdown() asks the agent to
// DestroySandbox (it powers the guest off), waits for QEMU's exit and kills
// on the deadline; Interrupt() may be called from any thread (a signal
// watcher) at any time and makes whatever the owner is blocked on fail soon,
// by killing QEMU. The destructor kills whatever still runs. A boot failure's
// error ends with the tail of the guest console.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "agent/client.h"
#include "core/result.h"
#include "sys/env.h"
#include "vm/launcher.h"

namespace vmshare::vm {

struct GuestConfig {
  LaunchConfig launch;
  std::chrono::milliseconds boot_timeout{60000};
  // The first Health/Check try; each later one waits twice as long, up to
  // 8x. A guest still booting does not answer: QEMU holds the requests in
  // the socket until the agent opens its port, then the agent answers them
  // in order, so every try that timed out is one more answer (~5 ms under
  // TCG) ahead of the live one. Fixed 250 ms tries put ~16 stale checks in
  // front of the answer of a 4 s boot; backing off puts 4.
  std::chrono::milliseconds check_interval{250};
};

class Guest {
 public:
  // REQUIRES: env outlives the guest.
  Guest(sys::Env* env, GuestConfig config);
  ~Guest();
  Guest(const Guest&) = delete;
  Guest& operator=(const Guest&) = delete;

  // Starts the VM and waits for its agent. kDeadlineExceeded when the agent
  // did not answer in time, kUnavailable when QEMU exited (guest panic) or
  // Interrupt() was called. On error nothing is left running.
  Status Boot();

  // The agent of a booted guest. REQUIRES: Boot() succeeded.
  agent::AgentClient& agent() { return *agent_; }
  Launcher& launcher() { return launcher_; }

  // DestroySandbox, then QEMU's exit within `deadline` (killed after it),
  // then virtiofsd's; removes the run directory. Returns the first error,
  // having done all of it.
  Status Shutdown(std::chrono::milliseconds deadline);

  // Thread-safe. Kills QEMU so that every agent call fails at once.
  void Interrupt();
  bool interrupted() const { return interrupted_.load(); }

 private:
  Status WaitForAgent();
  Status BootError(Status why);

  sys::Env* env_;
  GuestConfig config_;
  Launcher launcher_;
  std::unique_ptr<agent::AgentClient> agent_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace vmshare::vm
