#include "share/watcher_sharer.h"

#include <fcntl.h>

#include "agent/vmshare_client.h"
#include "core/ids.h"
#include "share/guest_paths.h"
#include "share/safe_resolve.h"
#include "share/watcher_sync.h"

namespace vmshare::share {

WatchingSharer::WatchingSharer(SharerConfig config, std::unique_ptr<ShareStrategy> inner,
                               std::string host_watchable_dir)
    : config_(std::move(config)),
      env_(config_.env ? config_.env : sys::Env::Default()),
      host_(env_),
      inner_(std::move(inner)),
      host_watchable_dir_(std::move(host_watchable_dir)),
      guest_watchable_(GuestPath(config_.guest_shared_dir, kWatchableDir)),
      matcher_(env_, config_.kubelet_root),
      watcher_(env_, config_.agent, config_.watch_report) {}

WatchingSharer::~WatchingSharer() { watcher_.Stop(); }

Status WatchingSharer::Prepare() { return inner_->Prepare(); }

Status WatchingSharer::Cleanup() {
  watcher_.Stop();
  return inner_->Cleanup();
}

bool WatchingSharer::IsWatchedCopy(const std::string& host_path) const {
  const std::string prefix = guest_watchable_ + "/";
  return host_path.compare(0, prefix.size(), prefix) == 0;
}

Result<std::optional<SharedFile>> WatchingSharer::ShareFile(Container& container, Mount& mount) {
  std::optional<KubeVolume> volume = matcher_.Match(mount.source);
  if (!volume) return inner_->ShareFile(container, mount);
  RETURN_IF_ERROR(ValidateId("container", container.id));
  const std::string context =
      "share watched volume " + Quote(mount.source) + " for container " + Quote(container.id);
  // The volume directory must be there (and a directory, not a symlink).
  ASSIGN_OR_RETURN(OpenedSource dir,
                   OpenSourceNoFollow(host_, "volume directory", volume->volume_dir));
  if (!dir.info.is_dir())
    return InvalidArgumentError(context + ": " + Quote(volume->volume_dir) + " is not a directory");
  ASSIGN_OR_RETURN(std::string hex, RandomHex16(env_));
  ASSIGN_OR_RETURN(std::string name, VolumeShareName(container.id, mount.destination, hex));
  if (!host_watchable_dir_.empty()) {
    // Made on first use, so a sandbox without watched volumes has no trace
    // of them in its share tree.
    Status made = env_->MkdirAt(sys::Cwd(), host_watchable_dir_, 0755);
    if (!made.ok() && made.err() == ENOENT)
      return FailedPreconditionError(context + ": sandbox " + Quote(config_.sandbox_id) +
                                     " is not prepared");
    if (!made.ok() && made.err() != EEXIST) return made.WithContext(context);
  }
  const std::string guest_root = guest_watchable_ + "/" + name;
  const std::string old_host_path = mount.host_path;
  mount.host_path = guest_root;
  if (config_.before_mount) {
    if (Status s = config_.before_mount(container, mount); !s.ok()) {
      mount.host_path = old_host_path;
      return s;
    }
  }
  if (agent::AgentClient* agent = Agent(); agent != nullptr) {
    VolumeSync first(env_, volume->volume_dir, guest_root, config_.copy_progress);
    if (Status s = first.Sync(agent, /*rescan=*/true); !s.ok()) {
      agent::VmshareClient(agent).Remove(guest_root, /*recursive=*/true).IgnoreError();
      mount.host_path = old_host_path;
      return s.WithContext(context);
    }
  }
  watcher_.Add(volume->volume_dir, guest_root);
  SharedFile shared;
  shared.guest_path = volume->rel.empty() ? guest_root : guest_root + "/" + volume->rel;
  return std::optional<SharedFile>(std::move(shared));
}

Status WatchingSharer::UnshareFile(Container& container, Mount& mount) {
  if (!IsWatchedCopy(mount.host_path)) return inner_->UnshareFile(container, mount);
  RETURN_IF_ERROR(ValidateId("container", container.id));
  const std::string name = mount.host_path.substr(guest_watchable_.size() + 1);
  if (name.find('/') != std::string::npos || !IsVolumeShareNameOf(container.id, name))
    return InvalidArgumentError("unshare " + Quote(mount.host_path) +
                                ": not a share of container " + Quote(container.id) + " in " +
                                Quote(guest_watchable_));
  watcher_.Remove(mount.host_path);
  if (agent::AgentClient* agent = Agent(); agent != nullptr) {
    RETURN_IF_ERROR(agent::VmshareClient(agent)
                        .Remove(mount.host_path, /*recursive=*/true)
                        .WithContext("unshare " + Quote(mount.source) + " for container " +
                                     Quote(container.id)));
  }
  mount.mounted = false;
  return Status::Ok();
}

Result<SharedFile> WatchingSharer::ShareRootFilesystem(Container& container) {
  return inner_->ShareRootFilesystem(container);
}

Status WatchingSharer::UnshareRootFilesystem(Container& container) {
  return inner_->UnshareRootFilesystem(container);
}

Status WatchingSharer::StartFileEventWatcher() {
  if (config_.containers) {
    auto loaded = config_.containers();
    if (!loaded.ok()) return loaded.status().WithContext("start volume watcher");
    const std::vector<Container>& containers = *loaded;
    for (const Container& c : containers) {
      for (const Mount& m : c.state.mounts) {
        if (!IsWatchedCopy(m.host_path)) continue;
        std::optional<KubeVolume> volume = matcher_.Match(m.source);
        if (volume) watcher_.Add(volume->volume_dir, m.host_path);
      }
    }
  }
  return watcher_.Start();
}

void WatchingSharer::StopFileEventWatcher() { watcher_.Stop(); }

}  // namespace vmshare::share
