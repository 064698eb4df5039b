// `vmshare run` end to end: a real guest (TCG), the real agent, virtiofsd,
// and a fresh example bundle per test. Each test checks what the guest saw or
// did through the shared files, then that nothing of the run is left: no
// QEMU or virtiofsd process, no socket, no mount and no sandbox directory.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "sys/env.h"
#include "testing_vm.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;
using vmshare::testing::CountMountsUnder;
using vmshare::testing::ReadFile;
using vmshare::testing::TempDir;
namespace fs = std::filesystem;

struct RunResult {
  sys::ExitStatus status;
  std::string out;
  std::string err;
};

class RunE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (!HaveQemu()) GTEST_SKIP() << "qemu-system-x86_64 or virtiofsd not installed";
    root_ = tmp_ / "root";
    bundle_ = tmp_ / "bundle";
    const std::string gen =
        std::string(VMSHARE_SOURCE_DIR) + "/scripts/guest/make-example-bundle.sh";
    ASSERT_EQ(std::system((gen + " --out " + bundle_).c_str()), 0);
  }

  void TearDown() override {
    if (root_.empty()) return;
    ExpectNothingLeft();
  }

  // What a finished run must leave: at most the shared, empty parents.
  void ExpectNothingLeft() {
    EXPECT_EQ(ProcessesLeft(root_ + "/").size(), 0u) << "a qemu or virtiofsd process is left";
    EXPECT_EQ(CountMountsUnder(root_ + "/"), 0) << "a mount is left under " << root_;
    for (const std::string& e : EntriesUnder(root_)) {
      const std::string rel = e.substr(root_.size());
      EXPECT_TRUE(rel == "/sandboxes" || rel == "/vm" || rel == "/kvm-probe" || rel == "/sbs")
          << "left behind: " << e;
    }
  }

  sys::Child Start(const std::vector<std::string>& command,
                   const std::vector<std::string>& flags = {}) {
    sys::ChildOptions o;
    o.argv = {VMSHARE_BIN, "run", "--root", root_, "--bundle", bundle_, "--accel", "tcg"};
    o.argv.insert(o.argv.end(), flags.begin(), flags.end());
    if (!command.empty()) {
      o.argv.push_back("--");
      o.argv.insert(o.argv.end(), command.begin(), command.end());
    }
    o.stdout_path = tmp_ / "out";
    o.stderr_path = tmp_ / "err";
    Result<sys::Child> c = env_->Spawn(o);
    EXPECT_OK(c);
    return c.ok() ? std::move(*c) : sys::Child{};
  }

  RunResult Run(const std::vector<std::string>& command) {
    fs::remove(tmp_ / "out");
    fs::remove(tmp_ / "err");
    sys::Child c = Start(command);
    RunResult r;
    Result<sys::ExitStatus> st = env_->Wait(c, milliseconds(300000));
    if (!st.ok()) {
      env_->Kill(c, SIGKILL).IgnoreError();
      env_->Wait(c).status().IgnoreError();
      ADD_FAILURE() << "vmshare run did not end: " << st.status().ToString();
    } else {
      r.status = *st;
    }
    r.out = ReadFile(tmp_ / "out");
    r.err = ReadFile(tmp_ / "err");
    return r;
  }

  sys::Env* env_ = sys::Env::Default();
  TempDir tmp_;
  std::string root_;
  std::string bundle_;
};

TEST_F(RunE2eTest, RootfsFilesAreVisibleInTheGuest) {
  RunResult r = Run({"/bin/cat", "/etc/vmshare-example"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.err;
  EXPECT_EQ(r.out, "this file is in the container's root filesystem\n") << r.err;
}

TEST_F(RunE2eTest, GuestWriteToReadWriteVolumeIsVisibleOnTheHost) {
  RunResult r =
      Run({"/bin/sh", "-c", "echo from the guest > /data/new.txt && cat /data/host-note.txt"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.err;
  EXPECT_EQ(r.out, "written on the host before the run\n") << r.err;
  EXPECT_EQ(ReadFile(bundle_ + "/volumes/data/new.txt"), "from the guest\n");
}

TEST_F(RunE2eTest, ReadOnlyVolumeStaysReadOnlyEvenAfterGuestRemount) {
  RunResult r = Run({"/bin/sh", "-c",
                     "touch /readonly/first; echo touch=$?; "
                     "mount -o remount,rw /readonly; echo remount=$?; "
                     "echo x > /readonly/second; echo write=$?; "
                     "cat /readonly/README"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.err;
  EXPECT_NE(r.out.find("touch=1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("write=1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("a read-only volume"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(bundle_ + "/volumes/readonly/first"));
  EXPECT_FALSE(fs::exists(bundle_ + "/volumes/readonly/second"));
}

TEST_F(RunE2eTest, ConfigmapVolumeIsVisible) {
  RunResult r =
      Run({"/bin/sh", "-c", "cat /etc/app-config/greeting; readlink /etc/app-config/..data"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.err;
  EXPECT_EQ(r.out, "hello from a configmap\n..2026_11_22_10_00_00.000000001\n") << r.err;
}

TEST_F(RunE2eTest, ExitStatusIsPropagated) {
  RunResult r = Run({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"});
  EXPECT_TRUE(r.status.exited);
  EXPECT_EQ(r.status.code, 7) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_NE(r.err.find("err\n"), std::string::npos) << r.err;
}

TEST_F(RunE2eTest, BundleProcessRunsWithoutCommand) {
  RunResult r = Run({});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.err;
  EXPECT_NE(r.out.find("hello from a configmap"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(fs::exists(bundle_ + "/volumes/data/from-guest.txt"));
}

TEST_F(RunE2eTest, SigtermMidRunLeavesNothing) {
  fs::remove(tmp_ / "out");
  sys::Child c = Start({"/bin/sh", "-c", "echo started; sleep 600"});
  // Wait until the process runs in the guest: everything is up then.
  bool started = false;
  for (int i = 0; i < 3000 && !started; ++i) {
    started = ReadFile(tmp_ / "out").find("started") != std::string::npos;
    if (!started) env_->SleepFor(milliseconds(100));
  }
  ASSERT_TRUE(started) << ReadFile(tmp_ / "err");
  EXPECT_GT(ProcessesMentioning(root_ + "/").size(), 0u);
  ASSERT_OK(env_->Kill(c, SIGTERM));
  Result<sys::ExitStatus> st = env_->Wait(c, milliseconds(60000));
  ASSERT_OK(st);
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 128 + SIGTERM) << ReadFile(tmp_ / "err");
  EXPECT_NE(ReadFile(tmp_ / "err").find("vmshare: run: interrupted by SIGTERM\n"),
            std::string::npos)
      << ReadFile(tmp_ / "err");
}

// SIGKILL gives vmshare no chance to tear down: its guest dies with it
// (parent-death signal), and `vmshare gc` removes the rest from the recorded
// state. Before the kill, gc leaves the live run alone.
TEST_F(RunE2eTest, SigkillMidRunThenGcLeavesNothing) {
  fs::remove(tmp_ / "out");
  sys::Child c = Start({"/bin/sh", "-c", "echo started; sleep 600"});
  bool started = false;
  for (int i = 0; i < 3000 && !started; ++i) {
    started = ReadFile(tmp_ / "out").find("started") != std::string::npos;
    if (!started) env_->SleepFor(milliseconds(100));
  }
  ASSERT_TRUE(started) << ReadFile(tmp_ / "err");
  auto gc = [&] {
    sys::ChildOptions o;
    o.argv = {VMSHARE_BIN, "--root", root_, "gc"};
    o.stdout_path = tmp_ / "gc.out";
    o.stderr_path = tmp_ / "gc.err";
    Result<sys::Child> g = env_->Spawn(o);
    EXPECT_OK(g);
    Result<sys::ExitStatus> st = env_->Wait(*g, milliseconds(60000));
    EXPECT_OK(st);
    EXPECT_TRUE(st.ok() && st->exited && st->code == 0) << ReadFile(tmp_ / "gc.err");
  };
  gc();
  EXPECT_NE(ReadFile(tmp_ / "gc.out").find("a live vmshare process holds its lock"),
            std::string::npos)
      << ReadFile(tmp_ / "gc.out");
  EXPECT_GT(CountMountsUnder(root_ + "/"), 0) << "gc must not touch a live run";

  ASSERT_OK(env_->Kill(c, SIGKILL));
  ASSERT_OK(env_->Wait(c, milliseconds(60000)));
  EXPECT_GT(CountMountsUnder(root_ + "/"), 0) << "a killed run leaves its mounts to gc";
  gc();
  // TearDown checks that no process, mount or directory is left.
}

// The one sandbox's state dir under <root>/sbs ("" when there is none).
std::string OnlySandboxDir(const std::string& root) {
  std::string found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root + "/sbs", ec)) found = e.path().string();
  return found;
}

nlohmann::json ReadJson(const std::string& path) {
  return nlohmann::json::parse(ReadFile(path), nullptr, /*allow_exceptions=*/false);
}

// Issue 9 item 6: every mount of a run is in its persisted state (recorded
// before it was made, by the sandbox layer), so gc after a crash works from
// the record, not only from the mount table.
TEST_F(RunE2eTest, RunRecordsItsMountsWhileItLives) {
  fs::remove(tmp_ / "out");
  sys::Child c = Start({"/bin/sh", "-c", "echo started; sleep 600"});
  bool started = false;
  for (int i = 0; i < 3000 && !started; ++i) {
    started = ReadFile(tmp_ / "out").find("started") != std::string::npos;
    if (!started) env_->SleepFor(milliseconds(100));
  }
  ASSERT_TRUE(started) << ReadFile(tmp_ / "err");
  const std::string dir = OnlySandboxDir(root_);
  ASSERT_FALSE(dir.empty());
  const std::string sid = fs::path(dir).filename();
  nlohmann::json sandbox = ReadJson(dir + "/persist.json");
  nlohmann::json container = ReadJson(dir + "/" + sid + "/persist.json");
  ASSERT_TRUE(container.is_object()) << "no container record for " << sid;
  EXPECT_EQ(container["Rootfs"]["Mounted"], true) << container.dump();
  ASSERT_TRUE(container["Mounts"].is_array()) << container.dump();
  ASSERT_GT(container["Mounts"].size(), 0u) << "the example bundle has a host bind mount";
  for (const auto& m : container["Mounts"]) {
    EXPECT_EQ(m["Mounted"], true) << m.dump();
    const std::string host_path = m.value("HostPath", "");
    EXPECT_EQ(host_path.rfind(root_ + "/sandboxes/" + sid + "/mounts/", 0), 0u) << m.dump();
    EXPECT_EQ(CountMountsUnder(host_path), 1) << host_path;
  }
  std::vector<std::string> roles;
  for (const auto& p : sandbox["Vmshare"]["Processes"]) roles.push_back(p.value("Role", ""));
  EXPECT_EQ(roles, (std::vector<std::string>{"virtiofsd", "qemu"})) << sandbox.dump();
  ASSERT_OK(env_->Kill(c, SIGTERM));
  ASSERT_OK(env_->Wait(c, milliseconds(60000)));
}

// Issue 9 item 12: copy mode launches QEMU without the vhost-user-fs device
// and without virtiofsd.
TEST_F(RunE2eTest, SharedFsNoneStartsNoVirtiofsd) {
  fs::remove(tmp_ / "out");
  sys::Child c = Start({"/bin/sh", "-c", "echo started; sleep 600"},
                       {"--shared-fs", "none", "--guest-local-copies"});
  bool started = false;
  for (int i = 0; i < 3000 && !started; ++i) {
    started = ReadFile(tmp_ / "out").find("started") != std::string::npos;
    if (!started) env_->SleepFor(milliseconds(100));
  }
  ASSERT_TRUE(started) << ReadFile(tmp_ / "err");
  std::vector<pid_t> procs = ProcessesMentioning(root_ + "/");
  ASSERT_EQ(procs.size(), 1u) << "only qemu";
  std::ifstream in("/proc/" + std::to_string(procs[0]) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(cmdline.find("qemu-system"), std::string::npos);
  EXPECT_EQ(cmdline.find("vhost-user-fs"), std::string::npos);
  EXPECT_EQ(cmdline.find("virtiofs"), std::string::npos);
  const std::string dir = OnlySandboxDir(root_);
  ASSERT_FALSE(dir.empty());
  nlohmann::json sandbox = ReadJson(dir + "/persist.json");
  std::vector<std::string> roles;
  for (const auto& p : sandbox["Vmshare"]["Processes"]) roles.push_back(p.value("Role", ""));
  EXPECT_EQ(roles, std::vector<std::string>{"qemu"}) << sandbox.dump();
  ASSERT_OK(env_->Kill(c, SIGTERM));
  ASSERT_OK(env_->Wait(c, milliseconds(60000)));
}

TEST_F(RunE2eTest, GuestPanicMidRunFailsTheRunAndLeavesNothing) {
  // sysrq 'c' crashes the guest kernel; panic=-1 and -no-reboot end QEMU.
  RunResult r = Run({"/bin/sh", "-c", "echo crashing; echo c > /proc/sysrq-trigger; sleep 600"});
  EXPECT_TRUE(r.status.exited);
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("the guest died during the run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Kernel panic"), std::string::npos) << r.err;
}

TEST_F(RunE2eTest, MissingBundleIsAClearErrorAndChangesNothing) {
  bundle_ = tmp_ / "no-such-bundle";
  RunResult r = Run({"/bin/true"});
  EXPECT_TRUE(r.status.exited);
  EXPECT_EQ(r.status.code, 1);
  EXPECT_NE(r.err.find("no-such-bundle"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root_ + "/sandboxes"));
}

}  // namespace
}  // namespace vmshare::vm
