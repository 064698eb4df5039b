// StateStore: sandbox and container state on disk, in Kata's layout.
//
//   <state-root>/<sid>/persist.json         the sandbox (schema.h)
//   <state-root>/<sid>/<cid>/persist.json   one per container
//
// Directories are 0700 and files 0600, as Kata's persist/fs makes them. Every
// write is atomic and durable (atomic_file.h); saving a container writes only
// that container's file. Ids are validated before anything is touched. Reads
// tell failures apart: a missing sandbox or container is kNotFound, a torn or
// invalid file is kCorruption naming the file and the parse error, and a file
// that cannot be read is never replaced by a save (the save fails instead).
// Temp files left by crashed writers are removed lazily: when a writer takes
// the exclusive lock (SweepTempFiles), never by a load. They are harmless
// until then (nothing reads them; a writer with the same pid replaces its own).
//
// Concurrency: writers of a sandbox hold Lock(sid, kExclusive), readers
// Lock(sid, kShared); the store itself does not lock, so callers choose the
// scope. A StateStore has no mutable state and may be shared by threads, but
// REQUIRES: at most one thread of a process saves a given file at a time
// (they would share its temp name); holding the exclusive lock ensures it.
// The sweep is safe against live writers: a temp file is only removed once the
// pid in its name is dead, so a live writer elsewhere is never disturbed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "persist/lock.h"
#include "sys/env.h"

namespace vmshare::persist {

inline constexpr char kPersistFile[] = "persist.json";

// A sandbox with all its containers, as loaded.
struct SandboxRecord {
  SandboxState sandbox;
  std::map<std::string, ContainerState> containers;  // by container id
};

class StateStore {
 public:
  // Does not touch the filesystem; `state_root` is created on first save.
  // `env` is not owned and must outlive the store.
  StateStore(sys::Env* env, std::string state_root);

  const std::string& state_root() const { return root_; }
  // <state-root>/<sid>. REQUIRES: sid is valid.
  std::string SandboxDir(const std::string& sid) const { return root_ + "/" + sid; }

  // Writes the sandbox document, creating the state root and the sandbox
  // directory as needed. Unknown keys of the document it replaces are kept.
  Status SaveSandbox(const std::string& sid, const SandboxState& state);

  // Writes only <sid>/<cid>/persist.json (creating <cid>/). kNotFound when the
  // sandbox directory does not exist.
  Status SaveContainer(const std::string& sid, const std::string& cid, const ContainerState& state);

  // The sandbox and every container directory holding a persist.json (as Kata
  // does, a container directory without one is skipped).
  Result<SandboxRecord> LoadSandbox(const std::string& sid);

  Result<ContainerState> LoadContainer(const std::string& sid, const std::string& cid);

  // Only the sandbox document (no container is read). kNotFound when the
  // sandbox has none.
  Result<SandboxState> LoadSandboxState(const std::string& sid);

  // Removes <sid>/<cid>/ (and its file). OK when it does not exist.
  Status RemoveContainer(const std::string& sid, const std::string& cid);

  // Removes <sid>/ recursively without crossing into another mount (a mount
  // found inside gives kFailedPrecondition and stops). OK when missing.
  Status DestroySandbox(const std::string& sid);

  // The names of the directories under the state root that are valid sandbox
  // ids, sorted. Empty when the state root does not exist.
  Result<std::vector<std::string>> ListSandboxes();

  // Locks the sandbox directory (creating it, and the state root, when
  // missing, so a new sandbox can be locked before its first save). An
  // exclusive lock then sweeps stale temp files (SweepTempFiles).
  Result<SandboxLock> Lock(const std::string& sid, LockMode mode, bool nonblocking = false);

  // Removes the temp files of dead writers in <sid>/ and every <sid>/<cid>/
  // (one directory read each). OK when the sandbox does not exist.
  Status SweepTempFiles(const std::string& sid);

 private:
  Result<sys::Fd> OpenSandboxDir(const std::string& sid);
  Status EnsureSandboxDir(const std::string& sid);

  sys::Env* env_;
  std::string root_;
};

}  // namespace vmshare::persist
