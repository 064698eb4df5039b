// Path helpers for the guest agent: splitting untrusted relative paths and
// creating directories/files inside a root without leaving it.
//
// Every lookup goes through openat2 relative to the root fd with the caller's
// resolve flags (RESOLVE_IN_ROOT at least), so neither ".." nor a symlink in
// the tree can reach outside it. Creation happens with mkdirat/openat on the
// already-resolved parent fd, so the final component is never followed.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::agent {

// A guest path inside the shared root: never out of it, no symlink followed.
inline constexpr uint64_t kResolveInSharedRoot =
    sys::kResolveInRoot | sys::kResolveNoSymlinks | sys::kResolveNoMagiclinks;
// Below a directory being removed: never out of it, never into a mount.
inline constexpr uint64_t kResolveBelow = sys::kResolveBeneath | sys::kResolveNoSymlinks |
                                          sys::kResolveNoMagiclinks | sys::kResolveNoXdev;

// Splits "a//b/./c" into {"a","b","c"}. A ".." component is refused with
// kInvalidArgument naming `what` (e.g. the request path).
Result<std::vector<std::string>> SplitRelative(std::string_view path, std::string_view what);

std::string JoinComponents(const std::vector<std::string>& parts, size_t n);

// Opens (O_PATH | O_DIRECTORY) the directory named by the first n
// components under root, creating the missing ones with `mode`. n == 0 opens
// the root itself.
Result<sys::Fd> MkdirAllInRoot(sys::Env* env, const sys::Fd& root,
                               const std::vector<std::string>& parts, size_t n, mode_t mode,
                               uint64_t resolve);

// Makes sure `parts` names a directory (is_dir) or a file under root,
// creating parents (0755) and the entry itself (dir 0755, empty file 0644)
// when missing, and returns an O_PATH fd of it, resolved in root.
Result<sys::Fd> EnsureInRoot(sys::Env* env, const sys::Fd& root,
                             const std::vector<std::string>& parts, bool is_dir);

// mkdir -p of an absolute guest path the host named (not container data).
Status MkdirAll(sys::Env* env, const std::string& path, mode_t mode);

}  // namespace vmshare::agent
