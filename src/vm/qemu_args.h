// Command lines for the two host processes behind a guest: QEMU and
// Debian's virtiofsd. Pure functions (no syscalls), so the argv is tested
// option by option without starting either program (tests/vm/).
#pragma once

#include <string>
#include <vector>

namespace vmshare::vm {

// Everything the QEMU command line depends on. Paths are absolute.
struct QemuConfig {
  std::string binary = "qemu-system-x86_64";
  std::string accel = "tcg";  // "kvm" or "tcg"; resolve "auto" first (accel.h)
  int memory_mb = 512;        // also the size of the shared memfd backend
  int cpus = 1;
  std::string kernel;
  std::string initrd;
  std::string extra_append;     // appended to the kernel command line
  std::string virtiofs_socket;  // virtiofsd's vhost-user socket; empty: no shared fs device
  std::string fs_tag = "kataShared";
  std::string agent_socket;  // host end of the agent virtio-serial port
  std::string agent_port_name = "agent.channel.0";
  std::string console_log;  // the guest's serial console goes here
};

// The kernel command line: console on the first serial port, quiet, and a
// panic that reboots at once (-no-reboot turns that into QEMU exiting).
std::string KernelCommandLine(const QemuConfig& c);

// QEMU's argv (argv[0] is the binary). Guest RAM is a shared memfd (vhost-user
// needs the backend to map it); the only devices are the vhost-user-fs-pci
// share and a virtio-serial controller with the agent port, whose unix socket
// QEMU listens on without waiting for a client. No network, no display, no
// default devices, no reboot.
std::vector<std::string> BuildQemuArgs(const QemuConfig& c);

// What virtiofsd needs.
struct VirtiofsdConfig {
  std::string binary = "/usr/lib/qemu/virtiofsd";
  std::string socket_path;     // vhost-user socket it creates
  std::string source;          // the directory it exports (the sandbox's shared/)
  std::string cache = "auto";  // auto | always | none
};

// virtiofsd's argv: foreground, the given source and cache mode, sandboxing
// left at its default (namespace: its own mount, pid and net namespaces,
// pivoted into the source), announce_submounts so guest sees each bind mount
// in shared/ as a mount of its own.
std::vector<std::string> BuildVirtiofsdArgs(const VirtiofsdConfig& c);

}  // namespace vmshare::vm
