// Fuzzes the decoders of every request and reply the agent handles. The
// first byte picks the message; the rest is its serialized form. Properties:
// no crash; a message that decodes re-encodes to bytes that decode to the
// same value; a CopyFile path the path splitter accepts has no ".."
// component and no empty one; the view decoders of the guest's copy path
// (ttrpc Request, CopyFileRequest) accept exactly what the protobuf ones do,
// with the same values, on every input.
#include <cstdint>
#include <string>

#include "agent/server/in_root.h"
#include "agent/translate.h"
#include "fuzz_util.h"

using namespace vmshare;
using namespace vmshare::agent;

namespace {

template <typename T, typename Dec, typename Enc>
void RoundTrip(const std::string& bytes, Dec decode, Enc encode, const char* name) {
  auto v = decode(bytes);
  if (!v.ok()) {
    FUZZ_CHECK(v.status().code() == Code::kInvalidArgument, name);
    return;
  }
  auto again = decode(encode(*v));
  FUZZ_CHECK(again.ok(), std::string(name) + " re-encoding does not decode");
  FUZZ_CHECK(*again == *v, std::string(name) + " does not round-trip");
}

bool SameStatus(const Status& a, const Status& b) {
  return a.code() == b.code() && a.err() == b.err() && a.message() == b.message();
}

// The view decoder and the protobuf one agree on `bytes`.
void SameAsProtobuf(const std::string& bytes) {
  auto req = DecodeRpcRequest(bytes);
  auto req_view = DecodeRpcRequestView(bytes);
  FUZZ_CHECK(req.ok() == req_view.ok(), "ttrpc Request: view decoder disagrees on validity");
  if (req.ok()) {
    RpcRequest owned{std::string(req_view->service),
                     std::string(req_view->method),
                     std::string(req_view->payload),
                     req_view->timeout_nano,
                     {}};
    for (const auto& [k, v] : req_view->metadata) owned.metadata.emplace_back(k, v);
    FUZZ_CHECK(owned == *req, "ttrpc Request: view decoder disagrees on the value");
  } else {
    FUZZ_CHECK(SameStatus(req.status(), req_view.status()),
               "ttrpc Request: view decoder's error differs");
  }
  auto copy = DecodeCopyFileRequest(bytes);
  auto copy_view = DecodeCopyFileRequestView(bytes);
  FUZZ_CHECK(copy.ok() == copy_view.ok(), "CopyFileRequest: view decoder disagrees on validity");
  if (copy.ok()) {
    CopyFileRequest owned = copy_view->header;
    FUZZ_CHECK(owned.data.empty(), "CopyFileRequest: view header holds data");
    owned.data = std::string(copy_view->data);
    FUZZ_CHECK(owned == *copy, "CopyFileRequest: view decoder disagrees on the value");
  } else {
    FUZZ_CHECK(SameStatus(copy.status(), copy_view.status()),
               "CopyFileRequest: view decoder's error differs");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (1 << 16)) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  SameAsProtobuf(bytes);
  switch (data[0] % 26) {
    case 0:
      RoundTrip<Storage>(bytes, DecodeStorage, EncodeStorage, "Storage");
      break;
    case 1:
      RoundTrip<CreateSandboxRequest>(bytes, DecodeCreateSandboxRequest, EncodeCreateSandboxRequest,
                                      "CreateSandboxRequest");
      break;
    case 2:
      RoundTrip<CreateContainerRequest>(bytes, DecodeCreateContainerRequest,
                                        EncodeCreateContainerRequest, "CreateContainerRequest");
      break;
    case 3:
      RoundTrip<std::string>(bytes, DecodeStartContainerRequest, EncodeStartContainerRequest,
                             "StartContainerRequest");
      break;
    case 4:
      RoundTrip<RemoveContainerRequest>(bytes, DecodeRemoveContainerRequest,
                                        EncodeRemoveContainerRequest, "RemoveContainerRequest");
      break;
    case 5:
      RoundTrip<ProcessRef>(bytes, DecodeWaitProcessRequest, EncodeWaitProcessRequest,
                            "WaitProcessRequest");
      break;
    case 6:
      RoundTrip<ReadStreamRequest>(bytes, DecodeReadStreamRequest, EncodeReadStreamRequest,
                                   "ReadStreamRequest");
      break;
    case 7: {
      RoundTrip<CopyFileRequest>(bytes, DecodeCopyFileRequest, EncodeCopyFileRequest,
                                 "CopyFileRequest");
      auto r = DecodeCopyFileRequest(bytes);
      if (r.ok()) {
        auto parts = SplitRelative(r->path, "copy file");
        if (parts.ok()) {
          for (const auto& p : *parts) {
            FUZZ_CHECK(p != ".." && p != "." && !p.empty() && p.find('/') == std::string::npos,
                       "bad component accepted: " + p);
          }
        }
      }
      break;
    }
    case 8:
      RoundTrip<std::string>(bytes, DecodeCheckRequest, EncodeCheckRequest, "CheckRequest");
      break;
    case 9:
      (void)DecodeEmpty(bytes, "DestroySandboxRequest");
      RoundTrip<int32_t>(bytes, DecodeWaitProcessResponse, EncodeWaitProcessResponse,
                         "WaitProcessResponse");
      break;
    // The process, cgroup, network and guest calls (and the replies the
    // host client decodes from an untrusted guest).
    case 10:
      RoundTrip<ExecProcessRequest>(bytes, DecodeExecProcessRequest, EncodeExecProcessRequest,
                                    "ExecProcessRequest");
      break;
    case 11:
      RoundTrip<SignalProcessRequest>(bytes, DecodeSignalProcessRequest, EncodeSignalProcessRequest,
                                      "SignalProcessRequest");
      break;
    case 12:
      RoundTrip<WriteStreamRequest>(bytes, DecodeWriteStreamRequest, EncodeWriteStreamRequest,
                                    "WriteStreamRequest");
      break;
    case 13:
      RoundTrip<ProcessRef>(bytes, DecodeCloseStdinRequest, EncodeCloseStdinRequest,
                            "CloseStdinRequest");
      break;
    case 14:
      RoundTrip<TtyWinResizeRequest>(bytes, DecodeTtyWinResizeRequest, EncodeTtyWinResizeRequest,
                                     "TtyWinResizeRequest");
      break;
    case 15:
      RoundTrip<UpdateContainerRequest>(bytes, DecodeUpdateContainerRequest,
                                        EncodeUpdateContainerRequest, "UpdateContainerRequest");
      break;
    case 16:
      RoundTrip<std::string>(bytes, DecodeStatsContainerRequest, EncodeStatsContainerRequest,
                             "StatsContainerRequest");
      RoundTrip<std::string>(bytes, DecodePauseContainerRequest, EncodePauseContainerRequest,
                             "PauseContainerRequest");
      RoundTrip<std::string>(bytes, DecodeResumeContainerRequest, EncodeResumeContainerRequest,
                             "ResumeContainerRequest");
      break;
    case 17:
      RoundTrip<ListProcessesRequest>(bytes, DecodeListProcessesRequest, EncodeListProcessesRequest,
                                      "ListProcessesRequest");
      break;
    case 18:
      RoundTrip<NetInterface>(bytes, DecodeUpdateInterfaceRequest, EncodeUpdateInterfaceRequest,
                              "UpdateInterfaceRequest");
      break;
    case 19:
      RoundTrip<std::vector<NetRoute>>(bytes, DecodeUpdateRoutesRequest, EncodeUpdateRoutesRequest,
                                       "UpdateRoutesRequest");
      break;
    case 20:
      RoundTrip<std::vector<ArpNeighbor>>(bytes, DecodeAddArpNeighborsRequest,
                                          EncodeAddArpNeighborsRequest, "AddARPNeighborsRequest");
      break;
    case 21:
      RoundTrip<GuestDetailsRequest>(bytes, DecodeGuestDetailsRequest, EncodeGuestDetailsRequest,
                                     "GuestDetailsRequest");
      RoundTrip<SetGuestDateTimeRequest>(bytes, DecodeSetGuestDateTimeRequest,
                                         EncodeSetGuestDateTimeRequest, "SetGuestDateTimeRequest");
      break;
    case 22:
      RoundTrip<ContainerStats>(bytes, DecodeStatsContainerResponse, EncodeStatsContainerResponse,
                                "StatsContainerResponse");
      break;
    case 23:
      RoundTrip<std::vector<NetInterface>>(bytes, DecodeInterfaces, EncodeInterfaces, "Interfaces");
      RoundTrip<std::vector<NetRoute>>(bytes, DecodeRoutes, EncodeRoutes, "Routes");
      break;
    case 24:
      RoundTrip<GuestDetails>(bytes, DecodeGuestDetailsResponse, EncodeGuestDetailsResponse,
                              "GuestDetailsResponse");
      RoundTrip<VersionInfo>(bytes, DecodeVersionCheckResponse, EncodeVersionCheckResponse,
                             "VersionCheckResponse");
      break;
    case 25:
      RoundTrip<uint32_t>(bytes, DecodeWriteStreamResponse, EncodeWriteStreamResponse,
                          "WriteStreamResponse");
      RoundTrip<std::string>(bytes, DecodeOomEvent, EncodeOomEvent, "OOMEvent");
      RoundTrip<std::string>(
          bytes, DecodeListProcessesResponse,
          [](const std::string& v) { return EncodeListProcessesResponse(v); },
          "ListProcessesResponse");
      break;
  }
  return 0;
}
