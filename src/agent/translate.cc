#include "agent/translate.h"

#include <google/protobuf/stubs/logging.h>

#include "agent.pb.h"
#include "agent/wire_util.h"
#include "health.pb.h"
#include "oci.pb.h"
#include "ttrpc.pb.h"

namespace vmshare::agent {
namespace {

// Protobuf logs every malformed string field to stderr; input from the other
// side of the channel is untrusted, so it must not be able to flood our log.
// The decode error is returned as a Status instead.
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
  return ParseProto<M>(bytes, name);
}

template <typename M>
std::string Serialize(const M& m) {
  return SerializeProto(m);
}

template <typename Repeated>
std::vector<std::string> Strings(const Repeated& r) {
  return std::vector<std::string>(r.begin(), r.end());
}

void ToProto(const Storage& s, grpc::Storage* p) {
  p->set_driver(s.driver);
  for (const auto& o : s.driver_options) p->add_driver_options(o);
  p->set_source(s.source);
  p->set_fstype(s.fstype);
  for (const auto& o : s.options) p->add_options(o);
  p->set_mount_point(s.mount_point);
  if (s.fs_group) {
    p->mutable_fs_group()->set_group_id(s.fs_group->group_id);
    p->mutable_fs_group()->set_group_change_policy(
        static_cast<types::FSGroupChangePolicy>(s.fs_group->policy));
  }
  p->set_shared(s.shared);
}

Storage FromProto(const grpc::Storage& p) {
  Storage s;
  s.driver = p.driver();
  s.driver_options = Strings(p.driver_options());
  s.source = p.source();
  s.fstype = p.fstype();
  s.options = Strings(p.options());
  s.mount_point = p.mount_point();
  if (p.has_fs_group()) {
    FsGroup g;
    g.group_id = p.fs_group().group_id();
    g.policy = p.fs_group().group_change_policy() == types::OnRootMismatch
                   ? FsGroup::ChangePolicy::kOnRootMismatch
                   : FsGroup::ChangePolicy::kAlways;
    s.fs_group = g;
  }
  s.shared = p.shared();
  return s;
}

// process: terminal, capabilities, rlimits, no_new_privileges, umask.
void ProcessExtrasToProto(const ContainerSpec& s, grpc::Process* proc) {
  proc->set_terminal(s.terminal);
  if (s.capabilities) {
    auto* c = proc->mutable_capabilities();
    for (const auto& v : s.capabilities->bounding) c->add_bounding(v);
    for (const auto& v : s.capabilities->effective) c->add_effective(v);
    for (const auto& v : s.capabilities->inheritable) c->add_inheritable(v);
    for (const auto& v : s.capabilities->permitted) c->add_permitted(v);
    for (const auto& v : s.capabilities->ambient) c->add_ambient(v);
  }
  for (const auto& r : s.rlimits) {
    auto* pr = proc->add_rlimits();
    pr->set_type(r.type);
    pr->set_hard(r.hard);
    pr->set_soft(r.soft);
  }
  proc->set_nonewprivileges(s.no_new_privileges);
  if (s.umask) proc->mutable_user()->set_umask(*s.umask);
}

void ProcessExtrasFromProto(const grpc::Process& proc, ContainerSpec* s) {
  s->terminal = proc.terminal();
  if (proc.has_capabilities()) {
    const auto& c = proc.capabilities();
    s->capabilities =
        SpecCapabilities{Strings(c.bounding()), Strings(c.effective()), Strings(c.inheritable()),
                         Strings(c.permitted()), Strings(c.ambient())};
  }
  for (const auto& r : proc.rlimits()) s->rlimits.push_back({r.type(), r.hard(), r.soft()});
  s->no_new_privileges = proc.nonewprivileges();
  if (proc.user().has_umask()) s->umask = proc.user().umask();
}

void LinuxToProto(const ContainerSpec& s, grpc::Linux* l) {
  for (const auto& [k, v] : s.sysctl) (*l->mutable_sysctl())[k] = v;
  for (const auto& n : s.namespaces) {
    auto* pn = l->add_namespaces();
    pn->set_type(n.type);
    pn->set_path(n.path);
  }
  for (const auto& d : s.devices) {
    auto* pd = l->add_devices();
    pd->set_path(d.path);
    pd->set_type(d.type);
    pd->set_major(d.major);
    pd->set_minor(d.minor);
    pd->set_filemode(d.file_mode);
    pd->set_uid(d.uid);
    pd->set_gid(d.gid);
  }
  for (const auto& m : s.masked_paths) l->add_maskedpaths(m);
  for (const auto& m : s.readonly_paths) l->add_readonlypaths(m);
}

void LinuxFromProto(const grpc::Linux& l, ContainerSpec* s) {
  for (const auto& [k, v] : l.sysctl()) s->sysctl[k] = v;
  for (const auto& n : l.namespaces()) s->namespaces.push_back({n.type(), n.path()});
  for (const auto& d : l.devices()) {
    s->devices.push_back(
        {d.path(), d.type(), d.major(), d.minor(), d.filemode(), d.uid(), d.gid()});
  }
  s->masked_paths = Strings(l.maskedpaths());
  s->readonly_paths = Strings(l.readonlypaths());
}

void ToProto(const ContainerSpec& s, grpc::Spec* p) {
  auto* proc = p->mutable_process();
  proc->set_terminal(s.terminal);
  for (const auto& a : s.args) proc->add_args(a);
  for (const auto& e : s.env) proc->add_env(e);
  proc->set_cwd(s.cwd);
  proc->mutable_user()->set_uid(s.uid);
  proc->mutable_user()->set_gid(s.gid);
  for (uint32_t g : s.additional_gids) proc->mutable_user()->add_additionalgids(g);
  p->mutable_root()->set_path(s.root_path);
  p->mutable_root()->set_readonly(s.root_readonly);
  for (const auto& m : s.mounts) {
    auto* pm = p->add_mounts();
    pm->set_source(m.source);
    pm->set_destination(m.destination);
    pm->set_type(m.type);
    for (const auto& o : m.options) pm->add_options(o);
  }
  ProcessExtrasToProto(s, proc);
  p->set_hostname(s.hostname);
  if (!s.sysctl.empty() || !s.namespaces.empty() || !s.devices.empty() || !s.masked_paths.empty() ||
      !s.readonly_paths.empty()) {
    LinuxToProto(s, p->mutable_linux());
  }
}

ContainerSpec FromProto(const grpc::Spec& p) {
  ContainerSpec s;
  const auto& proc = p.process();
  s.terminal = proc.terminal();
  s.args = Strings(proc.args());
  s.env = Strings(proc.env());
  s.cwd = proc.cwd().empty() ? "/" : proc.cwd();
  s.uid = proc.user().uid();
  s.gid = proc.user().gid();
  s.additional_gids.assign(proc.user().additionalgids().begin(),
                           proc.user().additionalgids().end());
  s.root_path = p.root().path();
  s.root_readonly = p.root().readonly();
  for (const auto& pm : p.mounts()) {
    s.mounts.push_back({pm.source(), pm.destination(), pm.type(), Strings(pm.options())});
  }
  ProcessExtrasFromProto(proc, &s);
  s.hostname = p.hostname();
  LinuxFromProto(p.linux(), &s);
  return s;
}

}  // namespace

std::string EncodeRpcRequest(RpcRequest r) {
  ttrpc::Request p;
  p.set_service(std::move(r.service));
  p.set_method(std::move(r.method));
  p.set_payload(std::move(r.payload));
  p.set_timeout_nano(r.timeout_nano);
  for (auto& [k, v] : r.metadata) {
    auto* kv = p.add_metadata();
    kv->set_key(std::move(k));
    kv->set_value(std::move(v));
  }
  return Serialize(p);
}

Result<RpcRequest> DecodeRpcRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<ttrpc::Request>(bytes, "ttrpc Request"));
  // Moved out of the parsed message: the payload may be a 1 MiB chunk.
  RpcRequest r{std::move(*p.mutable_service()),
               std::move(*p.mutable_method()),
               std::move(*p.mutable_payload()),
               p.timeout_nano(),
               {}};
  for (const auto& kv : p.metadata()) r.metadata.emplace_back(kv.key(), kv.value());
  return r;
}

std::string EncodeRpcResponse(const RpcResponse& r) {
  ttrpc::Response p;
  // Always present, even for OK: the agent sends `0A 00` and some clients
  // expect it.
  p.mutable_status()->set_code(r.code);
  p.mutable_status()->set_message(r.message);
  p.set_payload(r.payload);
  return Serialize(p);
}

Result<RpcResponse> DecodeRpcResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<ttrpc::Response>(bytes, "ttrpc Response"));
  return RpcResponse{p.status().code(), p.status().message(), p.payload()};
}

std::string EncodeStorage(const Storage& s) {
  grpc::Storage p;
  ToProto(s, &p);
  return Serialize(p);
}

Result<Storage> DecodeStorage(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::Storage>(bytes, "Storage"));
  return FromProto(p);
}

std::string EncodeCreateSandboxRequest(const CreateSandboxRequest& r) {
  grpc::CreateSandboxRequest p;
  p.set_hostname(r.hostname);
  for (const auto& s : r.storages) ToProto(s, p.add_storages());
  p.set_sandbox_id(r.sandbox_id);
  return Serialize(p);
}

Result<CreateSandboxRequest> DecodeCreateSandboxRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::CreateSandboxRequest>(bytes, "CreateSandboxRequest"));
  CreateSandboxRequest r;
  r.hostname = p.hostname();
  for (const auto& s : p.storages()) r.storages.push_back(FromProto(s));
  r.sandbox_id = p.sandbox_id();
  return r;
}

std::string EncodeCreateContainerRequest(const CreateContainerRequest& r) {
  grpc::CreateContainerRequest p;
  p.set_container_id(r.container_id);
  p.set_exec_id(r.exec_id);
  for (const auto& s : r.storages) ToProto(s, p.add_storages());
  ToProto(r.spec, p.mutable_oci());
  return Serialize(p);
}

Result<CreateContainerRequest> DecodeCreateContainerRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::CreateContainerRequest>(bytes, "CreateContainerRequest"));
  CreateContainerRequest r;
  r.container_id = p.container_id();
  r.exec_id = p.exec_id();
  for (const auto& s : p.storages()) r.storages.push_back(FromProto(s));
  r.spec = FromProto(p.oci());
  return r;
}

std::string EncodeStartContainerRequest(const std::string& container_id) {
  grpc::StartContainerRequest p;
  p.set_container_id(container_id);
  return Serialize(p);
}

Result<std::string> DecodeStartContainerRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::StartContainerRequest>(bytes, "StartContainerRequest"));
  return p.container_id();
}

std::string EncodeRemoveContainerRequest(const RemoveContainerRequest& r) {
  grpc::RemoveContainerRequest p;
  p.set_container_id(r.container_id);
  p.set_timeout(r.timeout_seconds);
  return Serialize(p);
}

Result<RemoveContainerRequest> DecodeRemoveContainerRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::RemoveContainerRequest>(bytes, "RemoveContainerRequest"));
  return RemoveContainerRequest{p.container_id(), p.timeout()};
}

std::string EncodeWaitProcessRequest(const ProcessRef& r) {
  grpc::WaitProcessRequest p;
  p.set_container_id(r.container_id);
  p.set_exec_id(r.exec_id);
  return Serialize(p);
}

Result<ProcessRef> DecodeWaitProcessRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::WaitProcessRequest>(bytes, "WaitProcessRequest"));
  return ProcessRef{p.container_id(), p.exec_id()};
}

std::string EncodeWaitProcessResponse(int32_t status) {
  grpc::WaitProcessResponse p;
  p.set_status(status);
  return Serialize(p);
}

Result<int32_t> DecodeWaitProcessResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::WaitProcessResponse>(bytes, "WaitProcessResponse"));
  return p.status();
}

std::string EncodeReadStreamRequest(const ReadStreamRequest& r) {
  grpc::ReadStreamRequest p;
  p.set_container_id(r.process.container_id);
  p.set_exec_id(r.process.exec_id);
  p.set_len(r.len);
  return Serialize(p);
}

Result<ReadStreamRequest> DecodeReadStreamRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::ReadStreamRequest>(bytes, "ReadStreamRequest"));
  return ReadStreamRequest{{p.container_id(), p.exec_id()}, p.len()};
}

std::string EncodeReadStreamResponse(std::string_view data) {
  grpc::ReadStreamResponse p;
  p.set_data(std::string(data));
  return Serialize(p);
}

Result<std::string> DecodeReadStreamResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::ReadStreamResponse>(bytes, "ReadStreamResponse"));
  return p.data();
}

std::string EncodeCopyFileRequest(CopyFileRequest r) {
  grpc::CopyFileRequest p;
  p.set_path(std::move(r.path));
  p.set_file_size(r.file_size);
  p.set_file_mode(r.file_mode);
  p.set_dir_mode(r.dir_mode);
  p.set_uid(r.uid);
  p.set_gid(r.gid);
  p.set_offset(r.offset);
  p.set_data(std::move(r.data));
  return Serialize(p);
}

Result<CopyFileRequest> DecodeCopyFileRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::CopyFileRequest>(bytes, "CopyFileRequest"));
  return CopyFileRequest{std::move(*p.mutable_path()),
                         p.file_size(),
                         p.file_mode(),
                         p.dir_mode(),
                         p.uid(),
                         p.gid(),
                         p.offset(),
                         std::move(*p.mutable_data())};
}

Status DecodeEmpty(std::string_view bytes, std::string_view message_name) {
  return Parse<grpc::DestroySandboxRequest>(bytes, message_name).status();
}

std::string EncodeCheckRequest(const std::string& service) {
  grpc::CheckRequest p;
  p.set_service(service);
  return Serialize(p);
}

Result<std::string> DecodeCheckRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::CheckRequest>(bytes, "CheckRequest"));
  return p.service();
}

std::string EncodeHealthCheckResponse(ServingStatus status) {
  grpc::HealthCheckResponse p;
  p.set_status(static_cast<grpc::HealthCheckResponse::ServingStatus>(status));
  return Serialize(p);
}

Result<ServingStatus> DecodeHealthCheckResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::HealthCheckResponse>(bytes, "HealthCheckResponse"));
  switch (p.status()) {
    case grpc::HealthCheckResponse::SERVING:
      return ServingStatus::kServing;
    case grpc::HealthCheckResponse::NOT_SERVING:
      return ServingStatus::kNotServing;
    default:
      return ServingStatus::kUnknown;
  }
}

}  // namespace vmshare::agent
