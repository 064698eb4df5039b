#include "agent/call_window.h"

namespace vmshare::agent {

CallWindow::CallWindow(AgentClient* client, WindowLimits limits)
    : client_(client), limits_(limits) {}

CallWindow::~CallWindow() { Drain().IgnoreError(); }

Result<CallWindow::Ticket> CallWindow::Send(const char* service, const char* method,
                                            std::string payload, std::chrono::milliseconds timeout,
                                            Ticket after) {
  const size_t size = payload.size();
  ReapReady();
  while (first_error_.ok() && !calls_.empty() &&
         (calls_.size() >= limits_.calls || bytes_ + size > limits_.bytes)) {
    ReapOne();
  }
  RETURN_IF_ERROR(first_error_);
  const Ticket t = next_++;
  Call& c = calls_[t];
  c.service = service;
  c.method = method;
  c.payload = std::move(payload);
  c.timeout = timeout;
  c.bytes = size;
  bytes_ += size;
  auto waited = after == 0 ? calls_.end() : calls_.find(after);
  if (waited != calls_.end()) {
    waited->second.held.push_back(t);
  } else {
    Launch(t);
  }
  return t;
}

void CallWindow::Launch(Ticket t) {
  Call& c = calls_.at(t);
  auto id = client_->StartCall(c.service, c.method, std::move(c.payload), c.timeout,
                               [this, t](Result<std::string> r) {
                                 std::lock_guard<std::mutex> lock(mu_);
                                 replies_.push_back({t, std::move(r)});
                                 cv_.notify_one();
                               });
  if (!id.ok()) {
    Finished(t, id.status());
    return;
  }
  c.sent = true;
  c.id = *id;
  c.deadline = std::chrono::steady_clock::now() + c.timeout;
}

void CallWindow::ReapOne() {
  std::optional<Reply> reply;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!replies_.empty()) {
        reply.emplace(std::move(replies_.front()));
        replies_.pop_front();
        break;
      }
      // The earliest deadline of a call in flight (held calls have none).
      auto earliest = std::chrono::steady_clock::time_point::max();
      Ticket late = 0;
      for (const auto& [t, c] : calls_) {
        if (c.sent && c.deadline < earliest) {
          earliest = c.deadline;
          late = t;
        }
      }
      if (late == 0) {
        // Nothing in flight, so no reply will come (held calls always wait
        // for a pending call; this is only a guard against looping).
        lock.unlock();
        while (!calls_.empty()) Drop(calls_.begin()->first);
        return;
      }
      if (cv_.wait_until(lock, earliest) == std::cv_status::timeout && replies_.empty()) {
        Call& c = calls_.at(late);
        // Abandon takes the client's lock, which a reply callback holds while
        // it takes ours: let go of ours first.
        lock.unlock();
        const bool abandoned = client_->Abandon(c.id);
        lock.lock();
        if (abandoned) {
          lock.unlock();
          Finished(late,
                   DeadlineExceededError("agent " + std::string(c.method) + ": timed out after " +
                                         std::to_string(c.timeout.count()) + " ms"));
          return;
        }
        // Its reply is in (or on its way to) replies_.
      }
    }
  }
  Finished(reply->ticket, reply->result.status());
}

void CallWindow::ReapReady() {
  std::deque<Reply> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready.swap(replies_);
  }
  for (Reply& r : ready) Finished(r.ticket, r.result.status());
}

void CallWindow::Finished(Ticket t, const Status& result) {
  auto it = calls_.find(t);
  if (it == calls_.end()) return;
  std::vector<Ticket> held = std::move(it->second.held);
  bytes_ -= it->second.bytes;
  calls_.erase(it);
  if (!result.ok()) Fail(t, result);
  for (Ticket h : held) {
    if (first_error_.ok()) {
      Launch(h);
    } else {
      Drop(h);
    }
  }
}

void CallWindow::Drop(Ticket t) {
  auto it = calls_.find(t);
  if (it == calls_.end()) return;
  std::vector<Ticket> held = std::move(it->second.held);
  bytes_ -= it->second.bytes;
  calls_.erase(it);
  for (Ticket h : held) Drop(h);
}

void CallWindow::Fail(Ticket t, const Status& why) {
  if (first_error_.ok() || t < first_error_ticket_) {
    first_error_ = why;
    first_error_ticket_ = t;
  }
}

Status CallWindow::Wait(Ticket t) {
  while (calls_.contains(t)) ReapOne();
  return first_error_;
}

Status CallWindow::WaitFrom(Ticket t) {
  while (calls_.lower_bound(t) != calls_.end()) ReapOne();
  return first_error_;
}

}  // namespace vmshare::agent
