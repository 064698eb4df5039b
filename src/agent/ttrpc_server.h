// TtrpcServer: the guest side of ttrpc, serving registered unary methods on
// one connection at a time.
//
// Each Request frame runs its handler on a thread of its own while it runs
// (at most kMaxInFlight at once; beyond that the call is answered
// RESOURCE_EXHAUSTED), so a blocking WaitProcess or ReadStdout never stalls
// other calls. Threads are kept for the next calls once idle (a pipelined
// copy makes thousands of short calls), never more than ran at once. Replies
// are written whole, one frame at a time, under a write lock.
//
// Malformed input never crashes the server or grows a buffer past 4 MiB; it
// is answered the way Kata's agent (ttrpc-rust) answers it:
//   - data longer than 4 MiB: drained, INVALID_ARGUMENT "frame of N bytes
//     exceeds the 4 MiB limit";
//   - an even (server-side) stream id: INVALID_ARGUMENT;
//   - a Request that does not decode: INVALID_ARGUMENT;
//   - an unknown service: INVALID_ARGUMENT "<svc> service does not exist";
//   - an unknown method: UNIMPLEMENTED;
//   - a streaming Request (remote-open flag): UNIMPLEMENTED;
//   - Data/Response frames from the client: ignored;
//   - a handler past the request's timeout_nano: DEADLINE_EXCEEDED "timeout"
//     (the handler is told its deadline; its late result is dropped).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "agent/translate.h"
#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::agent {

// A handler's view of one call. deadline_ns is CLOCK_MONOTONIC (Env::NowNanos)
// or 0 for none.
// Blocking handlers poll `cancelled`, set when the connection ends, so that
// Serve can return.
struct CallContext {
  int64_t deadline_ns = 0;
  const std::atomic<bool>* cancelled = nullptr;
  bool Expired(sys::Env* env) const {
    return (cancelled != nullptr && cancelled->load()) ||
           (deadline_ns != 0 && env->NowNanos() > deadline_ns);
  }
};

// Returns the serialized reply, or an error whose Code becomes the grpc code
// (RpcFromCode) and whose message is sent as is. `payload` is a view into the
// request's frame, valid until the handler returns (a CopyFile chunk is
// written from there, not copied).
using RpcHandler =
    std::function<Result<std::string>(std::string_view payload, const CallContext& ctx)>;

class TtrpcServer {
 public:
  static constexpr int kMaxInFlight = 64;

  explicit TtrpcServer(sys::Env* env) : env_(env) {}

  // Not thread-safe with Serve; register everything first.
  void Register(const std::string& service, const std::string& method, RpcHandler handler);

  // Serves `fd` until the peer closes it, a read fails, or Stop(). Waits for
  // in-flight handlers before returning. Returns why it stopped (kUnavailable
  // for a closed peer or Stop()).
  Status Serve(const sys::Fd& fd);

  // Makes Serve return within ~100 ms. Thread-safe.
  void Stop() { stop_ = true; }
  bool stopped() const { return stop_; }

  // Called after each reply is written (for DestroySandbox's power-off).
  void SetAfterReply(std::function<void(const std::string& method)> f) {
    after_reply_ = std::move(f);
  }

 private:
  void Reply(const sys::Fd& fd, uint32_t stream_id, const RpcResponse& r);
  // `request` views into `frame`, which the caller keeps alive.
  void Dispatch(const sys::Fd& fd, uint32_t stream_id, const RpcRequestView& request,
                const std::atomic<bool>* cancelled);

  sys::Env* env_;
  std::atomic<bool> stop_{false};
  std::map<std::pair<std::string, std::string>, RpcHandler> handlers_;
  std::map<std::string, bool> services_;
  std::mutex write_mu_;
  std::function<void(const std::string&)> after_reply_;
};

}  // namespace vmshare::agent
