// Launcher: the host processes behind one guest — virtiofsd, then QEMU —
// and everything they leave on disk.
//
// Start() makes a private run directory (sockets, console log), starts
// virtiofsd on the sandbox's shared/ directory, waits for its socket, then
// starts QEMU. Both run in sessions of their own (a terminal's ^C reaches
// vmshare only, which then tears down in order) and die with vmshare
// (PR_SET_PDEATHSIG), so even a SIGKILL of vmshare leaves no process.
// Stop() waits for QEMU to exit (the guest powers off after DestroySandbox),
// kills it at the deadline, then ends virtiofsd (it exits by itself once
// QEMU hangs up) and removes the run directory. Kill() is the fast path for
// an interrupt or a dead guest. The destructor calls Kill() if Stop() did
// not run, so no error path leaks a process, socket or file.
//
// Thread safety: KillQemu() may be called from another thread (a signal
// watcher) while the owner is blocked on the guest; all other calls come
// from the owning thread.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sys/env.h"
#include "vm/guest_image.h"
#include "vm/qemu_args.h"

namespace vmshare::vm {

struct LaunchConfig {
  // Created by Start (must not exist, its parent must), removed by Stop/Kill.
  std::string run_dir;
  // Exported by virtiofsd. Empty: the guest has no shared filesystem (copy
  // mode), so neither virtiofsd nor QEMU's vhost-user-fs device is started.
  std::string shared_dir;
  GuestImage image;
  std::string accel = "tcg";  // resolved: "kvm" or "tcg"
  int memory_mb = 512;
  int cpus = 1;
  std::string qemu_binary = "qemu-system-x86_64";
  std::string virtiofsd_binary = "/usr/lib/qemu/virtiofsd";
  std::string extra_append;
  // Where the guest console goes; empty: <run_dir>/console.log (removed with
  // the run dir). A path given here is the caller's and is kept.
  std::string console_log;
  std::chrono::milliseconds virtiofsd_socket_timeout{5000};
  // Called with pid 0 right before a process ("virtiofsd", "qemu") is
  // started, and with its pid right after, so the caller can record it in
  // persisted state (intent before action; gc kills what a crash left). An
  // error before the start aborts it. Empty: nothing is recorded.
  std::function<Status(std::string_view role, pid_t pid)> on_process;
};

class Launcher {
 public:
  // REQUIRES: env outlives the launcher.
  Launcher(sys::Env* env, LaunchConfig config);
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Starts virtiofsd and QEMU. On error nothing is left running or on disk.
  Status Start();

  const std::string& agent_socket() const { return agent_socket_; }
  const std::string& console_log() const { return console_log_; }
  std::string virtiofsd_socket() const { return config_.run_dir + "/virtiofsd.sock"; }

  // True while QEMU has not exited (reaps it when it has).
  bool QemuRunning();
  // Waits up to `timeout` for QEMU to exit on its own.
  Result<sys::ExitStatus> WaitQemu(std::chrono::milliseconds timeout);
  // SIGKILLs QEMU; safe from any thread, any number of times.
  void KillQemu();

  // Orderly end: waits up to `qemu_deadline` for QEMU to exit, then kills
  // it; then virtiofsd likewise; then removes the run directory. Returns the
  // first error (e.g. QEMU had to be killed) after doing all of it.
  Status Stop(std::chrono::milliseconds qemu_deadline);
  // Kills both processes, reaps them, removes the run directory.
  void Kill();

  // The last `max_bytes` of the guest console (for error messages).
  std::string ConsoleTail(size_t max_bytes);

  // pids for tests and diagnostics (-1 when not running).
  pid_t qemu_pid();
  pid_t virtiofsd_pid() const { return virtiofsd_.pid; }

 private:
  Status StartVirtiofsd();
  Status WaitForSocket(const std::string& path, const char* name, sys::Child& owner,
                       std::chrono::milliseconds timeout);
  Status StartQemu();
  // Reports a process start to config_.on_process.
  Status Record(std::string_view role, pid_t pid);
  // Waits for `child` up to `deadline`, then SIGKILLs its process group and
  // reaps it. OK when it exited by itself.
  Status EndChild(sys::Child& child, const char* name, std::chrono::milliseconds deadline);
  void RemoveRunDir();

  sys::Env* env_;
  LaunchConfig config_;
  std::string agent_socket_;
  std::string console_log_;
  sys::Child virtiofsd_;
  // Reaping QEMU and killing it from another thread must not interleave,
  // or a kill could reach a recycled pid.
  std::mutex qemu_mu_;
  sys::Child qemu_;                           // GUARDED_BY(qemu_mu_)
  std::optional<sys::ExitStatus> qemu_exit_;  // GUARDED_BY(qemu_mu_)
  bool run_dir_made_ = false;
};

}  // namespace vmshare::vm
