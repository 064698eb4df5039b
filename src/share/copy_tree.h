// TreeCopier: sends a host file tree into the guest through the agent's
// CopyFile, Kata's copy protocol (kata-agent-protocol.md §5).
//
// Regular files, directories and symlinks are sent with their full st_mode
// (type bits included, so the agent knows what to create), uid and gid;
// symlinks as links (target in `data`), never followed. Regular files are
// streamed in 1 MiB chunks at increasing int64 offsets, so any size works and
// no file is held in memory whole. A directory is sent before its entries.
// Sockets, fifos and devices are skipped.
//
// After CopyFile, vmshare's own SetFileAttrs (Kata's CopyFileRequest has no
// times or xattrs) gives every entry its atime, mtime and xattrs (a
// directory after its entries, so their creation does not touch its mtime);
// a regular file with more links than one is sent once and then linked
// (vmshare's Link) at its other names, so hard links stay hard links. The
// agent sets the owner before the mode, so setuid/setgid bits survive.
//
// The agent chowns an entry's parent to the entry's owner (Kata semantics);
// a directory with an entry owned by someone else is therefore sent again
// after its entries, which restores its own owner (and so on upwards).
//
// Not thread-safe; one copier per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "agent/client.h"
#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::share {

inline constexpr size_t kCopyChunkBytes = 1 << 20;

struct CopyStats {
  uint64_t bytes = 0;    // file content sent
  uint64_t entries = 0;  // files, directories and symlinks sent
  uint64_t skipped = 0;  // special files left out
};

class TreeCopier {
 public:
  using Progress = std::function<void(const std::string& path, uint64_t bytes)>;

  // REQUIRES: env and agent outlive the copier.
  TreeCopier(sys::Env* env, agent::AgentClient* agent, Progress progress = {})
      : env_(env), agent_(agent), progress_(std::move(progress)) {}

  // Copies what `source` (an O_PATH fd, as safe_resolve.h opens it) refers
  // to, and everything below it, to the guest path `dest`. `host_path`
  // names it in messages and progress. Returns false, sending nothing, when
  // the source itself is a socket, fifo or device. A file that shrinks while
  // it is read fails with kFailedPrecondition naming it.
  Result<bool> Copy(const sys::Fd& source, const std::string& host_path, const std::string& dest);

  // The same for the entry `name` of the host directory `dir` (never
  // followed).
  Result<bool> CopyEntry(const sys::Fd& dir, const std::string& name, const std::string& host_path,
                         const std::string& dest);

  const CopyStats& stats() const { return stats_; }

 private:
  // Copies an entry already stat'ed; `opened` is an fd of it (O_PATH is fine)
  // for files and directories.
  Status CopyOpened(const sys::Fd& opened, const sys::FileInfo& info, const std::string& host_path,
                    const std::string& dest, int depth);
  Status SendDirectory(const sys::FileInfo& info, const std::string& dest);
  Status SendFile(const sys::Fd& opened, const sys::FileInfo& info, const std::string& host_path,
                  const std::string& dest);
  void Report(const std::string& host_path, bool final);
  // Times (and xattrs, unless a symlink) of an entry CopyFile has written.
  Status SendAttrs(const sys::Fd& opened, const sys::FileInfo& info, const std::string& dest);
  // Links `dest` to an earlier copy of the same inode; false if none.
  Result<bool> LinkToEarlier(const sys::FileInfo& info, const std::string& dest);

  sys::Env* env_;
  agent::AgentClient* agent_;
  Progress progress_;
  CopyStats stats_;
  uint64_t reported_ = 0;
  std::map<std::pair<dev_t, uint64_t>, std::string> links_;  // (dev, ino) -> first dest
};

}  // namespace vmshare::share
