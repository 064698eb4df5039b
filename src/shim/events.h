// Task events to containerd: containerd.services.events.ttrpc.v1.Events/
// Forward at $TTRPC_ADDRESS.
//
// Publish() never blocks on containerd: events go to a bounded queue that
// one thread sends in order (an exit is never delivered after the delete
// that follows it). While containerd is away (restarting) a send is retried
// with a pause, reconnecting each time, for up to kRetryFor; then the event
// is dropped and logged, as containerd's own shims do. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/ttrpc_client.h"
#include "shim/task_wire.h"
#include "sys/env.h"

namespace vmshare::shim {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Publish(EventPayload event) = 0;
};

inline constexpr char kEventsService[] = "containerd.services.events.ttrpc.v1.Events";

class EventPublisher : public EventSink {
 public:
  static constexpr size_t kMaxQueued = 1024;
  static constexpr std::chrono::seconds kRetryFor{30};

  // `address` is a unix socket path, with or without "unix://". `log` gets
  // one line per dropped event. REQUIRES: env outlives the publisher.
  EventPublisher(sys::Env* env, std::string address, std::string ns,
                 std::function<void(const std::string&)> log);
  // Sends what is still queued (each event tried for up to 5 s), then stops.
  ~EventPublisher() override;

  void Publish(EventPayload event) override;
  // Waits until the queue is empty or `timeout` passed.
  void Flush(std::chrono::milliseconds timeout);

 private:
  void Run();
  Status Send(const std::string& request);

  sys::Env* env_;
  std::string address_;
  std::string ns_;
  std::function<void(const std::string&)> log_;
  std::unique_ptr<agent::TtrpcClient> client_;  // only the sender thread touches it
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // GUARDED_BY(mu_); encoded ForwardRequests
  bool sending_ = false;           // GUARDED_BY(mu_)
  bool stop_ = false;              // GUARDED_BY(mu_)
  std::thread thread_;
};

// "unix:///run/x.sock" -> "/run/x.sock"; anything else unchanged.
std::string SocketPathOf(const std::string& address);
// Wall-clock nanoseconds since the Unix epoch.
int64_t WallClockNanos();

}  // namespace vmshare::shim
