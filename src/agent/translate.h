// Wire encoding of every agent message: plain vmshare types <-> protobuf
// bytes with Kata's field numbers.
//
// translate.cc is the only file that includes generated protobuf code. Decode
// functions never throw and never trust their input: malformed bytes give
// kInvalidArgument "decode <Message>: malformed protobuf". Encoders cannot
// fail.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"
#include "core/types.h"

namespace vmshare::agent {

// ttrpc envelope.
struct RpcRequest {
  std::string service;
  std::string method;
  std::string payload;
  int64_t timeout_nano = 0;  // 0: no deadline
  std::vector<std::pair<std::string, std::string>> metadata;
  bool operator==(const RpcRequest&) const = default;
};

struct RpcResponse {
  int32_t code = 0;  // RpcCode
  std::string message;
  std::string payload;
  bool operator==(const RpcResponse&) const = default;
};

// By value: a caller that moves its request in (a 1 MiB CopyFile chunk)
// has the payload moved, not copied, into the encoding.
std::string EncodeRpcRequest(RpcRequest r);
Result<RpcRequest> DecodeRpcRequest(std::string_view bytes);
// The guest's form of the same decoding (translate_view.cc, over
// wire_reader.h): every string is a view into `bytes`, so a 1 MiB payload is
// not copied. Accepts and rejects exactly what DecodeRpcRequest does.
// Valid while `bytes` is.
struct RpcRequestView {
  std::string_view service;
  std::string_view method;
  std::string_view payload;
  int64_t timeout_nano = 0;
  std::vector<std::pair<std::string_view, std::string_view>> metadata;
};
Result<RpcRequestView> DecodeRpcRequestView(std::string_view bytes);
std::string EncodeRpcResponse(const RpcResponse& r);
Result<RpcResponse> DecodeRpcResponse(std::string_view bytes);

std::string EncodeStorage(const Storage& s);
Result<Storage> DecodeStorage(std::string_view bytes);

std::string EncodeCreateSandboxRequest(const CreateSandboxRequest& r);
Result<CreateSandboxRequest> DecodeCreateSandboxRequest(std::string_view bytes);

std::string EncodeCreateContainerRequest(const CreateContainerRequest& r);
Result<CreateContainerRequest> DecodeCreateContainerRequest(std::string_view bytes);

std::string EncodeStartContainerRequest(const std::string& container_id);
Result<std::string> DecodeStartContainerRequest(std::string_view bytes);

std::string EncodeRemoveContainerRequest(const RemoveContainerRequest& r);
Result<RemoveContainerRequest> DecodeRemoveContainerRequest(std::string_view bytes);

std::string EncodeWaitProcessRequest(const ProcessRef& r);
Result<ProcessRef> DecodeWaitProcessRequest(std::string_view bytes);
std::string EncodeWaitProcessResponse(int32_t status);
Result<int32_t> DecodeWaitProcessResponse(std::string_view bytes);

std::string EncodeReadStreamRequest(const ReadStreamRequest& r);
Result<ReadStreamRequest> DecodeReadStreamRequest(std::string_view bytes);
std::string EncodeReadStreamResponse(std::string_view data);
Result<std::string> DecodeReadStreamResponse(std::string_view bytes);

// By value, as EncodeRpcRequest: data moved in is not copied.
std::string EncodeCopyFileRequest(CopyFileRequest r);
Result<CopyFileRequest> DecodeCopyFileRequest(std::string_view bytes);
// As DecodeRpcRequestView: the same message with its data left in `bytes`
// (header.data is empty). Accepts exactly what DecodeCopyFileRequest does.
struct CopyFileRequestView {
  CopyFileRequest header;
  std::string_view data;
};
Result<CopyFileRequestView> DecodeCopyFileRequestView(std::string_view bytes);

std::string EncodeExecProcessRequest(const ExecProcessRequest& r);
Result<ExecProcessRequest> DecodeExecProcessRequest(std::string_view bytes);

std::string EncodeSignalProcessRequest(const SignalProcessRequest& r);
Result<SignalProcessRequest> DecodeSignalProcessRequest(std::string_view bytes);

std::string EncodeWriteStreamRequest(const WriteStreamRequest& r);
Result<WriteStreamRequest> DecodeWriteStreamRequest(std::string_view bytes);
std::string EncodeWriteStreamResponse(uint32_t len);
Result<uint32_t> DecodeWriteStreamResponse(std::string_view bytes);

std::string EncodeCloseStdinRequest(const ProcessRef& r);
Result<ProcessRef> DecodeCloseStdinRequest(std::string_view bytes);

std::string EncodeTtyWinResizeRequest(const TtyWinResizeRequest& r);
Result<TtyWinResizeRequest> DecodeTtyWinResizeRequest(std::string_view bytes);

std::string EncodeUpdateContainerRequest(const UpdateContainerRequest& r);
Result<UpdateContainerRequest> DecodeUpdateContainerRequest(std::string_view bytes);

// StatsContainerRequest, PauseContainerRequest and ResumeContainerRequest:
// one field, 1 container_id.
std::string EncodeStatsContainerRequest(const std::string& container_id);
Result<std::string> DecodeStatsContainerRequest(std::string_view bytes);
std::string EncodePauseContainerRequest(const std::string& container_id);
Result<std::string> DecodePauseContainerRequest(std::string_view bytes);
std::string EncodeResumeContainerRequest(const std::string& container_id);
Result<std::string> DecodeResumeContainerRequest(std::string_view bytes);
std::string EncodeStatsContainerResponse(const ContainerStats& s);
Result<ContainerStats> DecodeStatsContainerResponse(std::string_view bytes);

std::string EncodeListProcessesRequest(const ListProcessesRequest& r);
Result<ListProcessesRequest> DecodeListProcessesRequest(std::string_view bytes);
std::string EncodeListProcessesResponse(std::string_view process_list);
Result<std::string> DecodeListProcessesResponse(std::string_view bytes);

// Network: UpdateInterface answers the interface as configured, UpdateRoutes
// and ListRoutes a Routes message, ListInterfaces an Interfaces message.
std::string EncodeUpdateInterfaceRequest(const NetInterface& r);
Result<NetInterface> DecodeUpdateInterfaceRequest(std::string_view bytes);
std::string EncodeInterface(const NetInterface& r);
Result<NetInterface> DecodeInterface(std::string_view bytes);
std::string EncodeInterfaces(const std::vector<NetInterface>& r);
Result<std::vector<NetInterface>> DecodeInterfaces(std::string_view bytes);
std::string EncodeUpdateRoutesRequest(const std::vector<NetRoute>& r);
Result<std::vector<NetRoute>> DecodeUpdateRoutesRequest(std::string_view bytes);
std::string EncodeRoutes(const std::vector<NetRoute>& r);
Result<std::vector<NetRoute>> DecodeRoutes(std::string_view bytes);
std::string EncodeAddArpNeighborsRequest(const std::vector<ArpNeighbor>& r);
Result<std::vector<ArpNeighbor>> DecodeAddArpNeighborsRequest(std::string_view bytes);

std::string EncodeGuestDetailsRequest(const GuestDetailsRequest& r);
Result<GuestDetailsRequest> DecodeGuestDetailsRequest(std::string_view bytes);
std::string EncodeGuestDetailsResponse(const GuestDetails& r);
Result<GuestDetails> DecodeGuestDetailsResponse(std::string_view bytes);

std::string EncodeSetGuestDateTimeRequest(const SetGuestDateTimeRequest& r);
Result<SetGuestDateTimeRequest> DecodeSetGuestDateTimeRequest(std::string_view bytes);

std::string EncodeOomEvent(const std::string& container_id);
Result<std::string> DecodeOomEvent(std::string_view bytes);

std::string EncodeVersionCheckResponse(const VersionInfo& v);
Result<VersionInfo> DecodeVersionCheckResponse(std::string_view bytes);

// DestroySandboxRequest and google.protobuf.Empty have no fields; any bytes
// that parse as a message are accepted.
Status DecodeEmpty(std::string_view bytes, std::string_view message_name);

std::string EncodeCheckRequest(const std::string& service);
Result<std::string> DecodeCheckRequest(std::string_view bytes);
std::string EncodeHealthCheckResponse(ServingStatus status);
Result<ServingStatus> DecodeHealthCheckResponse(std::string_view bytes);

}  // namespace vmshare::agent
