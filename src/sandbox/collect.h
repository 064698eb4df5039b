// Collect: garbage collection of one sandbox, what `vmshare gc` (and the
// shim's `delete`) does after a crash.
//
// Everything a sandbox owns on the host is named by its id (layout.h):
//   <root>/sbs/<sid>/         persisted state (and the sandbox lock)
//   <root>/sandboxes/<sid>/   the share tree and every mount vmshare makes
//                             (<share_base>/<sid>/ when the record says so)
//   <root>/vm/<sid>/          a guest's sockets and console log
// plus the host processes recorded in the sandbox state (virtiofsd, qemu).
// The sandbox record is saved before the tree is built, and each share is
// recorded before it is mounted, so these are exactly what a dead vmshare
// can have left behind.
//
// Liveness: every vmshare command that changes a sandbox holds its
// exclusive flock (persist::SandboxLock) for as long as it runs, and the
// kernel drops a flock when its holder dies, however it dies. So gc takes
// that lock with LOCK_NB: if someone holds it, a live vmshare owns the
// sandbox and gc leaves it alone; if gc gets it, no command can start on
// the sandbox until gc is done. (A lock never outlives its holder, unlike a
// recorded pid, which can be recycled.) A `run-<pid>-...` sandbox with no
// state is skipped while that pid lives, since `vmshare run` keeps none.
//
// Collection, in order: kill each recorded process that is still the same
// process (pid + start time, signalled through a pidfd); detach every mount
// whose mount point is in <root>/sandboxes/<sid> (found in the mount table,
// opened with openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS from the tree,
// checked to be that mount's root, and unmounted through the fd, so no
// symlink, planted before or during gc, redirects it); remove the tree and
// the vm directory without ever crossing a mount boundary (each directory's
// device and mount id are compared with its parent's); then remove the
// state. A torn or missing state only loses the process records; the sweep
// of the sandbox's own directories is the same. Nothing outside those three
// directories is touched: a recorded host path elsewhere is reported, never
// unmounted. Running it again finds nothing to do.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::sandbox {

struct GcAction {
  std::string action;  // "kill", "unmount", "remove", "remove-state", "ignore"
  std::string object;  // what it applies to (a path, "qemu pid 123", ...)
  std::string detail;  // why, or why not
  bool done = false;   // false in a dry run, or when it failed
  std::string error;   // set when it failed
};

struct GcReport {
  std::string sandbox_id;
  // "recorded", "missing" (no state file: swept) or "unreadable: <why>"
  // (torn or invalid: swept).
  std::string state;
  std::string skipped;  // non-empty: left alone, and why
  std::vector<GcAction> actions;
  Status status;  // the first failure
};

// Collects sandbox `sid` under `root` (or, with dry_run, only reports what it
// would do, changing nothing). REQUIRES: sid is a valid id.
GcReport CollectSandbox(sys::Env* env, const std::string& root, const std::string& sid, bool dry_run);

// Every valid sandbox id that has a state directory, a share tree (in the
// default base) or a vm directory under `root`, sorted. Entries that are not valid ids are not
// vmshare's and are left out.
Result<std::vector<std::string>> GcCandidates(sys::Env* env, const std::string& root);

}  // namespace vmshare::sandbox
