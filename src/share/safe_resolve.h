// Opening host paths the runtime asks us to share, once, as an fd.
//
// Policy (what "resolving without following symlinks out of where they were
// asked to point" means here): the source is a host path given by the
// runtime. It must be absolute. It is opened exactly once, O_PATH, with
// openat2(RESOLVE_NO_MAGICLINKS) so /proc/<pid>/fd/N-style links cannot
// teleport the lookup; symlinks in intermediate components are followed as
// the host filesystem defines them (e.g. /var/run -> /run), but a final
// component that is itself a symlink is REFUSED (kInvalidArgument) rather
// than followed: a source "/srv/vol" that someone swapped for a link to "/"
// must never bind "/". Everything after this point (open_tree, mount(2)
// through /proc/self/fd/N) works on the fd, never re-resolving the string.
#pragma once

#include <string>

#include "core/result.h"
#include "share/share_host.h"
#include "sys/env.h"

namespace vmshare::share {

struct OpenedSource {
  sys::Fd fd;          // O_PATH
  sys::FileInfo info;  // of what fd refers to
};

// Opens `path` as described above and applies the host guard
// (host_guard.h) to it. `what` names it in errors ("mount source",
// "rootfs", ...). A missing path is kNotFound naming it. Where openat2 is
// not available (ShareHost::features) it opens with openat(O_NOFOLLOW),
// which still guards the final component. Three syscalls: open, statx,
// fstatfs.
Result<OpenedSource> OpenSourceNoFollow(ShareHost& host, std::string_view what,
                                        const std::string& path);

// Opens (O_PATH) the entry `name` in directory `dir`, refusing symlinks and
// anything that is not a single component. Used for our own mountpoints.
Result<sys::Fd> OpenEntryNoFollow(sys::Env* env, const sys::Fd& dir, const std::string& name);

// The same for an entry that must be a directory: one openat with
// O_DIRECTORY | O_NOFOLLOW, which refuses a symlink by itself (ENOTDIR).
Result<sys::Fd> OpenDirEntryNoFollow(sys::Env* env, const sys::Fd& dir, const std::string& name);

}  // namespace vmshare::share
