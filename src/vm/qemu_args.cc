#include "vm/qemu_args.h"

namespace vmshare::vm {

std::string FastBootOptions(const std::string& accel) {
  std::string s =
      "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 "
      "i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests pci=lastbus=0 "
      "8250.nr_uarts=1 initcall_blacklist=init_kprobe_trace,crypto_kdf108_init";
  if (accel == "tcg") s += " mitigations=off";
  return s;
}

std::string KernelCommandLine(const QemuConfig& c) {
  // rdinit is the default /init; spelled out so a different image layout
  // fails loudly instead of booting something else.
  std::string s = "console=ttyS0 quiet panic=-1 rdinit=/init " + FastBootOptions(c.accel);
  if (!c.extra_append.empty()) s += " " + c.extra_append;
  return s;
}

std::vector<std::string> MachineArgs(const QemuConfig& c) {
  std::vector<std::string> a = {"-machine", "q35,sata=off,smbus=off,vmport=off"};
  if (!c.firmware.empty()) {
    a.push_back("-bios");
    a.push_back(c.firmware);
  }
  return a;
}

std::vector<std::string> BuildQemuArgs(const QemuConfig& c) {
  const std::string mem = std::to_string(c.memory_mb) + "M";
  // One option and its value per line.
  // clang-format off
  std::vector<std::string> a = {
      c.binary,
      "-name", "vmshare",
      "-accel", c.accel,
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
  for (std::string& m : MachineArgs(c)) a.push_back(std::move(m));
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
