#include "vm/qemu_args.h"

namespace vmshare::vm {

std::string KernelCommandLine(const QemuConfig& c) {
  // rdinit is the default /init; spelled out so a different image layout
  // fails loudly instead of booting something else.
  std::string s = "console=ttyS0 quiet panic=-1 rdinit=/init";
  if (!c.extra_append.empty()) s += " " + c.extra_append;
  return s;
}

std::vector<std::string> BuildQemuArgs(const QemuConfig& c) {
  const std::string mem = std::to_string(c.memory_mb) + "M";
  // One option and its value per line.
  // clang-format off
  std::vector<std::string> a = {
      c.binary,
      "-name", "vmshare",
      "-accel", c.accel,
      "-machine", "q35",
      "-m", mem,
      "-smp", std::to_string(c.cpus),
      // vhost-user-fs maps guest RAM into virtiofsd: it must be a shared fd.
      "-object", "memory-backend-memfd,id=mem,size=" + mem + ",share=on",
      "-numa", "node,memdev=mem",
      "-nodefaults",
      "-nographic",
      "-display", "none",
      "-monitor", "none",
      "-no-user-config",
      "-no-reboot",
      "-nic", "none",
      "-serial", "file:" + c.console_log,
      "-kernel", c.kernel,
      "-initrd", c.initrd,
      "-append", KernelCommandLine(c),
      "-device", "virtio-serial-pci,id=serial0",
      "-chardev", "socket,id=agent,path=" + c.agent_socket + ",server=on,wait=off",
      "-device", "virtserialport,bus=serial0.0,chardev=agent,name=" + c.agent_port_name,
  };
  // clang-format on
  // No shared filesystem (copy mode): no virtiofsd to talk to.
  if (!c.virtiofs_socket.empty()) {
    a.insert(a.end(), {"-chardev", "socket,id=virtiofs,path=" + c.virtiofs_socket, "-device",
                       "vhost-user-fs-pci,chardev=virtiofs,tag=" + c.fs_tag});
  }
  return a;
}

std::vector<std::string> BuildVirtiofsdArgs(const VirtiofsdConfig& c) {
  // clang-format off
  return {
      c.binary,
      "--socket-path=" + c.socket_path,
      "-o", "source=" + c.source,
      "-o", "cache=" + c.cache,
      "-o", "announce_submounts",
      "-f",
  };
  // clang-format on
}

}  // namespace vmshare::vm
