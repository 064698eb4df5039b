// Choosing QEMU's accelerator: `--accel auto|kvm|tcg`.
//
// "auto" uses KVM only when it actually runs a guest: on nested hosts
// /dev/kvm opens and QEMU starts, yet the guest kernel hangs early. So the
// probe boots the real guest kernel under KVM without an initramfs (it
// panics at once, and panic=-1 with -no-reboot makes QEMU exit) and calls
// KVM usable only if QEMU exits cleanly within the timeout.
#pragma once

#include <chrono>
#include <string>

#include "core/result.h"
#include "sys/env.h"
#include "vm/guest_image.h"

namespace vmshare::vm {

struct AccelProbe {
  std::string qemu_binary = "qemu-system-x86_64";
  std::string kernel;  // the guest kernel to probe with
  std::chrono::milliseconds timeout{3000};
  // When set, the probe's answer is kept in this file ("kvm" or "tcg") and
  // reused, so a host pays for the probe once per boot (put it on tmpfs).
  std::string cache_file;
};

// "kvm" or "tcg" for `mode`: "tcg" and "kvm" are returned as they are ("kvm"
// fails with kFailedPrecondition when /dev/kvm cannot be opened); "auto"
// probes. Anything else is kInvalidArgument.
Result<std::string> ResolveAccel(sys::Env* env, const std::string& mode, const AccelProbe& probe);

// Runs the probe described above (no cache). True when KVM booted the kernel.
bool KvmRunsGuest(sys::Env* env, const AccelProbe& probe);

}  // namespace vmshare::vm
