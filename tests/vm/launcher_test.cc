// The launcher against a real guest: the development image (its /init is
// scripts/guest/dev-init.sh) boots under TCG, mounts the virtio-fs share,
// writes to the agent port and powers off. Checks that what the guest saw
// is what the host shared, and that nothing is left behind afterwards.
#include "vm/launcher.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "support/test_util.h"
#include "sys/env.h"
#include "testing_vm.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;
using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (!HaveQemu()) GTEST_SKIP() << "qemu-system-x86_64 or virtiofsd not installed";
    std::filesystem::create_directory(tmp_ / "shared");
    WriteFile(tmp_ / "shared/hello.txt", "hi\n");
    config_.run_dir = tmp_ / "run";
    config_.shared_dir = tmp_ / "shared";
    config_.image = {std::string(VMSHARE_GUEST_DEV_DIR) + "/vmlinuz",
                     std::string(VMSHARE_GUEST_DEV_DIR) + "/initramfs.img"};
    config_.accel = "tcg";
    config_.memory_mb = 256;
  }

  sys::Env* env_ = sys::Env::Default();
  TempDir tmp_;
  LaunchConfig config_;
};

// Reads from the agent socket until `want` arrives or the guest is gone.
std::string ReadAgentPort(sys::Env* env, Launcher& l, const std::string& want) {
  sys::Fd fd;
  for (int i = 0; i < 600 && !fd.valid(); ++i) {
    Result<sys::Fd> c = env->UnixConnect(l.agent_socket());
    if (c.ok())
      fd = std::move(*c);
    else
      env->SleepFor(milliseconds(50));
  }
  if (!fd.valid()) return "";
  std::string got;
  while (got.find(want) == std::string::npos) {
    Result<short> ev = env->PollOne(fd, POLLIN, milliseconds(60000));
    if (!ev.ok() || *ev == 0) break;
    Result<std::string> chunk = env->Read(fd, 4096);
    if (!chunk.ok() || chunk->empty()) break;
    got += *chunk;
  }
  return got;
}

TEST_F(LauncherTest, BootsSharesAndLeavesNothing) {
  pid_t qemu = -1, virtiofsd = -1;
  {
    Launcher l(env_, config_);
    ASSERT_OK(l.Start());
    qemu = l.qemu_pid();
    virtiofsd = l.virtiofsd_pid();
    EXPECT_TRUE(ProcessAlive(qemu));
    EXPECT_TRUE(ProcessAlive(virtiofsd));
    EXPECT_NE(ReadAgentPort(env_, l, "hello from the guest").find("hello from the guest"),
              std::string::npos);
    Result<sys::ExitStatus> st = l.WaitQemu(milliseconds(120000));
    ASSERT_OK(st);
    EXPECT_TRUE(st->exited);
    const std::string console = l.ConsoleTail(1 << 20);
    EXPECT_NE(console.find("vmshare-dev-init: share: hello.txt"), std::string::npos) << console;
    EXPECT_NE(console.find("vmshare-dev-init: ok"), std::string::npos) << console;
    EXPECT_OK(l.Stop(milliseconds(1000)));
    EXPECT_FALSE(std::filesystem::exists(config_.run_dir));
  }
  EXPECT_FALSE(ProcessAlive(qemu));
  EXPECT_FALSE(ProcessAlive(virtiofsd));
  EXPECT_EQ(ChildrenOf(getpid()), 0) << "a child process is left";
}

TEST_F(LauncherTest, KillMidBootLeavesNothing) {
  Launcher l(env_, config_);
  ASSERT_OK(l.Start());
  const pid_t qemu = l.qemu_pid(), virtiofsd = l.virtiofsd_pid();
  l.Kill();
  EXPECT_FALSE(ProcessAlive(qemu));
  EXPECT_FALSE(ProcessAlive(virtiofsd));
  EXPECT_FALSE(std::filesystem::exists(config_.run_dir));
  EXPECT_EQ(ChildrenOf(getpid()), 0);
}

TEST_F(LauncherTest, GuestPanicEndsQemu) {
  // No such init: the kernel panics, panic=-1 reboots, -no-reboot exits.
  config_.extra_append = "rdinit=/no/such/init";
  Launcher l(env_, config_);
  ASSERT_OK(l.Start());
  Result<sys::ExitStatus> st = l.WaitQemu(milliseconds(120000));
  ASSERT_OK(st);
  EXPECT_NE(l.ConsoleTail(1 << 20).find("Kernel panic"), std::string::npos);
  EXPECT_OK(l.Stop(milliseconds(1000)));
  EXPECT_FALSE(std::filesystem::exists(config_.run_dir));
  EXPECT_EQ(ChildrenOf(getpid()), 0);
}

TEST_F(LauncherTest, MissingVirtiofsdIsAnErrorAndCleansUp) {
  config_.virtiofsd_binary = "/nonexistent/virtiofsd";
  Launcher l(env_, config_);
  Status s = l.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/virtiofsd"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(config_.run_dir));
}

TEST_F(LauncherTest, StopKillsAGuestThatDoesNotPowerOff) {
  // An init that never ends: Stop must kill QEMU at its deadline.
  config_.extra_append = "rdinit=/bin/sh";
  Launcher l(env_, config_);
  ASSERT_OK(l.Start());
  const pid_t qemu = l.qemu_pid();
  Status s = l.Stop(milliseconds(500));
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded) << s.ToString();
  EXPECT_FALSE(ProcessAlive(qemu));
  EXPECT_FALSE(std::filesystem::exists(config_.run_dir));
  EXPECT_EQ(ChildrenOf(getpid()), 0);
}

}  // namespace
}  // namespace vmshare::vm
