#include "agent/vmshare_wire.h"

#include "agent/wire_util.h"
#include "vmshare.pb.h"

namespace vmshare::agent {

std::string EncodeSetFileAttrsRequest(const SetFileAttrsRequest& r) {
  ::vmshare::SetFileAttrsRequest p;
  p.set_path(r.path);
  p.set_atime_ns(r.atime_ns);
  p.set_mtime_ns(r.mtime_ns);
  for (const auto& [name, value] : r.xattrs) {
    auto* x = p.add_xattrs();
    x->set_name(name);
    x->set_value(value);
  }
  return SerializeProto(p);
}

Result<SetFileAttrsRequest> DecodeSetFileAttrsRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p,
                   ParseProto<::vmshare::SetFileAttrsRequest>(bytes, "SetFileAttrsRequest"));
  SetFileAttrsRequest r{p.path(), p.atime_ns(), p.mtime_ns(), {}};
  for (const auto& x : p.xattrs()) r.xattrs.emplace_back(x.name(), x.value());
  return r;
}

std::string EncodeLinkRequest(const LinkRequest& r) {
  ::vmshare::LinkRequest p;
  p.set_path(r.path);
  p.set_target(r.target);
  return SerializeProto(p);
}

Result<LinkRequest> DecodeLinkRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, ParseProto<::vmshare::LinkRequest>(bytes, "LinkRequest"));
  return LinkRequest{p.path(), p.target()};
}

std::string EncodeRenameRequest(const RenameRequest& r) {
  ::vmshare::RenameRequest p;
  p.set_from(r.from);
  p.set_to(r.to);
  return SerializeProto(p);
}

Result<RenameRequest> DecodeRenameRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, ParseProto<::vmshare::RenameRequest>(bytes, "RenameRequest"));
  return RenameRequest{p.from(), p.to()};
}

std::string EncodeRemoveRequest(const RemoveRequest& r) {
  ::vmshare::RemoveRequest p;
  p.set_path(r.path);
  p.set_recursive(r.recursive);
  return SerializeProto(p);
}

Result<RemoveRequest> DecodeRemoveRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, ParseProto<::vmshare::RemoveRequest>(bytes, "RemoveRequest"));
  return RemoveRequest{p.path(), p.recursive()};
}

std::string EncodeMountTmpfsRequest(const MountTmpfsRequest& r) {
  ::vmshare::MountTmpfsRequest p;
  p.set_path(r.path);
  p.set_mode(r.mode);
  return SerializeProto(p);
}

Result<MountTmpfsRequest> DecodeMountTmpfsRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, ParseProto<::vmshare::MountTmpfsRequest>(bytes, "MountTmpfsRequest"));
  return MountTmpfsRequest{p.path(), p.mode()};
}

std::string EncodeReadDirRequest(const ReadDirRequest& r) {
  ::vmshare::ReadDirRequest p;
  p.set_path(r.path);
  p.set_start_after(r.start_after);
  p.set_max_entries(r.max_entries);
  return SerializeProto(p);
}

Result<ReadDirRequest> DecodeReadDirRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, ParseProto<::vmshare::ReadDirRequest>(bytes, "ReadDirRequest"));
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
  return SerializeProto(p);
}

Result<ReadDirResponse> DecodeReadDirResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, ParseProto<::vmshare::ReadDirResponse>(bytes, "ReadDirResponse"));
  ReadDirResponse r;
  r.more = p.more();
  for (const auto& q : p.entries()) {
    r.entries.push_back({q.name(), q.mode(), q.uid(), q.gid(), q.size(), q.link_target()});
  }
  return r;
}

}  // namespace vmshare::agent
