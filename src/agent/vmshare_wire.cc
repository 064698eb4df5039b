#include "agent/vmshare_wire.h"

#include <climits>

#include "vmshare.pb.h"

namespace vmshare::agent {
namespace {

template <typename M>
Result<M> Parse(std::string_view bytes, std::string_view name) {
  M m;
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgumentError("decode " + std::string(name) + ": malformed protobuf");
  }
  return m;
}

template <typename M>
std::string Serialize(const M& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

}  // namespace

std::string EncodeRenameRequest(const RenameRequest& r) {
  ::vmshare::RenameRequest p;
  p.set_from(r.from);
  p.set_to(r.to);
  return Serialize(p);
}

Result<RenameRequest> DecodeRenameRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<::vmshare::RenameRequest>(bytes, "RenameRequest"));
  return RenameRequest{p.from(), p.to()};
}

std::string EncodeRemoveRequest(const RemoveRequest& r) {
  ::vmshare::RemoveRequest p;
  p.set_path(r.path);
  p.set_recursive(r.recursive);
  return Serialize(p);
}

Result<RemoveRequest> DecodeRemoveRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<::vmshare::RemoveRequest>(bytes, "RemoveRequest"));
  return RemoveRequest{p.path(), p.recursive()};
}

std::string EncodeMountTmpfsRequest(const MountTmpfsRequest& r) {
  ::vmshare::MountTmpfsRequest p;
  p.set_path(r.path);
  p.set_mode(r.mode);
  return Serialize(p);
}

Result<MountTmpfsRequest> DecodeMountTmpfsRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<::vmshare::MountTmpfsRequest>(bytes, "MountTmpfsRequest"));
  return MountTmpfsRequest{p.path(), p.mode()};
}

std::string EncodeReadDirRequest(const ReadDirRequest& r) {
  ::vmshare::ReadDirRequest p;
  p.set_path(r.path);
  p.set_start_after(r.start_after);
  p.set_max_entries(r.max_entries);
  return Serialize(p);
}

Result<ReadDirRequest> DecodeReadDirRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<::vmshare::ReadDirRequest>(bytes, "ReadDirRequest"));
  return ReadDirRequest{p.path(), p.start_after(), p.max_entries()};
}

std::string EncodeReadDirResponse(const ReadDirResponse& r) {
  ::vmshare::ReadDirResponse p;
  for (const auto& e : r.entries) {
    auto* q = p.add_entries();
    q->set_name(e.name);
    q->set_mode(e.mode);
    q->set_uid(e.uid);
    q->set_gid(e.gid);
    q->set_size(e.size);
    q->set_link_target(e.link_target);
  }
  p.set_more(r.more);
  return Serialize(p);
}

Result<ReadDirResponse> DecodeReadDirResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<::vmshare::ReadDirResponse>(bytes, "ReadDirResponse"));
  ReadDirResponse r;
  r.more = p.more();
  for (const auto& q : p.entries()) {
    r.entries.push_back({q.name(), q.mode(), q.uid(), q.gid(), q.size(), q.link_target()});
  }
  return r;
}

}  // namespace vmshare::agent
