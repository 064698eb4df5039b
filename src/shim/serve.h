// The shim's three lives: `start` (make the socket, start the daemon, tell
// containerd where it is), the daemon (`serve`: the Task service until the
// last Shutdown) and `delete` (clean up after a dead daemon).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "shim/backend.h"
#include "shim/config.h"
#include "shim/main_loop.h"
#include "shim/shim_args.h"
#include "shim/shim_log.h"
#include "sys/env.h"

namespace vmshare::shim {

// What the daemon and `delete` do with sandboxes: the real ones
// (sandbox_backend.h) in the shim, fakes in the protocol tests.
struct SandboxOps {
  std::function<std::unique_ptr<SandboxBackend>(const ShimConfig&, MainLoop*, ShimLog*)>
      make_backend;
  // Collects what a dead shim left of a sandbox; OK when nothing.
  std::function<Status(const ShimConfig&, const std::string& sandbox_id)> collect;
};

// Each returns the process exit code; `start` and `delete` print what
// containerd reads on stdout and errors on stderr.
int RunStart(sys::Env* env, const ShimArgs& args, const std::string& self);
int RunServe(sys::Env* env, const ShimArgs& args, const SandboxOps& ops);
int RunDelete(sys::Env* env, const ShimArgs& args, const SandboxOps& ops);
// The whole program: parses argv and runs the action.
int ShimMain(int argc, char** argv, const SandboxOps& ops);

}  // namespace vmshare::shim
