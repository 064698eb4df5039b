// StdioRelay: one process's stdio between containerd's FIFOs and the guest.
//
// containerd (ctr, the CRI plugin) creates the FIFOs and names them in
// Create/Exec; the relay opens them without blocking (the output FIFOs
// read-write, so a reader that has not opened yet or has gone away neither
// blocks nor kills us) and copies:
//   - the stdin FIFO to the guest process (WriteStdin) until its writer
//     closes it or CloseStdin() (containerd's CloseIO) is called; either
//     sends what is still in the FIFO, then closes the guest's stdin;
//   - the guest's stdout (and stderr, unless it is a terminal) to the FIFOs,
//     until the guest reports end of stream; then the FIFO is closed, which
//     is the EOF containerd's copier waits for. Output without a FIFO is
//     read and dropped, so the guest never blocks on it.
// Every read from the guest is bounded (kChunk bytes per call).
//
// The end of the output is what the task service waits for before it
// collects the exit (task_service.cc): an output stream ends when the guest
// reports its end (the agent does once the process has exited and its pipe
// is drained), when a read from the guest fails, or, for a FIFO that takes
// no more, on Stop().
//
// Thread safety: CloseStdin, WaitOutputEnd and Stop may be called from any
// thread. The destructor stops the copiers and joins them; call it after
// the process is gone (its reads have ended) or the guest is down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "shim/backend.h"
#include "shim/task_wire.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::shim {

class StdioRelay {
 public:
  static constexpr uint32_t kChunk = 32 * 1024;

  // Opens the FIFOs `paths` names. Errors name the FIFO.
  static Result<std::unique_ptr<StdioRelay>> Open(sys::Env* env, const StdioPaths& paths);
  ~StdioRelay();
  StdioRelay(const StdioRelay&) = delete;
  StdioRelay& operator=(const StdioRelay&) = delete;

  // Starts copying for the process (cid, exec_id). REQUIRES: called once;
  // backend outlives the relay.
  void Start(SandboxBackend* backend, const std::string& cid, const std::string& exec_id);
  // Sends what stdin still holds, then closes the process's stdin. Idempotent.
  void CloseStdin();
  // Waits until every output stream reached its end (at once if the relay
  // never started).
  void WaitOutputEnd();
  // Stops copying: a copier waiting for room in a FIFO gives up, and output
  // that has no FIFO to go to ends the stream. Reads already waiting on the
  // guest end when the guest answers them. Idempotent.
  void Stop();

 private:
  StdioRelay(sys::Env* env, bool terminal) : env_(env), terminal_(terminal) {}
  void CopyIn();
  void CopyOut(int stream, sys::Fd* fifo);
  // Writes all of `data` to a non-blocking FIFO, waiting for room; false when
  // stopped first or the write failed.
  bool WriteFifo(const sys::Fd& fifo, std::string_view data);
  bool Stopping() const { return stop_.load(); }

  sys::Env* env_;
  bool terminal_;
  SandboxBackend* backend_ = nullptr;
  std::string cid_;
  std::string exec_id_;
  sys::Fd stdin_fifo_;
  sys::Fd stdout_fifo_;
  sys::Fd stderr_fifo_;
  sys::Fd wake_;  // eventfd: CloseStdin or stop
  std::atomic<bool> close_stdin_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int outputs_open_ = 0;  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace vmshare::shim
