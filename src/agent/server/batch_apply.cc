#include "agent/server/batch_apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "agent/server/copy_file.h"
#include "agent/server/in_root.h"
#include "core/ids.h"
#include "core/types.h"

namespace vmshare::agent {
namespace {

constexpr uint64_t kResolve = kResolveInSharedRoot;
constexpr int kMaxRemoveDepth = 4096;

}  // namespace

void CopyMadeDirs::Add(const sys::FileInfo& dir) {
  if (ids_.size() >= kMax) ids_.clear();
  ids_.insert({dir.dev, dir.ino});
}

Status BatchApplier::Run(const std::vector<BatchOp>& ops) {
  for (size_t i = 0; i < ops.size(); ++i) {
    const BatchOp& op = ops[i];
    Status s;
    if (const auto* c = std::get_if<CopyFileRequest>(&op)) {
      s = CopyFile(*c);
    } else if (const auto* r = std::get_if<RenameRequest>(&op)) {
      s = Rename(*r);
    } else if (const auto* rm = std::get_if<RemoveRequest>(&op)) {
      s = Remove(*rm);
    } else {
      s = SetFileAttrs(std::get<SetFileAttrsRequest>(op));
    }
    if (!s.ok())
      return s.WithContext("batch step " + std::to_string(i + 1) + " of " +
                           std::to_string(ops.size()));
    // Kept only for the step right after the one that created it.
    if (!std::holds_alternative<CopyFileRequest>(op)) last_file_ = {};
  }
  return Status::Ok();
}

Result<BatchApplier::Target> BatchApplier::Parse(const std::string& op,
                                                 const std::string& path) const {
  const std::string_view prefix = kGuestSharedDir;
  if (path.compare(0, prefix.size(), prefix) != 0 || path.size() == prefix.size() ||
      path[prefix.size()] != '/') {
    return InvalidArgumentError(op + " " + Quote(path) + ": path is not under " +
                                std::string(prefix) + "/");
  }
  Target t;
  ASSIGN_OR_RETURN(t.parts, SplitRelative(std::string_view(path).substr(prefix.size() + 1), op));
  if (t.parts.empty()) {
    return InvalidArgumentError(op + " " + Quote(path) + ": names the shared directory");
  }
  for (size_t i = 0; i < t.parts.size(); ++i) {
    if (i + 1 == t.parts.size()) t.parent = t.rel;
    if (i > 0) t.rel += '/';
    t.rel += t.parts[i];
  }
  return t;
}

Result<const sys::Fd*> BatchApplier::Root(bool create) {
  if (root_.valid()) return &root_;
  auto root = env_->OpenAt(sys::Cwd(), shared_root_, O_PATH | O_DIRECTORY);
  if (!root.ok() && root.status().err() == ENOENT && create) {
    RETURN_IF_ERROR(MkdirAll(env_, shared_root_, 0755));
    root = env_->OpenAt(sys::Cwd(), shared_root_, O_PATH | O_DIRECTORY);
  }
  if (!root.ok()) return root.status();
  root_ = std::move(root).value();
  return &root_;
}

Result<BatchApplier::Dir*> BatchApplier::Parent(const std::string& op, const std::string& path,
                                                const Target& t, bool create, mode_t dir_mode) {
  if (auto it = dirs_.find(t.parent); it != dirs_.end()) return &it->second;
  ASSIGN_OR_RETURN(const sys::Fd* root, Root(create));
  auto fd =
      env_->OpenAt2(*root, t.parent.empty() ? "." : t.parent, O_PATH | O_DIRECTORY, 0, kResolve);
  if (!fd.ok() && fd.status().err() == ENOENT && create) {
    fd = MkdirAllInRoot(env_, *root, t.parts, t.parts.size() - 1, dir_mode, kResolve);
  }
  if (!fd.ok()) {
    if (fd.status().err() == ELOOP || fd.status().err() == EXDEV) {
      return PermissionDeniedError(op + " " + Quote(path) + ": a parent directory is a symlink");
    }
    return fd.status().WithContext(op + " " + Quote(path));
  }
  Dir& d = dirs_[t.parent];
  d.fd = std::move(fd).value();
  if (made_dirs_ != nullptr && !made_dirs_->empty()) {
    auto info = env_->StatAt(d.fd, "", AT_EMPTY_PATH);
    d.fresh = info.ok() && made_dirs_->Contains(*info);
    if (info.ok()) d.mode = info->mode & 07777;
  }
  return &d;
}

void BatchApplier::Forget(const std::string& rel) {
  dirs_.erase(rel);
  const std::string below = rel + "/";
  for (auto it = dirs_.lower_bound(below);
       it != dirs_.end() && it->first.compare(0, below.size(), below) == 0;) {
    it = dirs_.erase(it);
  }
}

Status BatchApplier::CopyFile(const CopyFileRequest& r) {
  last_file_ = {};
  ASSIGN_OR_RETURN(Target t, Parse("copy file", r.path));
  const std::string context = "copy file " + Quote(r.path);
  if (t.name().rfind(kCopyTempPrefix, 0) == 0) {
    return InvalidArgumentError(context + ": names starting with " + kCopyTempPrefix +
                                " are reserved");
  }
  ASSIGN_OR_RETURN(Dir * parent,
                   Parent("copy file", r.path, t, /*create=*/true, r.dir_mode & 0777));
  const auto uid = static_cast<uid_t>(r.uid);
  const auto gid = static_cast<gid_t>(r.gid);
  if (t.parts.size() > 1 && !(parent->owner_known && parent->uid == uid && parent->gid == gid)) {
    RETURN_IF_ERROR(env_->ChownAt(parent->fd, "", uid, gid, AT_EMPTY_PATH));
    parent->owner_known = true;
    parent->uid = uid;
    parent->gid = gid;
  }
  Status s;
  switch (r.file_mode & S_IFMT) {
    case S_IFDIR:
      s = CopyDirectory(*parent, t, r);
      break;
    case S_IFLNK:
      s = CopySymlink(*parent, t, r);
      break;
    default:
      s = CopyRegular(*parent, t, r);
      break;
  }
  return s.WithContext(context);
}

Status BatchApplier::CopyDirectory(Dir& parent, const Target& t, const CopyFileRequest& r) {
  const std::string& name = t.name();
  auto kept = dirs_.find(t.rel);
  bool fresh = false;
  if (kept == dirs_.end()) {
    Status made = env_->MkdirAt(parent.fd, name, r.file_mode & 07777);
    fresh = made.ok();
    if (!made.ok() && made.err() != EEXIST) return made;
    if (!made.ok()) {
      // Something is there already: a directory stays, anything else goes.
      ASSIGN_OR_RETURN(sys::FileInfo info, env_->StatAt(parent.fd, name, AT_SYMLINK_NOFOLLOW));
      if (!info.is_dir()) {
        RETURN_IF_ERROR(RemoveEntry(env_, parent.fd, name));
        made = env_->MkdirAt(parent.fd, name, r.file_mode & 07777);
        if (!made.ok() && made.err() != EEXIST) return made;
      }
    }
    parent.made.insert(name);
  }
  ASSIGN_OR_RETURN(sys::Fd dir, env_->OpenAt(parent.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  // Owner before mode: chown clears setuid/setgid.
  const auto uid = static_cast<uid_t>(r.uid);
  const auto gid = static_cast<gid_t>(r.gid);
  RETURN_IF_ERROR(env_->ChownAt(dir, "", uid, gid, AT_EMPTY_PATH));
  RETURN_IF_ERROR(env_->ChmodFd(dir, r.file_mode & 07777));
  if (fresh && made_dirs_ != nullptr) {
    ASSIGN_OR_RETURN(sys::FileInfo info, env_->StatAt(dir, "", AT_EMPTY_PATH));
    made_dirs_->Add(info);
  }
  Dir& d = kept != dirs_.end() ? kept->second : dirs_[t.rel];
  if (kept == dirs_.end()) d.fresh = fresh;
  d.fd = std::move(dir);
  d.mode = r.file_mode & 07777;
  d.owner_known = true;
  d.uid = uid;
  d.gid = gid;
  return Status::Ok();
}

Status BatchApplier::CopySymlink(Dir& parent, const Target& t, const CopyFileRequest& r) {
  if (r.data.empty() || r.data.find('\0') != std::string::npos) {
    return InvalidArgumentError("bad symlink target " + Quote(r.data));
  }
  const std::string& name = t.name();
  Forget(t.rel);
  Status s = env_->SymlinkAt(r.data, parent.fd, name);
  if (!s.ok() && s.err() == EEXIST) {
    RETURN_IF_ERROR(RemoveEntry(env_, parent.fd, name));
    s = env_->SymlinkAt(r.data, parent.fd, name);
  }
  RETURN_IF_ERROR(s);
  parent.made.insert(name);
  return env_->ChownAt(parent.fd, name, static_cast<uid_t>(r.uid), static_cast<gid_t>(r.gid),
                       AT_SYMLINK_NOFOLLOW);
}

Status BatchApplier::CopyRegular(Dir& parent, const Target& t, const CopyFileRequest& r) {
  RETURN_IF_ERROR(CheckCopyChunk(r, r.data));
  const std::string& name = t.name();
  Forget(t.rel);
  const bool whole = r.offset == 0 && static_cast<int64_t>(r.data.size()) == r.file_size;
  if (!whole || !parent.fresh || parent.made.contains(name)) return CopyThroughTemp(parent, t, r);
  // A new name in a directory a batch made: nothing to replace.
  auto fd = env_->OpenAt(parent.fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (!fd.ok() && fd.status().err() == EEXIST) return CopyThroughTemp(parent, t, r);
  if (!fd.ok()) return fd.status();
  parent.made.insert(name);
  if (!r.data.empty()) RETURN_IF_ERROR(env_->WriteAll(*fd, r.data, uint64_t{0}));
  // Owner before mode: chown clears setuid/setgid.
  const auto uid = static_cast<uid_t>(r.uid);
  const auto gid = static_cast<gid_t>(r.gid);
  if (!CreatesAs(parent, uid, gid))
    RETURN_IF_ERROR(env_->ChownAt(*fd, "", uid, gid, AT_EMPTY_PATH));
  RETURN_IF_ERROR(env_->ChmodFd(*fd, r.file_mode & 07777));
  last_file_ = {r.path, std::move(fd).value()};
  return Status::Ok();
}

bool BatchApplier::CreatesAs(const Dir& parent, uid_t uid, gid_t gid) {
  if (!parent.mode || (*parent.mode & S_ISGID) != 0) return false;
  if (!creator_) creator_.emplace(env_->GetEuid(), env_->GetEgid());
  return creator_->first == uid && creator_->second == gid;
}

Result<bool> BatchApplier::SetTimesOnLastFile(const SetFileAttrsRequest& r) {
  if (!last_file_.fd.valid() || last_file_.path != r.path || !r.xattrs.empty()) return false;
  const sys::Fd fd = std::move(last_file_.fd);
  last_file_ = {};
  RETURN_IF_ERROR(env_->SetTimes(fd, "", r.atime_ns, r.mtime_ns)
                      .WithContext("set attributes of " + Quote(r.path)));
  return true;
}

Status BatchApplier::CopyThroughTemp(Dir& parent, const Target& t, const CopyFileRequest& r) {
  parent.made.insert(t.name());
  return agent::CopyThroughTemp(env_, parent.fd, t.name(), r, r.data);
}

Status BatchApplier::Rename(const RenameRequest& r) {
  ASSIGN_OR_RETURN(Target from, Parse("rename", r.from));
  ASSIGN_OR_RETURN(Target to, Parse("rename", r.to));
  ASSIGN_OR_RETURN(Dir * from_dir, Parent("rename", r.from, from, /*create=*/false, 0));
  ASSIGN_OR_RETURN(Dir * to_dir, Parent("rename", r.to, to, /*create=*/false, 0));
  RETURN_IF_ERROR(env_->RenameAt(from_dir->fd, from.name(), to_dir->fd, to.name())
                      .WithContext("rename " + Quote(r.from) + " to " + Quote(r.to)));
  // After the rename neither parent is at or below the other's old name.
  to_dir->made.insert(to.name());
  Forget(from.rel);
  Forget(to.rel);
  return Status::Ok();
}

Status BatchApplier::Remove(const RemoveRequest& r) {
  ASSIGN_OR_RETURN(Target t, Parse("remove", r.path));
  auto parent = Parent("remove", r.path, t, /*create=*/false, 0);
  // Nothing to remove below a missing parent.
  if (!parent.ok() && parent.status().err() == ENOENT) return Status::Ok();
  if (!parent.ok()) return parent.status();
  Forget(t.rel);
  const sys::Fd& dir = (*parent)->fd;
  Status s;
  if (r.recursive) {
    auto info = env_->StatAt(dir, t.name(), AT_SYMLINK_NOFOLLOW);
    if (!info.ok() && info.status().err() == ENOENT) return Status::Ok();
    if (!info.ok()) return info.status().WithContext("remove " + Quote(r.path));
    s = RemoveTree(dir, t.name(), info->is_dir() ? DT_DIR : DT_REG, 0);
  } else {
    s = RemoveEntry(env_, dir, t.name());
  }
  return s.WithContext("remove " + Quote(r.path));
}

// rm -r of `name` in `dir`, depth first, without following symlinks or
// crossing mounts. `type` is the entry's DT_* as its directory listed it.
Status BatchApplier::RemoveTree(const sys::Fd& dir, const std::string& name, unsigned char type,
                                int depth) {
  if (depth > kMaxRemoveDepth) return ErrnoError(ELOOP, "remove " + Quote(name));
  if (type != DT_DIR) {
    Status s = env_->UnlinkAt(dir, name, 0);
    if (s.ok() || s.err() == ENOENT) return Status::Ok();
    // DT_UNKNOWN, or the entry changed since it was listed.
    if (s.err() != EISDIR && s.err() != EPERM) return s;
  }
  ASSIGN_OR_RETURN(sys::Fd sub,
                   env_->OpenAt2(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, kResolveBelow));
  ASSIGN_OR_RETURN(auto entries, env_->ReadDir(sub));
  for (const auto& e : entries) RETURN_IF_ERROR(RemoveTree(sub, e.name, e.type, depth + 1));
  Status s = env_->UnlinkAt(dir, name, AT_REMOVEDIR);
  return s.err() == ENOENT ? Status::Ok() : s;
}

Status BatchApplier::SetFileAttrs(const SetFileAttrsRequest& r) {
  ASSIGN_OR_RETURN(bool done, SetTimesOnLastFile(r));
  if (done) return Status::Ok();
  ASSIGN_OR_RETURN(Target t, Parse("set attributes of", r.path));
  ASSIGN_OR_RETURN(Dir * parent, Parent("set attributes of", r.path, t, /*create=*/false, 0));
  const std::string& name = t.name();
  if (!r.xattrs.empty()) {
    const std::string what = "set attributes of " + Quote(r.path);
    auto fd = env_->OpenAt2(parent->fd, name, O_PATH | O_NOFOLLOW, 0,
                            kResolveBelow & ~sys::kResolveNoXdev);
    if (!fd.ok()) return fd.status().WithContext(what);
    ASSIGN_OR_RETURN(sys::FileInfo info, env_->StatAt(*fd, "", AT_EMPTY_PATH));
    if (info.is_lnk()) return InvalidArgumentError(what + ": xattrs on a symlink");
    for (const auto& [xname, value] : r.xattrs) {
      Status set = env_->SetXattr(*fd, xname, value);
      // Where the guest filesystem has no such xattrs (user.* on an older
      // tmpfs), the copy goes on without them.
      if (!set.ok() && set.err() != EOPNOTSUPP) return set.WithContext(what);
    }
  }
  Status s = env_->SetTimes(parent->fd, name, r.atime_ns, r.mtime_ns);
  if (!s.ok()) return s.WithContext("set attributes of " + Quote(r.path));
  return Status::Ok();
}

}  // namespace vmshare::agent
