// `vmshare run`'s job: the sandbox layer's phases composed into one run —
// prepare the sandbox, boot its guest, create and start the container while
// streaming its output, wait for it, and tear everything down again whatever
// happened in between (remove the container, shut the guest down, clean the
// sandbox up). After RunJob returns, no process, socket, mount, directory or
// record of the sandbox is left, also when a signal interrupted it, the
// timeout ended it or the guest panicked; only what a teardown step failed
// to remove stays, recorded, for `vmshare gc`.
//
// The run is a sandbox like any other: recorded before anything is made and
// locked for the whole run (gc leaves a locked sandbox alone), its virtiofsd
// and qemu recorded by pid and start time, every mount recorded before it is
// made.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sandbox/guest.h"
#include "sandbox/sandbox.h"
#include "sandbox/spec.h"
#include "sys/env.h"

namespace vmshare::cli {

struct RunJob {
  sandbox::SandboxOptions sandbox;  // root, id, kubelet root, settings (shared_fs)
  sandbox::GuestOptions guest;
  sandbox::ContainerRequest container;  // its id is the sandbox's
  // 0: no limit. Otherwise the whole run (boot included) must end within it;
  // at the deadline the guest is killed and the run is stopped (124).
  std::chrono::seconds timeout{0};
  // Called on the calling thread as the run moves on: "preparing", ...
  std::function<void(std::string_view)> on_progress;
  // Called with the process's output as it arrives (stream 1 = stdout,
  // 2 = stderr), from reader threads; calls for one stream are in order.
  // False: the output has no reader any more (EPIPE); the run is stopped
  // with exit code 141 (128 + SIGPIPE).
  std::function<bool(int stream, std::string_view data)> on_output;
  // signalfd for SIGINT/SIGTERM/SIGHUP (Env::SignalFd), made before any
  // thread started; nullptr: signals are not watched.
  const sys::Fd* signal_fd = nullptr;
  // What the process reads on its stdin until EOF (run: a duplicate of our
  // fd 0); nullptr: nothing, it reads EOF at once. Read on a thread of its
  // own, polled with a wake-up, so an open stdin never holds up the run's
  // end; once the process closed its stdin or exited, the rest is not read.
  const sys::Fd* stdin_fd = nullptr;
};

// Nanoseconds spent in each phase, from the start of RunJob.
struct RunTimings {
  int64_t prepare = 0;          // share tree
  int64_t image = 0;            // find the image, choose the accelerator
  int64_t boot = 0;             // virtiofsd + QEMU until Health/Check, CreateSandbox
  int64_t share = 0;            // rootfs and mounts
  int64_t create = 0;           // CreateContainer + StartContainer
  int64_t exec = 0;             // StartContainer's return to the first output byte
  int64_t run = 0;              // StartContainer's return to the process's exit
  int64_t teardown = 0;         // remove, unshare, shutdown, cleanup
  int64_t to_first_output = 0;  // start of RunJob to the first byte
  std::string accel;            // what was used
};

struct RunOutcome {
  // The process's exit code, 128 + n when signal n killed it. When the run
  // was stopped (`stopped` set): 128 + n for our signal n, 124 for the
  // timeout.
  int exit_code = 0;
  // OK, or why the run was stopped before the process ended: kUnavailable
  // "run: interrupted by SIGTERM" when a signal ended it, or "run: the
  // reader of stdout went away" (141) an output's reader, kDeadlineExceeded
  // "run: timed out after N s" when the timeout did. The teardown ran.
  Status stopped;
  RunTimings timings;
};

// Errors: the first failure of the run (a teardown failure only when the run
// itself succeeded and was not stopped). A signal or the timeout is not an
// error here but RunOutcome::stopped.
Result<RunOutcome> RunInGuest(sys::Env* env, const RunJob& job);

}  // namespace vmshare::cli
