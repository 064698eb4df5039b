#include "share/watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>

#include <cstring>

#include "core/ids.h"

namespace vmshare::share {
namespace {

constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                                IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                                IN_DONT_FOLLOW;
constexpr int64_t kFirstRetryMs = 100;
constexpr int64_t kMaxRetryMs = 5000;

}  // namespace

FileEventWatcher::FileEventWatcher(sys::Env* env, AgentFn agent, ReportFn report)
    : env_(env), agent_(std::move(agent)), report_(std::move(report)) {}

FileEventWatcher::~FileEventWatcher() { Stop(); }

void FileEventWatcher::Wake() {
  if (!wake_.valid()) return;
  const uint64_t one = 1;
  env_->WriteAll(wake_, std::string_view(reinterpret_cast<const char*>(&one), sizeof one))
      .IgnoreError();
}

void FileEventWatcher::Add(const std::string& host_dir, const std::string& guest_dir) {
  {
    std::lock_guard lock(mu_);
    Volume& v = volumes_[host_dir];
    if (v.copies.contains(guest_dir)) return;
    Copy c;
    c.sync = std::make_unique<VolumeSync>(env_, host_dir, guest_dir);
    v.copies.emplace(guest_dir, std::move(c));
    v.gone = false;
    Wake();
  }
}

void FileEventWatcher::Remove(const std::string& guest_dir) {
  std::lock_guard lock(mu_);
  for (auto it = volumes_.begin(); it != volumes_.end(); ++it) {
    if (it->second.copies.erase(guest_dir) == 0) continue;
    if (it->second.copies.empty()) {
      if (it->second.wd >= 0) {
        env_->InotifyRmWatch(inotify_, it->second.wd).IgnoreError();
        by_wd_.erase(it->second.wd);
      }
      volumes_.erase(it);
    }
    return;
  }
}

Status FileEventWatcher::Start() {
  std::lock_guard start(start_mu_);
  if (running_) return Status::Ok();
  {
    std::lock_guard lock(mu_);
    if (!inotify_.valid()) {
      auto fd = env_->InotifyInit();
      if (!fd.ok()) return fd.status().WithContext("start volume watcher");
      inotify_ = std::move(fd).value();
    }
    if (!wake_.valid()) {
      auto fd = env_->EventFd();
      if (!fd.ok()) return fd.status().WithContext("start volume watcher");
      wake_ = std::move(fd).value();
    }
    for (auto& [dir, v] : volumes_) {
      v.gone = false;
      for (auto& [g, c] : v.copies) c.dirty = c.rescan = true;
    }
    retry_ms_ = 0;
  }
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void FileEventWatcher::Stop() {
  std::lock_guard start(start_mu_);
  if (!running_) return;
  stop_ = true;
  Wake();
  thread_.join();
  running_ = false;
}

void FileEventWatcher::Loop() {
  int64_t delay = 0;  // first round: sync at once
  while (!stop_) {
    std::vector<const sys::Fd*> fds = {&inotify_, &wake_};
    auto ready = env_->PollMany(fds, POLLIN, std::chrono::milliseconds(delay));
    if (stop_) return;
    if (ready.ok() && ((*ready)[1] & POLLIN)) env_->Read(wake_, 8).status().IgnoreError();
    std::lock_guard lock(mu_);
    DrainEvents();
    delay = SyncDirty();
  }
}

void FileEventWatcher::DrainEvents() {
  for (;;) {
    auto buf = env_->Read(inotify_, 64 * 1024);
    if (!buf.ok() || buf->empty()) return;  // EAGAIN: nothing more
    size_t off = 0;
    while (off + sizeof(inotify_event) <= buf->size()) {
      inotify_event ev;
      std::memcpy(&ev, buf->data() + off, sizeof ev);
      off += sizeof ev + ev.len;
      if (ev.mask & IN_Q_OVERFLOW) {
        for (auto& [dir, v] : volumes_) {
          for (auto& [g, c] : v.copies) c.dirty = c.rescan = true;
        }
        continue;
      }
      auto name = by_wd_.find(ev.wd);
      if (name == by_wd_.end()) continue;
      auto vol = volumes_.find(name->second);
      if (vol == volumes_.end()) continue;
      if (ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        // The directory went (or was replaced): watch it again, rescanned.
        if (ev.mask & IN_IGNORED) {
          by_wd_.erase(name);
          vol->second.wd = -1;
        }
        for (auto& [g, c] : vol->second.copies) c.rescan = true;
      }
      for (auto& [g, c] : vol->second.copies) c.dirty = true;
    }
  }
}

int64_t FileEventWatcher::SyncDirty() {
  agent::AgentClient* agent = agent_ ? agent_() : nullptr;
  bool failed = false;
  for (auto& [dir, v] : volumes_) {
    if (stop_) return -1;
    bool dirty = false;
    for (auto& [g, c] : v.copies) dirty |= c.dirty;
    if (!dirty || v.gone) continue;
    // Watch before reading the directory, so no update falls in between.
    if (v.wd < 0) {
      auto wd = env_->InotifyAddWatch(inotify_, dir, kWatchMask);
      if (!wd.ok()) {
        if (wd.status().err() == ENOENT || wd.status().err() == ENOTDIR) {
          v.gone = true;
          if (report_) report_(dir, NotFoundError("watch volume " + Quote(dir) + ": gone from the host"));
        } else {
          failed = true;
          if (report_) report_(dir, wd.status().WithContext("watch volume " + Quote(dir)));
        }
        continue;
      }
      v.wd = *wd;
      by_wd_[*wd] = dir;
    }
    for (auto& [g, c] : v.copies) {
      if (!c.dirty) continue;
      if (agent == nullptr) {
        failed = true;
        continue;
      }
      Status s = c.sync->Sync(agent, c.rescan);
      if (s.ok()) {
        c.dirty = c.rescan = false;
      } else if (s.code() == Code::kNotFound && !c.rescan) {
        // Most likely the host moved on while we copied: look again now.
        c.rescan = true;
        s = c.sync->Sync(agent, true);
        if (s.ok()) c.dirty = c.rescan = false;
      }
      if (!s.ok()) {
        c.rescan = true;
        // A volume whose directory is gone (the pod went away) stays as it
        // was in the guest; anything else is retried.
        if (env_->StatAt(sys::Cwd(), dir, AT_SYMLINK_NOFOLLOW).status().code() == Code::kNotFound) {
          v.gone = true;
        } else {
          failed = true;
        }
      }
      if (report_) report_(dir, s);
    }
  }
  if (!failed) {
    retry_ms_ = 0;
    return -1;
  }
  retry_ms_ = retry_ms_ == 0 ? kFirstRetryMs : std::min(retry_ms_ * 2, kMaxRetryMs);
  return retry_ms_;
}

}  // namespace vmshare::share
