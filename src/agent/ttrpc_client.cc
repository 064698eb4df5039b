#include "agent/ttrpc_client.h"

#include "agent/ttrpc.h"

namespace vmshare::agent {

TtrpcClient::TtrpcClient(sys::Env* env, sys::Fd fd) : env_(env), fd_(std::move(fd)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

TtrpcClient::~TtrpcClient() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
  Break(UnavailableError("agent channel: client closed"));
}

void TtrpcClient::Break(const Status& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!broken_) broken_ = why;
  for (auto& [id, p] : pending_) Finish(*p, *broken_);
  pending_.clear();
  cv_.notify_all();
}

void TtrpcClient::ReadLoop() {
  for (;;) {
    auto frame = ReadFrame(env_, fd_, &stop_);
    if (!frame.ok()) {
      Break(frame.status());
      return;
    }
    const FrameHeader& h = frame->header;
    if (frame->oversized) {
      // The guest is untrusted: a reply over the limit means a broken or
      // hostile agent, and we will not buffer it.
      Break(UnavailableError("agent channel: reply frame of " + std::to_string(h.length) +
                             " bytes exceeds the 4 MiB limit (stream " +
                             std::to_string(h.stream_id) + ")"));
      return;
    }
    if (h.type != static_cast<uint8_t>(FrameType::kResponse)) {
      Break(UnavailableError("agent channel: unexpected frame type " + std::to_string(h.type) +
                             " on stream " + std::to_string(h.stream_id)));
      return;
    }
    auto response = DecodeRpcResponse(frame->data);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(h.stream_id);
    if (it == pending_.end()) continue;  // the call timed out; drop the late reply
    std::shared_ptr<Pending> p = std::move(it->second);
    pending_.erase(it);
    if (response.ok()) {
      Finish(*p, std::move(response).value());
    } else {
      Finish(*p, InternalError(response.status().message()));
    }
    cv_.notify_all();
  }
}

void TtrpcClient::Finish(Pending& p, Result<RpcResponse> r) {
  p.done = true;
  if (p.on_done) {
    Done done = std::move(p.on_done);
    done(std::move(r));
  } else {
    p.response = std::move(r);
  }
}

Result<uint32_t> TtrpcClient::Send(RpcRequest&& request, std::shared_ptr<Pending> pending,
                                   const std::string& what) {
  const std::string payload = EncodeRpcRequest(std::move(request));
  if (payload.size() > kMaxFrameData) {
    return InvalidArgumentError(what + ": request of " + std::to_string(payload.size()) +
                                " bytes exceeds the 4 MiB frame limit");
  }
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_) return Status(broken_->code(), what + ": " + broken_->message(), broken_->err());
    id = next_id_;
    next_id_ += 2;
    if (next_id_ > 0x7fffffffu) next_id_ = 1;  // stay odd and positive
    pending_[id] = std::move(pending);
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = WriteFrame(env_, fd_, id, FrameType::kRequest, 0, payload);
  if (!s.ok()) {
    std::lock_guard<std::mutex> l2(mu_);
    // Unless the channel broke meanwhile and already finished the call.
    if (pending_.erase(id) == 1) return s.WithContext(what);
  }
  return id;
}

Result<uint32_t> TtrpcClient::Start(RpcRequest request,
                                    std::optional<std::chrono::milliseconds> timeout, Done done) {
  const std::string what = "agent " + request.method;
  request.timeout_nano =
      timeout ? std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count() : 0;
  auto pending = std::make_shared<Pending>();
  pending->on_done = std::move(done);
  return Send(std::move(request), std::move(pending), what);
}

bool TtrpcClient::Abandon(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.erase(id) == 1;
}

Result<RpcResponse> TtrpcClient::Call(RpcRequest request,
                                      std::optional<std::chrono::milliseconds> timeout) {
  const std::string what = "agent " + request.method;
  request.timeout_nano =
      timeout ? std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count() : 0;
  auto pending = std::make_shared<Pending>();
  ASSIGN_OR_RETURN(uint32_t id, Send(std::move(request), pending, what));
  std::unique_lock<std::mutex> lock(mu_);
  if (timeout) {
    if (!cv_.wait_for(lock, *timeout, [&] { return pending->done; })) {
      pending_.erase(id);
      return DeadlineExceededError(what + ": timed out after " + std::to_string(timeout->count()) +
                                   " ms");
    }
  } else {
    cv_.wait(lock, [&] { return pending->done; });
  }
  if (!pending->response.ok()) {
    const Status& s = pending->response.status();
    return Status(s.code(), what + ": " + s.message(), s.err());
  }
  return std::move(pending->response).value();
}

}  // namespace vmshare::agent
