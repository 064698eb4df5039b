// DecodeRpcRequestView and DecodeCopyFileRequestView (translate.h): the two
// messages on the guest's copy path, decoded with WireReader so that their
// bytes fields stay in the frame buffer. Field numbers and wire types are
// those of proto/ttrpc.proto and proto/agent.proto; a known field of another
// wire type is unknown to protobuf and skipped here too. Singular fields keep
// their last occurrence; every occurrence of a string field must be UTF-8.
#include <climits>

#include "agent/translate.h"
#include "agent/wire_reader.h"

namespace vmshare::agent {
namespace {

Status Malformed(std::string_view name) {
  return InvalidArgumentError("decode " + std::string(name) + ": malformed protobuf");
}

bool IsBytes(const WireField& f) { return f.type == WireType::kLengthDelimited; }
bool IsVarint(const WireField& f) { return f.type == WireType::kVarint; }

// A string field: false unless UTF-8.
bool TakeString(const WireField& f, std::string_view* out) {
  if (!IsValidUtf8(f.bytes)) return false;
  *out = f.bytes;
  return true;
}

// ttrpc.KeyValue {key = 1, value = 2}.
bool DecodeKeyValue(WireReader in, std::pair<std::string_view, std::string_view>* kv) {
  WireField f;
  while (in.Next(&f)) {
    if (!IsBytes(f)) continue;
    if (f.number == 1 && !TakeString(f, &kv->first)) return false;
    if (f.number == 2 && !TakeString(f, &kv->second)) return false;
  }
  return !in.failed();
}

// One field of ttrpc.Request into *r; false if it makes the message malformed.
bool RequestField(const WireReader& in, const WireField& f, RpcRequestView* r) {
  switch (f.number) {
    case 1:
      return !IsBytes(f) || TakeString(f, &r->service);
    case 2:
      return !IsBytes(f) || TakeString(f, &r->method);
    case 3:
      if (IsBytes(f)) r->payload = f.bytes;
      return true;
    case 4:
      if (IsVarint(f)) r->timeout_nano = static_cast<int64_t>(f.value);
      return true;
    case 5:
      if (!IsBytes(f)) return true;
      r->metadata.emplace_back();
      return DecodeKeyValue(in.Nested(f.bytes), &r->metadata.back());
    default:
      return true;
  }
}

// One field of grpc.CopyFileRequest into *r.
bool CopyFileField(const WireField& f, CopyFileRequestView* r) {
  CopyFileRequest& h = r->header;
  // int32 and uint32 fields keep the low 32 bits of the varint.
  const auto low32 = static_cast<uint32_t>(f.value);
  switch (f.number) {
    case 1: {
      std::string_view path;
      if (!IsBytes(f)) return true;
      if (!TakeString(f, &path)) return false;
      h.path.assign(path);
      return true;
    }
    case 2:
      if (IsVarint(f)) h.file_size = static_cast<int64_t>(f.value);
      return true;
    case 3:
      if (IsVarint(f)) h.file_mode = low32;
      return true;
    case 4:
      if (IsVarint(f)) h.dir_mode = low32;
      return true;
    case 5:
      if (IsVarint(f)) h.uid = static_cast<int32_t>(low32);
      return true;
    case 6:
      if (IsVarint(f)) h.gid = static_cast<int32_t>(low32);
      return true;
    case 7:
      if (IsVarint(f)) h.offset = static_cast<int64_t>(f.value);
      return true;
    case 8:
      if (IsBytes(f)) r->data = f.bytes;
      return true;
    default:
      return true;
  }
}

// Reads every field of `bytes` into a T with `field`, which is false for a
// field that cannot be T's.
template <typename T, typename F>
Result<T> DecodeView(std::string_view bytes, std::string_view name, F field) {
  // ParseProto's limit: protobuf takes an int length.
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return Malformed(name);
  T r;
  WireReader in(bytes);
  WireField f;
  while (in.Next(&f)) {
    if (!field(in, f, &r)) return Malformed(name);
  }
  if (in.failed()) return Malformed(name);
  return r;
}

}  // namespace

Result<RpcRequestView> DecodeRpcRequestView(std::string_view bytes) {
  return DecodeView<RpcRequestView>(
      bytes, "ttrpc Request",
      [](WireReader& in, const WireField& f, RpcRequestView* r) { return RequestField(in, f, r); });
}

Result<CopyFileRequestView> DecodeCopyFileRequestView(std::string_view bytes) {
  return DecodeView<CopyFileRequestView>(
      bytes, "CopyFileRequest",
      [](WireReader&, const WireField& f, CopyFileRequestView* r) { return CopyFileField(f, r); });
}

}  // namespace vmshare::agent
