// Wire encoding of containerd's shim v2 messages: plain shim types <->
// protobuf bytes with containerd's field numbers (proto/*.proto).
//
// task_wire.cc is the only file of the shim that includes generated code.
// Decoders never throw and never trust their input: malformed bytes give
// kInvalidArgument "decode <Message>: malformed protobuf". Encoders cannot
// fail. Times are wall-clock nanoseconds since the Unix epoch (0: unset, sent
// as an absent Timestamp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vmshare::shim {

// containerd.v1.types.Status.
enum class TaskStatus { kUnknown = 0, kCreated = 1, kRunning = 2, kStopped = 3, kPaused = 4 };

// containerd.types.Mount.
struct RootfsMount {
  std::string type;
  std::string source;
  std::string target;
  std::vector<std::string> options;
  bool operator==(const RootfsMount&) const = default;
};

// The stdio containerd hands a process: FIFO paths (empty: none).
struct StdioPaths {
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  bool terminal = false;
  bool operator==(const StdioPaths&) const = default;
};

struct CreateTask {
  std::string id;
  std::string bundle;
  std::vector<RootfsMount> rootfs;
  StdioPaths stdio;
  std::string checkpoint;  // refused when set
  bool operator==(const CreateTask&) const = default;
};

struct ExecTask {
  std::string id;
  std::string exec_id;
  StdioPaths stdio;
  std::string spec_type_url;  // types.containerd.io/opencontainers/runtime-spec/1/Process
  std::string spec_json;      // the OCI process, as JSON
  bool operator==(const ExecTask&) const = default;
};

// Requests that name a process: id (the container) and exec_id (empty: its
// init process). Start, Delete, State, Wait use only these.
struct ProcessKey {
  std::string id;
  std::string exec_id;
  bool operator==(const ProcessKey&) const = default;
};

struct KillTask {
  ProcessKey key;
  uint32_t signal = 0;
  bool all = false;
};

struct ResizePty {
  ProcessKey key;
  uint32_t width = 0;
  uint32_t height = 0;
};

struct CloseIo {
  ProcessKey key;
  bool stdin_close = false;
};

struct ShutdownTask {
  std::string id;
  bool now = false;
};

// An exit as DeleteResponse / WaitResponse / TaskExit carry it.
struct ExitInfo {
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  int64_t exited_at_ns = 0;
  bool operator==(const ExitInfo&) const = default;
};

struct ProcessState {
  std::string id;
  std::string exec_id;
  std::string bundle;
  uint32_t pid = 0;
  TaskStatus status = TaskStatus::kUnknown;
  StdioPaths stdio;
  uint32_t exit_status = 0;
  int64_t exited_at_ns = 0;
};

struct ConnectInfo {
  uint32_t shim_pid = 0;
  uint32_t task_pid = 0;
  std::string version;
};

Result<CreateTask> DecodeCreateTask(std::string_view bytes);
std::string EncodeCreateTask(const CreateTask& r);  // for tests
Result<ExecTask> DecodeExecTask(std::string_view bytes);
std::string EncodeExecTask(const ExecTask& r);  // for tests
// StartRequest, DeleteRequest, StateRequest, WaitRequest: {id=1, exec_id=2}.
Result<ProcessKey> DecodeProcessKey(std::string_view bytes, std::string_view message_name);
std::string EncodeProcessKey(const ProcessKey& k);  // for tests
// PidsRequest, ConnectRequest, StatsRequest, PauseRequest...: {id=1}.
Result<std::string> DecodeIdOnly(std::string_view bytes, std::string_view message_name);
Result<KillTask> DecodeKillTask(std::string_view bytes);
std::string EncodeKillTask(const KillTask& r);  // for tests
Result<ResizePty> DecodeResizePty(std::string_view bytes);
Result<CloseIo> DecodeCloseIo(std::string_view bytes);
std::string EncodeCloseIo(const CloseIo& r);  // for tests
Result<ShutdownTask> DecodeShutdown(std::string_view bytes);

// CreateTaskResponse and StartResponse: {pid=1}.
std::string EncodePidResponse(uint32_t pid);
Result<uint32_t> DecodePidResponse(std::string_view bytes);  // for tests
std::string EncodeDeleteResponse(const ExitInfo& e);
Result<ExitInfo> DecodeDeleteResponse(std::string_view bytes);  // for tests
std::string EncodeWaitResponse(const ExitInfo& e);
Result<ExitInfo> DecodeWaitResponse(std::string_view bytes);  // for tests
std::string EncodeStateResponse(const ProcessState& s);
Result<ProcessState> DecodeStateResponse(std::string_view bytes);  // for tests
std::string EncodePidsResponse(const std::vector<uint32_t>& pids);
std::string EncodeConnectResponse(const ConnectInfo& c);
std::string EncodeEmpty();

// Events (containerd.events.*): the Any type URL and the payload bytes.
struct EventPayload {
  std::string topic;     // "/tasks/create", ...
  std::string type_url;  // "containerd.events.TaskCreate", ...
  std::string value;
};
EventPayload TaskCreateEvent(const CreateTask& r, uint32_t pid);
EventPayload TaskStartEvent(const std::string& id, uint32_t pid);
EventPayload TaskExitEvent(const ProcessKey& k, const ExitInfo& e);
EventPayload TaskDeleteEvent(const ProcessKey& k, const ExitInfo& e);
EventPayload TaskExecAddedEvent(const ProcessKey& k);
EventPayload TaskExecStartedEvent(const ProcessKey& k, uint32_t pid);

// containerd.services.events.ttrpc.v1.ForwardRequest.
std::string EncodeForwardRequest(const std::string& ns, int64_t timestamp_ns,
                                 const EventPayload& e);
struct ForwardedEvent {
  std::string ns;
  int64_t timestamp_ns = 0;
  EventPayload event;
};
Result<ForwardedEvent> DecodeForwardRequest(std::string_view bytes);  // for tests

}  // namespace vmshare::shim
