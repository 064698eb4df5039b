#include "agent/client.h"

#include "agent/translate.h"
#include "agent/ttrpc.h"
#include "agent/ttrpc_client.h"

namespace vmshare::agent {
namespace {

constexpr size_t kCopyChunk = 1u << 20;  // Kata's grpcMaxDataSize

// Kata's agent ends a stream with INTERNAL "read meet eof" (the pipe read 0
// bytes) or "eof" (the process exited with nothing left to read).
bool IsKataEof(const Status& s) {
  if (s.code() != Code::kInternal) return false;
  const std::string& m = s.message();
  for (std::string_view tail : {": read meet eof (INTERNAL)", ": eof (INTERNAL)"}) {
    if (m.size() >= tail.size() && m.compare(m.size() - tail.size(), tail.size(), tail) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

template <typename Decode>
auto AgentClient::DecodeReply(const char* method, const std::string& reply, Decode decode)
    -> decltype(decode(reply)) {
  auto v = decode(reply);
  if (!v.ok()) return InternalError(std::string("agent ") + method + ": " + v.status().message());
  return v;
}

AgentClient::AgentClient(std::unique_ptr<TtrpcClient> rpc, ClientOptions options)
    : rpc_(std::move(rpc)), options_(options) {}

AgentClient::~AgentClient() = default;

Result<std::unique_ptr<AgentClient>> AgentClient::Create(sys::Env* env, sys::Fd fd,
                                                         ClientOptions options) {
  if (!fd.valid()) return InvalidArgumentError("agent client: invalid channel fd");
  return std::unique_ptr<AgentClient>(
      new AgentClient(std::make_unique<TtrpcClient>(env, std::move(fd)), options));
}

Result<std::unique_ptr<AgentClient>> AgentClient::Connect(sys::Env* env,
                                                          const std::string& socket_path,
                                                          ClientOptions options) {
  ASSIGN_OR_RETURN(sys::Fd fd, env->UnixConnect(socket_path));
  return Create(env, std::move(fd), options);
}

Result<std::string> AgentClient::Call(const std::string& service, const std::string& method,
                                      const std::string& payload,
                                      std::optional<std::chrono::milliseconds> timeout) {
  RpcRequest req;
  req.service = service;
  req.method = method;
  req.payload = payload;
  ASSIGN_OR_RETURN(RpcResponse resp, rpc_->Call(std::move(req), timeout));
  if (resp.code != 0) {
    return Status(CodeFromRpc(resp.code),
                  "agent " + method + ": " + resp.message + " (" + RpcCodeName(resp.code) + ")");
  }
  return std::move(resp.payload);
}

Result<uint32_t> AgentClient::StartCall(const std::string& service, const std::string& method,
                                        std::string payload,
                                        std::optional<std::chrono::milliseconds> timeout,
                                        CallDone done) {
  RpcRequest req;
  req.service = service;
  req.method = method;
  req.payload = std::move(payload);
  return rpc_->Start(
      std::move(req), timeout, [method, done = std::move(done)](Result<RpcResponse> r) {
        if (!r.ok()) {
          const Status& s = r.status();
          done(Status(s.code(), "agent " + method + ": " + s.message(), s.err()));
        } else if (r->code != 0) {
          done(Status(CodeFromRpc(r->code),
                      "agent " + method + ": " + r->message + " (" + RpcCodeName(r->code) + ")"));
        } else {
          done(std::move(r->payload));
        }
      });
}

bool AgentClient::Abandon(uint32_t id) { return rpc_->Abandon(id); }

Result<std::string> AgentClient::AgentCall(const std::string& method, const std::string& payload,
                                           std::optional<std::chrono::milliseconds> timeout) {
  return Call(kAgentService, method, payload, timeout);
}

Result<ServingStatus> AgentClient::Check() {
  ASSIGN_OR_RETURN(std::string reply,
                   Call(kHealthService, "Check", EncodeCheckRequest(""), options_.default_timeout));
  auto status = DecodeHealthCheckResponse(reply);
  if (!status.ok()) return InternalError("agent Check: " + status.status().message());
  return status;
}

Status AgentClient::CreateSandbox(const std::vector<Storage>& storages,
                                  const std::string& sandbox_id, const std::string& hostname) {
  CreateSandboxRequest r{hostname, storages, sandbox_id};
  return AgentCall("CreateSandbox", EncodeCreateSandboxRequest(r), options_.default_timeout)
      .status();
}

Status AgentClient::CreateContainer(const CreateContainerRequest& request) {
  return AgentCall("CreateContainer", EncodeCreateContainerRequest(request),
                   options_.default_timeout)
      .status();
}

Status AgentClient::StartContainer(const std::string& container_id) {
  return AgentCall("StartContainer", EncodeStartContainerRequest(container_id),
                   options_.default_timeout)
      .status();
}

Result<std::string> AgentClient::ReadStream(const char* method, const std::string& container_id,
                                            const std::string& exec_id, uint32_t len,
                                            std::optional<std::chrono::milliseconds> timeout) {
  auto reply = AgentCall(method, EncodeReadStreamRequest({{container_id, exec_id}, len}), timeout);
  if (!reply.ok()) {
    if (IsKataEof(reply.status())) return std::string();
    return reply.status();
  }
  ASSIGN_OR_RETURN(std::string data, DecodeReply(method, *reply, DecodeReadStreamResponse));
  if (len != 0 && data.size() > len) {
    return InternalError(std::string("agent ") + method + ": reply of " +
                         std::to_string(data.size()) + " bytes, " + std::to_string(len) +
                         " were asked for");
  }
  return data;
}

Result<std::string> AgentClient::ReadStdout(const std::string& container_id,
                                            const std::string& exec_id, uint32_t len,
                                            std::optional<std::chrono::milliseconds> timeout) {
  return ReadStream("ReadStdout", container_id, exec_id, len, timeout);
}

Result<std::string> AgentClient::ReadStderr(const std::string& container_id,
                                            const std::string& exec_id, uint32_t len,
                                            std::optional<std::chrono::milliseconds> timeout) {
  return ReadStream("ReadStderr", container_id, exec_id, len, timeout);
}

Result<int32_t> AgentClient::WaitProcess(const std::string& container_id,
                                         const std::string& exec_id,
                                         std::optional<std::chrono::milliseconds> timeout) {
  ASSIGN_OR_RETURN(
      std::string reply,
      AgentCall("WaitProcess", EncodeWaitProcessRequest({container_id, exec_id}), timeout));
  auto status = DecodeWaitProcessResponse(reply);
  if (!status.ok()) return InternalError("agent WaitProcess: " + status.status().message());
  return status;
}

Status AgentClient::RemoveContainer(const std::string& container_id, uint32_t timeout_seconds) {
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout_seconds > 0) {
    deadline = options_.default_timeout + std::chrono::seconds(timeout_seconds);
  }
  return AgentCall("RemoveContainer", EncodeRemoveContainerRequest({container_id, timeout_seconds}),
                   deadline)
      .status();
}

Status AgentClient::CopyFile(const CopyFileRequest& request) {
  return AgentCall("CopyFile", EncodeCopyFileRequest(request), options_.default_timeout).status();
}

Status AgentClient::CopyFileChunked(CopyFileRequest request, const std::string& data) {
  request.file_size = static_cast<int64_t>(data.size());
  size_t offset = 0;
  do {
    const size_t n = std::min(kCopyChunk, data.size() - offset);
    request.offset = static_cast<int64_t>(offset);
    request.data = data.substr(offset, n);
    RETURN_IF_ERROR(CopyFile(request));
    offset += n;
  } while (offset < data.size());
  return Status::Ok();
}

Status AgentClient::DestroySandbox() {
  return AgentCall("DestroySandbox", "", options_.default_timeout).status();
}

}  // namespace vmshare::agent

namespace vmshare::agent {

Status AgentClient::ExecProcess(const ExecProcessRequest& request) {
  return AgentCall("ExecProcess", EncodeExecProcessRequest(request), options_.default_timeout)
      .status();
}

Status AgentClient::SignalProcess(const std::string& container_id, const std::string& exec_id,
                                  uint32_t signal) {
  return AgentCall("SignalProcess", EncodeSignalProcessRequest({{container_id, exec_id}, signal}),
                   options_.default_timeout)
      .status();
}

Result<uint32_t> AgentClient::WriteStdin(const std::string& container_id,
                                         const std::string& exec_id, const std::string& data) {
  ASSIGN_OR_RETURN(
      std::string reply,
      AgentCall("WriteStdin", EncodeWriteStreamRequest({{container_id, exec_id}, data}),
                options_.default_timeout));
  ASSIGN_OR_RETURN(uint32_t n, DecodeReply("WriteStdin", reply, DecodeWriteStreamResponse));
  if (n > data.size()) {
    return InternalError("agent WriteStdin: wrote " + std::to_string(n) + " of " +
                         std::to_string(data.size()) + " bytes");
  }
  return n;
}

Status AgentClient::CloseStdin(const std::string& container_id, const std::string& exec_id) {
  return AgentCall("CloseStdin", EncodeCloseStdinRequest({container_id, exec_id}),
                   options_.default_timeout)
      .status();
}

Status AgentClient::TtyWinResize(const std::string& container_id, const std::string& exec_id,
                                 uint32_t rows, uint32_t columns) {
  return AgentCall("TtyWinResize",
                   EncodeTtyWinResizeRequest({{container_id, exec_id}, rows, columns}),
                   options_.default_timeout)
      .status();
}

Status AgentClient::UpdateContainer(const std::string& container_id,
                                    const LinuxResources& resources) {
  return AgentCall("UpdateContainer", EncodeUpdateContainerRequest({container_id, resources}),
                   options_.default_timeout)
      .status();
}

Result<ContainerStats> AgentClient::StatsContainer(const std::string& container_id) {
  ASSIGN_OR_RETURN(std::string reply,
                   AgentCall("StatsContainer", EncodeStatsContainerRequest(container_id),
                             options_.default_timeout));
  return DecodeReply("StatsContainer", reply, DecodeStatsContainerResponse);
}

Status AgentClient::PauseContainer(const std::string& container_id) {
  return AgentCall("PauseContainer", EncodePauseContainerRequest(container_id),
                   options_.default_timeout)
      .status();
}

Status AgentClient::ResumeContainer(const std::string& container_id) {
  return AgentCall("ResumeContainer", EncodeResumeContainerRequest(container_id),
                   options_.default_timeout)
      .status();
}

Result<std::string> AgentClient::ListProcesses(const std::string& container_id,
                                               const std::string& format,
                                               const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(
      std::string reply,
      AgentCall("ListProcesses", EncodeListProcessesRequest({container_id, format, args}),
                options_.default_timeout));
  return DecodeReply("ListProcesses", reply, DecodeListProcessesResponse);
}

Result<std::string> AgentClient::GetOomEvent(std::optional<std::chrono::milliseconds> timeout) {
  ASSIGN_OR_RETURN(std::string reply, AgentCall("GetOOMEvent", "", timeout));
  return DecodeReply("GetOOMEvent", reply, DecodeOomEvent);
}

Result<GuestDetails> AgentClient::GetGuestDetails(const GuestDetailsRequest& request) {
  ASSIGN_OR_RETURN(
      std::string reply,
      AgentCall("GetGuestDetails", EncodeGuestDetailsRequest(request), options_.default_timeout));
  return DecodeReply("GetGuestDetails", reply, DecodeGuestDetailsResponse);
}

Status AgentClient::SetGuestDateTime(int64_t sec, int64_t usec) {
  return AgentCall("SetGuestDateTime", EncodeSetGuestDateTimeRequest({sec, usec}),
                   options_.default_timeout)
      .status();
}

Result<VersionInfo> AgentClient::Version() {
  ASSIGN_OR_RETURN(std::string reply, Call(kHealthService, "Version", EncodeCheckRequest(""),
                                           options_.default_timeout));
  return DecodeReply("Version", reply, DecodeVersionCheckResponse);
}

Result<NetInterface> AgentClient::UpdateInterface(const NetInterface& interface) {
  ASSIGN_OR_RETURN(std::string reply,
                   AgentCall("UpdateInterface", EncodeUpdateInterfaceRequest(interface),
                             options_.default_timeout));
  return DecodeReply("UpdateInterface", reply, DecodeInterface);
}

Result<std::vector<NetRoute>> AgentClient::UpdateRoutes(const std::vector<NetRoute>& routes) {
  ASSIGN_OR_RETURN(std::string reply, AgentCall("UpdateRoutes", EncodeUpdateRoutesRequest(routes),
                                                options_.default_timeout));
  return DecodeReply("UpdateRoutes", reply, DecodeRoutes);
}

Result<std::vector<NetInterface>> AgentClient::ListInterfaces() {
  ASSIGN_OR_RETURN(std::string reply, AgentCall("ListInterfaces", "", options_.default_timeout));
  return DecodeReply("ListInterfaces", reply, DecodeInterfaces);
}

Result<std::vector<NetRoute>> AgentClient::ListRoutes() {
  ASSIGN_OR_RETURN(std::string reply, AgentCall("ListRoutes", "", options_.default_timeout));
  return DecodeReply("ListRoutes", reply, DecodeRoutes);
}

Status AgentClient::AddArpNeighbors(const std::vector<ArpNeighbor>& neighbors) {
  return AgentCall("AddARPNeighbors", EncodeAddArpNeighborsRequest(neighbors),
                   options_.default_timeout)
      .status();
}

}  // namespace vmshare::agent
