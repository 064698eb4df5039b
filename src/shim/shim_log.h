// ShimLog: the shim's log lines, in logrus' text format, to the `log` FIFO
// containerd opens in the bundle and copies into its own log.
//
// The FIFO is opened read-write and non-blocking: the open never waits for
// containerd, and a line that does not fit (containerd is restarting and
// nobody drains the FIFO) is dropped rather than stalling the shim.
// Thread-safe; a default-constructed log drops everything.
#pragma once

#include <mutex>
#include <string>

#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::shim {

class ShimLog {
 public:
  ShimLog() = default;
  // Opens <bundle>/log; without it (not started by containerd) lines go
  // nowhere. REQUIRES: env outlives the log.
  ShimLog(sys::Env* env, const std::string& bundle, const std::string& id, bool debug);

  void Info(const std::string& msg) { Line("info", msg); }
  void Warning(const std::string& msg) { Line("warning", msg); }
  void Error(const std::string& msg) { Line("error", msg); }
  void Debug(const std::string& msg) {
    if (debug_) Line("debug", msg);
  }

 private:
  void Line(const char* level, const std::string& msg);

  sys::Env* env_ = nullptr;
  std::string id_;
  bool debug_ = false;
  std::mutex mu_;
  sys::Fd fd_;
};

}  // namespace vmshare::shim
