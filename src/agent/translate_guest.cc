// Wire encoding of the guest-wide calls: network (UpdateInterface,
// UpdateRoutes, ListInterfaces, ListRoutes, AddARPNeighbors),
// GetGuestDetails, SetGuestDateTime, GetOOMEvent and Health.Version, with
// Kata's field numbers. See translate.h.
#include <google/protobuf/stubs/logging.h>

#include "agent.pb.h"
#include "agent/translate.h"
#include "agent/wire_util.h"
#include "health.pb.h"
#include "types.pb.h"

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

void ToProto(const IpAddress& a, types::IPAddress* p) {
  p->set_family(a.ipv6 ? types::v6 : types::v4);
  p->set_address(a.address);
  p->set_mask(a.mask);
}

IpAddress FromProto(const types::IPAddress& p) {
  return IpAddress{p.family() == types::v6, p.address(), p.mask()};
}

void ToProto(const NetInterface& i, types::Interface* p) {
  p->set_device(i.device);
  p->set_name(i.name);
  for (const auto& a : i.addresses) ToProto(a, p->add_ipaddresses());
  p->set_mtu(i.mtu);
  p->set_hwaddr(i.hw_addr);
  p->set_pcipath(i.pci_path);
  p->set_type(i.type);
  p->set_raw_flags(i.raw_flags);
}

NetInterface FromProto(const types::Interface& p) {
  NetInterface i;
  i.device = p.device();
  i.name = p.name();
  for (const auto& a : p.ipaddresses()) i.addresses.push_back(FromProto(a));
  i.mtu = p.mtu();
  i.hw_addr = p.hwaddr();
  i.pci_path = p.pcipath();
  i.type = p.type();
  i.raw_flags = p.raw_flags();
  return i;
}

void ToProto(const NetRoute& r, types::Route* p) {
  p->set_dest(r.dest);
  p->set_gateway(r.gateway);
  p->set_device(r.device);
  p->set_source(r.source);
  p->set_scope(r.scope);
  p->set_family(r.ipv6 ? types::v6 : types::v4);
}

NetRoute FromProto(const types::Route& p) {
  return NetRoute{p.dest(),   p.gateway(), p.device(),
                  p.source(), p.scope(),   p.family() == types::v6};
}

void ToProto(const std::vector<NetRoute>& routes, grpc::Routes* p) {
  for (const auto& r : routes) ToProto(r, p->add_routes());
}

std::vector<NetRoute> FromProto(const grpc::Routes& p) {
  std::vector<NetRoute> out;
  for (const auto& r : p.routes()) out.push_back(FromProto(r));
  return out;
}

}  // namespace

std::string EncodeUpdateInterfaceRequest(const NetInterface& r) {
  grpc::UpdateInterfaceRequest p;
  ToProto(r, p.mutable_interface());
  return SerializeProto(p);
}

Result<NetInterface> DecodeUpdateInterfaceRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::UpdateInterfaceRequest>(bytes, "UpdateInterfaceRequest"));
  return FromProto(p.interface());
}

std::string EncodeInterface(const NetInterface& r) {
  types::Interface p;
  ToProto(r, &p);
  return SerializeProto(p);
}

Result<NetInterface> DecodeInterface(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<types::Interface>(bytes, "Interface"));
  return FromProto(p);
}

std::string EncodeInterfaces(const std::vector<NetInterface>& r) {
  grpc::Interfaces p;
  for (const auto& i : r) ToProto(i, p.add_interfaces());
  return SerializeProto(p);
}

Result<std::vector<NetInterface>> DecodeInterfaces(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::Interfaces>(bytes, "Interfaces"));
  std::vector<NetInterface> out;
  for (const auto& i : p.interfaces()) out.push_back(FromProto(i));
  return out;
}

std::string EncodeUpdateRoutesRequest(const std::vector<NetRoute>& r) {
  grpc::UpdateRoutesRequest p;
  ToProto(r, p.mutable_routes());
  return SerializeProto(p);
}

Result<std::vector<NetRoute>> DecodeUpdateRoutesRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::UpdateRoutesRequest>(bytes, "UpdateRoutesRequest"));
  return FromProto(p.routes());
}

std::string EncodeRoutes(const std::vector<NetRoute>& r) {
  grpc::Routes p;
  ToProto(r, &p);
  return SerializeProto(p);
}

Result<std::vector<NetRoute>> DecodeRoutes(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::Routes>(bytes, "Routes"));
  return FromProto(p);
}

std::string EncodeAddArpNeighborsRequest(const std::vector<ArpNeighbor>& r) {
  grpc::AddARPNeighborsRequest p;
  for (const auto& n : r) {
    auto* pn = p.mutable_neighbors()->add_arpneighbors();
    if (n.to_ip) ToProto(*n.to_ip, pn->mutable_toipaddress());
    pn->set_device(n.device);
    pn->set_lladdr(n.lladdr);
    pn->set_state(n.state);
    pn->set_flags(n.flags);
  }
  return SerializeProto(p);
}

Result<std::vector<ArpNeighbor>> DecodeAddArpNeighborsRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::AddARPNeighborsRequest>(bytes, "AddARPNeighborsRequest"));
  std::vector<ArpNeighbor> out;
  for (const auto& pn : p.neighbors().arpneighbors()) {
    ArpNeighbor n;
    if (pn.has_toipaddress()) n.to_ip = FromProto(pn.toipaddress());
    n.device = pn.device();
    n.lladdr = pn.lladdr();
    n.state = pn.state();
    n.flags = pn.flags();
    out.push_back(std::move(n));
  }
  return out;
}

std::string EncodeGuestDetailsRequest(const GuestDetailsRequest& r) {
  grpc::GuestDetailsRequest p;
  p.set_mem_block_size(r.mem_block_size);
  p.set_mem_hotplug_probe(r.mem_hotplug_probe);
  return SerializeProto(p);
}

Result<GuestDetailsRequest> DecodeGuestDetailsRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::GuestDetailsRequest>(bytes, "GuestDetailsRequest"));
  return GuestDetailsRequest{p.mem_block_size(), p.mem_hotplug_probe()};
}

std::string EncodeGuestDetailsResponse(const GuestDetails& r) {
  grpc::GuestDetailsResponse p;
  p.set_mem_block_size_bytes(r.mem_block_size_bytes);
  p.set_support_mem_hotplug_probe(r.support_mem_hotplug_probe);
  auto* d = p.mutable_agent_details();
  d->set_version(r.agent_version);
  d->set_init_daemon(r.init_daemon);
  for (const auto& h : r.device_handlers) d->add_device_handlers(h);
  for (const auto& h : r.storage_handlers) d->add_storage_handlers(h);
  d->set_supports_seccomp(r.supports_seccomp);
  for (const auto& f : r.extra_features) d->add_extra_features(f);
  return SerializeProto(p);
}

Result<GuestDetails> DecodeGuestDetailsResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::GuestDetailsResponse>(bytes, "GuestDetailsResponse"));
  GuestDetails r;
  r.mem_block_size_bytes = p.mem_block_size_bytes();
  r.support_mem_hotplug_probe = p.support_mem_hotplug_probe();
  const auto& d = p.agent_details();
  r.agent_version = d.version();
  r.init_daemon = d.init_daemon();
  r.device_handlers.assign(d.device_handlers().begin(), d.device_handlers().end());
  r.storage_handlers.assign(d.storage_handlers().begin(), d.storage_handlers().end());
  r.supports_seccomp = d.supports_seccomp();
  r.extra_features.assign(d.extra_features().begin(), d.extra_features().end());
  return r;
}

std::string EncodeSetGuestDateTimeRequest(const SetGuestDateTimeRequest& r) {
  grpc::SetGuestDateTimeRequest p;
  p.set_sec(r.sec);
  p.set_usec(r.usec);
  return SerializeProto(p);
}

Result<SetGuestDateTimeRequest> DecodeSetGuestDateTimeRequest(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::SetGuestDateTimeRequest>(bytes, "SetGuestDateTimeRequest"));
  return SetGuestDateTimeRequest{p.sec(), p.usec()};
}

std::string EncodeOomEvent(const std::string& container_id) {
  grpc::OOMEvent p;
  p.set_container_id(container_id);
  return SerializeProto(p);
}

Result<std::string> DecodeOomEvent(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::OOMEvent>(bytes, "OOMEvent"));
  return p.container_id();
}

std::string EncodeVersionCheckResponse(const VersionInfo& v) {
  grpc::VersionCheckResponse p;
  p.set_grpc_version(v.grpc_version);
  p.set_agent_version(v.agent_version);
  return SerializeProto(p);
}

Result<VersionInfo> DecodeVersionCheckResponse(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto p, Parse<grpc::VersionCheckResponse>(bytes, "VersionCheckResponse"));
  return VersionInfo{p.grpc_version(), p.agent_version()};
}

}  // namespace vmshare::agent
