#include "agent/vmshare_wire.h"

#include "agent/translate.h"
#include "agent/wire_util.h"
#include "vmshare.pb.h"

namespace vmshare::agent {

namespace {

void FillSetFileAttrs(const SetFileAttrsRequest& r, ::vmshare::SetFileAttrsRequest* p) {
  p->set_path(r.path);
  p->set_atime_ns(r.atime_ns);
  p->set_mtime_ns(r.mtime_ns);
  for (const auto& [name, value] : r.xattrs) {
    auto* x = p->add_xattrs();
    x->set_name(name);
    x->set_value(value);
  }
}

SetFileAttrsRequest FromProto(const ::vmshare::SetFileAttrsRequest& p) {
  SetFileAttrsRequest r{p.path(), p.atime_ns(), p.mtime_ns(), {}};
  for (const auto& x : p.xattrs()) r.xattrs.emplace_back(x.name(), x.value());
  return r;
}

}  // namespace

std::string EncodeBatchRequest(const std::vector<BatchOp>& ops) {
  ::vmshare::BatchRequest p;
  for (const BatchOp& op : ops) {
    ::vmshare::BatchOp* o = p.add_ops();
    if (const auto* c = std::get_if<CopyFileRequest>(&op)) {
      o->set_copy_file(EncodeCopyFileRequest(*c));
    } else if (const auto* r = std::get_if<RenameRequest>(&op)) {
      o->mutable_rename()->set_from(r->from);
      o->mutable_rename()->set_to(r->to);
    } else if (const auto* rm = std::get_if<RemoveRequest>(&op)) {
      o->mutable_remove()->set_path(rm->path);
      o->mutable_remove()->set_recursive(rm->recursive);
    } else {
      FillSetFileAttrs(std::get<SetFileAttrsRequest>(op), o->mutable_set_file_attrs());
    }
  }
  return SerializeProto(p);
}

Result<std::vector<BatchOp>> DecodeBatchRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, ParseProto<::vmshare::BatchRequest>(bytes, "BatchRequest"));
  if (static_cast<size_t>(p.ops_size()) > kMaxBatchOps)
    return InvalidArgumentError("decode BatchRequest: " + std::to_string(p.ops_size()) +
                                " steps, at most " + std::to_string(kMaxBatchOps));
  std::vector<BatchOp> ops;
  ops.reserve(p.ops_size());
  for (const auto& o : p.ops()) {
    switch (o.op_case()) {
      case ::vmshare::BatchOp::kCopyFile: {
        // Decoded in place: the data is copied once, into the step.
        ASSIGN_OR_RETURN(CopyFileRequestView v, DecodeCopyFileRequestView(o.copy_file()));
        v.header.data.assign(v.data);
        ops.emplace_back(std::move(v.header));
        break;
      }
      case ::vmshare::BatchOp::kRename:
        ops.emplace_back(RenameRequest{o.rename().from(), o.rename().to()});
        break;
      case ::vmshare::BatchOp::kRemove:
        ops.emplace_back(RemoveRequest{o.remove().path(), o.remove().recursive()});
        break;
      case ::vmshare::BatchOp::kSetFileAttrs:
        ops.emplace_back(FromProto(o.set_file_attrs()));
        break;
      default:
        return InvalidArgumentError("decode BatchRequest: step " + std::to_string(ops.size()) +
                                    " has no operation");
    }
  }
  return ops;
}

std::string EncodeSetFileAttrsRequest(const SetFileAttrsRequest& r) {
  ::vmshare::SetFileAttrsRequest p;
  FillSetFileAttrs(r, &p);
  return SerializeProto(p);
}

Result<SetFileAttrsRequest> DecodeSetFileAttrsRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p,
                   ParseProto<::vmshare::SetFileAttrsRequest>(bytes, "SetFileAttrsRequest"));
  return FromProto(p);
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
