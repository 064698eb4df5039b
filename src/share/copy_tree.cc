#include "share/copy_tree.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "agent/translate.h"
#include "agent/vmshare_wire.h"
#include "core/ids.h"

namespace vmshare::share {
namespace {

// Kata's runtime sends 0750 for parents the agent has to create.
constexpr uint32_t kParentDirMode = 0750;
constexpr uint64_t kReportEvery = 8 << 20;
constexpr int kMaxDepth = 4096;
// Directories whose times wait for a batch; a bound on what is kept back.
constexpr size_t kMaxDirAttrs = 1024;

bool IsCopyable(const sys::FileInfo& info) {
  return info.is_reg() || info.is_dir() || info.is_lnk();
}

// Reopens an O_PATH fd for reading. Through /proc/self/fd/N, which is a
// link to the object already opened, so O_NOFOLLOW must not be passed.
Result<sys::Fd> Reopen(sys::Env* env, const sys::Fd& fd, int flags) {
  return env->OpenAt(sys::Cwd(), "/proc/self/fd/" + std::to_string(fd.get()), flags);
}

// Opens a directory's entry for CopyOpened: files and directories for
// reading (never following; O_NONBLOCK so that a file swapped for a fifo
// meanwhile cannot hang the open), symlinks as O_PATH.
Result<sys::Fd> OpenChild(sys::Env* env, const sys::Fd& dir, const std::string& name,
                          const sys::FileInfo& info) {
  if (info.is_lnk()) return env->OpenAt(dir, name, O_PATH | O_NOFOLLOW);
  if (info.is_dir()) return env->OpenAt(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  return env->OpenAt(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
}

}  // namespace

agent::CopyFileRequest CopyHeader(const sys::FileInfo& info, const std::string& dest) {
  agent::CopyFileRequest r;
  r.path = dest;
  r.file_mode = info.mode;
  r.dir_mode = kParentDirMode;
  r.uid = static_cast<int32_t>(info.uid);
  r.gid = static_cast<int32_t>(info.gid);
  return r;
}

Result<agent::SetFileAttrsRequest> CopyAttrs(sys::Env* env, const sys::Fd* opened,
                                             const sys::FileInfo& info, const std::string& dest) {
  agent::SetFileAttrsRequest r;
  r.path = dest;
  r.atime_ns = info.atime_ns;
  r.mtime_ns = info.mtime_ns;
  if (opened != nullptr) {
    ASSIGN_OR_RETURN(r.xattrs, env->ListXattrs(*opened));
  }
  return r;
}

Result<bool> TreeCopier::Copy(const sys::Fd& source, const std::string& host_path,
                              const std::string& dest) {
  ASSIGN_OR_RETURN(sys::FileInfo info,
                   env_->StatAt(source, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
  if (!IsCopyable(info)) {
    ++stats_.skipped;
    return false;
  }
  sys::Fd readable;
  if (!info.is_lnk()) {
    ASSIGN_OR_RETURN(readable,
                     Reopen(env_, source, info.is_dir() ? O_RDONLY | O_DIRECTORY : O_RDONLY));
  }
  Status copied;
  {
    agent::CallWindow window(agent_, limits_);
    window_ = &window;
    copied = CopyOpened(info.is_lnk() ? source : readable, info, host_path, dest, 0, 0);
    if (copied.ok()) copied = FlushDirAttrs();
    // A failed call comes before any host-side error: it was sent earlier.
    if (Status drained = window.Drain(); !drained.ok()) copied = drained;
    window_ = nullptr;
  }
  dir_attrs_.clear();
  batch_ = {};
  for (auto& [key, linked] : links_) linked.done = 0;
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

Result<TreeCopier::Ticket> TreeCopier::SendCopy(agent::CopyFileRequest r, Ticket after) {
  return Send(agent::kAgentService, "CopyFile", agent::EncodeCopyFileRequest(std::move(r)),
              agent_->default_timeout(), after);
}

Result<TreeCopier::Ticket> TreeCopier::SendFile(const sys::Fd& opened, const sys::FileInfo& info,
                                                const std::string& host_path,
                                                const std::string& dest, Ticket parent) {
  ++stats_.entries;
  agent::CopyFileRequest r = CopyHeader(info, dest);
  r.file_size = static_cast<int64_t>(info.size);
  if (info.size == 0) return SendCopy(r, parent);
  // The agent truncates at offset 0 and completes the file (owner, mode,
  // rename) when a write makes it whole: the first chunk goes before the
  // others, which go at once, and the last after all of them.
  Ticket first = 0, first_middle = 0, sent = 0;
  uint64_t offset = 0;
  while (offset < info.size) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(kCopyChunkBytes, info.size - offset));
    std::string chunk;
    while (chunk.size() < want) {
      ASSIGN_OR_RETURN(std::string got, env_->Read(opened, want - chunk.size()));
      if (got.empty()) {
        return FailedPreconditionError(
            "copy " + Quote(host_path) + ": file shrank from " + std::to_string(info.size) +
            " to " + std::to_string(offset + chunk.size()) + " bytes while it was copied");
      }
      if (chunk.empty()) {
        chunk = std::move(got);
      } else {
        chunk += got;
      }
    }
    const bool last = offset + want == info.size;
    Ticket after = parent;
    if (offset != 0 && !last) after = first;
    if (offset != 0 && last) {
      if (first_middle != 0) RETURN_IF_ERROR(window_->WaitFrom(first_middle));
      after = first;
    }
    agent::CopyFileRequest c = r;  // the header; the chunk is moved, not copied
    c.offset = static_cast<int64_t>(offset);
    c.data = std::move(chunk);
    ASSIGN_OR_RETURN(sent, SendCopy(std::move(c), after));
    if (offset == 0) first = sent;
    if (offset != 0 && !last && first_middle == 0) first_middle = sent;
    offset += want;
    stats_.bytes += want;
    Report(host_path, /*final=*/false);
  }
  return sent;
}

Status TreeCopier::CopyOpened(const sys::Fd& opened, const sys::FileInfo& info,
                              const std::string& host_path, const std::string& dest, int depth,
                              Ticket parent) {
  if (depth > kMaxDepth) return ErrnoError(ELOOP, "copy " + Quote(host_path));
  if (info.is_lnk()) return BatchSymlink(opened, info, dest, parent);
  if (info.is_reg()) {
    if (Batchable(info)) return BatchFile(opened, info, host_path, dest, parent);
    ASSIGN_OR_RETURN(bool linked, LinkToEarlier(info, dest, parent));
    if (linked) return Status::Ok();
    ASSIGN_OR_RETURN(Ticket content, SendFile(opened, info, host_path, dest, parent));
    ASSIGN_OR_RETURN(auto attrs, CopyAttrs(env_, &opened, info, dest));
    ASSIGN_OR_RETURN(Ticket done, SendAttrs(attrs, content));
    if (info.nlink >= 2) links_[{info.dev, info.ino}].done = done;
    return Status::Ok();
  }
  return CopyDirectory(opened, info, host_path, dest, depth, parent);
}

Status TreeCopier::CopyDirectory(const sys::Fd& dir, const sys::FileInfo& info,
                                 const std::string& host_path, const std::string& dest, int depth,
                                 Ticket parent) {
  ++stats_.entries;
  // The directory is a step of the open batch: its entries need no wait.
  ASSIGN_OR_RETURN(Ticket made, BatchFor(dest.size(), parent));
  batch_.ops.emplace_back(CopyHeader(info, dest));
  batch_.bytes += dest.size();
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
    auto child = OpenChild(env_, dir, e.name, *child_info);
    if (!child.ok()) {
      if (child.status().err() == ENOENT) continue;  // removed meanwhile
      return child.status();
    }
    RETURN_IF_ERROR(CopyOpened(*child, *child_info, child_host, child_dest, depth + 1, made));
  }
  ASSIGN_OR_RETURN(auto attrs, CopyAttrs(env_, &dir, info, dest));
  if (InOpenBatch(made) && batch_.ops.size() + 2 <= agent::kMaxBatchOps) {
    // All of it is in this batch, which the agent runs in order.
    if (foreign_owner) {
      ++stats_.entries;
      batch_.ops.emplace_back(CopyHeader(info, dest));
    }
    batch_.ops.emplace_back(std::move(attrs));
    return Status::Ok();
  }
  if (foreign_owner) {
    // See the header: restores this directory's owner once every entry
    // below it (each chowning its parent) is done.
    RETURN_IF_ERROR(FlushBatch());
    RETURN_IF_ERROR(window_->WaitFrom(made));
    ++stats_.entries;
    RETURN_IF_ERROR(BatchFor(dest.size(), 0).status());
    batch_.ops.emplace_back(CopyHeader(info, dest));
    batch_.bytes += dest.size();
  }
  dir_attrs_.push_back(std::move(attrs));
  if (dir_attrs_.size() >= kMaxDirAttrs) return FlushDirAttrs();
  return Status::Ok();
}

Status TreeCopier::FlushDirAttrs() {
  RETURN_IF_ERROR(FlushBatch());
  if (dir_attrs_.empty()) return Status::Ok();
  RETURN_IF_ERROR(window_->Drain());
  for (auto& r : dir_attrs_) {
    const uint64_t bytes = r.path.size();
    RETURN_IF_ERROR(BatchFor(bytes, 0).status());
    batch_.ops.emplace_back(std::move(r));
    batch_.bytes += bytes;
  }
  dir_attrs_.clear();
  return FlushBatch();
}

Result<TreeCopier::Ticket> TreeCopier::SendAttrs(const agent::SetFileAttrsRequest& r,
                                                 Ticket after) {
  return Send(agent::kVmshareService, "SetFileAttrs", agent::EncodeSetFileAttrsRequest(r),
              kVmshareTimeout, after);
}

Result<bool> TreeCopier::LinkToEarlier(const sys::FileInfo& info, const std::string& dest,
                                       Ticket parent) {
  if (!info.is_reg() || info.nlink < 2) return false;
  auto [it, inserted] = links_.try_emplace({info.dev, info.ino}, Linked{dest, 0});
  if (inserted) return false;
  ++stats_.entries;
  // After the target is complete (its attributes set) and the parent made.
  if (it->second.done != 0) RETURN_IF_ERROR(window_->Wait(it->second.done));
  RETURN_IF_ERROR(Send(agent::kVmshareService, "Link",
                       agent::EncodeLinkRequest({dest, it->second.dest}), kVmshareTimeout, parent)
                      .status());
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
