// Host processes of a sandbox in its persisted state (RecordedProcess in
// core/types.h): recorded before they are spawned, updated once they run,
// and matched against /proc by pid plus start time so that a recycled pid
// is never taken for the recorded process.
//
// Order of use by whoever spawns (the vm launcher, through cli/run):
//   RecordProcessIntent(store, sid, "virtiofsd")      before Spawn
//   RecordProcessStarted(store, env, sid, "virtiofsd", pid)  right after
//   RecordProcessExited(store, sid, "virtiofsd")      once reaped
// A crash between Spawn and RecordProcessStarted leaves a "starting" record
// with no pid; the launcher's children die with it (PR_SET_PDEATHSIG), so
// that gap leaks nothing. REQUIRES: the caller holds the sandbox's
// exclusive lock (as for every StateStore write); the sandbox document must
// exist (kNotFound otherwise).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "core/result.h"
#include "core/types.h"
#include "persist/store.h"
#include "sys/env.h"

namespace vmshare::persist {

// The start time of process `pid` in clock ticks after boot: field 22 of
// /proc/<pid>/stat. kNotFound when there is no such process.
Result<uint64_t> ProcessStartTicks(sys::Env* env, pid_t pid);

// True when `p` has a pid and that pid still names the process recorded
// (same start time). A record that is not "running" is never live.
Result<bool> IsSameProcess(sys::Env* env, const RecordedProcess& p);

// Adds or replaces the record of `role` with {role, 0, 0, "starting"}.
Status RecordProcessIntent(StateStore& store, const std::string& sid, const std::string& role);

// Sets the record of `role` to {pid, its start time, "running"}.
Status RecordProcessStarted(StateStore& store, sys::Env* env, const std::string& sid,
                            const std::string& role, pid_t pid);

// Sets the record of `role` to "exited" (gc ignores it from then on).
Status RecordProcessExited(StateStore& store, const std::string& sid, const std::string& role);

}  // namespace vmshare::persist
