#include "shim/stdio_relay.h"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>

namespace vmshare::shim {
namespace {

// A pipe write of at most PIPE_BUF bytes is atomic: on a non-blocking FIFO
// it either writes all of it or fails with EAGAIN, so a retry never repeats
// or loses bytes.
constexpr size_t kAtomicPipeWrite = 4096;
constexpr std::chrono::milliseconds kPollSlice{100};

// Output FIFOs are opened read-write: the open never waits for a reader,
// and a reader that goes away gives no EPIPE. stdin is opened read-only
// (still without waiting), so that the writer's close reaches us as EOF.
Result<sys::Fd> OpenFifo(sys::Env* env, const std::string& path, const char* what, int mode) {
  if (path.empty()) return sys::Fd();
  Result<sys::Fd> fd = env->OpenAt(sys::Cwd(), path, mode | O_NONBLOCK);
  if (!fd.ok()) return fd.status().WithContext(std::string("open ") + what + " fifo");
  return fd;
}

}  // namespace

Result<std::unique_ptr<StdioRelay>> StdioRelay::Open(sys::Env* env, const StdioPaths& paths) {
  std::unique_ptr<StdioRelay> r(new StdioRelay(env, paths.terminal));
  ASSIGN_OR_RETURN(r->stdin_fifo_, OpenFifo(env, paths.stdin_path, "stdin", O_RDONLY));
  ASSIGN_OR_RETURN(r->stdout_fifo_, OpenFifo(env, paths.stdout_path, "stdout", O_RDWR));
  if (!paths.terminal) {
    ASSIGN_OR_RETURN(r->stderr_fifo_, OpenFifo(env, paths.stderr_path, "stderr", O_RDWR));
  }
  ASSIGN_OR_RETURN(r->wake_, env->EventFd());
  return r;
}

void StdioRelay::Start(SandboxBackend* backend, const std::string& cid,
                       const std::string& exec_id) {
  backend_ = backend;
  cid_ = cid;
  exec_id_ = exec_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    outputs_open_ = terminal_ ? 1 : 2;
  }
  threads_.emplace_back([this] { CopyOut(1, &stdout_fifo_); });
  if (!terminal_) threads_.emplace_back([this] { CopyOut(2, &stderr_fifo_); });
  if (stdin_fifo_.valid()) threads_.emplace_back([this] { CopyIn(); });
  if (close_stdin_.load()) env_->WriteAll(wake_, std::string("\1\0\0\0\0\0\0\0", 8)).IgnoreError();
}

StdioRelay::~StdioRelay() {
  Stop();
  for (auto& t : threads_) t.join();
}

void StdioRelay::Stop() {
  if (stop_.exchange(true)) return;
  if (wake_.valid()) env_->WriteAll(wake_, std::string("\1\0\0\0\0\0\0\0", 8)).IgnoreError();
}

void StdioRelay::CloseStdin() {
  if (close_stdin_.exchange(true)) return;
  if (!stdin_fifo_.valid() || threads_.empty()) {
    // No copier runs (no stdin FIFO, or not started): close directly.
    if (backend_ != nullptr) backend_->CloseStdin(cid_, exec_id_).IgnoreError();
    return;
  }
  env_->WriteAll(wake_, std::string("\1\0\0\0\0\0\0\0", 8)).IgnoreError();
}

void StdioRelay::WaitOutputEnd() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return outputs_open_ == 0; });
}

void StdioRelay::CopyIn() {
  for (;;) {
    auto ready = env_->PollMany({&stdin_fifo_, &wake_}, POLLIN, std::chrono::milliseconds(-1));
    if (!ready.ok() || Stopping()) return;
    const bool closing = close_stdin_.load();
    // Drain the FIFO: on CloseStdin everything containerd wrote before
    // CloseIO is already in it. A read of 0 bytes is the writer's close
    // (poll reports nothing until a writer has come, so it is not "no
    // writer yet"), which is EOF as much as CloseIO is.
    bool eof = false;
    for (;;) {
      Result<std::string> data = env_->Read(stdin_fifo_, kChunk);
      if (!data.ok()) break;  // EAGAIN: drained
      if (data->empty()) {
        eof = true;
        break;
      }
      if (!backend_->WriteStdin(cid_, exec_id_, *data).ok()) return;
      if (Stopping()) return;
    }
    if (closing || eof) {
      backend_->CloseStdin(cid_, exec_id_).IgnoreError();
      return;
    }
    if ((*ready)[1] & POLLIN) (void)env_->Read(wake_, 8);
  }
}

bool StdioRelay::WriteFifo(const sys::Fd& fifo, std::string_view data) {
  while (!data.empty()) {
    const std::string_view piece = data.substr(0, kAtomicPipeWrite);
    Status s = env_->WriteAll(fifo, piece);
    if (s.ok()) {
      data.remove_prefix(piece.size());
      continue;
    }
    if (s.err() != EAGAIN) return false;
    // Full: wait for the reader, but give up when told to stop.
    while (!Stopping()) {
      auto r = env_->PollOne(fifo, POLLOUT, kPollSlice);
      if (!r.ok()) return false;
      if (*r != 0) break;
    }
    if (Stopping()) return false;
  }
  return true;
}

void StdioRelay::CopyOut(int stream, sys::Fd* fifo) {
  bool writable = fifo->valid();
  for (;;) {
    Result<std::string> data = backend_->ReadOutput(cid_, exec_id_, stream, kChunk);
    if (!data.ok() || data->empty()) break;
    if (writable) writable = WriteFifo(*fifo, *data);
    if (Stopping() && !writable) break;
  }
  // Closing our end is containerd's EOF (we were its only writer).
  fifo->Reset();
  std::lock_guard<std::mutex> lock(mu_);
  --outputs_open_;
  cv_.notify_all();
}

}  // namespace vmshare::shim
