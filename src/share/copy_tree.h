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
// Small entries go in batches: directories, symlinks and regular files of
// one link and at most kBatchFileBytes, each with its SetFileAttrs, are
// steps of vmshare Batch calls (at most kBatchBytes of content and
// kMaxBatchOps steps each), which the agent runs in order; so a tree of
// small files costs a call per ~1 MiB rather than two per file. A
// directory whose entries all went in the same batch has its second
// CopyFile and its SetFileAttrs at the end of that batch. Bigger files
// (streamed as below) and hard links are calls of their own.
//
// The calls are pipelined (agent/call_window.h): up to WindowLimits of them
// in flight on the one channel, each held until what it needs is done. A
// directory's entries go after the call that makes it; a file's
// SetFileAttrs after its content; a multi-chunk file's first chunk (which
// truncates) before the others and its last chunk (which completes it)
// after all the others; a hard link after its target's attributes; a
// directory's second CopyFile and SetFileAttrs after everything below it.
// The first failure in that sequential order stops the copy and is returned
// (naming the guest path, as the agent's messages do; in a batch, with the
// step); every call sent has been answered when Copy returns.
//
// Not thread-safe; one copier per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/call_window.h"
#include "agent/client.h"
#include "agent/vmshare_wire.h"
#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::share {

inline constexpr size_t kCopyChunkBytes = 1 << 20;
// Regular files up to this size go in batches.
inline constexpr uint64_t kBatchFileBytes = 256 << 10;
// Content (file data, link targets, xattr values) in one batch, at most.
inline constexpr uint64_t kBatchBytes = 1 << 20;

// The CopyFile request that makes `dest` like the host entry `info` (full
// st_mode, owner; parents the agent makes get 0750), without content.
agent::CopyFileRequest CopyHeader(const sys::FileInfo& info, const std::string& dest);

// The SetFileAttrs request giving `dest` the times of `info` and the xattrs
// of `opened` (the entry, already open; null for a symlink, which has none).
Result<agent::SetFileAttrsRequest> CopyAttrs(sys::Env* env, const sys::Fd* opened,
                                             const sys::FileInfo& info, const std::string& dest);

struct CopyStats {
  uint64_t bytes = 0;    // file content sent
  uint64_t entries = 0;  // files, directories and symlinks sent
  uint64_t skipped = 0;  // special files left out
};

class TreeCopier {
 public:
  using Progress = std::function<void(const std::string& path, uint64_t bytes)>;

  // REQUIRES: env and agent outlive the copier.
  TreeCopier(sys::Env* env, agent::AgentClient* agent, Progress progress = {},
             agent::WindowLimits limits = {})
      : env_(env), agent_(agent), progress_(std::move(progress)), limits_(limits) {}

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
  using Ticket = agent::CallWindow::Ticket;
  // As VmshareClient's: vmshare.VmshareService calls.
  static constexpr std::chrono::milliseconds kVmshareTimeout{60000};
  struct Linked {
    std::string dest;  // the first name sent
    Ticket done = 0;   // the call that finished it (0 once a Copy returned)
  };
  // Copies an entry already stat'ed; `opened` is an fd of it, open for
  // reading if a file or directory (O_PATH if a symlink). `parent` is the
  // call creating its parent.
  Status CopyOpened(const sys::Fd& opened, const sys::FileInfo& info, const std::string& host_path,
                    const std::string& dest, int depth, Ticket parent);
  Status CopyDirectory(const sys::Fd& opened, const sys::FileInfo& info,
                       const std::string& host_path, const std::string& dest, int depth,
                       Ticket parent);
  Result<Ticket> SendCopy(agent::CopyFileRequest r, Ticket after);
  // Returns the call that completes the file.
  Result<Ticket> SendFile(const sys::Fd& opened, const sys::FileInfo& info,
                          const std::string& host_path, const std::string& dest, Ticket parent);
  void Report(const std::string& host_path, bool final);
  Result<Ticket> SendAttrs(const agent::SetFileAttrsRequest& r, Ticket after);
  // Sends the directories' SetFileAttrs kept back, once everything sent
  // before is done.
  Status FlushDirAttrs();
  // Links `dest` to an earlier copy of the same inode; false if none.
  Result<bool> LinkToEarlier(const sys::FileInfo& info, const std::string& dest, Ticket parent);

  // Batches (see the header). While steps wait in batch_, nothing else is
  // sent (Send flushes first), so the batch's ticket is window_->next().
  struct OpenBatch {
    std::vector<agent::BatchOp> ops;
    uint64_t bytes = 0;
    Ticket after = 0;  // the latest call outside the batch that it needs
  };
  // A regular file of one link and at most kBatchFileBytes.
  static bool Batchable(const sys::FileInfo& info) {
    return info.is_reg() && info.nlink < 2 && info.size <= kBatchFileBytes;
  }
  // The ticket the steps get that are appended next (sending what is there
  // first when `more_bytes` or two more steps would not fit); they will run
  // after `parent`.
  Result<Ticket> BatchFor(uint64_t more_bytes, Ticket parent);
  // True while `t` is the open batch, not yet sent.
  bool InOpenBatch(Ticket t) const { return !batch_.ops.empty() && t == window_->next(); }
  Status FlushBatch();
  // Every call goes through here: sends the open batch first.
  Result<Ticket> Send(const char* service, const char* method, std::string payload,
                      std::chrono::milliseconds timeout, Ticket after);
  Status BatchFile(const sys::Fd& opened, const sys::FileInfo& info, const std::string& host_path,
                   const std::string& dest, Ticket parent);
  Status BatchSymlink(const sys::Fd& opened, const sys::FileInfo& info, const std::string& dest,
                      Ticket parent);

  sys::Env* env_;
  agent::AgentClient* agent_;
  Progress progress_;
  agent::WindowLimits limits_;
  agent::CallWindow* window_ = nullptr;  // during Copy
  CopyStats stats_;
  uint64_t reported_ = 0;
  std::map<std::pair<dev_t, uint64_t>, Linked> links_;  // by (dev, ino)
  // Directories done, whose times are set in a batch (FlushDirAttrs): no
  // later call changes them, and so a directory costs no round trip.
  std::vector<agent::SetFileAttrsRequest> dir_attrs_;
  OpenBatch batch_;
};

}  // namespace vmshare::share
