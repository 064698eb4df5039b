#include "agent/server/vmshare_service.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "agent/server/batch_apply.h"
#include "agent/server/in_root.h"
#include "core/ids.h"
#include "core/types.h"

namespace vmshare::agent {
namespace {

constexpr uint64_t kResolve = kResolveInSharedRoot;

// An entry named by a guest path: its parent directory (resolved in the
// shared root) and its last component.
struct Located {
  sys::Fd parent;
  std::string name;
  std::string rel;  // the path relative to the shared root
};

Result<Located> Locate(sys::Env* env, const std::string& shared_root, const std::string& op,
                       const std::string& path) {
  const std::string_view prefix = kGuestSharedDir;
  if (path.compare(0, prefix.size(), prefix) != 0 || path.size() == prefix.size() ||
      path[prefix.size()] != '/') {
    return InvalidArgumentError(op + " " + Quote(path) + ": path is not under " +
                                std::string(prefix) + "/");
  }
  ASSIGN_OR_RETURN(auto parts, SplitRelative(path.substr(prefix.size() + 1), op));
  if (parts.empty()) {
    return InvalidArgumentError(op + " " + Quote(path) + ": names the shared directory");
  }
  ASSIGN_OR_RETURN(sys::Fd root, env->OpenAt(sys::Cwd(), shared_root, O_PATH | O_DIRECTORY));
  auto parent = env->OpenAt2(root, JoinComponents(parts, parts.size() - 1), O_PATH | O_DIRECTORY, 0,
                             kResolve);
  if (!parent.ok()) {
    if (parent.status().err() == ELOOP || parent.status().err() == EXDEV) {
      return PermissionDeniedError(op + " " + Quote(path) + ": a parent directory is a symlink");
    }
    return parent.status().WithContext(op + " " + Quote(path));
  }
  return Located{std::move(parent).value(), parts.back(), JoinComponents(parts, parts.size())};
}

}  // namespace

Status VmshareService::Rename(const RenameRequest& r) {
  return BatchApplier(env_, shared_root_).Rename(r);
}

Status VmshareService::Remove(const RemoveRequest& r) {
  return BatchApplier(env_, shared_root_).Remove(r);
}

Status VmshareService::MountTmpfs(const MountTmpfsRequest& r) {
  const std::string context = "mount tmpfs on " + Quote(r.path);
  RETURN_IF_ERROR(MkdirAll(env_, shared_root_, 0755));
  ASSIGN_OR_RETURN(Located where, Locate(env_, shared_root_, "mount tmpfs", r.path));
  ASSIGN_OR_RETURN(sys::Fd root, env_->OpenAt(sys::Cwd(), shared_root_, O_PATH | O_DIRECTORY));
  ASSIGN_OR_RETURN(auto parts, SplitRelative(where.rel, "mount tmpfs"));
  auto dir = MkdirAllInRoot(env_, root, parts, parts.size(), 0755, kResolve);
  if (!dir.ok()) return dir.status().WithContext(context);
  ASSIGN_OR_RETURN(sys::FileInfo info, env_->StatAt(*dir, "", AT_EMPTY_PATH));
  if (!info.mount_root) {
    char data[32];
    std::snprintf(data, sizeof data, "mode=%o", r.mode & 07777);
    RETURN_IF_ERROR(env_->Mount("tmpfs", "/proc/self/fd/" + std::to_string(dir->get()), "tmpfs",
                                MS_NOSUID | MS_NODEV, data)
                        .WithContext(context));
  }
  // The mount's root, reopened: the fd above still names the directory below.
  ASSIGN_OR_RETURN(sys::Fd top,
                   env_->OpenAt2(root, where.rel, O_RDONLY | O_DIRECTORY, 0, kResolve));
  RETURN_IF_ERROR(env_->ChmodFd(top, r.mode & 07777));
  return env_->ChownAt(top, "", 0, 0, AT_EMPTY_PATH);
}

Status VmshareService::SetFileAttrs(const SetFileAttrsRequest& r) {
  return BatchApplier(env_, shared_root_).SetFileAttrs(r);
}

Status VmshareService::Link(const LinkRequest& r) {
  ASSIGN_OR_RETURN(Located to, Locate(env_, shared_root_, "link", r.path));
  ASSIGN_OR_RETURN(Located from, Locate(env_, shared_root_, "link", r.target));
  Status s = env_->UnlinkAt(to.parent, to.name, 0);
  if (!s.ok() && s.err() != ENOENT) return s.WithContext("link " + Quote(r.path));
  return env_->LinkAt(from.parent, from.name, to.parent, to.name)
      .WithContext("link " + Quote(r.path) + " to " + Quote(r.target));
}

Result<ReadDirResponse> VmshareService::ReadDir(const ReadDirRequest& r) {
  ASSIGN_OR_RETURN(Located where, Locate(env_, shared_root_, "read dir", r.path));
  auto dir = env_->OpenAt2(where.parent, where.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                           kResolveBelow & ~sys::kResolveNoXdev);
  if (!dir.ok()) return dir.status().WithContext("read dir " + Quote(r.path));
  ASSIGN_OR_RETURN(auto names, env_->ReadDir(*dir));
  std::sort(names.begin(), names.end(),
            [](const sys::DirEntry& a, const sys::DirEntry& b) { return a.name < b.name; });
  const uint32_t max =
      r.max_entries == 0 ? kMaxDirEntries : std::min(r.max_entries, kMaxDirEntries);
  ReadDirResponse out;
  for (const auto& e : names) {
    if (!r.start_after.empty() && e.name <= r.start_after) continue;
    if (out.entries.size() == max) {
      out.more = true;
      break;
    }
    auto info = env_->StatAt(*dir, e.name, AT_SYMLINK_NOFOLLOW);
    if (!info.ok()) continue;  // removed meanwhile
    GuestDirEntry g{e.name, info->mode, info->uid, info->gid, info->size, ""};
    if (info->is_lnk()) {
      auto target = env_->ReadlinkAt(*dir, e.name);
      if (target.ok()) g.link_target = *target;
    }
    out.entries.push_back(std::move(g));
  }
  return out;
}

Status VmshareService::Batch(const std::vector<BatchOp>& ops) {
  std::lock_guard lock(batch_mu_);
  return BatchApplier(env_, shared_root_, &made_dirs_).Run(ops);
}

void VmshareService::RegisterOn(TtrpcServer* server) {
  auto empty = [](Status s) -> Result<std::string> {
    if (!s.ok()) return s;
    return std::string();
  };
  server->Register(
      kVmshareService, "Rename",
      [this, empty](std::string_view payload, const CallContext&) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto r, DecodeRenameRequest(payload));
        return empty(Rename(r));
      });
  server->Register(
      kVmshareService, "Remove",
      [this, empty](std::string_view payload, const CallContext&) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto r, DecodeRemoveRequest(payload));
        return empty(Remove(r));
      });
  server->Register(
      kVmshareService, "MountTmpfs",
      [this, empty](std::string_view payload, const CallContext&) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto r, DecodeMountTmpfsRequest(payload));
        return empty(MountTmpfs(r));
      });
  server->Register(
      kVmshareService, "SetFileAttrs",
      [this, empty](std::string_view payload, const CallContext&) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto r, DecodeSetFileAttrsRequest(payload));
        return empty(SetFileAttrs(r));
      });
  server->Register(
      kVmshareService, "Link",
      [this, empty](std::string_view payload, const CallContext&) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto r, DecodeLinkRequest(payload));
        return empty(Link(r));
      });
  server->Register(
      kVmshareService, "Batch",
      [this, empty](std::string_view payload, const CallContext&) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto ops, DecodeBatchRequest(payload));
        return empty(Batch(ops));
      });
  server->Register(kVmshareService, "ReadDir",
                   [this](std::string_view payload, const CallContext&) -> Result<std::string> {
                     ASSIGN_OR_RETURN(auto r, DecodeReadDirRequest(payload));
                     ASSIGN_OR_RETURN(auto out, ReadDir(r));
                     return EncodeReadDirResponse(out);
                   });
}

}  // namespace vmshare::agent
