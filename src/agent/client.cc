#include "agent/client.h"

#include "agent/translate.h"
#include "agent/ttrpc.h"
#include "agent/ttrpc_client.h"

namespace vmshare::agent {
namespace {

constexpr size_t kCopyChunk = 1u << 20;  // Kata's grpcMaxDataSize

}  // namespace

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

Result<std::string> AgentClient::ReadStdout(const std::string& container_id,
                                            const std::string& exec_id, uint32_t len,
                                            std::optional<std::chrono::milliseconds> timeout) {
  ASSIGN_OR_RETURN(std::string reply,
                   AgentCall("ReadStdout",
                             EncodeReadStreamRequest({{container_id, exec_id}, len}), timeout));
  auto data = DecodeReadStreamResponse(reply);
  if (!data.ok()) return InternalError("agent ReadStdout: " + data.status().message());
  return data;
}

Result<std::string> AgentClient::ReadStderr(const std::string& container_id,
                                            const std::string& exec_id, uint32_t len,
                                            std::optional<std::chrono::milliseconds> timeout) {
  ASSIGN_OR_RETURN(std::string reply,
                   AgentCall("ReadStderr",
                             EncodeReadStreamRequest({{container_id, exec_id}, len}), timeout));
  auto data = DecodeReadStreamResponse(reply);
  if (!data.ok()) return InternalError("agent ReadStderr: " + data.status().message());
  return data;
}

Result<int32_t> AgentClient::WaitProcess(const std::string& container_id,
                                         const std::string& exec_id,
                                         std::optional<std::chrono::milliseconds> timeout) {
  ASSIGN_OR_RETURN(std::string reply, AgentCall("WaitProcess",
                                                EncodeWaitProcessRequest({container_id, exec_id}),
                                                timeout));
  auto status = DecodeWaitProcessResponse(reply);
  if (!status.ok()) return InternalError("agent WaitProcess: " + status.status().message());
  return status;
}

Status AgentClient::RemoveContainer(const std::string& container_id, uint32_t timeout_seconds) {
  std::optional<std::chrono::milliseconds> deadline;
  if (timeout_seconds > 0) {
    deadline = options_.default_timeout + std::chrono::seconds(timeout_seconds);
  }
  return AgentCall("RemoveContainer",
                   EncodeRemoveContainerRequest({container_id, timeout_seconds}), deadline)
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
