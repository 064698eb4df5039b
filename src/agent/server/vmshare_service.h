// VmshareService: vmshare.VmshareService in the guest agent (proto/
// vmshare.proto): Rename, Remove, MountTmpfs and ReadDir, the operations the
// host's volume watcher needs beyond Kata's CopyFile.
//
// Confinement is CopyFile's (copy_file.h): a path must be kGuestSharedDir
// followed by at least one component and stands for the same place under
// `shared_root`; it is resolved there with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so ".." or a symlink among
// the parents is refused (kInvalidArgument / kPermissionDenied) and nothing
// changes. Final components are never followed: Rename moves a symlink
// itself, Remove removes it. A recursive Remove never leaves the directory
// it was given through a symlink or into another mount (a mount below it
// makes it fail with the mount's path, EBUSY). MountTmpfs is idempotent: a
// directory that already is a mount root is left alone. Batch, Rename,
// Remove and SetFileAttrs run through a BatchApplier (batch_apply.h), which
// resolves each parent directory once per call.
#pragma once

#include <mutex>
#include <string>

#include "agent/server/batch_apply.h"
#include "agent/ttrpc_server.h"
#include "agent/vmshare_wire.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

class VmshareService {
 public:
  // REQUIRES: env outlives the service.
  VmshareService(sys::Env* env, std::string shared_root)
      : env_(env), shared_root_(std::move(shared_root)) {}

  void RegisterOn(TtrpcServer* server);

  Status Rename(const RenameRequest& r);
  Status SetFileAttrs(const SetFileAttrsRequest& r);
  Status Link(const LinkRequest& r);
  Status Remove(const RemoveRequest& r);
  Status MountTmpfs(const MountTmpfsRequest& r);
  Result<ReadDirResponse> ReadDir(const ReadDirRequest& r);
  // Each step as its own call would run it, in order; stops at the first
  // failure, whose error names the step. Batches run one at a time: the
  // copier sends several at once, and in a guest of one vCPU concurrent
  // batches into one directory only contend for its lock (each ran 3-5x
  // longer than alone under TCG).
  Status Batch(const std::vector<BatchOp>& ops);

  // Most entries in one ReadDir reply: far below the 4 MiB frame even with
  // 255-byte names and 4 KiB link targets.
  static constexpr uint32_t kMaxDirEntries = 512;

 private:
  sys::Env* env_;
  std::string shared_root_;
  std::mutex batch_mu_;
  CopyMadeDirs made_dirs_;  // guarded by batch_mu_
};

}  // namespace vmshare::agent
