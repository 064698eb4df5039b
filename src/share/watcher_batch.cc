#include "share/watcher_batch.h"

#include <fcntl.h>

#include <cerrno>

#include "share/copy_tree.h"

namespace vmshare::share {
namespace {

constexpr int kMaxDepth = 32;

}  // namespace

Result<bool> BatchTree::Append(const sys::Fd& dir, const std::string& name, const std::string& dest,
                               std::vector<agent::BatchOp>* ops) {
  ASSIGN_OR_RETURN(sys::FileInfo info, env_->StatAt(dir, name, AT_SYMLINK_NOFOLLOW));
  const size_t before = ops->size();
  const uint64_t bytes_before = bytes_;
  ASSIGN_OR_RETURN(bool fits, AppendEntry(dir, name, info, dest, 0, ops));
  if (!fits) {
    ops->resize(before);
    bytes_ = bytes_before;
  }
  return fits;
}

Result<bool> BatchTree::AppendEntry(const sys::Fd& dir, const std::string& name,
                                    const sys::FileInfo& info, const std::string& dest, int depth,
                                    std::vector<agent::BatchOp>* ops) {
  if (depth > kMaxDepth) return false;
  if (info.is_lnk()) {
    ASSIGN_OR_RETURN(std::string target, env_->ReadlinkAt(dir, name));
    if (!Fits(*ops, target.size())) return false;
    bytes_ += target.size();
    agent::CopyFileRequest r = CopyHeader(info, dest);
    r.data = std::move(target);
    ops->emplace_back(std::move(r));
    ASSIGN_OR_RETURN(auto attrs, CopyAttrs(env_, nullptr, info, dest));  // a symlink has no xattrs
    ops->emplace_back(std::move(attrs));
    return true;
  }
  if (info.is_reg()) {
    if (info.nlink >= 2 || !Fits(*ops, info.size)) return false;
    ASSIGN_OR_RETURN(sys::Fd fd, env_->OpenAt(dir, name, O_RDONLY | O_NOFOLLOW));
    ASSIGN_OR_RETURN(std::string data, env_->ReadAll(fd, info.size + 1));
    if (data.size() != info.size) return false;  // changing: the copier says how
    bytes_ += data.size();
    agent::CopyFileRequest r = CopyHeader(info, dest);
    r.file_size = static_cast<int64_t>(data.size());
    r.data = std::move(data);
    ops->emplace_back(std::move(r));
    ASSIGN_OR_RETURN(auto attrs, CopyAttrs(env_, &fd, info, dest));
    ops->emplace_back(std::move(attrs));
    return true;
  }
  if (!info.is_dir() || !Fits(*ops, 0)) return false;
  ops->emplace_back(CopyHeader(info, dest));
  ASSIGN_OR_RETURN(sys::Fd sub, env_->OpenAt(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  ASSIGN_OR_RETURN(auto entries, env_->ReadDir(sub));
  bool foreign_owner = false;
  for (const auto& e : entries) {
    auto child = env_->StatAt(sub, e.name, AT_SYMLINK_NOFOLLOW);
    if (!child.ok()) {
      if (child.status().err() == ENOENT) continue;  // removed meanwhile
      return child.status();
    }
    foreign_owner |= child->uid != info.uid || child->gid != info.gid;
    ASSIGN_OR_RETURN(bool fits,
                     AppendEntry(sub, e.name, *child, dest + "/" + e.name, depth + 1, ops));
    if (!fits) return false;
  }
  if (foreign_owner) ops->emplace_back(CopyHeader(info, dest));
  ASSIGN_OR_RETURN(auto attrs, CopyAttrs(env_, &sub, info, dest));
  ops->emplace_back(std::move(attrs));
  return Fits(*ops, 0);
}

}  // namespace vmshare::share
