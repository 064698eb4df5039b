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
// guest breaks the channel instead of growing a buffer; a reply that says more
// than was asked (ReadStdout data over `len`, WriteStdin counting more bytes
// than were sent) is kInternal.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
  // Up to `len` bytes of the process's stdout/stderr (a terminal process's
  // pty, for both); blocks until some are there. An empty string means end
  // of stream: the agent answers EOF as Kata's does, with an error (INTERNAL
  // "read meet eof", or "eof" once the process has exited and nothing is
  // left); newer Kata agents answer OK with no data. Both are "" here, and
  // every other error is an error. No deadline unless given.
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

  // ---- processes: several per container (ExecProcess), each named by its
  // exec_id ("" or the container id: the container's init process).
  // Starts another process in a started container; exec_id must be new there.
  Status ExecProcess(const ExecProcessRequest& request);
  // Any signal number, to init or an exec. With an empty exec_id, Kata's
  // semantics: init first (SIGTERM becomes SIGKILL when init does not catch
  // it), then every other process in the container's cgroup.
  Status SignalProcess(const std::string& container_id, const std::string& exec_id,
                       uint32_t signal);
  // Writes to the process's stdin (its pty for a terminal process); returns
  // how many bytes were written (all of them unless the reader went away).
  Result<uint32_t> WriteStdin(const std::string& container_id, const std::string& exec_id,
                              const std::string& data);
  // Closes the process's stdin: it reads EOF (a terminal gets ^D).
  Status CloseStdin(const std::string& container_id, const std::string& exec_id);
  // Resizes a terminal process's pty (SIGWINCH to its foreground group).
  Status TtyWinResize(const std::string& container_id, const std::string& exec_id, uint32_t rows,
                      uint32_t columns);

  // ---- containers: cgroup v2 (the container's own cgroup in the guest).
  Status UpdateContainer(const std::string& container_id, const LinuxResources& resources);
  Result<ContainerStats> StatsContainer(const std::string& container_id);
  Status PauseContainer(const std::string& container_id);   // cgroup.freeze 1
  Status ResumeContainer(const std::string& container_id);  // cgroup.freeze 0
  // format "json": a JSON array of the container's pids; "table": a ps-style
  // table ("PID CMD" lines). Removed from Kata's schema; vmshare keeps it.
  Result<std::string> ListProcesses(const std::string& container_id,
                                    const std::string& format = "json",
                                    const std::vector<std::string>& args = {});
  // Blocks until a container's cgroup records an OOM kill; returns its id.
  // Each OOM kill is reported once. No deadline unless given.
  Result<std::string> GetOomEvent(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // ---- guest.
  Result<GuestDetails> GetGuestDetails(const GuestDetailsRequest& request = {true, true});
  Status SetGuestDateTime(int64_t sec, int64_t usec);
  // grpc.Health/Version.
  Result<VersionInfo> Version();
  // Network. A guest without network devices lists nothing, takes an empty
  // update, and refuses to configure a named interface with kNotFound.
  Result<NetInterface> UpdateInterface(const NetInterface& interface);
  Result<std::vector<NetRoute>> UpdateRoutes(const std::vector<NetRoute>& routes);
  Result<std::vector<NetInterface>> ListInterfaces();
  Result<std::vector<NetRoute>> ListRoutes();
  Status AddArpNeighbors(const std::vector<ArpNeighbor>& neighbors);

  // Untyped call, for methods without a typed wrapper: `payload` is a
  // serialized request message; returns the serialized reply.
  Result<std::string> Call(const std::string& service, const std::string& method,
                           const std::string& payload,
                           std::optional<std::chrono::milliseconds> timeout);

  // The same call without waiting (CallWindow pipelines them). `done` runs
  // once with what Call would have returned, on the channel's reader thread
  // under its lock: it must be quick and must not call this client. Returns
  // the call's id; an error means nothing was sent and `done` never runs.
  // The deadline is the caller's: it sends the timeout to the agent and, once
  // it has given up waiting, Abandon()s the call.
  using CallDone = std::function<void(Result<std::string>)>;
  Result<uint32_t> StartCall(const std::string& service, const std::string& method,
                             std::string payload, std::optional<std::chrono::milliseconds> timeout,
                             CallDone done);
  // True if the call's `done` had not run, and now never will.
  bool Abandon(uint32_t id);
  std::chrono::milliseconds default_timeout() const { return options_.default_timeout; }

 private:
  AgentClient(std::unique_ptr<TtrpcClient> rpc, ClientOptions options);
  Result<std::string> AgentCall(const std::string& method, const std::string& payload,
                                std::optional<std::chrono::milliseconds> timeout);
  Result<std::string> ReadStream(const char* method, const std::string& container_id,
                                 const std::string& exec_id, uint32_t len,
                                 std::optional<std::chrono::milliseconds> timeout);
  // Decodes `reply` with `decode`; a reply that does not decode is kInternal.
  template <typename Decode>
  auto DecodeReply(const char* method, const std::string& reply, Decode decode)
      -> decltype(decode(reply));

  std::unique_ptr<TtrpcClient> rpc_;
  ClientOptions options_;
};

// The service names on the wire.
inline constexpr char kAgentService[] = "grpc.AgentService";
inline constexpr char kHealthService[] = "grpc.Health";

}  // namespace vmshare::agent
