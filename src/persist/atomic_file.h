// Atomic, durable file replacement and the matching reads (STYLE.md §4).
//
// WriteFileAtomic never writes in place: it writes `<name>.tmp.<pid>` in the
// same directory, fsyncs it, renames it over `<name>` and fsyncs the
// directory, so a crash at any point leaves either the old or the new file.
// A temp file left by a crashed writer is removed by RemoveStaleTempFiles
// (only when the pid in its name is no longer alive, so a live writer in
// another process is never disturbed). Every call goes through the Env.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::persist {

// The suffix of a temp file written by process `pid`: ".tmp.<pid>".
std::string TempSuffix(int pid);

// Replaces dir/name with `data`, atomically and durably. On failure the temp
// file is unlinked and the first error returned; dir/name is unchanged.
// REQUIRES: no other thread of this process writes dir/name concurrently
// (they would share a temp name); callers hold the sandbox lock.
Status WriteFileAtomic(sys::Env* env, const sys::Fd& dir, const std::string& name,
                       std::string_view data);

// Reads dir/name (not following a symlink) up to `limit` bytes. A missing
// file gives kNotFound with err() == ENOENT.
Result<std::string> ReadFileAt(sys::Env* env, const sys::Fd& dir, const std::string& name,
                               size_t limit);

// Removes entries of `dir` named `<anything>.tmp.<pid>` whose pid is not a
// live process (or is unparseable). Returns how many it removed.
Result<int> RemoveStaleTempFiles(sys::Env* env, const sys::Fd& dir);

}  // namespace vmshare::persist
