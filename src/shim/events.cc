#include "shim/events.h"

#include "agent/translate.h"
#include "agent/ttrpc.h"

namespace vmshare::shim {
namespace {

constexpr std::chrono::milliseconds kCallTimeout{5000};
constexpr std::chrono::milliseconds kRetryPause{250};

}  // namespace

std::string SocketPathOf(const std::string& address) {
  constexpr std::string_view kScheme = "unix://";
  if (address.starts_with(kScheme)) return address.substr(kScheme.size());
  return address;
}

int64_t WallClockNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

EventPublisher::EventPublisher(sys::Env* env, std::string address, std::string ns,
                               std::function<void(const std::string&)> log)
    : env_(env), address_(SocketPathOf(address)), ns_(std::move(ns)), log_(std::move(log)) {
  thread_ = std::thread([this] { Run(); });
}

EventPublisher::~EventPublisher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventPublisher::Publish(EventPayload event) {
  std::string request = EncodeForwardRequest(ns_, WallClockNanos(), event);
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() >= kMaxQueued) {
    log_("drop event " + event.topic + ": " + std::to_string(kMaxQueued) + " events queued");
    return;
  }
  queue_.push_back(std::move(request));
  cv_.notify_all();
}

void EventPublisher::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return queue_.empty() && !sending_; });
}

Status EventPublisher::Send(const std::string& request) {
  if (client_ == nullptr) {
    ASSIGN_OR_RETURN(sys::Fd fd, env_->UnixConnect(address_));
    client_ = std::make_unique<agent::TtrpcClient>(env_, std::move(fd));
  }
  agent::RpcRequest r;
  r.service = kEventsService;
  r.method = "Forward";
  r.payload = request;
  Result<agent::RpcResponse> resp = client_->Call(std::move(r), kCallTimeout);
  if (!resp.ok()) {
    client_.reset();
    return resp.status();
  }
  if (resp->code != 0)
    return InternalError("forward event: " + resp->message + " (" + agent::RpcCodeName(resp->code) +
                         ")");
  return Status::Ok();
}

void EventPublisher::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::string request = std::move(queue_.front());
    queue_.pop_front();
    sending_ = true;
    const bool stopping = stop_;
    lock.unlock();
    const int64_t give_up =
        env_->NowNanos() + std::chrono::nanoseconds(stopping ? kCallTimeout : kRetryFor).count();
    Status s = Send(request);
    while (!s.ok() && s.code() != Code::kInternal && env_->NowNanos() < give_up) {
      env_->SleepFor(kRetryPause);
      s = Send(request);
    }
    if (!s.ok()) log_("drop event: " + s.message());
    lock.lock();
    sending_ = false;
    cv_.notify_all();
  }
}

}  // namespace vmshare::shim
