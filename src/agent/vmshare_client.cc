#include "agent/vmshare_client.h"

namespace vmshare::agent {

Result<std::string> VmshareClient::Call(const std::string& method, const std::string& payload) {
  // Generous: a recursive Remove of a large tree is one call.
  return client_->Call(kVmshareService, method, payload, std::chrono::milliseconds(60000));
}

Status VmshareClient::Rename(const std::string& from, const std::string& to) {
  return Call("Rename", EncodeRenameRequest({from, to})).status();
}

Status VmshareClient::SetFileAttrs(const SetFileAttrsRequest& r) {
  return Call("SetFileAttrs", EncodeSetFileAttrsRequest(r)).status();
}

Status VmshareClient::Batch(const std::vector<BatchOp>& ops) {
  return Call("Batch", EncodeBatchRequest(ops)).status();
}

Status VmshareClient::Link(const std::string& path, const std::string& target) {
  return Call("Link", EncodeLinkRequest({path, target})).status();
}

Status VmshareClient::Remove(const std::string& path, bool recursive) {
  return Call("Remove", EncodeRemoveRequest({path, recursive})).status();
}

Status VmshareClient::MountTmpfs(const std::string& path, uint32_t mode) {
  return Call("MountTmpfs", EncodeMountTmpfsRequest({path, mode})).status();
}

Result<std::vector<GuestDirEntry>> VmshareClient::ReadDir(const std::string& path) {
  std::vector<GuestDirEntry> out;
  ReadDirRequest req;
  req.path = path;
  for (;;) {
    ASSIGN_OR_RETURN(std::string reply, Call("ReadDir", EncodeReadDirRequest(req)));
    auto page = DecodeReadDirResponse(reply);
    if (!page.ok()) return InternalError("agent ReadDir: " + page.status().message());
    for (auto& e : page->entries) out.push_back(std::move(e));
    if (!page->more || page->entries.empty()) return out;
    req.start_after = out.back().name;
  }
}

}  // namespace vmshare::agent
