// Wire encoding of the process and container-resource calls (ExecProcess,
// SignalProcess, stdin, tty, UpdateContainer, StatsContainer, Pause/Resume,
// ListProcesses), Kata's field numbers. See translate.h.
#include <google/protobuf/stubs/logging.h>

#include <algorithm>

#include "agent.pb.h"
#include "agent/translate.h"
#include "agent/wire_util.h"
#include "oci.pb.h"

namespace vmshare::agent {
namespace {

template <typename M>
Result<M> Parse(std::string_view bytes, std::string_view name) {
  static const bool silenced = [] {
    google::protobuf::SetLogHandler(nullptr);  // untrusted input must not flood our log
    return true;
  }();
  (void)silenced;
  return ParseProto<M>(bytes, name);
}

template <typename Repeated>
std::vector<std::string> Strings(const Repeated& r) {
  return std::vector<std::string>(r.begin(), r.end());
}

// proto3 scalars have no presence: 0 means "not set", as Kata reads them.
template <typename T>
std::optional<T> NonZero(T v) {
  return v == 0 ? std::nullopt : std::optional<T>(v);
}

template <typename M>
std::string ContainerIdRequest(const std::string& id) {
  M p;
  p.set_container_id(id);
  return SerializeProto(p);
}

template <typename M>
Result<std::string> ContainerIdFrom(std::string_view bytes, std::string_view name) {
  ASSIGN_OR_RETURN(auto p, Parse<M>(bytes, name));
  return p.container_id();
}

}  // namespace

std::string EncodeExecProcessRequest(const ExecProcessRequest& r) {
  grpc::ExecProcessRequest p;
  p.set_container_id(r.process.container_id);
  p.set_exec_id(r.process.exec_id);
  auto* proc = p.mutable_process();
  proc->set_terminal(r.spec.terminal);
  if (r.spec.console_height != 0 || r.spec.console_width != 0) {
    proc->mutable_consolesize()->set_height(r.spec.console_height);
    proc->mutable_consolesize()->set_width(r.spec.console_width);
  }
  for (const auto& a : r.spec.args) proc->add_args(a);
  for (const auto& e : r.spec.env) proc->add_env(e);
  proc->set_cwd(r.spec.cwd);
  proc->mutable_user()->set_uid(r.spec.uid);
  proc->mutable_user()->set_gid(r.spec.gid);
  for (uint32_t g : r.spec.additional_gids) proc->mutable_user()->add_additionalgids(g);
  return SerializeProto(p);
}

Result<ExecProcessRequest> DecodeExecProcessRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::ExecProcessRequest>(bytes, "ExecProcessRequest"));
  ExecProcessRequest r;
  r.process = {p.container_id(), p.exec_id()};
  const auto& proc = p.process();
  r.spec.terminal = proc.terminal();
  r.spec.console_height = proc.consolesize().height();
  r.spec.console_width = proc.consolesize().width();
  r.spec.args = Strings(proc.args());
  r.spec.env = Strings(proc.env());
  r.spec.cwd = proc.cwd().empty() ? "/" : proc.cwd();
  r.spec.uid = proc.user().uid();
  r.spec.gid = proc.user().gid();
  r.spec.additional_gids.assign(proc.user().additionalgids().begin(),
                                proc.user().additionalgids().end());
  return r;
}

std::string EncodeSignalProcessRequest(const SignalProcessRequest& r) {
  grpc::SignalProcessRequest p;
  p.set_container_id(r.process.container_id);
  p.set_exec_id(r.process.exec_id);
  p.set_signal(r.signal);
  return SerializeProto(p);
}

Result<SignalProcessRequest> DecodeSignalProcessRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::SignalProcessRequest>(bytes, "SignalProcessRequest"));
  return SignalProcessRequest{{p.container_id(), p.exec_id()}, p.signal()};
}

std::string EncodeWriteStreamRequest(const WriteStreamRequest& r) {
  grpc::WriteStreamRequest p;
  p.set_container_id(r.process.container_id);
  p.set_exec_id(r.process.exec_id);
  p.set_data(r.data);
  return SerializeProto(p);
}

Result<WriteStreamRequest> DecodeWriteStreamRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::WriteStreamRequest>(bytes, "WriteStreamRequest"));
  return WriteStreamRequest{{p.container_id(), p.exec_id()}, p.data()};
}

std::string EncodeWriteStreamResponse(uint32_t len) {
  grpc::WriteStreamResponse p;
  p.set_len(len);
  return SerializeProto(p);
}

Result<uint32_t> DecodeWriteStreamResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::WriteStreamResponse>(bytes, "WriteStreamResponse"));
  return p.len();
}

std::string EncodeCloseStdinRequest(const ProcessRef& r) {
  grpc::CloseStdinRequest p;
  p.set_container_id(r.container_id);
  p.set_exec_id(r.exec_id);
  return SerializeProto(p);
}

Result<ProcessRef> DecodeCloseStdinRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::CloseStdinRequest>(bytes, "CloseStdinRequest"));
  return ProcessRef{p.container_id(), p.exec_id()};
}

std::string EncodeTtyWinResizeRequest(const TtyWinResizeRequest& r) {
  grpc::TtyWinResizeRequest p;
  p.set_container_id(r.process.container_id);
  p.set_exec_id(r.process.exec_id);
  p.set_row(r.row);
  p.set_column(r.column);
  return SerializeProto(p);
}

Result<TtyWinResizeRequest> DecodeTtyWinResizeRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::TtyWinResizeRequest>(bytes, "TtyWinResizeRequest"));
  return TtyWinResizeRequest{{p.container_id(), p.exec_id()}, p.row(), p.column()};
}

std::string EncodeUpdateContainerRequest(const UpdateContainerRequest& r) {
  grpc::UpdateContainerRequest p;
  p.set_container_id(r.container_id);
  const LinuxResources& res = r.resources;
  auto* out = p.mutable_resources();
  if (res.memory_limit || res.memory_reservation || res.memory_swap) {
    auto* m = out->mutable_memory();
    m->set_limit(res.memory_limit.value_or(0));
    m->set_reservation(res.memory_reservation.value_or(0));
    m->set_swap(res.memory_swap.value_or(0));
  }
  if (res.cpu_shares || res.cpu_quota || res.cpu_period || !res.cpu_cpus.empty() ||
      !res.cpu_mems.empty()) {
    auto* c = out->mutable_cpu();
    c->set_shares(res.cpu_shares.value_or(0));
    c->set_quota(res.cpu_quota.value_or(0));
    c->set_period(res.cpu_period.value_or(0));
    c->set_cpus(res.cpu_cpus);
    c->set_mems(res.cpu_mems);
  }
  if (res.pids_limit) out->mutable_pids()->set_limit(*res.pids_limit);
  return SerializeProto(p);
}

Result<UpdateContainerRequest> DecodeUpdateContainerRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::UpdateContainerRequest>(bytes, "UpdateContainerRequest"));
  UpdateContainerRequest r;
  r.container_id = p.container_id();
  const auto& res = p.resources();
  r.resources.memory_limit = NonZero(res.memory().limit());
  r.resources.memory_reservation = NonZero(res.memory().reservation());
  r.resources.memory_swap = NonZero(res.memory().swap());
  r.resources.cpu_shares = NonZero(res.cpu().shares());
  r.resources.cpu_quota = NonZero(res.cpu().quota());
  r.resources.cpu_period = NonZero(res.cpu().period());
  r.resources.cpu_cpus = res.cpu().cpus();
  r.resources.cpu_mems = res.cpu().mems();
  if (res.has_pids()) r.resources.pids_limit = res.pids().limit();
  return r;
}

std::string EncodeStatsContainerRequest(const std::string& id) {
  return ContainerIdRequest<grpc::StatsContainerRequest>(id);
}
Result<std::string> DecodeStatsContainerRequest(std::string_view bytes) {
  return ContainerIdFrom<grpc::StatsContainerRequest>(bytes, "StatsContainerRequest");
}
std::string EncodePauseContainerRequest(const std::string& id) {
  return ContainerIdRequest<grpc::PauseContainerRequest>(id);
}
Result<std::string> DecodePauseContainerRequest(std::string_view bytes) {
  return ContainerIdFrom<grpc::PauseContainerRequest>(bytes, "PauseContainerRequest");
}
std::string EncodeResumeContainerRequest(const std::string& id) {
  return ContainerIdRequest<grpc::ResumeContainerRequest>(id);
}
Result<std::string> DecodeResumeContainerRequest(std::string_view bytes) {
  return ContainerIdFrom<grpc::ResumeContainerRequest>(bytes, "ResumeContainerRequest");
}

std::string EncodeStatsContainerResponse(const ContainerStats& s) {
  grpc::StatsContainerResponse p;
  auto* cg = p.mutable_cgroup_stats();
  auto* cpu = cg->mutable_cpu_stats();
  cpu->mutable_cpu_usage()->set_total_usage(s.cpu_total_ns);
  cpu->mutable_cpu_usage()->set_usage_in_kernelmode(s.cpu_kernel_ns);
  cpu->mutable_cpu_usage()->set_usage_in_usermode(s.cpu_user_ns);
  cpu->mutable_throttling_data()->set_periods(s.cpu_periods);
  cpu->mutable_throttling_data()->set_throttled_periods(s.cpu_throttled_periods);
  cpu->mutable_throttling_data()->set_throttled_time(s.cpu_throttled_ns);
  auto* mem = cg->mutable_memory_stats();
  mem->set_cache(s.memory_cache);
  mem->mutable_usage()->set_usage(s.memory_usage);
  mem->mutable_usage()->set_max_usage(s.memory_max_usage);
  mem->mutable_usage()->set_failcnt(s.memory_failcnt);
  mem->mutable_usage()->set_limit(s.memory_limit);
  mem->mutable_swap_usage()->set_usage(s.swap_usage);
  mem->mutable_swap_usage()->set_limit(s.swap_limit);
  mem->set_use_hierarchy(true);  // cgroup v2 is always hierarchical
  for (const auto& [k, v] : s.memory_stats) (*mem->mutable_stats())[k] = v;
  cg->mutable_pids_stats()->set_current(s.pids_current);
  cg->mutable_pids_stats()->set_limit(s.pids_limit);
  return SerializeProto(p);
}

Result<ContainerStats> DecodeStatsContainerResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::StatsContainerResponse>(bytes, "StatsContainerResponse"));
  const auto& cg = p.cgroup_stats();
  ContainerStats s;
  s.cpu_total_ns = cg.cpu_stats().cpu_usage().total_usage();
  s.cpu_kernel_ns = cg.cpu_stats().cpu_usage().usage_in_kernelmode();
  s.cpu_user_ns = cg.cpu_stats().cpu_usage().usage_in_usermode();
  s.cpu_periods = cg.cpu_stats().throttling_data().periods();
  s.cpu_throttled_periods = cg.cpu_stats().throttling_data().throttled_periods();
  s.cpu_throttled_ns = cg.cpu_stats().throttling_data().throttled_time();
  const auto& mem = cg.memory_stats();
  s.memory_cache = mem.cache();
  s.memory_usage = mem.usage().usage();
  s.memory_max_usage = mem.usage().max_usage();
  s.memory_failcnt = mem.usage().failcnt();
  s.memory_limit = mem.usage().limit();
  s.swap_usage = mem.swap_usage().usage();
  s.swap_limit = mem.swap_usage().limit();
  for (const auto& [k, v] : mem.stats()) s.memory_stats.emplace_back(k, v);
  std::sort(s.memory_stats.begin(), s.memory_stats.end());
  s.pids_current = cg.pids_stats().current();
  s.pids_limit = cg.pids_stats().limit();
  return s;
}

std::string EncodeListProcessesRequest(const ListProcessesRequest& r) {
  grpc::ListProcessesRequest p;
  p.set_container_id(r.container_id);
  p.set_format(r.format);
  for (const auto& a : r.args) p.add_args(a);
  return SerializeProto(p);
}

Result<ListProcessesRequest> DecodeListProcessesRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::ListProcessesRequest>(bytes, "ListProcessesRequest"));
  return ListProcessesRequest{p.container_id(), p.format(), Strings(p.args())};
}

std::string EncodeListProcessesResponse(std::string_view list) {
  grpc::ListProcessesResponse p;
  p.set_process_list(std::string(list));
  return SerializeProto(p);
}

Result<std::string> DecodeListProcessesResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::ListProcessesResponse>(bytes, "ListProcessesResponse"));
  return p.process_list();
}

}  // namespace vmshare::agent
