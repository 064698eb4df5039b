// AgentClient: the host side of the agent channel, typed.
//
// Speaks ttrpc (ttrpc.h) with Kata-compatible protobuf payloads to a guest
// agent: ours (vmshare-agent) or Kata's. Owns one connected byte-stream fd
// (unix socket, hybrid-vsock socket after its handshake, a pipe pair joined
// into a socketpair, ...) and a reader thread that matches replies to calls by
// stream id, so calls from several threads run concurrently.
//
// Every method is thread-safe. Each call has a deadline: the options' default
// (30 s) unless the method says otherwise; the deadline is also sent to the
// agent (Request.timeout_nano). Errors:
//   - the agent's own status, mapped to a vmshare Code (INVALID_ARGUMENT ->
//     kInvalidArgument, NOT_FOUND -> kNotFound, DEADLINE_EXCEEDED ->
//     kDeadlineExceeded, UNIMPLEMENTED -> kUnimplemented, else kInternal...),
//     message "agent <Method>: <agent message> (<GRPC_CODE>)";
//   - kDeadlineExceeded when no reply came in time ("agent <Method>: timed out
//     after N ms");
//   - kUnavailable once the channel is closed or broken (every pending and
//     later call fails this way);
//   - kInvalidArgument before sending when a request is bigger than the 4 MiB
//     frame limit, kInternal when a reply does not decode.
// Replies are bounded by the same 4 MiB frame limit: a larger frame from the
// guest breaks the channel instead of growing a buffer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"
#include "core/types.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::agent {

class TtrpcClient;

struct ClientOptions {
  // Deadline of a call that has no deadline of its own.
  std::chrono::milliseconds default_timeout{30000};
};

class AgentClient {
 public:
  // Takes ownership of an already-connected stream `fd` and starts reading.
  // REQUIRES: env outlives the client.
  static Result<std::unique_ptr<AgentClient>> Create(sys::Env* env, sys::Fd fd,
                                                     ClientOptions options = {});
  // Connects to a unix socket the agent listens on (`vmshare-agent --socket`).
  static Result<std::unique_ptr<AgentClient>> Connect(sys::Env* env, const std::string& socket_path,
                                                      ClientOptions options = {});
  // Closes the channel; pending calls fail with kUnavailable.
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  // grpc.Health/Check.
  Result<ServingStatus> Check();

  // grpc.AgentService methods.
  Status CreateSandbox(const std::vector<Storage>& storages, const std::string& sandbox_id,
                       const std::string& hostname = "");
  Status CreateContainer(const CreateContainerRequest& request);
  Status StartContainer(const std::string& container_id);
  // Up to `len` bytes of the process's stdout/stderr; blocks until some are
  // there. An empty string means end of stream. No deadline unless given.
  Result<std::string> ReadStdout(const std::string& container_id, const std::string& exec_id,
                                 uint32_t len,
                                 std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  Result<std::string> ReadStderr(const std::string& container_id, const std::string& exec_id,
                                 uint32_t len,
                                 std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Blocks until the process exits; returns its exit code, or 128 + signal
  // number when a signal killed it. No deadline unless given.
  Result<int32_t> WaitProcess(const std::string& container_id, const std::string& exec_id,
                              std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Kills the process if still running, then unmounts what was made for the
  // container. timeout_seconds (0 = forever) bounds the wait for it to die;
  // the call's own deadline is that plus the default.
  Status RemoveContainer(const std::string& container_id, uint32_t timeout_seconds);
  // One CopyFile call (one chunk). CopyFileChunked splits `data` into 1 MiB
  // chunks at increasing offsets, as Kata's runtime does.
  Status CopyFile(const CopyFileRequest& request);
  Status CopyFileChunked(CopyFileRequest request_without_data, const std::string& data);
  Status DestroySandbox();

  // Untyped call, for methods without a typed wrapper: `payload` is a
  // serialized request message; returns the serialized reply.
  Result<std::string> Call(const std::string& service, const std::string& method,
                           const std::string& payload,
                           std::optional<std::chrono::milliseconds> timeout);

 private:
  AgentClient(std::unique_ptr<TtrpcClient> rpc, ClientOptions options);
  Result<std::string> AgentCall(const std::string& method, const std::string& payload,
                                std::optional<std::chrono::milliseconds> timeout);

  std::unique_ptr<TtrpcClient> rpc_;
  ClientOptions options_;
};

// The service names on the wire.
inline constexpr char kAgentService[] = "grpc.AgentService";
inline constexpr char kHealthService[] = "grpc.Health";

}  // namespace vmshare::agent
