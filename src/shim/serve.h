// The shim's three lives: `start` (make the socket, start the daemon, tell
// containerd where it is), the daemon (`serve`: the Task service until the
// last Shutdown) and `delete` (clean up after a dead daemon).
#pragma once

#include "shim/shim_args.h"
#include "sys/env.h"

namespace vmshare::shim {

// Each returns the process exit code; `start` and `delete` print what
// containerd reads on stdout and errors on stderr.
int RunStart(sys::Env* env, const ShimArgs& args, const std::string& self);
int RunServe(sys::Env* env, const ShimArgs& args);
int RunDelete(sys::Env* env, const ShimArgs& args);

}  // namespace vmshare::shim
