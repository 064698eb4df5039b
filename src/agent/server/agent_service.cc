#include "agent/server/agent_service.h"

#include "agent/client.h"
#include "agent/server/copy_file.h"
#include "agent/translate.h"

namespace vmshare::agent {
namespace {

// Adapts a handler returning Status to one returning an empty reply.
template <typename F>
RpcHandler EmptyReply(F f) {
  return [f](std::string_view payload, const CallContext& ctx) -> Result<std::string> {
    Status s = f(payload, ctx);
    if (!s.ok()) return s;
    return std::string();
  };
}

}  // namespace

AgentService::AgentService(sys::Env* env, AgentPaths paths)
    : env_(env),
      paths_(paths),
      storages_(env),
      cgroups_(env, paths.cgroup_root),
      containers_(env, paths, &storages_, &processes_, &cgroups_),
      processes_(env) {}

void AgentService::RegisterOn(TtrpcServer* server) {
  server->Register(kHealthService, "Check",
                   [](std::string_view payload, const CallContext&) -> Result<std::string> {
                     RETURN_IF_ERROR(DecodeCheckRequest(payload));
                     return EncodeHealthCheckResponse(ServingStatus::kServing);
                   });
  server->Register(kAgentService, "CreateSandbox",
                   EmptyReply([this](std::string_view payload, const CallContext&) -> Status {
                     ASSIGN_OR_RETURN(auto r, DecodeCreateSandboxRequest(payload));
                     for (const auto& s : r.storages) {
                       RETURN_IF_ERROR(storages_.Add(s));
                     }
                     return Status::Ok();
                   }));
  server->Register(kAgentService, "CreateContainer",
                   EmptyReply([this](std::string_view payload, const CallContext&) -> Status {
                     ASSIGN_OR_RETURN(auto r, DecodeCreateContainerRequest(payload));
                     return containers_.Create(r);
                   }));
  server->Register(kAgentService, "StartContainer",
                   EmptyReply([this](std::string_view payload, const CallContext&) -> Status {
                     ASSIGN_OR_RETURN(auto cid, DecodeStartContainerRequest(payload));
                     return containers_.Start(cid);
                   }));
  auto read_stream = [this](bool stderr_stream) {
    return [this, stderr_stream](std::string_view payload,
                                 const CallContext& ctx) -> Result<std::string> {
      ASSIGN_OR_RETURN(auto r, DecodeReadStreamRequest(payload));
      ASSIGN_OR_RETURN(std::string data, containers_.Read(r.process, stderr_stream, r.len, ctx));
      return EncodeReadStreamResponse(data);
    };
  };
  server->Register(kAgentService, "ReadStdout", read_stream(false));
  server->Register(kAgentService, "ReadStderr", read_stream(true));
  server->Register(kAgentService, "WaitProcess",
                   [this](std::string_view payload, const CallContext& ctx) -> Result<std::string> {
                     ASSIGN_OR_RETURN(auto r, DecodeWaitProcessRequest(payload));
                     ASSIGN_OR_RETURN(int32_t status, containers_.Wait(r, ctx));
                     return EncodeWaitProcessResponse(status);
                   });
  server->Register(kAgentService, "RemoveContainer",
                   EmptyReply([this](std::string_view payload, const CallContext& ctx) -> Status {
                     ASSIGN_OR_RETURN(auto r, DecodeRemoveContainerRequest(payload));
                     return containers_.Remove(r.container_id, r.timeout_seconds, ctx);
                   }));
  server->Register(kAgentService, "CopyFile",
                   EmptyReply([this](std::string_view payload, const CallContext&) -> Status {
                     // The chunk stays in the frame until it is written.
                     ASSIGN_OR_RETURN(auto r, DecodeCopyFileRequestView(payload));
                     return CopyFile(env_, paths_.shared_root, r.header, r.data);
                   }));
  server->Register(kAgentService, "DestroySandbox",
                   EmptyReply([this](std::string_view payload, const CallContext& ctx) -> Status {
                     RETURN_IF_ERROR(DecodeEmpty(payload, "DestroySandboxRequest"));
                     Status first = containers_.RemoveAll(ctx);
                     Status s = storages_.ReleaseAll();
                     if (first.ok()) first = s;
                     destroyed_ = true;
                     return first;
                   }));
  RegisterProcessCalls(server);
  RegisterGuestCalls(server);
  server->SetAfterReply([this, server](const std::string& method) {
    if (method == "DestroySandbox" && destroyed_) server->Stop();
  });
}

}  // namespace vmshare::agent
