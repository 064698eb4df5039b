// Bind mounts by file descriptor, and their removal.
//
// BindByFd clones the source with open_tree(OPEN_TREE_CLONE), sets its
// attributes (private propagation, read-only) on the DETACHED tree with
// mount_setattr, and only then attaches it with move_mount onto the mountpoint
// (by fd, or by name under its parent's fd, never following a symlink): a read-only share is never
// visible read-write, and no path string is resolved twice. Where the new mount API is not
// available (ShareHost::features: an old kernel, or a seccomp profile that refuses it) it falls
// back to mount(2) on /proc/self/fd/N paths, staged in a private directory: bind there, make it
// private, remount read-only, then MS_MOVE onto the mountpoint, so the fallback too shows the share
// only in its final state.
#pragma once

#include <string>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::share {

struct BindSpec {
  bool read_only = false;
  // rbind: include mounts below the source. Read-only then applies to all
  // of them (AT_RECURSIVE).
  bool recursive = false;
};

// Where the legacy fallback stages a bind: a directory that is a private
// mount of its own (MS_MOVE refuses mounts whose parent is shared). Only the
// fallback uses it; with the new mount API `dir` may be null.
struct Staging {
  const sys::Fd* dir = nullptr;  // O_PATH or O_DIRECTORY fd of the directory
  std::string path;              // its path, for unmounting on failure
  std::string name;              // a free name inside it
};

// The mountpoint of a bind: `name` in `parent`, already created (an empty
// directory or file of the source's kind). `fd`, when set, is an O_PATH fd
// of it (a file's O_EXCL create); without one the new mount API moves the
// tree onto the name directly (move_mount never follows a symlink there)
// and the fallback opens it without following one. `path` names it in errors.
struct BindTarget {
  const sys::Fd& parent;
  const std::string& name;
  const sys::Fd* fd = nullptr;
  std::string path;
};

// Binds what `source` refers to onto `target`. `source_name` only names it
// in errors. `source_is_dir` picks the staging entry's kind. `mount_api`
// picks the new mount API or the fallback (ShareHost::features).
// On error nothing stays mounted at the target or in staging.
Status BindByFd(sys::Env* env, bool mount_api, const sys::Fd& source,
                const std::string& source_name, bool source_is_dir, const BindTarget& target,
                const BindSpec& spec, const Staging& staging);

// True when `path` (not followed if a symlink) is the root of a mount;
// false when it is not or does not exist.
Result<bool> IsMountRoot(sys::Env* env, const std::string& path);

// Lazily detaches every mount stacked on `path` (umount2 MNT_DETACH |
// UMOUNT_NOFOLLOW, repeated until the kernel says it is no mount (EINVAL),
// at most 64 times), taking all mounts below each with it. Not a mount, or
// missing: OK.
Status DetachAll(sys::Env* env, const std::string& path);

// Detaches the share at `path` (as DetachAll) and removes its mountpoint (a
// directory or a file), in as few syscalls as the common case allows: one
// detach, one remove; a remove that finds another mount stacked there
// (EBUSY) detaches again. Missing: OK.
Status DetachAndRemoveEntry(sys::Env* env, const std::string& path);

}  // namespace vmshare::share
