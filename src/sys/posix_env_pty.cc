// PosixEnv: the guest agent's pseudo-terminals, realtime clock, and a view of
// the network devices of its namespace.
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "sys/posix_env.h"
#include "sys/sys_error.h"

namespace vmshare::sys {
namespace {

int PrefixLen(const sockaddr* mask) {
  if (mask == nullptr) return 0;
  const unsigned char* b;
  size_t n;
  if (mask->sa_family == AF_INET) {
    b = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    n = 4;
  } else {
    b = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    n = 16;
  }
  int bits = 0;
  for (size_t i = 0; i < n; ++i) bits += __builtin_popcount(b[i]);
  return bits;
}

}  // namespace

Status PosixEnv::OpenPty(Fd* master, Fd* slave) {
  Fd m(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  // A /dev without the ptmx node (a bare devtmpfs): devpts's own.
  if (!m.valid() && errno == ENOENT) m = Fd(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!m.valid()) return SysError("open pty master", "/dev/ptmx");
  if (::grantpt(m.get()) < 0 || ::unlockpt(m.get()) < 0) return SysError("unlock pty master");
  char name[64];
  if (const int e = ::ptsname_r(m.get(), name, sizeof name); e != 0) {
    return SysErrorCode(e, "name pty slave");
  }
  Fd s(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!s.valid()) return SysError("open pty slave", name);
  *master = std::move(m);
  *slave = std::move(s);
  return Status::Ok();
}

Status PosixEnv::SetWindowSize(const Fd& tty, uint16_t rows, uint16_t columns) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = columns;
  const std::string size = std::to_string(rows) + "x" + std::to_string(columns);
  if (::ioctl(tty.get(), TIOCSWINSZ, &ws) < 0) return SysError("resize terminal to", size);
  return Status::Ok();
}

Status PosixEnv::SetRealtimeClock(int64_t sec, int64_t usec) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(usec * 1000);
  const std::string when = std::to_string(sec) + " s " + std::to_string(usec) + " us";
  if (::clock_settime(CLOCK_REALTIME, &ts) < 0) return SysError("set the realtime clock to", when);
  return Status::Ok();
}

Result<std::vector<NetDevice>> PosixEnv::ListNetDevices() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) < 0) return SysError("list network devices");
  std::map<std::string, NetDevice> by_name;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    NetDevice& d = by_name[a->ifa_name];
    d.name = a->ifa_name;
    d.flags = a->ifa_flags;
    if (a->ifa_addr == nullptr) continue;
    const int family = a->ifa_addr->sa_family;
    if (family == AF_PACKET) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
      std::string hw;
      for (int i = 0; i < ll->sll_halen && i < 8; ++i) {
        char b[4];
        std::snprintf(b, sizeof b, i ? ":%02x" : "%02x", ll->sll_addr[i]);
        hw += b;
      }
      d.hw_addr = hw;
    } else if (family == AF_INET || family == AF_INET6) {
      char buf[INET6_ADDRSTRLEN] = {};
      const void* src = family == AF_INET
                            ? static_cast<const void*>(
                                  &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr)
                            : static_cast<const void*>(
                                  &reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr);
      if (::inet_ntop(family, src, buf, sizeof buf) == nullptr) continue;
      d.addresses.push_back({family == AF_INET6, buf, PrefixLen(a->ifa_netmask)});
    }
  }
  ::freeifaddrs(list);
  std::vector<NetDevice> out;
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  for (auto& [name, d] : by_name) {
    if (sock.valid()) {
      ifreq req{};
      std::snprintf(req.ifr_name, sizeof req.ifr_name, "%s", name.c_str());
      if (::ioctl(sock.get(), SIOCGIFMTU, &req) == 0) d.mtu = static_cast<uint32_t>(req.ifr_mtu);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace vmshare::sys
