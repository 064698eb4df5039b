#include "agent/server/storage.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <chrono>

#include "agent/server/in_root.h"
#include "agent/server/mount_options.h"
#include "core/ids.h"

namespace vmshare::agent {
namespace {

// Kata's `local` and `ephemeral` drivers take "mode=0750"; only the local
// driver applies it itself (tmpfs reads it from the data string).
std::optional<mode_t> ModeOption(const std::vector<std::string>& options) {
  for (const auto& o : options) {
    if (o.rfind("mode=", 0) != 0) continue;
    try {
      return static_cast<mode_t>(std::stoul(o.substr(5), nullptr, 8) & 07777);
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

Status ApplyFsGroup(sys::Env* env, const std::string& path, std::optional<gid_t> gid) {
  if (!gid) return Status::Ok();
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(sys::Cwd(), path, O_RDONLY | O_DIRECTORY));
  RETURN_IF_ERROR(env->ChownAt(fd, "", static_cast<uid_t>(-1), *gid, AT_EMPTY_PATH));
  ASSIGN_OR_RETURN(sys::FileInfo info, env->StatAt(fd, "", AT_EMPTY_PATH));
  return env->ChmodFd(fd, (info.mode & 07777) | S_ISGID);
}

}  // namespace

Status StorageManager::Mount(const Storage& s, bool* mounted) {
  *mounted = false;
  const ParsedMountOptions opts = ParseMountOptions(s.options);
  const std::string& mp = s.mount_point;
  if (s.driver == "local") {
    RETURN_IF_ERROR(MkdirAll(env_, mp, ModeOption(s.options).value_or(0755)));
    if (auto mode = ModeOption(s.options)) {
      ASSIGN_OR_RETURN(sys::Fd fd, env_->OpenAt(sys::Cwd(), mp, O_RDONLY | O_DIRECTORY));
      RETURN_IF_ERROR(env_->ChmodFd(fd, *mode));
    }
    return ApplyFsGroup(env_, mp, opts.fsgid);
  }
  RETURN_IF_ERROR(MkdirAll(env_, mp, 0755));
  if (s.driver == "virtio-fs") {
    ASSIGN_OR_RETURN(sys::FileInfo info, env_->StatAt(sys::Cwd(), mp, 0));
    if (info.mount_root) return Status::Ok();  // pre-mounted share
    RETURN_IF_ERROR(
        env_->Mount(s.source, mp, s.fstype.empty() ? "virtiofs" : s.fstype, opts.flags, opts.data));
    *mounted = true;
    return Status::Ok();
  }
  if (s.driver == "ephemeral") {
    RETURN_IF_ERROR(
        env_->Mount(s.source.empty() ? "tmpfs" : s.source, mp, "tmpfs", opts.flags, opts.data));
    *mounted = true;
    return ApplyFsGroup(env_, mp, opts.fsgid);
  }
  if (s.driver == "bind") {
    ASSIGN_OR_RETURN(sys::Fd tree, env_->CloneTree(sys::Cwd(), s.source, opts.recursive));
    const sys::MountAttrs attrs = BindMountAttrs(opts);
    RETURN_IF_ERROR(env_->MountSetattr(tree, attrs));
    ASSIGN_OR_RETURN(sys::Fd target, env_->OpenAt(sys::Cwd(), mp, O_PATH | O_DIRECTORY));
    RETURN_IF_ERROR(env_->MoveMount(tree, target));
    *mounted = true;
    return Status::Ok();
  }
  if (s.driver == "blk" || s.driver == "mmioblk" || s.driver == "scsi") {
    if (s.source.empty() || s.source[0] != '/') {
      return InvalidArgumentError("storage " + Quote(mp) + ": driver " + s.driver +
                                  " needs a device path as source, got " + Quote(s.source));
    }
    // Hot-plugged devices show up in devtmpfs a little after the host adds them.
    const int64_t deadline = env_->NowNanos() + 10'000'000'000LL;
    while (!env_->StatAt(sys::Cwd(), s.source, 0).ok()) {
      if (env_->NowNanos() > deadline) {
        return NotFoundError("storage " + Quote(mp) + ": device " + Quote(s.source) +
                             " did not appear within 10 s");
      }
      env_->SleepFor(std::chrono::milliseconds(50));
    }
    RETURN_IF_ERROR(env_->Mount(s.source, mp, s.fstype, opts.flags, opts.data));
    *mounted = true;
    return ApplyFsGroup(env_, mp, opts.fsgid);
  }
  return InvalidArgumentError("failed to find the storage handler " + Quote(s.driver));
}

Status StorageManager::Add(const Storage& s) {
  if (s.mount_point.empty() || s.mount_point[0] != '/') {
    return InvalidArgumentError("storage mount point " + Quote(s.mount_point) +
                                " is not an absolute path");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(s.mount_point);
  if (it != entries_.end()) {
    ++it->second.refs;
    return Status::Ok();
  }
  bool mounted = false;
  Status st = Mount(s, &mounted);
  if (!st.ok()) {
    if (mounted) env_->Unmount(s.mount_point, MNT_DETACH).IgnoreError();
    return st.WithContext("storage " + s.driver + " at " + Quote(s.mount_point));
  }
  entries_[s.mount_point] = Entry{s, 1, mounted};
  return Status::Ok();
}

Status StorageManager::Undo(const Entry& e) {
  if (!e.mounted_by_us) return Status::Ok();
  Status s = env_->Unmount(e.storage.mount_point, MNT_DETACH);
  if (!s.ok() && s.err() != EINVAL && s.err() != ENOENT) return s;
  return Status::Ok();
}

Status StorageManager::Release(const std::string& mount_point) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(mount_point);
  if (it == entries_.end()) return Status::Ok();
  if (--it->second.refs > 0) return Status::Ok();
  Status s = Undo(it->second);
  entries_.erase(it);
  return s;
}

Status StorageManager::ReleaseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first;
  // Reverse order: a storage mounted inside another one goes first.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    Status s = Undo(it->second);
    if (first.ok() && !s.ok()) first = s;
  }
  entries_.clear();
  return first;
}

int StorageManager::RefCount(const std::string& mount_point) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(mount_point);
  return it == entries_.end() ? 0 : it->second.refs;
}

}  // namespace vmshare::agent
