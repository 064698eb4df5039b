// The SandboxBackend over the sandbox layer (sandbox/): the real one.
//
// Boot prepares the sandbox (share tree, persisted state, lock) and boots
// its guest; CreateContainer shares a container's rootfs and bind mounts
// (recorded before they are mounted) and creates it in the guest; the
// process calls go to the guest agent; Shutdown tears the guest down and
// cleans the sandbox up. Boot and Shutdown run on the MainLoop thread (see
// main_loop.h).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "shim/backend.h"
#include "shim/config.h"
#include "shim/main_loop.h"
#include "shim/shim_log.h"
#include "sys/env.h"

namespace vmshare::shim {

// REQUIRES: env, loop and log outlive the backend.
std::unique_ptr<SandboxBackend> MakeSandboxBackend(sys::Env* env, const ShimConfig& config,
                                                   MainLoop* loop, ShimLog* log);

// What `delete` does for a dead shim: the sandbox layer's gc of that one
// sandbox (kills its recorded processes, unmounts, removes its state).
// OK when there is nothing to collect, or a live process holds the
// sandbox (gc leaves it alone).
Status CollectSandbox(sys::Env* env, const ShimConfig& config, const std::string& sandbox_id);

}  // namespace vmshare::shim
