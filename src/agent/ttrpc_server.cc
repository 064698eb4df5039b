#include "agent/ttrpc_server.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/ttrpc.h"

namespace vmshare::agent {
namespace {

RpcResponse Error(RpcCode code, std::string message) {
  return RpcResponse{static_cast<int32_t>(code), std::move(message), ""};
}

// Threads for handlers: a call goes to an idle thread, or a new one when
// none is idle; idle threads wait for the next call until Close.
class Workers {
 public:
  void Run(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
    if (tasks_.size() <= idle_) {
      cv_.notify_one();
    } else {
      threads_.emplace_back([this] { Loop(); });
    }
  }
  // Runs what is queued, then joins every thread.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [this] { return !tasks_.empty() || closing_; });
      --idle_;
      if (tasks_.empty()) return;
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  size_t idle_ = 0;                          // GUARDED_BY(mu_)
  bool closing_ = false;                     // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;         // touched by the serving thread only
};

}  // namespace

void TtrpcServer::Register(const std::string& service, const std::string& method,
                           RpcHandler handler) {
  handlers_[{service, method}] = std::move(handler);
  services_[service] = true;
}

void TtrpcServer::Reply(const sys::Fd& fd, uint32_t stream_id, const RpcResponse& r) {
  std::string bytes = EncodeRpcResponse(r);
  if (bytes.size() > kMaxFrameData) {
    bytes = EncodeRpcResponse(
        Error(RpcCode::kResourceExhausted,
              "reply of " + std::to_string(bytes.size()) + " bytes exceeds the 4 MiB frame limit"));
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  // A failed write means the peer is gone; the read side will notice.
  WriteFrame(env_, fd, stream_id, FrameType::kResponse, 0, bytes).IgnoreError();
}

void TtrpcServer::Dispatch(const sys::Fd& fd, uint32_t stream_id, const RpcRequestView& request,
                           const std::atomic<bool>* cancelled) {
  const std::string service(request.service);
  const std::string method(request.method);
  auto it = handlers_.find({service, method});
  if (it == handlers_.end()) {
    if (!services_.contains(service)) {
      Reply(fd, stream_id, Error(RpcCode::kInvalidArgument, service + " service does not exist"));
    } else {
      Reply(fd, stream_id,
            Error(RpcCode::kUnimplemented, "/" + service + "/" + method + " is not supported"));
    }
    return;
  }
  CallContext ctx;
  ctx.cancelled = cancelled;
  if (request.timeout_nano > 0) ctx.deadline_ns = env_->NowNanos() + request.timeout_nano;
  Result<std::string> out = it->second(request.payload, ctx);
  if (ctx.deadline_ns != 0 && env_->NowNanos() > ctx.deadline_ns) {
    // Late, but done: what the call did (a destroyed sandbox) still counts.
    Reply(fd, stream_id, Error(RpcCode::kDeadlineExceeded, "timeout"));
  } else if (out.ok()) {
    Reply(fd, stream_id, RpcResponse{0, "", std::move(out).value()});
  } else {
    Reply(fd, stream_id, Error(RpcFromCode(out.status().code()), out.status().message()));
  }
  if (after_reply_) after_reply_(method);
}

Status TtrpcServer::Serve(const sys::Fd& fd) {
  std::atomic<bool> cancelled{false};
  std::atomic<int> in_flight{0};
  Workers workers;
  Status why;
  for (;;) {
    auto frame = ReadFrame(env_, fd, &stop_);
    if (!frame.ok()) {
      why = frame.status();
      break;
    }
    const FrameHeader& h = frame->header;
    if (h.type != static_cast<uint8_t>(FrameType::kRequest)) continue;
    if (frame->oversized) {
      Reply(fd, h.stream_id,
            Error(RpcCode::kInvalidArgument,
                  "frame of " + std::to_string(h.length) + " bytes exceeds the 4 MiB limit"));
      continue;
    }
    if (h.stream_id % 2 == 0) {
      Reply(fd, h.stream_id,
            Error(RpcCode::kInvalidArgument,
                  "stream id " + std::to_string(h.stream_id) + " must be odd"));
      continue;
    }
    if (h.flags & kFlagRemoteOpen) {
      Reply(fd, h.stream_id, Error(RpcCode::kUnimplemented, "streaming calls are not supported"));
      continue;
    }
    // The request views into the frame's buffer, which the worker keeps:
    // a CopyFile chunk goes from here to its file without another copy.
    // Moved before decoding, so the views point into the buffer kept.
    auto data = std::make_shared<const std::string>(std::move(frame->data));
    auto request = DecodeRpcRequestView(*data);
    if (!request.ok()) {
      Reply(fd, h.stream_id, Error(RpcCode::kInvalidArgument, request.status().message()));
      continue;
    }
    if (in_flight.load() >= kMaxInFlight) {
      Reply(fd, h.stream_id, Error(RpcCode::kResourceExhausted, "too many calls in flight"));
      continue;
    }
    ++in_flight;
    workers.Run([this, &fd, &cancelled, &in_flight, id = h.stream_id, data,
                 req = std::move(request).value()] {
      Dispatch(fd, id, req, &cancelled);
      --in_flight;
    });
  }
  cancelled = true;
  workers.Close();
  return why;
}

}  // namespace vmshare::agent
