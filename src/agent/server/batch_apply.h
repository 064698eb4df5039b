// BatchApplier: the guest side of vmshare.VmshareService/Batch, and of its
// single Rename, Remove and SetFileAttrs calls.
//
// Each step has the outcome it has as its own call (CopyFile as copy_file.h
// says, the others as vmshare_service.h says), confined the same way: a path
// is kGuestSharedDir plus at least one component, ".." is refused, and
// parents are resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS) from the shared root, so a symlink among them is
// refused (kPermissionDenied) and the final component is never followed.
//
// What makes a batch cheap in a guest where every syscall is dear (TCG):
//   - the shared root is opened once, and each parent directory is resolved
//     once and kept open for the later steps below it; a step that renames,
//     removes or replaces an entry forgets every directory kept at or below
//     it, so a kept directory is always what its path names now;
//   - in a directory a batch created (this one, or an earlier one whose
//     directories the caller's CopyMadeDirs remembers by inode), a file
//     copied in one chunk under a new name is created there directly
//     (O_EXCL; an existing name still goes through a temp file and a
//     rename), the way the kubelet fills its new timestamped directory
//     before ..data points at it (until the step ends, the file is visible
//     there half written);
//   - a file's times, when its SetFileAttrs step (without xattrs) follows
//     its CopyFile step, are set on the fd the copy still holds, not by a
//     second lookup of its name;
//   - each step tries the call that succeeds in the usual case first (mkdir,
//     symlink, rename over the old name, unlink or descend by entry type) and
//     handles the unusual case from its error, instead of probing first;
//   - the immediate parent is chowned only when this batch has not already
//     given it that owner.
// Errors name the step's operation and path. Not thread-safe: one applier
// per call.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/messages.h"
#include "agent/vmshare_wire.h"
#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::agent {

// The directories batches created, by device and inode, kept across the
// batches of one copy (a tree of more than one batch). Not thread-safe.
class CopyMadeDirs {
 public:
  void Add(const sys::FileInfo& dir);
  bool Contains(const sys::FileInfo& dir) const { return ids_.contains({dir.dev, dir.ino}); }
  bool empty() const { return ids_.empty(); }

 private:
  // Bounded: past it the set starts over, which only costs later batches
  // the direct create.
  static constexpr size_t kMax = 1 << 16;
  std::set<std::pair<uint64_t, uint64_t>> ids_;
};

class BatchApplier {
 public:
  // REQUIRES: env, and made_dirs when not null, outlive the applier.
  BatchApplier(sys::Env* env, std::string shared_root, CopyMadeDirs* made_dirs = nullptr)
      : env_(env), shared_root_(std::move(shared_root)), made_dirs_(made_dirs) {}

  // The steps in order; stops at the first failure, whose error names the
  // step ("batch step i of n").
  Status Run(const std::vector<BatchOp>& ops);

  Status CopyFile(const CopyFileRequest& r);
  Status Rename(const RenameRequest& r);
  Status Remove(const RemoveRequest& r);
  Status SetFileAttrs(const SetFileAttrsRequest& r);

 private:
  // A directory kept open, by its path relative to the shared root.
  struct Dir {
    sys::Fd fd;
    bool fresh = false;          // made by this batch (or one CopyMadeDirs knows)
    std::set<std::string> made;  // names this batch made, or began, in it
    bool owner_known = false;    // this batch chowned it to uid:gid
    uid_t uid = 0;
    gid_t gid = 0;
    std::optional<mode_t> mode;  // its permission bits, where known
  };
  // A step's entry: the components of its path below the shared root.
  struct Target {
    std::vector<std::string> parts;
    std::string rel;     // parts joined
    std::string parent;  // parts but the last, joined ("" for the root)
    const std::string& name() const { return parts.back(); }
  };

  Result<Target> Parse(const std::string& op, const std::string& path) const;
  // The shared root, opened on first use; `create` makes it when missing.
  Result<const sys::Fd*> Root(bool create);
  // The parent of `t`, kept open; `create` makes the missing directories
  // with dir_mode (CopyFile).
  Result<Dir*> Parent(const std::string& op, const std::string& path, const Target& t, bool create,
                      mode_t dir_mode);
  // Forgets the kept directories at or below `rel`.
  void Forget(const std::string& rel);

  Status CopyDirectory(Dir& parent, const Target& t, const CopyFileRequest& r);
  Status CopySymlink(Dir& parent, const Target& t, const CopyFileRequest& r);
  Status CopyRegular(Dir& parent, const Target& t, const CopyFileRequest& r);
  // The regular file through its temp file, as a single CopyFile call does.
  Status CopyThroughTemp(Dir& parent, const Target& t, const CopyFileRequest& r);
  Status RemoveTree(const sys::Fd& dir, const std::string& name, unsigned char type, int depth);
  // True when a file this process creates in `parent` is owned by uid:gid
  // already (no chown needed).
  bool CreatesAs(const Dir& parent, uid_t uid, gid_t gid);
  // Sets r's times on the file the previous step created, when it is r's
  // path and r has no xattrs; false when it is not.
  Result<bool> SetTimesOnLastFile(const SetFileAttrsRequest& r);

  sys::Env* env_;
  std::string shared_root_;
  CopyMadeDirs* made_dirs_;
  std::optional<std::pair<uid_t, gid_t>> creator_;  // GetEuid, GetEgid
  sys::Fd root_;
  std::map<std::string, Dir> dirs_;
  // The regular file the previous step created directly, still open.
  struct LastFile {
    std::string path;
    sys::Fd fd;
  } last_file_;
};

}  // namespace vmshare::agent
