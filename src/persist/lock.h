// SandboxLock: a shared or exclusive lock on one sandbox's state directory.
//
// Across processes it is flock(2) on the directory, as Kata's persist/fs
// does, so a Kata runtime and vmshare exclude each other. flock alone does not
// work inside one process: two exclusive locks taken through separate open
// files of the same directory would deadlock the second caller, so a
// process-wide table keyed by the directory's (dev, inode) first grants the
// lock among this process's threads; only then is the flock taken, and it
// therefore only ever waits for other processes.
//
// The lock is released when the SandboxLock is destroyed (or Release()d).
// A SandboxLock is move-only; destroying it is thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::persist {

enum class LockMode { kShared, kExclusive };

class SandboxLock {
 public:
  SandboxLock() = default;
  ~SandboxLock() { Release(); }
  SandboxLock(SandboxLock&& o) noexcept { *this = std::move(o); }
  SandboxLock& operator=(SandboxLock&& o) noexcept;
  SandboxLock(const SandboxLock&) = delete;
  SandboxLock& operator=(const SandboxLock&) = delete;

  bool held() const { return fd_.valid(); }
  LockMode mode() const { return mode_; }
  void Release();

  // Locks the directory `dir_path` (which must exist). `what` names it in
  // errors (e.g. `sandbox "s1"`). With `nonblocking`, a conflicting holder
  // (this process or another) gives kBusy at once; otherwise waits.
  static Result<SandboxLock> Acquire(sys::Env* env, const std::string& dir_path,
                                     const std::string& what, LockMode mode, bool nonblocking);

 private:
  sys::Fd fd_;
  LockMode mode_ = LockMode::kShared;
  dev_t dev_ = 0;
  uint64_t ino_ = 0;
};

}  // namespace vmshare::persist
