#include "shim/main_loop.h"

namespace vmshare::shim {

Status MainLoop::RunOnMain(const std::function<Status()>& job) {
  std::unique_lock<std::mutex> lock(mu_);
  if (std::this_thread::get_id() == main_id_) {
    lock.unlock();
    return job();
  }
  if (quit_) return UnavailableError("shim is exiting");
  Status out;
  bool done = false;
  jobs_.push_back(Job{&job, &out, &done});
  cv_.notify_all();
  cv_.wait(lock, [&] { return done; });
  return out;
}

void MainLoop::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  main_id_ = std::this_thread::get_id();
  for (;;) {
    cv_.wait(lock, [this] { return quit_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    Job job = jobs_.front();
    jobs_.pop_front();
    lock.unlock();
    Status s = (*job.fn)();
    lock.lock();
    *job.out = std::move(s);
    *job.done = true;
    cv_.notify_all();
  }
}

void MainLoop::Quit() {
  std::lock_guard<std::mutex> lock(mu_);
  quit_ = true;
  cv_.notify_all();
}

}  // namespace vmshare::shim
