#include "share/virtio_fs_sharer.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "core/ids.h"
#include "share/bind.h"
#include "share/guest_paths.h"
#include "share/safe_resolve.h"

namespace vmshare::share {
namespace {

bool HasOption(const Mount& m, std::string_view opt) {
  return std::find(m.options.begin(), m.options.end(), opt) != m.options.end();
}

// The name in mount.host_path when it is <mounts>/<a volume share name of
// this container for this destination> (decided and recorded earlier, see
// ShareStrategy::ShareFile); "" otherwise.
std::string PresetName(const std::string& mounts, const Container& c, const Mount& m) {
  const std::string prefix = mounts + "/";
  if (m.host_path.size() <= prefix.size() || m.host_path.compare(0, prefix.size(), prefix) != 0)
    return "";
  std::string name = m.host_path.substr(prefix.size());
  if (!IsVolumeShareNameOf(c.id, name)) return "";
  auto want =
      VolumeShareName(c.id, m.destination, std::string_view(name).substr(c.id.size() + 1, 16));
  return want.ok() && *want == name ? name : "";
}

}  // namespace

VirtioFsSharer::VirtioFsSharer(SharerConfig config)
    : config_(std::move(config)),
      env_(config_.env ? config_.env : sys::Env::Default()),
      paths_(ShareTreePaths::For(config_.root, config_.sandbox_id, config_.share_base)),
      host_(env_) {}

Status VirtioFsSharer::CheckContainerId(const Container& container) const {
  RETURN_IF_ERROR(ValidateId("sandbox", config_.sandbox_id));
  RETURN_IF_ERROR(ValidateId("container", container.id));
  if (container.id == kSandboxMountsDir)
    return InvalidArgumentError("container id " + Quote(container.id) +
                                ": reserved for sandbox bind mounts");
  return Status::Ok();
}

Result<std::shared_ptr<const sys::Fd>> VirtioFsSharer::RequirePrepared(bool fresh) {
  std::lock_guard lock(mounts_mu_);
  if (fresh) mounts_.reset();
  if (mounts_) return mounts_;
  // mounts/ a mount root is what Prepare leaves (shared/ is made from it in
  // the same Prepare, and Cleanup detaches shared/ first).
  auto mounts = env_->OpenAt(sys::Cwd(), paths_.mounts, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  bool prepared = false;
  if (mounts.ok()) {
    ASSIGN_OR_RETURN(sys::FileInfo info,
                     env_->StatAt(*mounts, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
    prepared = info.mount_root;
  } else if (mounts.status().code() != Code::kNotFound) {
    return mounts.status();
  }
  if (!prepared)
    return FailedPreconditionError("sandbox " + Quote(config_.sandbox_id) +
                                   ": not prepared (no share tree at " + Quote(paths_.sandbox) +
                                   ")");
  mounts_ = std::make_shared<const sys::Fd>(std::move(mounts).value());
  return mounts_;
}

void VirtioFsSharer::ForgetMounts() {
  std::lock_guard lock(mounts_mu_);
  mounts_.reset();
}

bool VirtioFsSharer::MaybeStaleMounts(const Status& s) {
  return s.err() == ENOENT || s.err() == EINVAL;
}

Status VirtioFsSharer::Attach(const std::string& what, const std::string& source,
                              const sys::Fd& parent, const std::string& parent_dir,
                              const std::string& name, bool read_only, bool recursive,
                              const std::function<Status()>& before) {
  ASSIGN_OR_RETURN(OpenedSource src, OpenSourceNoFollow(host_, what, source));
  if (before) RETURN_IF_ERROR(before());
  // The mountpoint, never reached through a symlink: a directory is moved
  // onto by name (move_mount does not follow one), a file by the fd of the
  // O_EXCL create itself.
  sys::Fd file_target;
  if (src.info.is_dir()) {
    RETURN_IF_ERROR(env_->MkdirAt(parent, name, 0755));
  } else {
    ASSIGN_OR_RETURN(file_target,
                     env_->OpenAt(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
  }
  Status s = [&]() -> Status {
    const bool mount_api = host_.features().mount_api;
    sys::Fd staging_dir;
    if (!mount_api) {
      ASSIGN_OR_RETURN(staging_dir, env_->OpenAt(sys::Cwd(), paths_.private_dir,
                                                 O_PATH | O_DIRECTORY | O_NOFOLLOW));
    }
    // Unique across the tree: volumes have unique names, rootfs binds
    // are named after their container.
    const std::string stage_name = mount_api ? std::string()
                                   : parent_dir == paths_.mounts
                                       ? name
                                       : parent_dir.substr(parent_dir.rfind('/') + 1) + "-" + name;
    Staging staging{mount_api ? nullptr : &staging_dir, paths_.private_dir, stage_name};
    BindSpec spec{read_only, recursive};
    BindTarget target{parent, name, src.info.is_dir() ? nullptr : &file_target,
                      parent_dir + "/" + name};
    return BindByFd(env_, mount_api, src.fd, source, src.info.is_dir(), target, spec, staging);
  }();
  if (!s.ok()) {
    file_target.Reset();
    env_->UnlinkAt(parent, name, src.info.is_dir() ? AT_REMOVEDIR : 0).IgnoreError();
  }
  return s;
}

Status VirtioFsSharer::DetachAndRemove(const std::string& path) {
  return DetachAndRemoveEntry(env_, path);
}

Status VirtioFsSharer::Prepare() {
  RETURN_IF_ERROR(ValidateId("sandbox", config_.sandbox_id));
  ForgetMounts();
  // User errors first, so a bad list changes nothing.
  std::set<std::string> bases;
  for (const std::string& src : config_.sandbox_bind_mounts) {
    ASSIGN_OR_RETURN(std::string base, UsableBaseName("sandbox bind mount", src));
    if (!bases.insert(base).second)
      return InvalidArgumentError("sandbox bind mount " + Quote(src) + ": base name " +
                                  Quote(base) + " used twice");
    ASSIGN_OR_RETURN(OpenedSource opened, OpenSourceNoFollow(host_, "sandbox bind mount", src));
    // Directories and regular files, as Kata takes them.
    if (!opened.info.is_dir() && !opened.info.is_reg())
      return InvalidArgumentError("sandbox bind mount " + Quote(src) +
                                  ": not a directory or regular file");
  }
  RETURN_IF_ERROR(BuildShareTree(env_, host_.features().mount_api, paths_)
                      .WithContext("prepare sandbox " + Quote(config_.sandbox_id)));
  return ShareSandboxMounts();
}

Status VirtioFsSharer::ShareSandboxMounts() {
  if (config_.sandbox_bind_mounts.empty()) return Status::Ok();
  const std::string dir = paths_.mounts + "/" + kSandboxMountsDir;
  Status made = env_->MkdirAt(sys::Cwd(), dir, 0755);
  if (!made.ok() && made.code() != Code::kAlreadyExists) return made;
  ASSIGN_OR_RETURN(sys::Fd parent,
                   env_->OpenAt(sys::Cwd(), dir, O_PATH | O_DIRECTORY | O_NOFOLLOW));
  for (const std::string& src : config_.sandbox_bind_mounts) {
    ASSIGN_OR_RETURN(std::string base, UsableBaseName("sandbox bind mount", src));
    ASSIGN_OR_RETURN(bool done, IsMountRoot(env_, dir + "/" + base));
    if (done) continue;
    RETURN_IF_ERROR(Attach("sandbox bind mount", src, parent, dir, base, /*read_only=*/true,
                           /*recursive=*/false));
  }
  return Status::Ok();
}

Status VirtioFsSharer::Cleanup() {
  RETURN_IF_ERROR(ValidateId("sandbox", config_.sandbox_id));
  ForgetMounts();
  const std::string context = "clean up sandbox " + Quote(config_.sandbox_id);
  // No tree: both detaches and every rmdir say ENOENT, and that is done.
  // One lazy detach per tree mount takes every share below it along (far
  // cheaper than unmounting shares one by one; see DESIGN costs).
  RETURN_IF_ERROR(DetachShareTree(env_, paths_).WithContext(context));
  return RemoveShareTree(env_, paths_).WithContext(context);
}

Result<std::optional<SharedFile>> VirtioFsSharer::ShareFile(Container& container, Mount& mount) {
  RETURN_IF_ERROR(CheckContainerId(container));
  if (mount.mounted)
    return FailedPreconditionError("share " + Quote(mount.source) + " for container " +
                                   Quote(container.id) + ": already shared at " +
                                   Quote(mount.host_path));
  std::string name = PresetName(paths_.mounts, container, mount);
  if (name.empty()) {
    ASSIGN_OR_RETURN(std::string hex, RandomHex16(env_));
    ASSIGN_OR_RETURN(name, VolumeShareName(container.id, mount.destination, hex));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const sys::Fd> mounts, RequirePrepared());
  const bool read_only = mount.read_only || HasOption(mount, "ro");
  const bool recursive = HasOption(mount, "rbind");
  const std::string host_path = paths_.mounts + "/" + name;
  const std::string old_host_path = mount.host_path;
  auto before = [&]() -> Status {
    if (!config_.before_mount) return Status::Ok();
    mount.host_path = host_path;
    return config_.before_mount(container, mount);
  };
  Status s = Attach("mount source", mount.source, *mounts, paths_.mounts, name, read_only,
                    recursive, before);
  if (!s.ok() && MaybeStaleMounts(s)) {
    auto fresh = RequirePrepared(/*fresh=*/true);
    s = fresh.ok() ? Attach("mount source", mount.source, **fresh, paths_.mounts, name, read_only,
                            recursive, before)
                   : fresh.status();
  }
  if (!s.ok()) {
    mount.host_path = old_host_path;
    return s;
  }
  mount.host_path = host_path;
  mount.mounted = true;
  SharedFile shared;
  shared.guest_path = GuestPath(config_.guest_shared_dir, name);
  return std::optional<SharedFile>(std::move(shared));
}

Status VirtioFsSharer::UnshareFile(Container& container, Mount& mount) {
  RETURN_IF_ERROR(CheckContainerId(container));
  if (mount.host_path.empty()) {
    if (!mount.mounted) return Status::Ok();
    return InvalidArgumentError("unshare " + Quote(mount.source) + " for container " +
                                Quote(container.id) + ": marked mounted but has no host path");
  }
  // Only ever unmount a share of this container inside this sandbox's
  // mounts/ directory, whatever the (persisted, so possibly edited) state says.
  const std::string prefix = paths_.mounts + "/";
  const std::string name = mount.host_path.substr(std::min(prefix.size(), mount.host_path.size()));
  if (mount.host_path.compare(0, prefix.size(), prefix) != 0 ||
      !IsVolumeShareNameOf(container.id, name) || name == "." || name == "..")
    return InvalidArgumentError("unshare " + Quote(mount.host_path) +
                                ": not a share of container " + Quote(container.id) + " in " +
                                Quote(paths_.mounts));
  RETURN_IF_ERROR(
      DetachAndRemove(mount.host_path)
          .WithContext("unshare " + Quote(mount.source) + " for container " + Quote(container.id)));
  mount.mounted = false;
  return Status::Ok();
}

std::vector<Storage> VirtioFsSharer::SandboxStorages() const {
  return {Storage{.driver = "virtio-fs",
                  .source = kShareTag,
                  .fstype = "virtiofs",
                  .mount_point = config_.guest_shared_dir}};
}

}  // namespace vmshare::share
