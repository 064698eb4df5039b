// BatchTree: the steps that copy a small host tree into the guest, for one
// vmshare Batch call instead of a round trip (or a pipelined window) per
// file. The volume watcher sends a kubelet payload this way, together with
// the ..data switch, so a configmap or secret update reaches the guest in
// one agent round trip.
//
// The steps are what TreeCopier (copy_tree.h) sends, in its order: a
// directory's CopyFile before its entries, a file's content (one chunk)
// before its SetFileAttrs (times, xattrs), a directory sent again after its
// entries when one is owned by someone else (the agent chowns an entry's
// parent to the entry's owner), a directory's SetFileAttrs after all of it.
// A tree that does not fit (more than the byte or step budget, a hard link,
// a special file, deeper than 32) is not for a batch: Append says false and
// appends nothing; the caller copies it with a TreeCopier.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/vmshare_wire.h"
#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::share {

class BatchTree {
 public:
  // REQUIRES: env outlives this.
  BatchTree(sys::Env* env, uint64_t max_bytes, size_t max_ops)
      : env_(env), max_bytes_(max_bytes), max_ops_(max_ops) {}

  // Appends the steps copying `name` in the host directory `dir` (never
  // followed) to the guest path `dest`. False (nothing appended) when the
  // tree is not for a batch; an error when the host tree cannot be read.
  Result<bool> Append(const sys::Fd& dir, const std::string& name, const std::string& dest,
                      std::vector<agent::BatchOp>* ops);

 private:
  // False when over budget or not copyable as one batch.
  Result<bool> AppendEntry(const sys::Fd& dir, const std::string& name, const sys::FileInfo& info,
                           const std::string& dest, int depth, std::vector<agent::BatchOp>* ops);
  bool Fits(const std::vector<agent::BatchOp>& ops, uint64_t more_bytes) const {
    return ops.size() + 2 <= max_ops_ && bytes_ + more_bytes <= max_bytes_;
  }

  sys::Env* env_;
  uint64_t max_bytes_;
  size_t max_ops_;
  uint64_t bytes_ = 0;
};

}  // namespace vmshare::share
