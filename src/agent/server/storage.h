// StorageManager: the guest side of Kata's Storage list.
//
// Add() mounts one storage by its driver and counts a reference on its mount
// point; a second storage with the same mount point only adds a reference.
// Release() drops one and undoes the mount (or nothing, for `local`) with the
// last. Drivers:
//   virtio-fs  mount source (tag) as virtiofs at mount_point (kept as is when
//              something is mounted there already, e.g. pre-mounted)
//   ephemeral  tmpfs at mount_point (options: size=, mode=, fsgid=N)
//   local      mkdir -p mount_point (mode=<octal>, fsgid=N); nothing mounted
//   bind       bind source onto mount_point ("ro" makes it read-only)
//   blk, mmioblk, scsi
//              source is a device path; waits up to 10 s for it, then mounts
//              it with fstype at mount_point
// Anything else: kInvalidArgument "failed to find the storage handler <d>".
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "sys/env.h"

namespace vmshare::agent {

class StorageManager {
 public:
  explicit StorageManager(sys::Env* env) : env_(env) {}

  Status Add(const Storage& storage);
  Status Release(const std::string& mount_point);
  // Unmounts every storage regardless of references (DestroySandbox); returns
  // the first error after trying them all.
  Status ReleaseAll();
  int RefCount(const std::string& mount_point);

 private:
  struct Entry {
    Storage storage;
    int refs = 0;
    bool mounted_by_us = false;
  };
  Status Mount(const Storage& s, bool* mounted);
  Status Undo(const Entry& e);

  sys::Env* env_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by mount point; GUARDED_BY(mu_)
};

}  // namespace vmshare::agent
