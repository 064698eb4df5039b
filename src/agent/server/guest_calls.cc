#include "agent/server/guest_calls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/ids.h"

namespace vmshare::agent {
namespace {

#ifndef VMSHARE_VERSION
#define VMSHARE_VERSION "0.0.0-dev"
#endif

Result<std::string> ReadText(sys::Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(sys::Cwd(), path, O_RDONLY));
  return env->ReadAll(fd, 4 << 20);
}

bool Exists(sys::Env* env, const std::string& path) {
  return env->StatAt(sys::Cwd(), path, 0).ok();
}

// A /proc/net/route address: 8 hex digits, host byte order.
std::string Ipv4FromHex(const std::string& hex) {
  uint32_t v = static_cast<uint32_t>(std::strtoul(hex.c_str(), nullptr, 16));
  char buf[INET_ADDRSTRLEN] = {};
  in_addr a{};
  a.s_addr = v;
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string Ipv6FromHex(const std::string& hex) {
  in6_addr a{};
  for (int i = 0; i < 16 && 2 * i + 1 < static_cast<int>(hex.size()); ++i) {
    a.s6_addr[i] = static_cast<uint8_t>(std::strtoul(hex.substr(2 * i, 2).c_str(), nullptr, 16));
  }
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &a, buf, sizeof buf);
  return buf;
}

int MaskBits(uint32_t mask) { return __builtin_popcount(mask); }

// The device a request names, by name or else by hardware address.
Result<sys::NetDevice> FindDevice(sys::Env* env, const std::string& name, const std::string& hw,
                                  const std::string& what) {
  ASSIGN_OR_RETURN(auto devices, env->ListNetDevices());
  for (const auto& d : devices) {
    if (d.name == "lo") continue;
    if ((!name.empty() && d.name == name) || (!hw.empty() && d.hw_addr == hw)) return d;
  }
  return NotFoundError(what + ": no network interface " + Quote(name.empty() ? hw : name) +
                       " in the guest");
}

}  // namespace

const char kAgentVersion[] = VMSHARE_VERSION;

GuestDetails GetGuestDetails(sys::Env* env, const GuestDetailsRequest& r, bool init_daemon) {
  GuestDetails d;
  if (r.mem_block_size) {
    auto text = ReadText(env, "/sys/devices/system/memory/block_size_bytes");
    if (text.ok()) d.mem_block_size_bytes = std::strtoull(text->c_str(), nullptr, 16);
  }
  if (r.mem_hotplug_probe) {
    d.support_mem_hotplug_probe = Exists(env, "/sys/devices/system/memory/probe");
  }
  d.agent_version = kAgentVersion;
  d.init_daemon = init_daemon;
  d.storage_handlers = {"virtio-fs", "ephemeral", "local", "bind", "blk", "mmioblk", "scsi"};
  d.supports_seccomp = false;
  return d;
}

Status SetGuestDateTime(sys::Env* env, const SetGuestDateTimeRequest& r) {
  if (r.sec < 0 || r.usec < 0 || r.usec >= 1'000'000) {
    return InvalidArgumentError("set guest date and time: " + std::to_string(r.sec) + " s " +
                                std::to_string(r.usec) + " us is not a valid time");
  }
  return env->SetRealtimeClock(r.sec, r.usec);
}

Result<std::vector<NetInterface>> ListInterfaces(sys::Env* env) {
  ASSIGN_OR_RETURN(auto devices, env->ListNetDevices());
  std::vector<NetInterface> out;
  for (const auto& d : devices) {
    if (d.name == "lo" || (d.flags & IFF_LOOPBACK)) continue;
    NetInterface i;
    i.device = d.name;
    i.name = d.name;
    for (const auto& a : d.addresses) {
      i.addresses.push_back({a.ipv6, a.address, std::to_string(a.prefix_len)});
    }
    i.mtu = d.mtu;
    i.hw_addr = d.hw_addr;
    i.raw_flags = d.flags;
    out.push_back(std::move(i));
  }
  return out;
}

Result<std::vector<NetRoute>> ListRoutes(sys::Env* env, const std::string& proc_net) {
  std::vector<NetRoute> out;
  // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
  if (auto v4 = ReadText(env, proc_net + "/route"); v4.ok()) {
    std::istringstream in(*v4);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string dev, dst, gw, flags, refcnt, use, metric, mask;
      if (!(f >> dev >> dst >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
      if (dev == "lo") continue;
      NetRoute r;
      r.device = dev;
      const uint32_t m = static_cast<uint32_t>(std::strtoul(mask.c_str(), nullptr, 16));
      if (dst != "00000000" || m != 0)
        r.dest = Ipv4FromHex(dst) + "/" + std::to_string(MaskBits(m));
      if (gw != "00000000") r.gateway = Ipv4FromHex(gw);
      out.push_back(std::move(r));
    }
  }
  // dest dest_len src src_len gateway metric refcnt use flags iface
  if (auto v6 = ReadText(env, proc_net + "/ipv6_route"); v6.ok()) {
    std::istringstream in(*v6);
    std::string dst, dst_len, src, src_len, gw, metric, refcnt, use, flags, dev;
    while (in >> dst >> dst_len >> src >> src_len >> gw >> metric >> refcnt >> use >> flags >>
           dev) {
      if (dev == "lo") continue;
      NetRoute r;
      r.ipv6 = true;
      r.device = dev;
      const int len = static_cast<int>(std::strtoul(dst_len.c_str(), nullptr, 16));
      if (len != 0) r.dest = Ipv6FromHex(dst) + "/" + std::to_string(len);
      if (gw != std::string(32, '0')) r.gateway = Ipv6FromHex(gw);
      out.push_back(std::move(r));
    }
  }
  return out;
}

Result<NetInterface> UpdateInterface(sys::Env* env, const NetInterface& r) {
  const std::string what = "update interface " + Quote(r.name.empty() ? r.hw_addr : r.name);
  if (r.name.empty() && r.hw_addr.empty()) {
    return InvalidArgumentError(what + ": the request names no interface");
  }
  ASSIGN_OR_RETURN(auto dev, FindDevice(env, r.name, r.hw_addr, what));
  return FailedPreconditionError(what + ": vmshare-agent does not configure network devices (" +
                                 Quote(dev.name) + " is left as it is)");
}

Result<std::vector<NetRoute>> UpdateRoutes(sys::Env* env, const std::vector<NetRoute>& routes) {
  for (const auto& r : routes) {
    const std::string what = "update route " + Quote(r.dest.empty() ? "default" : r.dest);
    ASSIGN_OR_RETURN(auto dev, FindDevice(env, r.device, "", what));
    return FailedPreconditionError(what + ": vmshare-agent does not configure routes (device " +
                                   Quote(dev.name) + ")");
  }
  return ListRoutes(env);
}

Status AddArpNeighbors(sys::Env* env, const std::vector<ArpNeighbor>& neighbors) {
  for (const auto& n : neighbors) {
    const std::string what =
        "add ARP neighbor " + Quote(n.to_ip ? n.to_ip->address : std::string());
    ASSIGN_OR_RETURN(auto dev, FindDevice(env, n.device, "", what));
    return FailedPreconditionError(what + ": vmshare-agent does not configure neighbors (device " +
                                   Quote(dev.name) + ")");
  }
  return Status::Ok();
}

}  // namespace vmshare::agent
