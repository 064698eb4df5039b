#include "share/copy_tree.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "agent/vmshare_client.h"
#include "core/ids.h"

namespace vmshare::share {
namespace {

// Kata's runtime sends 0750 for parents the agent has to create.
constexpr uint32_t kParentDirMode = 0750;
constexpr uint64_t kReportEvery = 8 << 20;
constexpr int kMaxDepth = 4096;

bool IsCopyable(const sys::FileInfo& info) {
  return info.is_reg() || info.is_dir() || info.is_lnk();
}

agent::CopyFileRequest Header(const sys::FileInfo& info, const std::string& dest) {
  agent::CopyFileRequest r;
  r.path = dest;
  r.file_mode = info.mode;
  r.dir_mode = kParentDirMode;
  r.uid = static_cast<int32_t>(info.uid);
  r.gid = static_cast<int32_t>(info.gid);
  return r;
}

// Reopens an O_PATH fd for reading. Through /proc/self/fd/N, which is a
// link to the object already opened, so O_NOFOLLOW must not be passed.
Result<sys::Fd> Reopen(sys::Env* env, const sys::Fd& fd, int flags) {
  return env->OpenAt(sys::Cwd(), "/proc/self/fd/" + std::to_string(fd.get()), flags);
}

}  // namespace

Result<bool> TreeCopier::Copy(const sys::Fd& source, const std::string& host_path,
                              const std::string& dest) {
  ASSIGN_OR_RETURN(sys::FileInfo info,
                   env_->StatAt(source, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
  if (!IsCopyable(info)) {
    ++stats_.skipped;
    return false;
  }
  Status copied = CopyOpened(source, info, host_path, dest, 0);
  if (!copied.ok() && copied.message().find("ENOSPC") != std::string::npos) {
    // The copy lives in the guest's memory (a tmpfs): say which limit to raise.
    return copied.WithContext("copy " + Quote(host_path) +
                              " into the guest: out of space; the guest keeps copies in its "
                              "memory, raise --memory");
  }
  RETURN_IF_ERROR(copied);
  Report(host_path, /*final=*/true);
  return true;
}

Result<bool> TreeCopier::CopyEntry(const sys::Fd& dir, const std::string& name,
                                   const std::string& host_path, const std::string& dest) {
  ASSIGN_OR_RETURN(sys::Fd fd, env_->OpenAt(dir, name, O_PATH | O_NOFOLLOW));
  return Copy(fd, host_path, dest);
}

Status TreeCopier::SendDirectory(const sys::FileInfo& info, const std::string& dest) {
  ++stats_.entries;
  return agent_->CopyFile(Header(info, dest));
}

Status TreeCopier::SendFile(const sys::Fd& opened, const sys::FileInfo& info,
                            const std::string& host_path, const std::string& dest) {
  ++stats_.entries;
  agent::CopyFileRequest r = Header(info, dest);
  r.file_size = static_cast<int64_t>(info.size);
  if (info.size == 0) return agent_->CopyFile(r);
  ASSIGN_OR_RETURN(sys::Fd in, Reopen(env_, opened, O_RDONLY));
  uint64_t offset = 0;
  while (offset < info.size) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(kCopyChunkBytes, info.size - offset));
    std::string chunk;
    while (chunk.size() < want) {
      ASSIGN_OR_RETURN(std::string got, env_->Read(in, want - chunk.size()));
      if (got.empty()) {
        return FailedPreconditionError(
            "copy " + Quote(host_path) + ": file shrank from " + std::to_string(info.size) +
            " to " + std::to_string(offset + chunk.size()) + " bytes while it was copied");
      }
      chunk += got;
    }
    r.offset = static_cast<int64_t>(offset);
    r.data = std::move(chunk);
    RETURN_IF_ERROR(agent_->CopyFile(r));
    offset += want;
    stats_.bytes += want;
    Report(host_path, /*final=*/false);
  }
  return Status::Ok();
}

Status TreeCopier::CopyOpened(const sys::Fd& opened, const sys::FileInfo& info,
                              const std::string& host_path, const std::string& dest, int depth) {
  if (depth > kMaxDepth) return ErrnoError(ELOOP, "copy " + Quote(host_path));
  if (info.is_lnk()) {
    ++stats_.entries;
    agent::CopyFileRequest r = Header(info, dest);
    ASSIGN_OR_RETURN(r.data, env_->ReadlinkAt(opened, ""));
    RETURN_IF_ERROR(agent_->CopyFile(r));
    return SendAttrs(opened, info, dest);
  }
  if (info.is_reg()) {
    ASSIGN_OR_RETURN(bool linked, LinkToEarlier(info, dest));
    if (linked) return Status::Ok();
    RETURN_IF_ERROR(SendFile(opened, info, host_path, dest));
    return SendAttrs(opened, info, dest);
  }
  RETURN_IF_ERROR(SendDirectory(info, dest));
  ASSIGN_OR_RETURN(sys::Fd dir, Reopen(env_, opened, O_RDONLY | O_DIRECTORY));
  ASSIGN_OR_RETURN(auto entries, env_->ReadDir(dir));
  bool foreign_owner = false;
  for (const auto& e : entries) {
    auto child_info = env_->StatAt(dir, e.name, AT_SYMLINK_NOFOLLOW);
    if (!child_info.ok()) {
      if (child_info.status().err() == ENOENT) continue;  // removed meanwhile
      return child_info.status();
    }
    if (!IsCopyable(*child_info)) {
      ++stats_.skipped;
      continue;
    }
    foreign_owner |= child_info->uid != info.uid || child_info->gid != info.gid;
    const std::string child_host = host_path + "/" + e.name;
    const std::string child_dest = dest + "/" + e.name;
    ASSIGN_OR_RETURN(sys::Fd child, env_->OpenAt(dir, e.name, O_PATH | O_NOFOLLOW));
    RETURN_IF_ERROR(CopyOpened(child, *child_info, child_host, child_dest, depth + 1));
  }
  // See the header: restores this directory's owner after its entries.
  if (foreign_owner) RETURN_IF_ERROR(SendDirectory(info, dest));
  return SendAttrs(opened, info, dest);
}

Status TreeCopier::SendAttrs(const sys::Fd& opened, const sys::FileInfo& info,
                             const std::string& dest) {
  agent::SetFileAttrsRequest r;
  r.path = dest;
  r.atime_ns = info.atime_ns;
  r.mtime_ns = info.mtime_ns;
  if (!info.is_lnk()) {
    ASSIGN_OR_RETURN(r.xattrs, env_->ListXattrs(opened));
  }
  agent::VmshareClient vmshare(agent_);
  return vmshare.SetFileAttrs(r);
}

Result<bool> TreeCopier::LinkToEarlier(const sys::FileInfo& info, const std::string& dest) {
  if (!info.is_reg() || info.nlink < 2) return false;
  auto [it, inserted] = links_.try_emplace({info.dev, info.ino}, dest);
  if (inserted) return false;
  ++stats_.entries;
  agent::VmshareClient vmshare(agent_);
  RETURN_IF_ERROR(vmshare.Link(dest, it->second));
  return true;
}

void TreeCopier::Report(const std::string& host_path, bool final) {
  if (!progress_) return;
  if (final || stats_.bytes - reported_ >= kReportEvery) {
    reported_ = stats_.bytes;
    progress_(host_path, stats_.bytes);
  }
}

}  // namespace vmshare::share
