// FaultEnv: an Env for tests that fails chosen calls and simulates crashes.
//
// Two kinds of fault (the idea of LevelDB's FaultInjectionTestEnv):
//   - FailNth(op, n, errno): the n-th call (1-based, counted from now) of
//     `op` fails with errno and does nothing. CrashAfter(k): every call after
//     the next k calls fails with EIO, as if the process had died there.
//   - DropUnsyncedData(): what a power cut would lose. File bytes written
//     since the file's last fsync are cut off (the file is truncated to its
//     size at that fsync, 0 if never synced); directory changes made since the
//     directory's last fsync are undone in reverse order: a created file is
//     removed, a rename is reversed and the file it replaced restored.
// Unlinks and mkdirs are not reverted (the state store never relies on their
// durability). Bookkeeping uses paths (FdPath of the dir + name) and plain
// std::filesystem, since this is test code. Not thread-safe.
#pragma once

#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sys/env_wrapper.h"

namespace vmshare::testing {

class FaultEnv : public sys::EnvWrapper {
 public:
  enum class Op {
    kOpenAt,
    kMkdirAt,
    kUnlinkAt,
    kRenameAt,
    kStatAt,
    kReadDir,
    kWriteAll,
    kReadAll,
    kFsync,
    kCount
  };

  explicit FaultEnv(sys::Env* target) : sys::EnvWrapper(target) {}

  void FailNth(Op op, int n, int err) { fail_[static_cast<int>(op)] = {calls(op) + n, err}; }
  void CrashAfter(int k) { crash_at_ = total_ + k; }
  void ClearFaults() {
    fail_.clear();
    crash_at_.reset();
  }
  int calls(Op op) const { return count_[static_cast<int>(op)]; }
  int total_calls() const { return total_; }

  Result<sys::Fd> OpenAt(const sys::Fd& dir, const std::string& path, int flags,
                         mode_t mode) override {
    RETURN_IF_ERROR(Enter(Op::kOpenAt, "open", path));
    const std::string full = Resolve(dir, path);
    const bool existed = std::filesystem::exists(std::filesystem::symlink_status(full));
    auto fd = target()->OpenAt(dir, path, flags, mode);
    if (fd.ok()) {
      if (!existed && (flags & O_CREAT)) {
        dir_ops_.push_back({DirOp::kCreate, full, "", std::nullopt});
        synced_size_[full] = 0;
      }
      if ((flags & O_ACCMODE) != O_RDONLY) fd_path_[fd->get()] = full;
    }
    return fd;
  }
  Status MkdirAt(const sys::Fd& dir, const std::string& path, mode_t mode) override {
    RETURN_IF_ERROR(Enter(Op::kMkdirAt, "mkdir", path));
    return target()->MkdirAt(dir, path, mode);
  }
  Status UnlinkAt(const sys::Fd& dir, const std::string& path, int flags) override {
    RETURN_IF_ERROR(Enter(Op::kUnlinkAt, "unlink", path));
    return target()->UnlinkAt(dir, path, flags);
  }
  Status RenameAt(const sys::Fd& olddir, const std::string& oldpath, const sys::Fd& newdir,
                  const std::string& newpath, unsigned flags) override {
    RETURN_IF_ERROR(Enter(Op::kRenameAt, "rename", oldpath));
    const std::string from = Resolve(olddir, oldpath), to = Resolve(newdir, newpath);
    std::optional<std::string> replaced;
    if (std::filesystem::exists(to)) replaced = Slurp(to);
    Status s = target()->RenameAt(olddir, oldpath, newdir, newpath, flags);
    if (s.ok()) {
      dir_ops_.push_back({DirOp::kRename, to, from, replaced});
      if (synced_size_.count(from)) {
        synced_size_[to] = synced_size_[from];
        synced_size_.erase(from);
      } else {
        synced_size_.erase(to);
      }
      for (auto& [fd, p] : fd_path_)
        if (p == from) p = to;
    }
    return s;
  }
  Result<sys::FileInfo> StatAt(const sys::Fd& dir, const std::string& path, int flags) override {
    RETURN_IF_ERROR(Enter(Op::kStatAt, "stat", path));
    return target()->StatAt(dir, path, flags);
  }
  Result<std::vector<sys::DirEntry>> ReadDir(const sys::Fd& dir) override {
    RETURN_IF_ERROR(Enter(Op::kReadDir, "read directory", ""));
    return target()->ReadDir(dir);
  }
  Status WriteAll(const sys::Fd& fd, std::string_view data,
                  std::optional<uint64_t> offset) override {
    RETURN_IF_ERROR(Enter(Op::kWriteAll, "write", ""));
    auto it = fd_path_.find(fd.get());
    if (it != fd_path_.end() && !synced_size_.count(it->second))
      synced_size_[it->second] = Size(it->second);
    return target()->WriteAll(fd, data, offset);
  }
  Result<std::string> ReadAll(const sys::Fd& fd, size_t limit) override {
    RETURN_IF_ERROR(Enter(Op::kReadAll, "read", ""));
    return target()->ReadAll(fd, limit);
  }
  Status Fsync(const sys::Fd& fd) override {
    RETURN_IF_ERROR(Enter(Op::kFsync, "fsync", ""));
    RETURN_IF_ERROR(target()->Fsync(fd));
    auto path = target()->FdPath(fd);
    if (!path.ok()) return Status::Ok();
    if (std::filesystem::is_directory(*path)) {
      // Everything this directory records is now durable.
      std::vector<DirOp> keep;
      for (auto& op : dir_ops_)
        if (std::filesystem::path(op.path).parent_path() != *path) keep.push_back(op);
      dir_ops_ = std::move(keep);
    } else {
      synced_size_[*path] = Size(*path);
    }
    return Status::Ok();
  }

  // Loses what a power cut would lose (see the file comment), then forgets
  // all bookkeeping: the next state is the durable one.
  void DropUnsyncedData() {
    for (const auto& [path, size] : synced_size_)
      if (std::filesystem::exists(path) && Size(path) != size)
        std::filesystem::resize_file(path, size);
    for (auto it = dir_ops_.rbegin(); it != dir_ops_.rend(); ++it) {
      std::error_code ec;
      if (it->kind == DirOp::kCreate) {
        std::filesystem::remove(it->path, ec);
      } else {
        if (std::filesystem::exists(it->path)) std::filesystem::rename(it->path, it->from, ec);
        if (it->replaced)
          std::ofstream(it->path, std::ios::binary | std::ios::trunc) << *it->replaced;
      }
    }
    dir_ops_.clear();
    synced_size_.clear();
    fd_path_.clear();
  }

 private:
  struct DirOp {
    enum Kind { kCreate, kRename } kind;
    std::string path;                     // the created file, or the rename target
    std::string from;                     // the rename source
    std::optional<std::string> replaced;  // what the rename target held before
  };

  Status Enter(Op op, const char* what, const std::string& path) {
    const int i = static_cast<int>(op);
    ++count_[i];
    ++total_;
    if (crash_at_ && total_ > *crash_at_)
      return ErrnoError(EIO, std::string("injected crash: ") + what + " \"" + path + "\"");
    auto it = fail_.find(i);
    if (it != fail_.end() && it->second.first == count_[i])
      return ErrnoError(it->second.second,
                        std::string("injected fault: ") + what + " \"" + path + "\"");
    return Status::Ok();
  }

  std::string Resolve(const sys::Fd& dir, const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    auto base = target()->FdPath(dir);
    std::string b = base.ok() ? *base : std::filesystem::current_path().string();
    return path.empty() ? b : b + "/" + path;
  }
  static uint64_t Size(const std::string& path) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path, ec);
    return ec ? 0 : n;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  int count_[static_cast<int>(Op::kCount)] = {};
  int total_ = 0;
  std::optional<int> crash_at_;
  std::map<int, std::pair<int, int>> fail_;      // op -> (call number, errno)
  std::map<int, std::string> fd_path_;           // fds opened for writing
  std::map<std::string, uint64_t> synced_size_;  // files with possibly unsynced bytes
  std::vector<DirOp> dir_ops_;
};

}  // namespace vmshare::testing
