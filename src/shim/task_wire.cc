#include "shim/task_wire.h"

#include <google/protobuf/empty.pb.h>
#include <google/protobuf/stubs/logging.h>

#include "agent/wire_util.h"
#include "containerd_events.pb.h"
#include "containerd_forward.pb.h"
#include "containerd_task.pb.h"

namespace vmshare::shim {
namespace {

namespace pb = ::containerd::task::v2;
namespace ev = ::containerd::events;

// Protobuf logs malformed strings to stderr, which for the shim is a FIFO
// containerd copies into its own log; the decode error is returned instead.
void SilenceProtobufLog() {
  static const bool once = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)once;
}

template <typename M>
Result<M> Parse(std::string_view bytes, std::string_view name) {
  SilenceProtobufLog();
  return agent::ParseProto<M>(bytes, name);
}

template <typename M>
std::string Serialize(const M& m) {
  return agent::SerializeProto(m);
}

constexpr int64_t kNanosPerSecond = 1000000000;

void SetTime(int64_t ns, google::protobuf::Timestamp* t) {
  t->set_seconds(ns / kNanosPerSecond);
  t->set_nanos(static_cast<int32_t>(ns % kNanosPerSecond));
}

int64_t GetTime(const google::protobuf::Timestamp& t) {
  return t.seconds() * kNanosPerSecond + t.nanos();
}

template <typename P>
void MountToProto(const RootfsMount& m, P* p) {
  p->set_type(m.type);
  p->set_source(m.source);
  p->set_target(m.target);
  for (const auto& o : m.options) p->add_options(o);
}

RootfsMount MountFromProto(const ::containerd::types::Mount& p) {
  return RootfsMount{p.type(), p.source(), p.target(),
                     std::vector<std::string>(p.options().begin(), p.options().end())};
}

template <typename M>
EventPayload Event(std::string topic, const M& m) {
  return EventPayload{std::move(topic), m.GetTypeName(), Serialize(m)};
}

}  // namespace

Result<CreateTask> DecodeCreateTask(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::CreateTaskRequest>(bytes, "CreateTaskRequest"));
  CreateTask r;
  r.id = p.id();
  r.bundle = p.bundle();
  for (const auto& m : p.rootfs()) r.rootfs.push_back(MountFromProto(m));
  r.stdio = StdioPaths{p.stdin(), p.stdout(), p.stderr(), p.terminal()};
  r.checkpoint = p.checkpoint();
  return r;
}

std::string EncodeCreateTask(const CreateTask& r) {
  pb::CreateTaskRequest p;
  p.set_id(r.id);
  p.set_bundle(r.bundle);
  for (const auto& m : r.rootfs) MountToProto(m, p.add_rootfs());
  p.set_terminal(r.stdio.terminal);
  p.set_stdin(r.stdio.stdin_path);
  p.set_stdout(r.stdio.stdout_path);
  p.set_stderr(r.stdio.stderr_path);
  p.set_checkpoint(r.checkpoint);
  return Serialize(p);
}

Result<ExecTask> DecodeExecTask(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::ExecProcessRequest>(bytes, "ExecProcessRequest"));
  ExecTask r;
  r.id = p.id();
  r.exec_id = p.exec_id();
  r.stdio = StdioPaths{p.stdin(), p.stdout(), p.stderr(), p.terminal()};
  r.spec_type_url = p.spec().type_url();
  r.spec_json = p.spec().value();
  return r;
}

std::string EncodeExecTask(const ExecTask& r) {
  pb::ExecProcessRequest p;
  p.set_id(r.id);
  p.set_exec_id(r.exec_id);
  p.set_terminal(r.stdio.terminal);
  p.set_stdin(r.stdio.stdin_path);
  p.set_stdout(r.stdio.stdout_path);
  p.set_stderr(r.stdio.stderr_path);
  p.mutable_spec()->set_type_url(r.spec_type_url);
  p.mutable_spec()->set_value(r.spec_json);
  return Serialize(p);
}

// StartRequest, DeleteRequest, StateRequest and WaitRequest share the layout
// {string id = 1; string exec_id = 2;}; one of them decodes all four.
Result<ProcessKey> DecodeProcessKey(std::string_view bytes, std::string_view message_name) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::StateRequest>(bytes, message_name));
  return ProcessKey{p.id(), p.exec_id()};
}

std::string EncodeProcessKey(const ProcessKey& k) {
  pb::StateRequest p;
  p.set_id(k.id);
  p.set_exec_id(k.exec_id);
  return Serialize(p);
}

Result<std::string> DecodeIdOnly(std::string_view bytes, std::string_view message_name) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::PidsRequest>(bytes, message_name));
  return p.id();
}

Result<KillTask> DecodeKillTask(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::KillRequest>(bytes, "KillRequest"));
  return KillTask{{p.id(), p.exec_id()}, p.signal(), p.all()};
}

std::string EncodeKillTask(const KillTask& r) {
  pb::KillRequest p;
  p.set_id(r.key.id);
  p.set_exec_id(r.key.exec_id);
  p.set_signal(r.signal);
  p.set_all(r.all);
  return Serialize(p);
}

Result<ResizePty> DecodeResizePty(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::ResizePtyRequest>(bytes, "ResizePtyRequest"));
  return ResizePty{{p.id(), p.exec_id()}, p.width(), p.height()};
}

Result<CloseIo> DecodeCloseIo(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::CloseIORequest>(bytes, "CloseIORequest"));
  return CloseIo{{p.id(), p.exec_id()}, p.stdin()};
}

std::string EncodeCloseIo(const CloseIo& r) {
  pb::CloseIORequest p;
  p.set_id(r.key.id);
  p.set_exec_id(r.key.exec_id);
  p.set_stdin(r.stdin_close);
  return Serialize(p);
}

Result<ShutdownTask> DecodeShutdown(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::ShutdownRequest>(bytes, "ShutdownRequest"));
  return ShutdownTask{p.id(), p.now()};
}

std::string EncodePidResponse(uint32_t pid) {
  pb::StartResponse p;
  p.set_pid(pid);
  return Serialize(p);
}

Result<uint32_t> DecodePidResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::StartResponse>(bytes, "StartResponse"));
  return p.pid();
}

std::string EncodeDeleteResponse(const ExitInfo& e) {
  pb::DeleteResponse p;
  p.set_pid(e.pid);
  p.set_exit_status(e.exit_status);
  if (e.exited_at_ns != 0) SetTime(e.exited_at_ns, p.mutable_exited_at());
  return Serialize(p);
}

Result<ExitInfo> DecodeDeleteResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::DeleteResponse>(bytes, "DeleteResponse"));
  return ExitInfo{p.pid(), p.exit_status(), GetTime(p.exited_at())};
}

std::string EncodeWaitResponse(const ExitInfo& e) {
  pb::WaitResponse p;
  p.set_exit_status(e.exit_status);
  if (e.exited_at_ns != 0) SetTime(e.exited_at_ns, p.mutable_exited_at());
  return Serialize(p);
}

Result<ExitInfo> DecodeWaitResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::WaitResponse>(bytes, "WaitResponse"));
  return ExitInfo{0, p.exit_status(), GetTime(p.exited_at())};
}

std::string EncodeStateResponse(const ProcessState& s) {
  pb::StateResponse p;
  p.set_id(s.id);
  p.set_exec_id(s.exec_id);
  p.set_bundle(s.bundle);
  p.set_pid(s.pid);
  p.set_status(static_cast<::containerd::v1::types::Status>(s.status));
  p.set_stdin(s.stdio.stdin_path);
  p.set_stdout(s.stdio.stdout_path);
  p.set_stderr(s.stdio.stderr_path);
  p.set_terminal(s.stdio.terminal);
  p.set_exit_status(s.exit_status);
  if (s.exited_at_ns != 0) SetTime(s.exited_at_ns, p.mutable_exited_at());
  return Serialize(p);
}

Result<ProcessState> DecodeStateResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<pb::StateResponse>(bytes, "StateResponse"));
  ProcessState s;
  s.id = p.id();
  s.exec_id = p.exec_id();
  s.bundle = p.bundle();
  s.pid = p.pid();
  s.status = static_cast<TaskStatus>(p.status());
  s.stdio = StdioPaths{p.stdin(), p.stdout(), p.stderr(), p.terminal()};
  s.exit_status = p.exit_status();
  s.exited_at_ns = GetTime(p.exited_at());
  return s;
}

std::string EncodePidsResponse(const std::vector<uint32_t>& pids) {
  pb::PidsResponse p;
  for (uint32_t pid : pids) p.add_processes()->set_pid(pid);
  return Serialize(p);
}

std::string EncodeConnectResponse(const ConnectInfo& c) {
  pb::ConnectResponse p;
  p.set_shim_pid(c.shim_pid);
  p.set_task_pid(c.task_pid);
  p.set_version(c.version);
  return Serialize(p);
}

std::string EncodeEmpty() { return Serialize(google::protobuf::Empty()); }

EventPayload TaskCreateEvent(const CreateTask& r, uint32_t pid) {
  ev::TaskCreate m;
  m.set_container_id(r.id);
  m.set_bundle(r.bundle);
  for (const auto& mount : r.rootfs) MountToProto(mount, m.add_rootfs());
  m.mutable_io()->set_stdin(r.stdio.stdin_path);
  m.mutable_io()->set_stdout(r.stdio.stdout_path);
  m.mutable_io()->set_stderr(r.stdio.stderr_path);
  m.mutable_io()->set_terminal(r.stdio.terminal);
  m.set_pid(pid);
  return Event("/tasks/create", m);
}

EventPayload TaskStartEvent(const std::string& id, uint32_t pid) {
  ev::TaskStart m;
  m.set_container_id(id);
  m.set_pid(pid);
  return Event("/tasks/start", m);
}

EventPayload TaskExitEvent(const ProcessKey& k, const ExitInfo& e) {
  ev::TaskExit m;
  m.set_container_id(k.id);
  // containerd names the init process by the container id here.
  m.set_id(k.exec_id.empty() ? k.id : k.exec_id);
  m.set_pid(e.pid);
  m.set_exit_status(e.exit_status);
  if (e.exited_at_ns != 0) SetTime(e.exited_at_ns, m.mutable_exited_at());
  return Event("/tasks/exit", m);
}

EventPayload TaskDeleteEvent(const ProcessKey& k, const ExitInfo& e) {
  ev::TaskDelete m;
  m.set_container_id(k.id);
  m.set_id(k.exec_id.empty() ? k.id : k.exec_id);
  m.set_pid(e.pid);
  m.set_exit_status(e.exit_status);
  if (e.exited_at_ns != 0) SetTime(e.exited_at_ns, m.mutable_exited_at());
  return Event("/tasks/delete", m);
}

EventPayload TaskExecAddedEvent(const ProcessKey& k) {
  ev::TaskExecAdded m;
  m.set_container_id(k.id);
  m.set_exec_id(k.exec_id);
  return Event("/tasks/exec-added", m);
}

EventPayload TaskExecStartedEvent(const ProcessKey& k, uint32_t pid) {
  ev::TaskExecStarted m;
  m.set_container_id(k.id);
  m.set_exec_id(k.exec_id);
  m.set_pid(pid);
  return Event("/tasks/exec-started", m);
}

std::string EncodeForwardRequest(const std::string& ns, int64_t timestamp_ns,
                                 const EventPayload& e) {
  ::containerd::services::events::ttrpc::v1::ForwardRequest p;
  auto* env = p.mutable_envelope();
  SetTime(timestamp_ns, env->mutable_timestamp());
  env->set_namespace_(ns);
  env->set_topic(e.topic);
  env->mutable_event()->set_type_url(e.type_url);
  env->mutable_event()->set_value(e.value);
  return Serialize(p);
}

Result<ForwardedEvent> DecodeForwardRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<::containerd::services::events::ttrpc::v1::ForwardRequest>(
                               bytes, "ForwardRequest"));
  const auto& env = p.envelope();
  return ForwardedEvent{env.namespace_(), GetTime(env.timestamp()),
                        EventPayload{env.topic(), env.event().type_url(), env.event().value()}};
}

}  // namespace vmshare::shim
