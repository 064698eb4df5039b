// The Kata shim's pod sequence in a real TCG guest: vmshare-agent is pid 1
// of the guest image, the container roots come over virtio-fs, and the VM
// must power itself off after DestroySandbox.
#include <gtest/gtest.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>

#include "agent/client.h"
#include "core/types.h"
#include "support/test_util.h"
#include "sys/env.h"
#include "vm/guest.h"
#include "vm/guest_image.h"

namespace vmshare::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::TempDir;

CreateContainerRequest Container(const std::string& id, std::vector<std::string> args) {
  CreateContainerRequest r;
  r.container_id = id;
  r.exec_id = id;
  r.spec.root_path = std::string(kGuestSharedDir) + "/rootfs";
  r.spec.args = std::move(args);
  r.spec.env = {"PATH=/bin"};
  r.spec.mounts = {{"proc", "/proc", "proc", {"nosuid", "noexec", "nodev"}}};
  return r;
}

TEST(KataPodE2eTest, ShimPodSequenceInAGuest) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!fs::exists("/usr/bin/qemu-system-x86_64") || !fs::exists("/usr/lib/qemu/virtiofsd")) {
    GTEST_SKIP() << "qemu-system-x86_64 or virtiofsd not installed";
  }
  sys::Env* env = sys::Env::Default();
  TempDir tmp;
  fs::create_directories(tmp / "shared/rootfs/bin");
  fs::copy_file("/bin/busybox", tmp / "shared/rootfs/bin/busybox");
  auto image = vm::FindGuestImage(env, "");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  vm::GuestConfig gc;
  gc.launch.run_dir = tmp / "run";
  gc.launch.shared_dir = tmp / "shared";
  gc.launch.image = *image;
  gc.launch.accel = "tcg";
  gc.launch.memory_mb = 256;
  gc.launch.console_log = tmp / "console.log";
  gc.boot_timeout = milliseconds(120000);
  vm::Guest guest(env, gc);
  ASSERT_OK(guest.Boot());
  AgentClient& a = guest.agent();

  Storage share;
  share.driver = "virtio-fs";
  share.source = kShareTag;
  share.fstype = "virtiofs";
  share.mount_point = kGuestSharedDir;
  ASSERT_OK(a.CreateSandbox({share}, "pod-e2e", "pod-e2e"));
  auto details = a.GetGuestDetails({true, true});
  ASSERT_TRUE(details.ok()) << details.status().ToString();
  EXPECT_TRUE(details->init_daemon);  // pid 1 of the guest
  auto version = a.Version();
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  ASSERT_OK(a.SetGuestDateTime(::time(nullptr), 0));
  auto ifaces = a.ListInterfaces();
  ASSERT_TRUE(ifaces.ok()) << ifaces.status().ToString();
  EXPECT_TRUE(ifaces->empty());  // -nic none: loopback only
  auto routes = a.ListRoutes();
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  EXPECT_TRUE(routes->empty());

  ASSERT_OK(a.CreateContainer(Container("pause", {"/bin/busybox", "sleep", "1000"})));
  ASSERT_OK(a.StartContainer("pause"));
  ASSERT_OK(a.CreateContainer(Container("app", {"/bin/busybox", "sleep", "1000"})));
  ASSERT_OK(a.StartContainer("app"));

  ExecProcessRequest tty;
  tty.process = {"app", "tty1"};
  tty.spec.args = {"/bin/busybox", "sh", "-c", "read line; stty size; echo got:$line"};
  tty.spec.env = {"PATH=/bin"};
  tty.spec.terminal = true;
  ASSERT_OK(a.ExecProcess(tty));
  ASSERT_OK(a.TtyWinResize("app", "tty1", 40, 100));
  ASSERT_TRUE(a.WriteStdin("app", "tty1", "hello\n").ok());
  ASSERT_OK(a.CloseStdin("app", "tty1"));
  std::string out;
  for (;;) {
    auto chunk = a.ReadStdout("app", "tty1", 4096, seconds(60));
    ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
    if (chunk->empty()) break;
    out += *chunk;
  }
  EXPECT_NE(out.find("40 100"), std::string::npos) << out;
  EXPECT_NE(out.find("got:hello"), std::string::npos) << out;
  auto code = a.WaitProcess("app", "tty1", seconds(60));
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 0);

  ExecProcessRequest sleeper;
  sleeper.process = {"app", "sleep1"};
  sleeper.spec.args = {"/bin/busybox", "sleep", "1000"};
  ASSERT_OK(a.ExecProcess(sleeper));
  ASSERT_OK(a.SignalProcess("app", "sleep1", SIGTERM));
  code = a.WaitProcess("app", "sleep1", seconds(60));
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 143);

  // The guest's cgroup v2 has the controllers: limits and stats are real.
  LinuxResources limits;
  limits.memory_limit = 64 << 20;
  limits.pids_limit = 32;
  ASSERT_OK(a.UpdateContainer("app", limits));
  auto stats = a.StatsContainer("app");
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->memory_limit, uint64_t{64} << 20);
  EXPECT_EQ(stats->pids_limit, 32u);
  EXPECT_GE(stats->pids_current, 1u);
  EXPECT_GT(stats->cpu_total_ns, 0u);
  auto procs = a.ListProcesses("app", "json");
  ASSERT_TRUE(procs.ok()) << procs.status().ToString();
  EXPECT_NE(*procs, "[]");
  ASSERT_OK(a.PauseContainer("app"));
  ASSERT_OK(a.ResumeContainer("app"));
  EXPECT_EQ(a.GetOomEvent(milliseconds(300)).status().code(), Code::kDeadlineExceeded);

  ASSERT_OK(a.RemoveContainer("app", 10));
  ASSERT_OK(a.RemoveContainer("pause", 10));
  // DestroySandbox, then the guest powers itself off (Shutdown fails if it
  // had to kill QEMU).
  Status down = guest.Shutdown(milliseconds(60000));
  EXPECT_TRUE(down.ok()) << down.ToString() << "\n" << testing::ReadFile(tmp / "console.log");
}

}  // namespace
}  // namespace vmshare::agent
