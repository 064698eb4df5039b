// RunContainer: the whole `vmshare run` job — prepare a sandbox's share
// tree, boot a guest, share a container's rootfs and bind mounts, run its
// process through the agent while streaming its output, and tear it all
// down again, whatever happened in between.
//
// cli/run.cc turns an OCI bundle into a RunRequest and prints; this file
// knows nothing of bundles or terminals. Teardown always runs, in order:
// remove the container in the guest, unshare every mount, shut the guest
// down (DestroySandbox, QEMU's exit, virtiofsd's), clean the sandbox up. After
// RunContainer returns, no process, socket, mount or directory of the
// sandbox is left, also when it was interrupted by a signal, timed out, or
// the guest panicked.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "sys/env.h"

namespace vmshare::vm {

struct RunRequest {
  std::string root = "/run/vmshare";    // vmshare's host root
  std::string shared_fs = "virtio-fs";  // or "none" (files are copied into the guest)
  // Kubelet root: configmap/secret/projected/downward-API volumes below it
  // are copied into the guest and kept in sync while the process runs.
  std::string kubelet_root = "/var/lib/kubelet";
  std::string accel = "auto";  // auto | kvm | tcg
  std::string guest_dir;       // empty: FindGuestImage's default
  std::string console_log;     // non-empty: keep the guest console in this file
  int memory_mb = 512;
  int cpus = 1;
  // 0: no limit. Otherwise the whole run (boot included) must end within it;
  // at the deadline the guest is killed and the run fails.
  std::chrono::seconds timeout{0};
  std::chrono::milliseconds boot_timeout{60000};

  // The container.
  std::string rootfs;  // absolute host path
  bool rootfs_readonly = false;
  std::vector<std::string> args;  // args[0] is looked up in the guest's PATH
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Mounts the host shares (bind mounts); `read_only` or an "ro" option
  // makes them read-only in the guest.
  std::vector<Mount> host_mounts;
  // Mounts the guest makes itself (proc, tmpfs, ...), passed through.
  std::vector<Mount> guest_mounts;

  // The sandbox id; empty: NewRunSandboxId(). A caller that persists the
  // run's state (cli/run.cc) picks it first.
  std::string sandbox_id;
  // See LaunchConfig::on_process.
  std::function<Status(std::string_view role, pid_t pid)> on_process;

  // Called on the calling thread as the run moves on: "preparing", ...
  std::function<void(std::string_view)> on_progress;
  // Called with the process's output as it arrives (stream 1 = stdout,
  // 2 = stderr), from reader threads; calls for one stream are in order.
  std::function<void(int stream, std::string_view data)> on_output;
  // signalfd for SIGINT/SIGTERM/SIGHUP (Env::SignalFd), made before any
  // thread started; nullptr: signals are not watched.
  const sys::Fd* signal_fd = nullptr;
};

// Nanoseconds spent in each phase, from the start of RunContainer.
struct RunTimings {
  int64_t prepare = 0;          // share tree
  int64_t image = 0;            // find the image, choose the accelerator
  int64_t boot = 0;             // virtiofsd + QEMU until Health/Check, CreateSandbox
  int64_t share = 0;            // rootfs and mounts
  int64_t create = 0;           // CreateContainer + StartContainer
  int64_t exec = 0;             // StartContainer's return to the first output byte
  int64_t run = 0;              // StartContainer's return to the process's exit
  int64_t teardown = 0;         // remove, unshare, shutdown, cleanup
  int64_t to_first_output = 0;  // start of RunContainer to the first byte
  std::string accel;            // what was used
};

struct RunOutcome {
  int exit_code = 0;  // the process's; 128 + n when killed by signal n
  RunTimings timings;
};

// Runs the request. Errors: the first failure of the run (a teardown
// failure only when the run itself succeeded); kUnavailable "interrupted by
// SIGTERM" when a signal ended it; kDeadlineExceeded when the timeout did.
Result<RunOutcome> RunContainer(sys::Env* env, const RunRequest& request);

// The id `vmshare run` gives its sandbox: "run-<pid>-<hex>".
std::string NewRunSandboxId(sys::Env* env);

}  // namespace vmshare::vm
