// TtrpcClient: unary ttrpc calls over one byte-stream fd, multiplexed.
//
// Each call takes the next odd stream id, writes one Request frame and waits
// for the Response frame carrying that id; a reader thread routes responses,
// so calls from many threads run at once. A call gives up at its deadline
// (kDeadlineExceeded; a late reply is dropped). A frame the peer should never
// send (oversized, unknown stream type, undecodable) breaks the channel: every
// pending and later call fails with kUnavailable naming the reason. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/translate.h"
#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::agent {

class TtrpcClient {
 public:
  // Owns fd; starts the reader thread. REQUIRES: env outlives the client.
  TtrpcClient(sys::Env* env, sys::Fd fd);
  // Stops the reader (within ~100 ms) and fails pending calls.
  ~TtrpcClient();
  TtrpcClient(const TtrpcClient&) = delete;
  TtrpcClient& operator=(const TtrpcClient&) = delete;

  // Sends request (its timeout_nano is set from `timeout`) and returns the
  // peer's Response, whatever its status code. Errors are transport errors.
  Result<RpcResponse> Call(RpcRequest request, std::optional<std::chrono::milliseconds> timeout);

  // Runs once with a started call's outcome (a reply, or the transport error
  // Call would return, without the "agent <Method>" prefix). On the reader
  // thread with the client's lock held: it must be quick and must not call
  // back into this client.
  using Done = std::function<void(Result<RpcResponse>)>;
  // Sends request and returns its stream id without waiting: `done` runs
  // when the reply comes or the channel breaks. The request carries
  // `timeout` to the peer, but the caller keeps the deadline (Abandon). An
  // error here means nothing was sent, and `done` never runs.
  Result<uint32_t> Start(RpcRequest request, std::optional<std::chrono::milliseconds> timeout,
                         Done done);
  // Forgets a started call: true if its `done` had not run (and now never
  // will; a late reply is dropped), false if it already ran.
  bool Abandon(uint32_t id);

 private:
  struct Pending {
    bool done = false;
    Result<RpcResponse> response = UnavailableError("agent channel: no reply");
    Done on_done;  // set for Start()ed calls
  };
  // Delivers `r` to p (under mu_).
  void Finish(Pending& p, Result<RpcResponse> r);
  // Registers a call and writes its frame; on error nothing stays registered.
  Result<uint32_t> Send(RpcRequest&& request, std::shared_ptr<Pending> pending,
                        const std::string& what);

  void ReadLoop();
  void Break(const Status& why);

  sys::Env* env_;
  sys::Fd fd_;
  std::atomic<bool> stop_{false};
  std::mutex write_mu_;  // serializes frames on fd_
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t next_id_ = 1;                                  // GUARDED_BY(mu_)
  std::map<uint32_t, std::shared_ptr<Pending>> pending_;  // GUARDED_BY(mu_)
  std::optional<Status> broken_;                          // GUARDED_BY(mu_)
  std::thread reader_;
};

}  // namespace vmshare::agent
