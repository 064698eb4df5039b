#include "share/copy_sharer.h"

#include <fcntl.h>

#include <algorithm>

#include "agent/vmshare_client.h"
#include "core/ids.h"
#include "share/block_rootfs.h"
#include "share/copy_tree.h"
#include "share/guest_paths.h"
#include "share/safe_resolve.h"
#include "share/share_tree.h"

namespace vmshare::share {
namespace {

constexpr char kSharedDirPrefix[] = "sandbox-";

bool IsReadOnly(const Mount& m) {
  return m.read_only || std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
}

}  // namespace

CopySharer::CopySharer(SharerConfig config)
    : config_(std::move(config)),
      env_(config_.env ? config_.env : sys::Env::Default()),
      host_(env_) {}

Status CopySharer::Prepare() {
  if (!config_.sandbox_bind_mounts.empty())
    return UnimplementedError("prepare sandbox " + Quote(config_.sandbox_id) +
                              ": sandbox bind mount " + Quote(config_.sandbox_bind_mounts.front()) +
                              ": not supported with shared_fs \"none\"");
  // Nothing of the sandbox lives on the host; the root is made so that
  // callers can keep their own files below it (the VM runner does).
  return MakeDirs(env_, config_.root, 0755)
      .WithContext("prepare sandbox " + Quote(config_.sandbox_id));
}

Status CopySharer::Cleanup() {
  // The copies live in the guest and go with it.
  shared_dirs_.clear();
  learned_ = false;
  return Status::Ok();
}

Result<agent::AgentClient*> CopySharer::Agent(const std::string& context) const {
  agent::AgentClient* agent = config_.agent ? config_.agent() : nullptr;
  if (agent == nullptr)
    return FailedPreconditionError(context +
                                   ": no guest agent connection (shared_fs \"none\" copies "
                                   "into a running guest)");
  return agent;
}

void CopySharer::LearnSharedDirs() {
  if (learned_ || !config_.containers) return;
  auto containers = config_.containers();
  if (!containers.ok()) return;
  learned_ = true;
  const std::string prefix = GuestPath(config_.guest_shared_dir, kSharedDirPrefix);
  for (const Container& c : *containers) {
    for (const Mount& m : c.state.mounts) {
      if (m.host_path.compare(0, prefix.size(), prefix) != 0) continue;
      SharedDir& d = shared_dirs_[m.source];
      d.guest_path = m.host_path;
      d.users.insert(c.id);
    }
  }
}

Result<bool> CopySharer::CopyTo(agent::AgentClient* agent, const sys::Fd& source,
                                const std::string& host, const std::string& guest_path) {
  TreeCopier copier(env_, agent, config_.copy_progress);
  auto copied = copier.Copy(source, host, guest_path);
  if (!copied.ok())
    agent::VmshareClient(agent).Remove(guest_path, /*recursive=*/true).IgnoreError();
  return copied;
}

Status CopySharer::CopyIn(agent::AgentClient* agent, Container& container, Mount& mount,
                          const sys::Fd& source, const std::string& guest,
                          const std::string& context) {
  const std::string old_host_path = mount.host_path;
  mount.host_path = guest;
  if (config_.before_mount) {
    if (Status s = config_.before_mount(container, mount); !s.ok()) {
      mount.host_path = old_host_path;
      return s;
    }
  }
  auto copied = CopyTo(agent, source, mount.source, guest);
  if (!copied.ok()) {
    mount.host_path = old_host_path;
    return copied.status().WithContext(context);
  }
  return Status::Ok();
}

Result<std::optional<SharedFile>> CopySharer::ShareFile(Container& container, Mount& mount) {
  RETURN_IF_ERROR(ValidateId("container", container.id));
  const std::string context =
      "share " + Quote(mount.source) + " for container " + Quote(container.id);
  ASSIGN_OR_RETURN(OpenedSource src, OpenSourceNoFollow(host_, "mount source", mount.source));
  const sys::FileInfo& info = src.info;
  if (!info.is_reg() && !info.is_dir()) return std::optional<SharedFile>();
  ASSIGN_OR_RETURN(agent::AgentClient * agent, Agent(context));
  ASSIGN_OR_RETURN(std::string hex, RandomHex16(env_));
  const bool shared_dir = info.is_dir() && !IsReadOnly(mount);
  std::string name;
  if (shared_dir) {
    LearnSharedDirs();
    auto known = shared_dirs_.find(mount.source);
    if (known != shared_dirs_.end()) {
      mount.host_path = known->second.guest_path;
      known->second.users.insert(container.id);
      SharedFile shared;
      shared.guest_path = known->second.guest_path;
      return std::optional<SharedFile>(std::move(shared));
    }
    ASSIGN_OR_RETURN(std::string base, UsableBaseName("mount source", mount.source));
    name = kSharedDirPrefix + hex + "-" + base;
  } else {
    ASSIGN_OR_RETURN(name, VolumeShareName(container.id, mount.destination, hex));
  }
  const std::string guest = GuestPath(config_.guest_shared_dir, name);
  RETURN_IF_ERROR(CopyIn(agent, container, mount, src.fd, guest, context));
  if (shared_dir) shared_dirs_[mount.source] = SharedDir{guest, {container.id}};
  SharedFile shared;
  shared.guest_path = guest;
  return std::optional<SharedFile>(std::move(shared));
}

Status CopySharer::UnshareFile(Container& container, Mount& mount) {
  RETURN_IF_ERROR(ValidateId("container", container.id));
  if (mount.host_path.empty()) return Status::Ok();
  const std::string context =
      "unshare " + Quote(mount.source) + " for container " + Quote(container.id);
  const std::string prefix = std::string(config_.guest_shared_dir) + "/";
  const std::string name = mount.host_path.compare(0, prefix.size(), prefix) == 0
                               ? mount.host_path.substr(prefix.size())
                               : "";
  const bool shared_dir = name.compare(0, sizeof kSharedDirPrefix - 1, kSharedDirPrefix) == 0;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
      (!shared_dir && !IsVolumeShareNameOf(container.id, name)))
    return InvalidArgumentError("unshare " + Quote(mount.host_path) +
                                ": not a share of container " + Quote(container.id) + " in " +
                                Quote(config_.guest_shared_dir));
  if (shared_dir) {
    LearnSharedDirs();
    auto it = shared_dirs_.find(mount.source);
    if (it != shared_dirs_.end()) {
      auto user = it->second.users.find(container.id);
      if (user != it->second.users.end()) it->second.users.erase(user);
      if (!it->second.users.empty()) return Status::Ok();  // still used by another container
      shared_dirs_.erase(it);
    }
  }
  agent::AgentClient* agent = config_.agent ? config_.agent() : nullptr;
  if (agent != nullptr)
    RETURN_IF_ERROR(agent::VmshareClient(agent)
                        .Remove(mount.host_path, /*recursive=*/true)
                        .WithContext(context));
  mount.mounted = false;
  return Status::Ok();
}

Result<SharedFile> CopySharer::ShareRootFilesystem(Container& container) {
  RETURN_IF_ERROR(ValidateId("container", container.id));
  Mount& rootfs = container.state.rootfs;
  if (!rootfs.block_device_id.empty())
    return BlockRootfsShare(container, config_.block_driver, config_.guest_shared_dir,
                            config_.rootfs_name);
  const std::string context =
      "share rootfs " + Quote(rootfs.source) + " of container " + Quote(container.id);
  ASSIGN_OR_RETURN(OpenedSource src, OpenSourceNoFollow(host_, "rootfs", rootfs.source));
  if (!src.info.is_dir()) return InvalidArgumentError(context + ": not a directory");
  ASSIGN_OR_RETURN(agent::AgentClient * agent, Agent(context));
  const std::string guest =
      GuestPath(config_.guest_shared_dir, container.id + "/" + config_.rootfs_name);
  RETURN_IF_ERROR(CopyIn(agent, container, rootfs, src.fd, guest, context));
  SharedFile shared;
  shared.guest_path = guest;
  return shared;
}

Status CopySharer::UnshareRootFilesystem(Container& container) {
  RETURN_IF_ERROR(ValidateId("container", container.id));
  Mount& rootfs = container.state.rootfs;
  rootfs.mounted = false;
  if (!rootfs.block_device_id.empty()) return Status::Ok();
  agent::AgentClient* agent = config_.agent ? config_.agent() : nullptr;
  if (agent == nullptr) return Status::Ok();
  return agent::VmshareClient(agent)
      .Remove(GuestPath(config_.guest_shared_dir, container.id), /*recursive=*/true)
      .WithContext("unshare rootfs of container " + Quote(container.id));
}

}  // namespace vmshare::share
