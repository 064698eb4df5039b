// The QEMU and virtiofsd command lines, option by option, without starting
// either program.
#include "vm/qemu_args.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace vmshare::vm {
namespace {

QemuConfig Config() {
  QemuConfig c;
  c.accel = "tcg";
  c.memory_mb = 256;
  c.cpus = 2;
  c.kernel = "/img/vmlinuz";
  c.initrd = "/img/initramfs.img";
  c.virtiofs_socket = "/run/x/virtiofsd.sock";
  c.agent_socket = "/run/x/agent.sock";
  c.console_log = "/run/x/console.log";
  return c;
}

// Every value that follows `option` in argv.
std::vector<std::string> ValuesOf(const std::vector<std::string>& argv, const std::string& option) {
  std::vector<std::string> v;
  for (size_t i = 1; i + 1 < argv.size(); ++i)
    if (argv[i] == option) v.push_back(argv[i + 1]);
  return v;
}

bool HasFlag(const std::vector<std::string>& argv, const std::string& flag) {
  return std::find(argv.begin() + 1, argv.end(), flag) != argv.end();
}

struct PairCase {
  const char* name;
  const char* option;
  const char* value;
};

TEST(QemuArgsTest, OptionValuePairs) {
  static const PairCase kCases[] = {
      {"accel", "-accel", "tcg"},
      {"memory", "-m", "256M"},
      {"cpus", "-smp", "2"},
      {"shared memfd backend", "-object", "memory-backend-memfd,id=mem,size=256M,share=on"},
      {"numa node on the memfd", "-numa", "node,memdev=mem"},
      {"no display", "-display", "none"},
      {"no monitor", "-monitor", "none"},
      {"no network", "-nic", "none"},
      {"console to a file", "-serial", "file:/run/x/console.log"},
      {"kernel", "-kernel", "/img/vmlinuz"},
      {"initrd", "-initrd", "/img/initramfs.img"},
      {"virtiofsd chardev", "-chardev", "socket,id=virtiofs,path=/run/x/virtiofsd.sock"},
      {"vhost-user-fs device", "-device", "vhost-user-fs-pci,chardev=virtiofs,tag=kataShared"},
      {"virtio-serial controller", "-device", "virtio-serial-pci,id=serial0"},
      {"agent chardev, server, no wait", "-chardev",
       "socket,id=agent,path=/run/x/agent.sock,server=on,wait=off"},
      {"agent port", "-device", "virtserialport,bus=serial0.0,chardev=agent,name=agent.channel.0"},
  };
  const std::vector<std::string> argv = BuildQemuArgs(Config());
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv[0], "qemu-system-x86_64");
  for (const PairCase& c : kCases) {
    std::vector<std::string> values = ValuesOf(argv, c.option);
    EXPECT_NE(std::find(values.begin(), values.end(), c.value), values.end())
        << c.name << ": no " << c.option << " " << c.value;
  }
}

TEST(QemuArgsTest, Flags) {
  const std::vector<std::string> argv = BuildQemuArgs(Config());
  for (const char* flag : {"-nodefaults", "-nographic", "-no-reboot", "-no-user-config"})
    EXPECT_TRUE(HasFlag(argv, flag)) << flag;
  // Exactly one of each device that must be unique.
  EXPECT_EQ(ValuesOf(argv, "-kernel").size(), 1u);
  EXPECT_EQ(ValuesOf(argv, "-serial").size(), 1u);
  EXPECT_EQ(ValuesOf(argv, "-accel").size(), 1u);
  EXPECT_EQ(ValuesOf(argv, "-machine").size(), 1u);
  for (const std::string& d : ValuesOf(argv, "-device"))
    EXPECT_EQ(d.find("net"), std::string::npos) << d;
}

TEST(QemuArgsTest, KernelCommandLine) {
  QemuConfig c = Config();
  const std::string base = "console=ttyS0 quiet panic=-1 rdinit=/init " + FastBootOptions("tcg");
  EXPECT_EQ(KernelCommandLine(c), base);
  c.extra_append = "vmshare.debug=1";
  std::vector<std::string> append = ValuesOf(BuildQemuArgs(c), "-append");
  ASSERT_EQ(append.size(), 1u);
  EXPECT_EQ(append[0], base + " vmshare.debug=1");
}

// Splits a kernel command line into its words.
std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < s.size()) {
    const size_t j = std::min(s.find(' ', i), s.size());
    if (j > i) v.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return v;
}

bool HasWord(const std::string& cmdline, const std::string& word) {
  std::vector<std::string> w = Words(cmdline);
  return std::find(w.begin(), w.end(), word) != w.end();
}

TEST(QemuArgsTest, FastBootOptionsSkipChecksTheGuestNeverNeeds) {
  for (const char* accel : {"tcg", "kvm"}) {
    const std::string opts = FastBootOptions(accel);
    for (const char* want :
         {"tsc=reliable", "no_timer_check", "rcupdate.rcu_expedited=1", "i8042.noaux=1",
          "i8042.nopnp=1", "i8042.dumbkbd=1", "i8042.direct=1", "noreplace-smp", "reboot=k",
          "cryptomgr.notests", "pci=lastbus=0", "8250.nr_uarts=1",
          "initcall_blacklist=init_kprobe_trace,crypto_kdf108_init"})
      EXPECT_TRUE(HasWord(opts, want)) << accel << ": no " << want << " in " << opts;
    // Nothing that would change how the guest fails: panics still end it.
    EXPECT_FALSE(HasWord(opts, "panic=1")) << opts;
  }
}

TEST(QemuArgsTest, MitigationsAreOffOnlyUnderTcg) {
  QemuConfig c = Config();
  c.accel = "tcg";
  EXPECT_TRUE(HasWord(KernelCommandLine(c), "mitigations=off"));
  c.accel = "kvm";
  EXPECT_FALSE(HasWord(KernelCommandLine(c), "mitigations=off")) << KernelCommandLine(c);
  for (const std::string& w : Words(KernelCommandLine(c)))
    EXPECT_EQ(w.rfind("mitigations", 0), std::string::npos) << w;
}

TEST(QemuArgsTest, MachineIsQ35WithoutUnusedDevices) {
  QemuConfig c = Config();
  std::vector<std::string> argv = BuildQemuArgs(c);
  EXPECT_EQ(ValuesOf(argv, "-machine"),
            std::vector<std::string>{"q35,sata=off,smbus=off,vmport=off"});
  // No firmware named: QEMU's default, and no -bios at all.
  EXPECT_TRUE(ValuesOf(argv, "-bios").empty());
  EXPECT_EQ(MachineArgs(c),
            (std::vector<std::string>{"-machine", "q35,sata=off,smbus=off,vmport=off"}));
}

TEST(QemuArgsTest, FirmwareGoesToBios) {
  QemuConfig c = Config();
  c.firmware = "/usr/share/qemu/qboot.rom";
  std::vector<std::string> argv = BuildQemuArgs(c);
  EXPECT_EQ(ValuesOf(argv, "-bios"), std::vector<std::string>{"/usr/share/qemu/qboot.rom"});
  EXPECT_EQ(ValuesOf(argv, "-machine").size(), 1u);
  // An ELF kernel (vmlinux with a PVH note) is passed like a bzImage.
  c.kernel = "/img/vmlinux";
  EXPECT_EQ(ValuesOf(BuildQemuArgs(c), "-kernel"), std::vector<std::string>{"/img/vmlinux"});
}

TEST(QemuArgsTest, AccelAndNamesFollowConfig) {
  QemuConfig c = Config();
  c.accel = "kvm";
  c.fs_tag = "other";
  c.agent_port_name = "p.0";
  c.binary = "/opt/qemu";
  std::vector<std::string> argv = BuildQemuArgs(c);
  EXPECT_EQ(argv[0], "/opt/qemu");
  EXPECT_EQ(ValuesOf(argv, "-accel"), std::vector<std::string>{"kvm"});
  std::vector<std::string> devices = ValuesOf(argv, "-device");
  EXPECT_NE(
      std::find(devices.begin(), devices.end(), "vhost-user-fs-pci,chardev=virtiofs,tag=other"),
      devices.end());
  EXPECT_NE(std::find(devices.begin(), devices.end(),
                      "virtserialport,bus=serial0.0,chardev=agent,name=p.0"),
            devices.end());
}

// Copy mode (shared_fs none): no vhost-user-fs device and no chardev for a
// virtiofsd that is not started; the agent port stays.
TEST(QemuArgsTest, NoSharedFilesystemDevice) {
  QemuConfig c = Config();
  c.virtiofs_socket.clear();
  const std::vector<std::string> argv = BuildQemuArgs(c);
  for (const std::string& d : ValuesOf(argv, "-device"))
    EXPECT_EQ(d.find("vhost-user-fs"), std::string::npos) << d;
  for (const std::string& ch : ValuesOf(argv, "-chardev"))
    EXPECT_EQ(ch.find("virtiofs"), std::string::npos) << ch;
  std::vector<std::string> devices = ValuesOf(argv, "-device");
  EXPECT_NE(std::find(devices.begin(), devices.end(),
                      "virtserialport,bus=serial0.0,chardev=agent,name=agent.channel.0"),
            devices.end());
}

TEST(VirtiofsdArgsTest, OptionValuePairs) {
  VirtiofsdConfig c;
  c.socket_path = "/run/x/virtiofsd.sock";
  c.source = "/run/vmshare/sandboxes/s1/shared";
  const std::vector<std::string> argv = BuildVirtiofsdArgs(c);
  EXPECT_EQ(argv[0], "/usr/lib/qemu/virtiofsd");
  EXPECT_TRUE(HasFlag(argv, "--socket-path=/run/x/virtiofsd.sock"));
  std::vector<std::string> o = ValuesOf(argv, "-o");
  for (const char* want :
       {"source=/run/vmshare/sandboxes/s1/shared", "cache=auto", "announce_submounts"})
    EXPECT_NE(std::find(o.begin(), o.end(), want), o.end()) << want;
  // Sandboxing stays at virtiofsd's default (namespace): never turned off.
  for (const std::string& v : o) EXPECT_EQ(v.rfind("sandbox=", 0), std::string::npos) << v;
  EXPECT_TRUE(HasFlag(argv, "-f"));
}

}  // namespace
}  // namespace vmshare::vm
