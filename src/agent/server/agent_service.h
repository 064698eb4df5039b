// AgentService: grpc.AgentService and grpc.Health on a TtrpcServer.
//
// Decodes each request (translate.h), runs it against the sandbox state
// (storages, containers, processes) and encodes the reply. Handler errors go
// back as the matching grpc code (kInvalidArgument -> INVALID_ARGUMENT, ...;
// anything unexpected -> INTERNAL) with our message. DestroySandbox removes
// every container, unmounts every storage and then stops the server once its
// reply is written; the caller decides what stopping means (exit, or power
// off when pid 1).
#pragma once

#include <memory>

#include "agent/server/cgroup.h"
#include "agent/server/container.h"
#include "agent/server/process_table.h"
#include "agent/server/storage.h"
#include "agent/ttrpc_server.h"
#include "sys/env.h"

namespace vmshare::agent {

class AgentService {
 public:
  AgentService(sys::Env* env, AgentPaths paths);

  // Registers every handler on `server`, and the stop-after-DestroySandbox.
  void RegisterOn(TtrpcServer* server);
  // True once DestroySandbox has run.
  bool destroyed() const { return destroyed_; }

 private:
  // agent_service_calls.cc: the process, cgroup and guest calls.
  void RegisterProcessCalls(TtrpcServer* server);
  void RegisterGuestCalls(TtrpcServer* server);

  sys::Env* env_;
  AgentPaths paths_;
  StorageManager storages_;
  Cgroups cgroups_;
  Containers containers_;
  // Declared last, destroyed first: its reaper is stopped and joined before
  // the containers it reports to go.
  ProcessTable processes_;
  std::atomic<bool> destroyed_{false};
};

}  // namespace vmshare::agent
