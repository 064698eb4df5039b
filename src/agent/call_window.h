// CallWindow: many agent calls in flight on one AgentClient, in a bounded
// window, so a long series of small calls is not one round trip each.
//
// Each call gets a Ticket, increasing in the order calls are sent. A call may
// wait for an earlier one (`after`): it is held, not sent, until that call
// has succeeded, so "create the directory, then its entries" costs no round
// trip of the sender's own. Wait/WaitFrom block for calls already sent.
//
// The window bounds both the calls (sent plus held) and their payload bytes;
// Send blocks while it is full. The first failure (in ticket order, i.e. the
// order of a sequential run) stops the window: held calls are dropped, later
// Sends fail with it, and every call already sent is still waited for, so
// none is left in flight when Drain returns or the window is destroyed.
// A call that gets no reply within its timeout is abandoned and fails with
// kDeadlineExceeded ("agent <Method>: timed out after N ms").
//
// Not thread-safe: one thread sends and waits (replies arrive on the
// client's reader thread and are handled on the sending thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/client.h"
#include "core/result.h"

namespace vmshare::agent {

struct WindowLimits {
  size_t calls = 32;       // at most half the agent's kMaxInFlight per connection
  size_t bytes = 8 << 20;  // payload bytes held or in flight (a call bigger than this goes alone)
};

class CallWindow {
 public:
  using Ticket = uint64_t;  // 0: no call

  // REQUIRES: client outlives the window.
  explicit CallWindow(AgentClient* client, WindowLimits limits = {});
  // Waits for every call sent (Drain).
  ~CallWindow();
  CallWindow(const CallWindow&) = delete;
  CallWindow& operator=(const CallWindow&) = delete;

  // Queues a call, sent at once or, when `after` is a call still pending,
  // once that call has succeeded. Blocks while the window is full. Returns
  // the window's first error instead once any call has failed (nothing is
  // queued then).
  Result<Ticket> Send(const char* service, const char* method, std::string payload,
                      std::chrono::milliseconds timeout, Ticket after = 0);
  // Until call `t` is done (held calls it waits for included); then the
  // window's status.
  Status Wait(Ticket t);
  // Until every call with a ticket >= t is done; then the window's status.
  Status WaitFrom(Ticket t);
  Status Drain() { return WaitFrom(1); }
  // OK, or the failure of the earliest failed call.
  const Status& status() const { return first_error_; }
  // The ticket the next Send returns.
  Ticket next() const { return next_; }

 private:
  struct Call {
    const char* service;
    const char* method;
    std::string payload;  // until sent
    std::chrono::milliseconds timeout;
    size_t bytes = 0;
    bool sent = false;
    uint32_t id = 0;                                 // the client's, once sent
    std::chrono::steady_clock::time_point deadline;  // once sent
    std::vector<Ticket> held;                        // calls waiting for this one
  };
  struct Reply {
    Ticket ticket;
    Result<std::string> result;
  };

  void Launch(Ticket t);
  // Handles one reply or one expired deadline, blocking until there is one.
  void ReapOne();
  // Handles the replies already there, without blocking.
  void ReapReady();
  void Finished(Ticket t, const Status& result);
  // Forgets a call that will not be sent, and those held behind it.
  void Drop(Ticket t);
  void Fail(Ticket t, const Status& why);

  AgentClient* client_;
  WindowLimits limits_;
  Ticket next_ = 1;
  std::map<Ticket, Call> calls_;  // pending: held or in flight
  size_t bytes_ = 0;
  Status first_error_;
  Ticket first_error_ticket_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Reply> replies_;  // GUARDED_BY(mu_)
};

}  // namespace vmshare::agent
