// AgentService: registration of the process calls (ExecProcess,
// SignalProcess, stdin, tty), the cgroup calls (Stats, Update, Pause, Resume,
// ListProcesses, GetOOMEvent) and the guest calls (GetGuestDetails,
// SetGuestDateTime, network, Health.Version).
#include "agent/client.h"
#include "agent/server/agent_service.h"
#include "agent/server/guest_calls.h"
#include "agent/translate.h"

namespace vmshare::agent {
namespace {

// Adapts `f(decoded request, ctx) -> Status` to a handler with an empty reply.
template <typename Decode, typename F>
RpcHandler Empty(Decode decode, F f) {
  return [decode, f](std::string_view payload, const CallContext& ctx) -> Result<std::string> {
    ASSIGN_OR_RETURN(auto r, decode(payload));
    RETURN_IF_ERROR(f(r, ctx));
    return std::string();
  };
}

// Adapts `f(decoded request, ctx) -> Result<T>` to a handler encoding T.
template <typename Decode, typename F, typename Encode>
RpcHandler Reply(Decode decode, F f, Encode encode) {
  return
      [decode, f, encode](std::string_view payload, const CallContext& ctx) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto r, decode(payload));
        ASSIGN_OR_RETURN(auto out, f(r, ctx));
        return encode(out);
      };
}

// A request message with no fields.
auto NoFields(const char* name) {
  return [name](std::string_view bytes) -> Result<bool> {
    RETURN_IF_ERROR(DecodeEmpty(bytes, name));
    return true;
  };
}

}  // namespace

void AgentService::RegisterProcessCalls(TtrpcServer* server) {
  Containers* c = &containers_;
  server->Register(kAgentService, "ExecProcess",
                   Empty(DecodeExecProcessRequest, [c](const ExecProcessRequest& r,
                                                       const CallContext&) { return c->Exec(r); }));
  server->Register(
      kAgentService, "SignalProcess",
      Empty(DecodeSignalProcessRequest,
            [c](const SignalProcessRequest& r, const CallContext&) { return c->Signal(r); }));
  server->Register(kAgentService, "WriteStdin",
                   Reply(
                       DecodeWriteStreamRequest,
                       [c](const WriteStreamRequest& r, const CallContext& ctx) {
                         return c->WriteStdin(r, ctx);
                       },
                       EncodeWriteStreamResponse));
  server->Register(kAgentService, "CloseStdin",
                   Empty(DecodeCloseStdinRequest, [c](const ProcessRef& r, const CallContext&) {
                     return c->CloseStdin(r);
                   }));
  server->Register(
      kAgentService, "TtyWinResize",
      Empty(DecodeTtyWinResizeRequest,
            [c](const TtyWinResizeRequest& r, const CallContext&) { return c->ResizeTty(r); }));
  server->Register(
      kAgentService, "UpdateContainer",
      Empty(DecodeUpdateContainerRequest,
            [c](const UpdateContainerRequest& r, const CallContext&) { return c->Update(r); }));
  server->Register(kAgentService, "StatsContainer",
                   Reply(
                       DecodeStatsContainerRequest,
                       [c](const std::string& id, const CallContext&) { return c->Stats(id); },
                       EncodeStatsContainerResponse));
  server->Register(
      kAgentService, "PauseContainer",
      Empty(DecodePauseContainerRequest,
            [c](const std::string& id, const CallContext&) { return c->Pause(id, true); }));
  server->Register(
      kAgentService, "ResumeContainer",
      Empty(DecodeResumeContainerRequest,
            [c](const std::string& id, const CallContext&) { return c->Pause(id, false); }));
  server->Register(
      kAgentService, "ListProcesses",
      Reply(
          DecodeListProcessesRequest,
          [c](const ListProcessesRequest& r, const CallContext&) { return c->ListProcesses(r); },
          [](const std::string& list) { return EncodeListProcessesResponse(list); }));
  server->Register(
      kAgentService, "GetOOMEvent",
      Reply(
          NoFields("GetOOMEventRequest"),
          [c](bool, const CallContext& ctx) { return c->NextOomEvent(ctx); }, EncodeOomEvent));
}

void AgentService::RegisterGuestCalls(TtrpcServer* server) {
  sys::Env* env = env_;
  server->Register(kHealthService, "Version",
                   Reply(
                       DecodeCheckRequest,
                       [](const std::string&, const CallContext&) -> Result<VersionInfo> {
                         return VersionInfo{kAgentApiVersion, kAgentVersion};
                       },
                       EncodeVersionCheckResponse));
  server->Register(
      kAgentService, "GetGuestDetails",
      Reply(
          DecodeGuestDetailsRequest,
          [env](const GuestDetailsRequest& r, const CallContext&) -> Result<GuestDetails> {
            return GetGuestDetails(env, r, env->GetPid() == 1);
          },
          EncodeGuestDetailsResponse));
  server->Register(kAgentService, "SetGuestDateTime",
                   Empty(DecodeSetGuestDateTimeRequest,
                         [env](const SetGuestDateTimeRequest& r, const CallContext&) {
                           return SetGuestDateTime(env, r);
                         }));
  server->Register(
      kAgentService, "ListInterfaces",
      Reply(
          NoFields("ListInterfacesRequest"),
          [env](bool, const CallContext&) { return ListInterfaces(env); }, EncodeInterfaces));
  server->Register(kAgentService, "ListRoutes",
                   Reply(
                       NoFields("ListRoutesRequest"),
                       [env](bool, const CallContext&) { return ListRoutes(env); }, EncodeRoutes));
  server->Register(
      kAgentService, "UpdateInterface",
      Reply(
          DecodeUpdateInterfaceRequest,
          [env](const NetInterface& r, const CallContext&) { return UpdateInterface(env, r); },
          EncodeInterface));
  server->Register(kAgentService, "UpdateRoutes",
                   Reply(
                       DecodeUpdateRoutesRequest,
                       [env](const std::vector<NetRoute>& r, const CallContext&) {
                         return UpdateRoutes(env, r);
                       },
                       EncodeRoutes));
  server->Register(kAgentService, "AddARPNeighbors",
                   Empty(DecodeAddArpNeighborsRequest,
                         [env](const std::vector<ArpNeighbor>& r, const CallContext&) {
                           return AddArpNeighbors(env, r);
                         }));
}

}  // namespace vmshare::agent
