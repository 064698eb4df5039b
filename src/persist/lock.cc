#include "persist/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>

namespace vmshare::persist {
namespace {

// Holders of each locked directory within this process.
struct Holders {
  int shared = 0;
  bool exclusive = false;
  int waiting = 0;  // keeps the entry (and references to it) alive
};

class ProcessTable {
 public:
  // Returns false (when nonblocking) if the mode conflicts with a holder.
  bool Enter(dev_t dev, uint64_t ino, LockMode mode, bool nonblocking) {
    std::unique_lock<std::mutex> l(mu_);
    Holders& h = table_[{dev, ino}];
    auto free = [&] {
      return mode == LockMode::kShared ? !h.exclusive : !h.exclusive && h.shared == 0;
    };
    if (!free()) {
      if (nonblocking) {
        Drop(dev, ino);
        return false;
      }
      ++h.waiting;
      cv_.wait(l, free);
      --h.waiting;
    }
    if (mode == LockMode::kShared)
      ++h.shared;
    else
      h.exclusive = true;
    return true;
  }

  void Leave(dev_t dev, uint64_t ino, LockMode mode) {
    {
      std::lock_guard<std::mutex> l(mu_);
      Holders& h = table_[{dev, ino}];
      if (mode == LockMode::kShared)
        --h.shared;
      else
        h.exclusive = false;
      Drop(dev, ino);
    }
    cv_.notify_all();
  }

 private:
  // REQUIRES: mu_ held. Forgets an entry nobody holds.
  void Drop(dev_t dev, uint64_t ino) {
    auto it = table_.find({dev, ino});
    if (it != table_.end() && it->second.shared == 0 && !it->second.exclusive &&
        it->second.waiting == 0)
      table_.erase(it);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<dev_t, uint64_t>, Holders> table_;  // GUARDED_BY(mu_)
};

ProcessTable& Table() {
  static auto* table = new ProcessTable();  // never destroyed: locks may outlive static teardown
  return *table;
}

Status Busy(const std::string& what) {
  return Status(Code::kBusy, "lock " + what + ": held by another holder", EWOULDBLOCK);
}

}  // namespace

SandboxLock& SandboxLock::operator=(SandboxLock&& o) noexcept {
  if (this != &o) {
    Release();
    fd_ = std::move(o.fd_);
    mode_ = o.mode_;
    dev_ = o.dev_;
    ino_ = o.ino_;
  }
  return *this;
}

void SandboxLock::Release() {
  if (!fd_.valid()) return;
  // Closing the only fd of the open file drops the flock; only then may
  // another thread of this process take it.
  fd_.Reset();
  Table().Leave(dev_, ino_, mode_);
}

Result<SandboxLock> SandboxLock::Acquire(sys::Env* env, const std::string& dir_path,
                                         const std::string& what, LockMode mode, bool nonblocking) {
  auto fd = env->OpenAt(sys::Cwd(), dir_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!fd.ok()) {
    if (fd.status().code() == Code::kNotFound) return NotFoundError(what + " does not exist");
    return fd.status().WithContext("lock " + what);
  }
  ASSIGN_OR_RETURN(sys::FileInfo info, env->StatAt(*fd, "", AT_EMPTY_PATH));
  if (!Table().Enter(info.dev, info.ino, mode, nonblocking)) return Busy(what);

  int op = mode == LockMode::kShared ? LOCK_SH : LOCK_EX;
  if (nonblocking) op |= LOCK_NB;
  Status s = env->Flock(*fd, op);
  if (!s.ok()) {
    Table().Leave(info.dev, info.ino, mode);
    if (s.err() == EWOULDBLOCK) return Busy(what);
    return s.WithContext("lock " + what);
  }
  SandboxLock lock;
  lock.fd_ = std::move(fd).value();
  lock.mode_ = mode;
  lock.dev_ = info.dev;
  lock.ino_ = info.ino;
  return lock;
}

}  // namespace vmshare::persist
