// capi::Sharer: what a vmshare_sharer handle is. The seed's eight
// FilesystemSharer operations on one sandbox, each taking the caller's
// container (and mount) as the ABI's JSON gives them, and, with `persist`,
// recording every share before it is mounted under the sandbox lock (taken
// without waiting: kBusy while another holder has it).
//
// The operations are the sandbox layer's (sandbox/sandbox.h): this class
// only decides which container each call acts on (the record, when there is
// one) and holds the sandbox lock for the call.
//
// Thread safety: one thread at a time (the ABI's contract).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "capi/config.h"
#include "core/result.h"
#include "core/types.h"

namespace vmshare::capi {

class Sharer {
 public:
  // Builds the sharer; touches no file. kInvalidArgument for a bad config.
  static Result<std::unique_ptr<Sharer>> Open(SharerOptions options);
  ~Sharer();

  Status Prepare();
  Status Cleanup();
  // On success `mount` has its host path and mounted flag set.
  Result<std::optional<SharedFile>> ShareFile(Container container, Mount& mount);
  Status UnshareFile(Container container, Mount mount);
  // On success container.state.rootfs is the shared rootfs.
  Result<SharedFile> ShareRootfs(Container& container);
  Status UnshareRootfs(Container container);
  Status StartFileEventWatcher();
  void StopFileEventWatcher();

 private:
  // The sandbox (sharer.cc).
  struct Impl;
  explicit Sharer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmshare::capi
