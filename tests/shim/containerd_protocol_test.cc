// The shim protocol with Debian's real containerd and ctr, over the fake
// backend (containerd-shim-vmsharefake-v2: the real shim program, no guest),
// so each case takes a second, not a boot: start/daemon/address, the Task
// API as containerd calls it, stdio FIFOs, exit statuses, events, pods
// served by one shim, containerd restarts, a SIGKILLed shim, Unimplemented.
#include <gtest/gtest.h>

#include "containerd_harness.h"

namespace vmshare::shim::testing {
namespace {

using vmshare::testing::TempDir;

constexpr char kFake[] = "io.containerd.vmsharefake.v2";
constexpr char kFakeBinary[] = "containerd-shim-vmsharefake-v2";

class ShimProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (!fs::exists("/usr/bin/containerd") || !fs::exists("/usr/bin/ctr"))
      GTEST_SKIP() << "containerd not installed (scripts/install-deps.sh)";
    rootfs_ = tmp_ / "rootfs";
    fs::create_directories(rootfs_ + "/bin");
    WriteFile(tmp_ / "shim.json", R"({"root":")" + tmp_ / "vmroot" + R"("})");
    containerd_ =
        std::make_unique<Containerd>(tmp_.path(), VMSHARE_FAKE_SHIM_DIR, tmp_ / "shim.json");
    containerd_->set_ctr_limit(std::chrono::milliseconds(30000));
    containerd_->Start();
  }
  void TearDown() override {
    if (containerd_ == nullptr) return;
    if (HasFailure()) std::cerr << "containerd log:\n" << containerd_->Log();
    Containerd::WaitFor([this] { return containerd_->Shims(kFakeBinary).empty(); });
    containerd_->Stop(SIGTERM);
    EXPECT_EQ(containerd_->Shims(kFakeBinary).size(), 0u) << "a shim is left";
    containerd_->KillLeftovers();
    containerd_->UnmountRun();
  }
  std::vector<std::string> Run(std::vector<std::string> flags, const std::string& id,
                               const std::vector<std::string>& cmd) {
    std::vector<std::string> a = {"run", "--runtime", kFake};
    a.insert(a.end(), flags.begin(), flags.end());
    a.insert(a.end(), {"--rootfs", rootfs_, id});
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }

  TempDir tmp_;
  std::string rootfs_;
  std::unique_ptr<Containerd> containerd_;
};

TEST_F(ShimProtocolTest, RunRmRelaysOutputAndExitStatus) {
  sys::Child events = containerd_->Spawn({"events"}, tmp_ / "events");
  // Subscribed once an event of ours shows up: a namespace created until then.
  int probe = 0;
  ASSERT_TRUE(Containerd::WaitFor([&] {
    containerd_->Ctr({"namespaces", "create", "probe" + std::to_string(probe++)});
    return ReadFile(tmp_ / "events").find("/namespaces/create") != std::string::npos;
  })) << "ctr events saw nothing";
  CtrResult r = containerd_->Ctr(Run({"--rm"}, "c1", {"echo", "hello", "shim"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hello shim\n");
  r = containerd_->Ctr(Run({"--rm"}, "c2", {"exit", "7"}));
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_EQ(containerd_->TaskStatus("c1"), "");
  // Events reach the subscriber on their own schedule.
  const std::vector<std::string> topics = {"/tasks/create", "/tasks/start", "/tasks/exit",
                                           "/tasks/delete"};
  Containerd::WaitFor([&] {
    const std::string ev = ReadFile(tmp_ / "events");
    for (const auto& t : topics)
      if (ev.find(t) == std::string::npos) return false;
    return true;
  });
  ::kill(events.pid, SIGTERM);
  containerd_->Finish(events);
  const std::string ev = ReadFile(tmp_ / "events");
  for (const auto& topic : topics)
    EXPECT_NE(ev.find(topic), std::string::npos) << topic << " not in:\n" << ev;
}

TEST_F(ShimProtocolTest, StdinReachesTheProcessAndEofEndsIt) {
  WriteFile(tmp_ / "stdin", "some input\n");
  CtrResult r = containerd_->Ctr(Run({"--rm"}, "c1", {"cat"}), tmp_ / "stdin");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "some input\n");
}

TEST_F(ShimProtocolTest, DetachedExecKillDeleteSurviveContainerdRestart) {
  CtrResult r = containerd_->Ctr(Run({"-d"}, "d1", {"sleep"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(containerd_->TaskStatus("d1"), "RUNNING");
  r = containerd_->Ctr({"task", "exec", "--exec-id", "e1", "d1", "echo", "in", "exec"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "in exec\n");
  EXPECT_NE(containerd_->Ctr({"task", "pause", "d1"}).err.find("not supported"), std::string::npos);

  containerd_->Stop(SIGKILL);
  containerd_->Start();
  EXPECT_EQ(containerd_->TaskStatus("d1"), "RUNNING");
  r = containerd_->Ctr({"task", "exec", "--exec-id", "e2", "d1", "exit", "5"});
  EXPECT_EQ(r.code, 5) << r.err;
  r = containerd_->Ctr({"task", "kill", "d1"});  // SIGTERM
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(containerd_->WaitStatus("d1", "STOPPED"));
  EXPECT_EQ(containerd_->DeleteTask("d1"), 143);
  EXPECT_EQ(containerd_->Ctr({"container", "delete", "d1"}).code, 0);
}

TEST_F(ShimProtocolTest, PodContainersAreServedByTheSandboxShim) {
  auto ann = [](const char* type) {
    return std::vector<std::string>{"-d", "--annotation",
                                    std::string("io.kubernetes.cri.container-type=") + type,
                                    "--annotation", "io.kubernetes.cri.sandbox-id=pod1"};
  };
  ASSERT_EQ(containerd_->Ctr(Run(ann("sandbox"), "pod1", {"sleep"})).code, 0);
  ASSERT_EQ(containerd_->Ctr(Run(ann("container"), "app1", {"sleep"})).code, 0);
  ASSERT_EQ(containerd_->Ctr(Run(ann("container"), "app2", {"sleep"})).code, 0);
  EXPECT_EQ(containerd_->Shims(kFakeBinary).size(), 1u);
  for (const char* id : {"app1", "app2", "pod1"}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(containerd_->Ctr({"task", "kill", "-s", "SIGKILL", id}).code, 0);
    EXPECT_TRUE(containerd_->WaitStatus(id, "STOPPED"));
    EXPECT_EQ(containerd_->DeleteTask(id), 137);
    EXPECT_EQ(containerd_->Ctr({"container", "delete", id}).code, 0);
  }
}

TEST_F(ShimProtocolTest, KilledShimIsCleanedUpByContainerd) {
  ASSERT_EQ(containerd_->Ctr(Run({"-d"}, "k1", {"sleep"})).code, 0);
  auto shims = containerd_->Shims(kFakeBinary);
  ASSERT_EQ(shims.size(), 1u);
  ::kill(shims[0], SIGKILL);
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    const std::string s = containerd_->TaskStatus("k1");
    gone = s.empty() || s == "STOPPED";
    if (!gone) sys::Env::Default()->SleepFor(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone);
  containerd_->Ctr({"task", "delete", "k1"});
  EXPECT_EQ(containerd_->Ctr({"container", "delete", "k1"}).code, 0);
  EXPECT_NE(containerd_->Log().find("cleaning up dead shim"), std::string::npos);
}

}  // namespace
}  // namespace vmshare::shim::testing
