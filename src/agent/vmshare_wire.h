// Messages of the vmshare.VmshareService (proto/vmshare.proto) and their wire
// encoding.
//
// The service adds what the Kata-compatible grpc.AgentService lacks for
// keeping watched volumes in sync (rename, remove, a tmpfs for guest-side
// copies, listing). vmshare_wire.cc is the only file that includes the
// generated vmshare.pb.h; decoders never throw and answer malformed bytes
// with kInvalidArgument "decode <Message>: malformed protobuf".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "agent/messages.h"
#include "core/result.h"

namespace vmshare::agent {

inline constexpr char kVmshareService[] = "vmshare.VmshareService";

struct RenameRequest {
  std::string from;
  std::string to;
  bool operator==(const RenameRequest&) const = default;
};

struct RemoveRequest {
  std::string path;
  bool recursive = false;
  bool operator==(const RemoveRequest&) const = default;
};

struct MountTmpfsRequest {
  std::string path;
  uint32_t mode = 0755;
  bool operator==(const MountTmpfsRequest&) const = default;
};

struct ReadDirRequest {
  std::string path;
  std::string start_after;
  uint32_t max_entries = 0;
  bool operator==(const ReadDirRequest&) const = default;
};

struct GuestDirEntry {
  std::string name;
  uint32_t mode = 0;  // st_mode with type bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  std::string link_target;
  bool operator==(const GuestDirEntry&) const = default;
};

struct ReadDirResponse {
  std::vector<GuestDirEntry> entries;
  bool more = false;
  bool operator==(const ReadDirResponse&) const = default;
};

struct SetFileAttrsRequest {
  std::string path;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  bool operator==(const SetFileAttrsRequest&) const = default;
};

struct LinkRequest {
  std::string path;
  std::string target;
  bool operator==(const LinkRequest&) const = default;
};

// One step of a Batch.
using BatchOp = std::variant<CopyFileRequest, RenameRequest, RemoveRequest, SetFileAttrsRequest>;

// The most steps one Batch may hold (the agent refuses more).
inline constexpr size_t kMaxBatchOps = 4096;

std::string EncodeBatchRequest(const std::vector<BatchOp>& ops);
Result<std::vector<BatchOp>> DecodeBatchRequest(std::string_view bytes);
std::string EncodeSetFileAttrsRequest(const SetFileAttrsRequest& r);
Result<SetFileAttrsRequest> DecodeSetFileAttrsRequest(std::string_view bytes);
std::string EncodeLinkRequest(const LinkRequest& r);
Result<LinkRequest> DecodeLinkRequest(std::string_view bytes);
std::string EncodeRenameRequest(const RenameRequest& r);
Result<RenameRequest> DecodeRenameRequest(std::string_view bytes);
std::string EncodeRemoveRequest(const RemoveRequest& r);
Result<RemoveRequest> DecodeRemoveRequest(std::string_view bytes);
std::string EncodeMountTmpfsRequest(const MountTmpfsRequest& r);
Result<MountTmpfsRequest> DecodeMountTmpfsRequest(std::string_view bytes);
std::string EncodeReadDirRequest(const ReadDirRequest& r);
Result<ReadDirRequest> DecodeReadDirRequest(std::string_view bytes);
std::string EncodeReadDirResponse(const ReadDirResponse& r);
Result<ReadDirResponse> DecodeReadDirResponse(std::string_view bytes);

}  // namespace vmshare::agent
