// capi::Sharer: what a vmshare_sharer handle is. The seed's eight
// FilesystemSharer operations on one sandbox, each taking the caller's
// container (and mount) as the ABI's JSON gives them, and, with `persist`,
// recording every share before it is mounted under the sandbox lock (taken
// without waiting: kBusy while another holder has it).
//
// Thread safety: one thread at a time (the ABI's contract).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "capi/config.h"
#include "core/result.h"
#include "core/types.h"
#include "persist/store.h"
#include "share/sharer.h"

namespace vmshare::agent {
class AgentClient;
}  // namespace vmshare::agent

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
  explicit Sharer(SharerOptions options);

  // The lock of a state-changing call (held while it runs); none without
  // persist. With must_exist, a sandbox with no state directory is
  // kFailedPrecondition (not prepared) and nothing is created.
  Result<persist::SandboxLock> LockForChange(const std::string& op, bool must_exist);
  // The container as recorded, or as the caller gave it when it has no
  // record; *recorded says which.
  Result<Container> RecordedOr(const Container& given, bool* recorded);
  // Puts the container's record back as it was before a failed share.
  void Restore(const Container& before, bool recorded);

  SharerOptions options_;
  persist::StateStore store_;
  std::unique_ptr<share::FilesystemSharer> sharer_;
  std::unique_ptr<agent::AgentClient> agent_;
  // Set by the share in progress: records the container with the mount
  // being shared (its host path decided) before it is mounted.
  std::function<Status(const Container&, const Mount&)> record_;
};

}  // namespace vmshare::capi
