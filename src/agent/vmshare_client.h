// VmshareClient: typed calls of vmshare.VmshareService over an AgentClient's
// channel (the same connection, multiplexed with grpc.AgentService calls).
//
// Paths are guest paths under kGuestSharedDir. Errors are the AgentClient's
// ("agent <Method>: <agent message> (<GRPC_CODE>)", kUnavailable once the
// channel is gone). Thread-safe, as AgentClient is. Does not own the client.
#pragma once

#include <string>
#include <vector>

#include "agent/client.h"
#include "agent/vmshare_wire.h"
#include "core/result.h"

namespace vmshare::agent {

class VmshareClient {
 public:
  // REQUIRES: client outlives this object.
  explicit VmshareClient(AgentClient* client) : client_(client) {}

  Status Rename(const std::string& from, const std::string& to);
  Status Remove(const std::string& path, bool recursive);
  Status MountTmpfs(const std::string& path, uint32_t mode = 0755);
  // The whole directory, in name order (pages through ReadDir calls).
  Result<std::vector<GuestDirEntry>> ReadDir(const std::string& path);
  Status SetFileAttrs(const SetFileAttrsRequest& r);
  // The steps in order, in one round trip (see BatchRequest).
  Status Batch(const std::vector<BatchOp>& ops);
  Status Link(const std::string& path, const std::string& target);

 private:
  Result<std::string> Call(const std::string& method, const std::string& payload);
  AgentClient* client_;
};

}  // namespace vmshare::agent
