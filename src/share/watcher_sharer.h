// WatchingSharer: puts watched Kubernetes volumes (kube_volume.h) in front
// of any sharing strategy, in both modes.
//
// A mount whose source is at or below a configmap, secret, projected or
// downward-API volume directory is not given to the inner sharer. Instead
// the guest gets its own copy of the whole volume directory at
//   <guest-shared>/watchable/<cid>-<16 hex>-<basename(dest)>
// and the container's mount points at that copy (plus the source's path
// below the volume, if any). <guest-shared>/watchable is a tmpfs in the
// guest, mounted by the agent's vmshare.MountTmpfs:
//   - virtio-fs: the host's shared/ is read-only and virtio-fs shows a
//     kubelet update to the guest non-atomically (entry by entry), so the
//     copy must live on a guest filesystem; the first watched share creates
//     mounts/watchable on the host so that the export holds a directory to
//     mount over;
//   - none: the tmpfs keeps the copies apart from the copied volumes.
// Mount::host_path records the copy's guest root; Mount::mounted stays
// false. The file event watcher (watcher.h) keeps every copy in sync; its
// watch set is what this sharer shared plus, on StartFileEventWatcher, the
// watched mounts of SharerConfig::containers (persisted state), so a
// restarted vmshare resumes watching.
//
// ShareFile copies the volume at once when the agent is reachable;
// otherwise the copy is made when the watcher starts (it rescans first).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "share/kube_volume.h"
#include "share/sharer.h"
#include "share/watcher.h"

namespace vmshare::share {

inline constexpr char kWatchableDir[] = "watchable";

class WatchingSharer final : public FilesystemSharer {
 public:
  // host_watchable_dir: the directory made on the host for the guest's
  // tmpfs to cover (virtio-fs:
  // <mounts>/watchable), "" for none. REQUIRES: config validated.
  WatchingSharer(SharerConfig config, std::unique_ptr<ShareStrategy> inner,
                 std::string host_watchable_dir);
  ~WatchingSharer() override;

  Status Prepare() override;
  Status Cleanup() override;
  Result<std::optional<SharedFile>> ShareFile(Container& container, Mount& mount) override;
  Status UnshareFile(Container& container, Mount& mount) override;
  Result<SharedFile> ShareRootFilesystem(Container& container) override;
  Status UnshareRootFilesystem(Container& container) override;
  Status StartFileEventWatcher() override;
  void StopFileEventWatcher() override;
  std::vector<Storage> SandboxStorages() const override { return inner_->SandboxStorages(); }
  std::string HostExportDir() const override { return inner_->HostExportDir(); }

  ShareStrategy* inner() { return inner_.get(); }

 private:
  // The guest copy root a mount's host_path names, if it is one of ours.
  bool IsWatchedCopy(const std::string& host_path) const;
  agent::AgentClient* Agent() const { return config_.agent ? config_.agent() : nullptr; }

  SharerConfig config_;
  sys::Env* env_;
  std::unique_ptr<ShareStrategy> inner_;
  std::string host_watchable_dir_;
  std::string guest_watchable_;  // <guest-shared>/watchable
  KubeVolumeMatcher matcher_;
  FileEventWatcher watcher_;
};

}  // namespace vmshare::share
