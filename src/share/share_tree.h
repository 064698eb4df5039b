// The sandbox share tree on the host and the mounts that make it work.
//
//   <root>/sandboxes/<sid>/mounts/   a bind of itself, its own shared peer
//                                    group: shares are attached here
//   <root>/sandboxes/<sid>/shared/   read-only bind of mounts/, a slave of
//                                    it: what virtiofsd exports
//   <root>/sandboxes/<sid>/private/  a private bind of itself: staging for
//                                    the legacy mount(2) fallback, made only
//                                    where the new mount API is unavailable
//
// Because mounts/ is its own peer group and shared/ its slave, a share
// attached under mounts/ appears under shared/ (and in every mount
// namespace that copied shared/ or mounts/ as a slave, e.g. virtiofsd's)
// whatever the propagation of the host's "/" is. shared/ is read-only only
// at its top mount (not recursively), so each share below it keeps its own
// read-only or read-write flag; the guest therefore cannot create files in
// shared/ itself but can write into read-write shares.
#pragma once

#include <string>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::share {

struct ShareTreePaths {
  std::string sandboxes;  // <root>/sandboxes
  std::string sandbox;    // <root>/sandboxes/<sid>
  std::string mounts;
  std::string shared;
  std::string private_dir;

  // <root>/sandboxes/<sid>, or <share_base>/<sid> when share_base is not
  // empty (Kata's layout). The one place that spells the tree's location.
  // REQUIRES: root (and share_base, if set) absolute, sandbox_id validated.
  static ShareTreePaths For(const std::string& root, const std::string& sandbox_id,
                            const std::string& share_base = "");
};

// mkdir -p of an absolute path; every existing component must be a
// directory (not a symlink). New directories get `mode`.
Status MakeDirs(sys::Env* env, const std::string& path, mode_t mode);

// Builds the tree (directories and the self/cross binds; private/ only when
// !mount_api, see ShareHost::features). Idempotent: each mount is made only
// if its directory is not already a mount root.
Status BuildShareTree(sys::Env* env, bool mount_api, const ShareTreePaths& paths);

// Detaches shared/ and mounts/ (with everything under it), once each
// (RemoveShareTree detaches what is stacked below, and private/).
Status DetachShareTree(sys::Env* env, const ShareTreePaths& paths);

// Removes the sandbox directory after DetachShareTree: three rmdirs when the
// tree is as Prepare left it with the new mount API (private/, the
// fallback's, only when the sandbox dir is not empty then), else
// RemoveTreeSameMount(paths.sandbox). No tree at all: OK.
Status RemoveShareTree(sys::Env* env, const ShareTreePaths& paths);

// Removes `path` and everything below it without ever crossing into another
// mount: an entry that is a mount root, or lives on another mount than
// `path`'s parent, makes it fail with kFailedPrecondition naming the entry.
// Symlinks are removed, never followed. A missing path is OK.
Status RemoveTreeSameMount(sys::Env* env, const std::string& path);

}  // namespace vmshare::share
