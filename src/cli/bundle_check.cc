#include "cli/bundle_check.h"

#include <fcntl.h>

#include "core/ids.h"
#include "share/host_guard.h"
#include "share/safe_resolve.h"
#include "share/share_host.h"

namespace vmshare::cli {
namespace {

std::string Absolute(const Bundle& b, const std::string& source) {
  return source[0] == '/' ? source : b.dir + "/" + source;
}

// The absolute, symlink-free form of `path` (the host's own links followed,
// /proc magic links refused).
Result<std::string> Resolve(sys::Env* env, const std::string& path, const std::string& what) {
  auto fd = env->OpenAt2(sys::Cwd(), path, O_PATH, 0, sys::kResolveNoMagiclinks);
  if (!fd.ok() && fd.status().err() == ENOSYS) fd = env->OpenAt(sys::Cwd(), path, O_PATH);
  if (!fd.ok()) {
    if (fd.status().err() == ENOENT) return NotFoundError(what + ": no such file or directory");
    return fd.status().WithContext(what);
  }
  return env->FdPath(*fd);
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

bool IsEmptyDirVolume(const std::string& kubelet_root, const std::string& source) {
  const std::vector<std::string> root = Split(kubelet_root);
  const std::vector<std::string> src = Split(source);
  if (src.size() < root.size() + 5) return false;
  for (size_t i = 0; i < root.size(); ++i) {
    if (src[i] != root[i]) return false;
  }
  for (const auto& c : src) {
    if (c == "..") return false;
  }
  return src[root.size()] == "pods" && src[root.size() + 2] == "volumes" &&
         src[root.size() + 3] == "kubernetes.io~empty-dir";
}

Status ResolveBundleSources(sys::Env* env, Bundle* b) {
  share::ShareHost host(env);
  {
    const std::string what = "rootfs " + Quote(b->rootfs);
    ASSIGN_OR_RETURN(share::OpenedSource root,
                     share::OpenSourceNoFollow(host, "rootfs", b->rootfs));
    if (!root.info.is_dir()) return InvalidArgumentError(what + ": not a directory");
    RETURN_IF_ERROR(host.RefuseKernelFs(root.fd, root.info, "rootfs", b->rootfs));
  }
  for (Mount& m : b->mounts) {
    if (!IsHostBind(m)) continue;
    const std::string what = "mount " + Quote(m.destination) + ": source " + Quote(m.source);
    ASSIGN_OR_RETURN(std::string resolved, Resolve(env, Absolute(*b, m.source), what));
    auto opened = share::OpenSourceNoFollow(host, "mount source", resolved);
    if (!opened.ok()) return opened.status().WithContext(what);
    RETURN_IF_ERROR(
        host.RefuseKernelFs(opened->fd, opened->info, "mount source", resolved).WithContext(what));
    m.source = resolved;
  }
  return Status::Ok();
}

Status CheckCopyModeMounts(const Bundle& b, const std::string& kubelet_root,
                           bool guest_local_copies) {
  if (guest_local_copies) return Status::Ok();
  for (const Mount& m : b.mounts) {
    if (!IsHostBind(m) || m.read_only || HasReadOnlyOption(m.options)) continue;
    if (IsEmptyDirVolume(kubelet_root, m.source)) continue;
    return FailedPreconditionError(
        "mount " + Quote(m.destination) + " (source " + Quote(m.source) +
        ") is read-write, but with --shared-fs none the guest works on a copy and its writes "
        "never reach the host; make it read-only (\"ro\"), or pass --guest-local-copies to "
        "accept copies that stay in the guest");
  }
  return Status::Ok();
}

Status CreateMountTargets(sys::Env* env, const Bundle& b) {
  if (!b.rootfs_readonly) return Status::Ok();
  ASSIGN_OR_RETURN(sys::Fd root, env->OpenAt(sys::Cwd(), b.rootfs, O_PATH | O_DIRECTORY));
  constexpr uint64_t kInRoot = sys::kResolveInRoot | sys::kResolveNoMagiclinks;
  for (const Mount& m : b.mounts) {
    const std::string what =
        "create mount point " + Quote(m.destination) + " in rootfs " + Quote(b.rootfs);
    const std::vector<std::string> parts = Split(m.destination);
    for (const auto& p : parts) {
      if (p == "..") return InvalidArgumentError(what + ": \"..\" components are not allowed");
    }
    if (parts.empty()) continue;
    bool is_dir = true;
    if (IsHostBind(m)) {
      auto info = env->StatAt(sys::Cwd(), m.source, 0);
      is_dir = !info.ok() || info->is_dir();
    }
    std::string prefix;
    for (size_t i = 0; i < parts.size(); ++i) {
      const bool last = i + 1 == parts.size();
      const std::string parent = prefix.empty() ? "." : prefix;
      prefix += (prefix.empty() ? "" : "/") + parts[i];
      auto existing = env->OpenAt2(root, prefix, O_PATH, 0, kInRoot);
      if (existing.ok()) continue;
      if (existing.status().err() != ENOENT) return existing.status().WithContext(what);
      ASSIGN_OR_RETURN(sys::Fd dir, env->OpenAt2(root, parent, O_PATH | O_DIRECTORY, 0, kInRoot));
      Status made;
      if (last && !is_dir) {
        auto f = env->OpenAt(dir, parts[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
        made = f.status();
      } else {
        made = env->MkdirAt(dir, parts[i], 0755);
      }
      if (!made.ok() && made.err() != EEXIST) return made.WithContext(what);
    }
  }
  return Status::Ok();
}

}  // namespace vmshare::cli
