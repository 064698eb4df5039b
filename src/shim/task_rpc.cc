#include "shim/task_rpc.h"

#include <atomic>
#include <memory>

namespace vmshare::shim {
namespace {

using agent::CallContext;
using agent::RpcHandler;

template <typename F>
void Add(agent::TtrpcServer* server, const char* method, F f) {
  server->Register(kTaskService, method, RpcHandler(std::move(f)));
}

RpcHandler Unsupported(const std::string& method) {
  return [method](std::string_view, const CallContext&) -> Result<std::string> {
    return UnimplementedError(method + " is not supported by the vmshare shim");
  };
}

}  // namespace

void RegisterTaskService(agent::TtrpcServer* server, TaskService* svc,
                         std::function<void()> on_exit) {
  Add(server, "Create", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(CreateTask r, DecodeCreateTask(in));
    ASSIGN_OR_RETURN(uint32_t pid, svc->Create(r));
    return EncodePidResponse(pid);
  });
  Add(server, "Start", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(ProcessKey k, DecodeProcessKey(in, "StartRequest"));
    ASSIGN_OR_RETURN(uint32_t pid, svc->Start(k));
    return EncodePidResponse(pid);
  });
  Add(server, "Wait", [svc](std::string_view in, const CallContext& ctx) -> Result<std::string> {
    ASSIGN_OR_RETURN(ProcessKey k, DecodeProcessKey(in, "WaitRequest"));
    ASSIGN_OR_RETURN(ExitInfo e, svc->Wait(k, ctx.cancelled));
    return EncodeWaitResponse(e);
  });
  Add(server, "State", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(ProcessKey k, DecodeProcessKey(in, "StateRequest"));
    ASSIGN_OR_RETURN(ProcessState s, svc->State(k));
    return EncodeStateResponse(s);
  });
  Add(server, "Kill", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(KillTask r, DecodeKillTask(in));
    RETURN_IF_ERROR(svc->Kill(r));
    return EncodeEmpty();
  });
  Add(server, "Delete", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(ProcessKey k, DecodeProcessKey(in, "DeleteRequest"));
    ASSIGN_OR_RETURN(ExitInfo e, svc->Delete(k));
    return EncodeDeleteResponse(e);
  });
  Add(server, "Pids", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(std::string id, DecodeIdOnly(in, "PidsRequest"));
    ASSIGN_OR_RETURN(std::vector<uint32_t> pids, svc->Pids(id));
    return EncodePidsResponse(pids);
  });
  Add(server, "Exec", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(ExecTask r, DecodeExecTask(in));
    RETURN_IF_ERROR(svc->Exec(r));
    return EncodeEmpty();
  });
  Add(server, "ResizePty", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(ResizePty r, DecodeResizePty(in));
    RETURN_IF_ERROR(svc->ResizePty(r));
    return EncodeEmpty();
  });
  Add(server, "CloseIO", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(CloseIo r, DecodeCloseIo(in));
    RETURN_IF_ERROR(svc->CloseIO(r));
    return EncodeEmpty();
  });
  Add(server, "Connect", [svc](std::string_view in, const CallContext&) -> Result<std::string> {
    ASSIGN_OR_RETURN(std::string id, DecodeIdOnly(in, "ConnectRequest"));
    ASSIGN_OR_RETURN(ConnectInfo c, svc->Connect(id));
    return EncodeConnectResponse(c);
  });
  // The decision to exit is made in the handler; the exit itself waits until
  // the reply is on the wire, or containerd would see a broken connection.
  auto exiting = std::make_shared<std::atomic<bool>>(false);
  Add(server, "Shutdown",
      [svc, exiting](std::string_view in, const CallContext&) -> Result<std::string> {
        ASSIGN_OR_RETURN(ShutdownTask r, DecodeShutdown(in));
        ASSIGN_OR_RETURN(bool exit, svc->Shutdown(r));
        if (exit) exiting->store(true);
        return EncodeEmpty();
      });
  server->SetAfterReply([exiting, on_exit = std::move(on_exit)](const std::string& method) {
    if (method == "Shutdown" && exiting->load() && on_exit) on_exit();
  });
  for (const char* m : {"Pause", "Resume", "Checkpoint", "Update", "Stats"})
    server->Register(kTaskService, m, Unsupported(m));
}

}  // namespace vmshare::shim
