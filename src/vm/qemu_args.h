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
  std::string firmware;     // -bios image (qboot); empty: QEMU's default (SeaBIOS)
};

// The kernel command line: console on the first serial port, quiet, a
// panic that reboots at once (-no-reboot turns that into QEMU exiting), and
// the fast-boot options of FastBootOptions.
std::string KernelCommandLine(const QemuConfig& c);

// Kernel options that skip boot work this guest never needs: the timer and
// TSC checks (QEMU's TSC is reliable), PS/2 probing, scanning PCI buses past
// bus 0, the crypto self-tests, all but one serial port, and two init calls
// worth ~0.1 s of a TCG boot that nothing in the guest uses: the CTR-KDF
// self-test (which cryptomgr.notests does not cover) and the kprobe-events
// files of tracefs. Under TCG also
// mitigations=off: an emulated CPU does not speculate, so the mitigations
// are pure cost (page-table isolation alone flushes TCG's TLB on every
// syscall). Under KVM they stay on.
std::string FastBootOptions(const std::string& accel);

// -machine (q35 without the SATA controller, SMBus and vmport nobody uses)
// and, when the config names one, -bios. QEMU's microvm machine was tried
// and is not used: it does boot this kernel with virtio-mmio devices
// (virtiofsd needs virtio-mmio.force-legacy=false, the guest the virtio_mmio
// module), but under TCG it has nothing to calibrate the TSC against (no
// PIT gate, HPET or ACPI PM timer) unless the host passes tsc_early_khz, and
// it saved no measurable guest CPU over this q35: the kernel's own init
// dominates, not device enumeration.
std::vector<std::string> MachineArgs(const QemuConfig& c);

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
