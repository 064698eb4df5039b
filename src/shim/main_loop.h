// MainLoop: runs jobs on the shim's main thread.
//
// The guest's processes (virtiofsd, QEMU) are started with a parent-death
// signal, which Linux ties to the *thread* that forked them: started from a
// ttrpc handler thread they would be killed when that call returns. Boot and
// shutdown therefore run here, on the thread that lives as long as the shim.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "core/result.h"

namespace vmshare::shim {

class MainLoop {
 public:
  // Runs `job` on the Run() thread and returns its result; inline when called
  // from that thread. kUnavailable once Quit() was called.
  Status RunOnMain(const std::function<Status()>& job);
  // Runs jobs until Quit(). REQUIRES: called once, from the main thread.
  void Run();
  void Quit();

 private:
  struct Job {
    const std::function<Status()>* fn;
    Status* out;
    bool* done;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;  // GUARDED_BY(mu_)
  bool quit_ = false;     // GUARDED_BY(mu_)
  std::thread::id main_id_;
};

}  // namespace vmshare::shim
