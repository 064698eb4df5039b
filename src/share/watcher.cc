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
    c.sync = std::make_shared<VolumeSync>(env_, host_dir, guest_dir);
    v.copies.emplace(guest_dir, std::move(c));
    v.gone = false;
    Wake();
  }
}

void FileEventWatcher::Remove(const std::string& guest_dir) {
  std::unique_lock lock(mu_);
  for (auto it = volumes_.begin(); it != volumes_.end(); ++it) {
    if (it->second.copies.erase(guest_dir) == 0) continue;
    if (it->second.copies.empty()) {
      if (it->second.wd >= 0) {
        env_->InotifyRmWatch(inotify_, it->second.wd).IgnoreError();
        by_wd_.erase(it->second.wd);
      }
      volumes_.erase(it);
    }
    break;
  }
  // A sync of this copy in flight would still write to it.
  synced_.wait(lock, [&] { return in_flight_ != guest_dir; });
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
    std::vector<Report> reports;
    bool failed = false;
    std::vector<Job> jobs;
    {
      std::lock_guard lock(mu_);
      DrainEvents();
      jobs = ClaimDirty(&reports, &failed);
    }
    Deliver(&reports);
    agent::AgentClient* agent = agent_ ? agent_() : nullptr;
    for (const Job& job : jobs) {
      if (!RunJob(job, stop_ ? nullptr : agent, &reports)) failed = true;
      Deliver(&reports);
    }
    if (!failed) {
      retry_ms_ = 0;
      delay = -1;
    } else {
      retry_ms_ = retry_ms_ == 0 ? kFirstRetryMs : std::min(retry_ms_ * 2, kMaxRetryMs);
      delay = retry_ms_;
    }
  }
}

void FileEventWatcher::Deliver(std::vector<Report>* reports) {
  if (report_) {
    for (const Report& r : *reports) report_(r.volume, r.status);
  }
  reports->clear();
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

std::vector<FileEventWatcher::Job> FileEventWatcher::ClaimDirty(std::vector<Report>* reports,
                                                                bool* failed) {
  std::vector<Job> jobs;
  for (auto& [dir, v] : volumes_) {
    bool dirty = false;
    for (auto& [g, c] : v.copies) dirty |= c.dirty;
    if (!dirty || v.gone) continue;
    // Watch before reading the directory, so no update falls in between.
    if (v.wd < 0) {
      auto wd = env_->InotifyAddWatch(inotify_, dir, kWatchMask);
      if (!wd.ok()) {
        if (wd.status().err() == ENOENT || wd.status().err() == ENOTDIR) {
          v.gone = true;
          reports->push_back(
              {dir, NotFoundError("watch volume " + Quote(dir) + ": gone from the host")});
        } else {
          *failed = true;
          reports->push_back({dir, wd.status().WithContext("watch volume " + Quote(dir))});
        }
        continue;
      }
      v.wd = *wd;
      by_wd_[*wd] = dir;
    }
    for (auto& [g, c] : v.copies) {
      if (!c.dirty) continue;
      jobs.push_back({dir, g, c.sync, c.rescan});
      c.dirty = c.rescan = false;
    }
  }
  return jobs;
}

FileEventWatcher::Copy* FileEventWatcher::FindCopy(const Job& job) {
  auto v = volumes_.find(job.host_dir);
  if (v == volumes_.end()) return nullptr;
  auto c = v->second.copies.find(job.guest_dir);
  if (c == v->second.copies.end() || c->second.sync != job.sync) return nullptr;
  return &c->second;
}

bool FileEventWatcher::RunJob(const Job& job, agent::AgentClient* agent,
                              std::vector<Report>* reports) {
  {
    std::lock_guard lock(mu_);
    Copy* c = FindCopy(job);
    if (c == nullptr) return true;  // removed meanwhile: nothing to do
    if (agent == nullptr) {
      // No guest (or stopping): wait for the next round, keeping the claim.
      c->dirty = true;
      c->rescan |= job.rescan;
      return false;
    }
    in_flight_ = job.guest_dir;
  }
  Status s = job.sync->Sync(agent, job.rescan);
  if (!s.ok() && s.code() == Code::kNotFound && !job.rescan) {
    // Most likely the host moved on while we copied: look again now.
    s = job.sync->Sync(agent, true);
  }
  // A volume whose directory is gone (the pod went away) stays as it was in
  // the guest; anything else is retried.
  const bool gone =
      !s.ok() && env_->StatAt(sys::Cwd(), job.host_dir, AT_SYMLINK_NOFOLLOW).status().code() ==
                     Code::kNotFound;
  bool retry = false;
  {
    std::lock_guard lock(mu_);
    in_flight_.clear();
    if (Copy* c = FindCopy(job); c != nullptr && !s.ok()) {
      c->dirty = c->rescan = true;
      if (gone) {
        volumes_[job.host_dir].gone = true;
      } else {
        retry = true;
      }
    }
  }
  synced_.notify_all();
  reports->push_back({job.host_dir, s});
  return !retry;
}

}  // namespace vmshare::share
