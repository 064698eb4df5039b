// containerd-shim-vmshare-v2 end to end: Debian's containerd and ctr, the
// built shim, real TCG guests. Each test boots one guest (they are
// expensive) and checks several things in it; after each, no QEMU or
// virtiofsd process, no mount and no vmshare state may be left.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <regex>

#include "containerd_harness.h"

namespace vmshare::shim::testing {
namespace {

using vmshare::testing::CountMountsUnder;
using vmshare::testing::TempDir;

bool Have(const char* path) { return fs::exists(path); }

class ShimE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (!Have("/usr/bin/containerd") || !Have("/usr/bin/ctr"))
      GTEST_SKIP() << "containerd not installed (scripts/install-deps.sh)";
    if (!Have("/usr/bin/qemu-system-x86_64") || !Have("/usr/lib/qemu/virtiofsd"))
      GTEST_SKIP() << "qemu-system-x86_64 or virtiofsd not installed";
    vmroot_ = tmp_ / "vmroot";
    bundle_ = tmp_ / "bundle";
    const std::string gen =
        std::string(VMSHARE_SOURCE_DIR) + "/scripts/guest/make-example-bundle.sh";
    ASSERT_EQ(std::system((gen + " --out " + bundle_ + " >/dev/null").c_str()), 0);
    rootfs_ = bundle_ + "/rootfs";
    WriteFile(tmp_ / "shim.json", R"({"root":")" + vmroot_ + R"(","accel":"tcg","guest_dir":")" +
                                      VMSHARE_GUEST_DIR + R"(","memory_mb":256})");
    containerd_ = std::make_unique<Containerd>(tmp_.path(), VMSHARE_SHIM_DIR, tmp_ / "shim.json");
    containerd_->Start();
  }

  void TearDown() override {
    if (containerd_ == nullptr) return;
    if (HasFailure()) std::cerr << "containerd log:\n" << containerd_->Log();
    // Shims and their VMs end after containerd's last calls; give them the
    // time a loaded machine needs, then look.
    Containerd::WaitFor([this] {
      return containerd_->Shims().empty() && ProcessesMatching(vmroot_ + "/").empty();
    });
    containerd_->Stop(SIGTERM);
    ExpectNothingLeft();
    containerd_->KillLeftovers();
    containerd_->UnmountRun();
  }

  void ExpectNothingLeft() {
    EXPECT_EQ(ProcessesMatching(vmroot_ + "/").size(), 0u) << "a qemu or virtiofsd process is left";
    EXPECT_EQ(containerd_->Shims().size(), 0u) << "a shim is left";
    EXPECT_EQ(CountMountsUnder(vmroot_ + "/"), 0) << "a mount is left under " << vmroot_;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(vmroot_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string rel = it->path().string().substr(vmroot_.size());
      EXPECT_TRUE(rel == "/sandboxes" || rel == "/vm" || rel == "/kvm-probe" || rel == "/sbs")
          << "left behind: " << it->path();
    }
  }

  // ctr run [flags] --runtime ours --rootfs ROOTFS ID CMD...
  std::vector<std::string> RunArgs(std::vector<std::string> flags, const std::string& id,
                                   const std::vector<std::string>& cmd) {
    std::vector<std::string> a = {"run", "--runtime", kRuntime};
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back("--rootfs");
    a.push_back(rootfs_);
    a.push_back(id);
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }

  std::string Mount(const std::string& src, const std::string& dst, const char* mode) {
    return "type=bind,src=" + src + ",dst=" + dst + ",options=rbind:" + mode;
  }

  TempDir tmp_;
  std::string vmroot_, bundle_, rootfs_;
  std::unique_ptr<Containerd> containerd_;
};

TEST_F(ShimE2eTest, RunRmShowsGuestKernelExitStatusAndMounts) {
  utsname host{};
  ::uname(&host);
  CtrResult r = containerd_->Ctr(RunArgs(
      {"--rm", "--mount", Mount(bundle_ + "/volumes/data", "/data", "rw"), "--mount",
       Mount(bundle_ + "/volumes/readonly", "/readonly", "ro")},
      "rm1",
      {"sh", "-c",
       "echo kernel=$(uname -r); echo from-guest > /data/new.txt; "
       "touch /readonly/x 2>/dev/null; echo ro=$?; cat /readonly/README; echo err >&2; exit 7"}));
  EXPECT_EQ(r.code, 7) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("kernel=(\\S+)"))) << r.out;
  EXPECT_NE(m[1].str(), host.release) << "the process ran on the host's kernel";
  EXPECT_NE(r.out.find("ro=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a read-only volume"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("err"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(bundle_ + "/volumes/data/new.txt"), "from-guest\n");
  EXPECT_FALSE(fs::exists(bundle_ + "/volumes/readonly/x"));
  EXPECT_EQ(containerd_->TaskStatus("rm1"), "");
}

TEST_F(ShimE2eTest, StdinIsRelayedAndClosed) {
  WriteFile(tmp_ / "stdin", "line one\nline two\n");
  CtrResult r =
      containerd_->Ctr(RunArgs({"--rm"}, "in1", {"sh", "-c", "cat; echo done"}), tmp_ / "stdin");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "line one\nline two\ndone\n");
}

TEST_F(ShimE2eTest, TerminalHasAPtyAndTheResizedWindow) {
  // script(1) gives ctr the terminal it needs; stty sets the size ctr sends.
  // ctr sends the size (ResizePty) after Start, so the process may run
  // before it arrives: it waits for a size (busybox's `stty size` fails on a
  // 0x0 window), for up to 30 s.
  std::string cmd = "stty rows 33 cols 77; ctr --address " + containerd_->address() +
                    " run -t --rm --runtime " + kRuntime + " --rootfs " + rootfs_ +
                    " tty1 sh -c 'test -t 0 && echo tty=yes; i=0; until stty size >/dev/null "
                    "2>&1 || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done; stty size; exit 3'";
  CtrResult r = containerd_->Run({"script", "-qec", cmd, "/dev/null"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("tty=yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("33 77"), std::string::npos) << r.out;
}

TEST_F(ShimE2eTest, DetachedTaskExecKillDeleteAndContainerdRestart) {
  CtrResult r = containerd_->Ctr(RunArgs({"-d"}, "d1", {"sleep", "1000"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(containerd_->TaskStatus("d1"), "RUNNING");
  r = containerd_->Ctr(
      {"task", "exec", "--exec-id", "e1", "d1", "sh", "-c", "echo in-exec; exit 4"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_EQ(r.out, "in-exec\n");

  // An exec killed by SIGTERM reports 143.
  sys::Child waiter =
      containerd_->Spawn({"task", "exec", "--exec-id", "e2", "d1", "sleep", "1000"}, tmp_ / "e2");
  bool killed = false;
  for (int i = 0; i < 300 && !killed; ++i) {
    killed = containerd_->Ctr({"task", "kill", "--exec-id", "e2", "-s", "SIGTERM", "d1"}).code == 0;
    if (!killed) sys::Env::Default()->SleepFor(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(killed);
  EXPECT_EQ(containerd_->Finish(waiter), 143);

  // containerd restarts; the shim and the task live on.
  containerd_->Stop(SIGKILL);
  containerd_->Start();
  EXPECT_EQ(containerd_->TaskStatus("d1"), "RUNNING");
  r = containerd_->Ctr({"task", "exec", "--exec-id", "e3", "d1", "echo", "after-restart"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "after-restart\n");

  r = containerd_->Ctr({"task", "kill", "-s", "SIGKILL", "d1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(containerd_->WaitStatus("d1", "STOPPED"));
  EXPECT_EQ(containerd_->DeleteTask("d1"), 137);
  EXPECT_EQ(containerd_->Ctr({"container", "delete", "d1"}).code, 0);
}

// An exec's output reaches ctr in full, however its relay and its exit
// race: the shell prints after its grep and exits at once. The shim used to
// collect the exit while the relay was behind; the agent forgets a waited
// exec, so the relay's next read failed and ctr got the grep's lines only
// (one run of SpecPrivilegesAndPathsAreAppliedInTheGuest in 7, loaded host).
TEST_F(ShimE2eTest, ExecOutputIsNeverCutShort) {
  CtrResult r = containerd_->Ctr(RunArgs({"-d"}, "o1", {"sleep", "1000"}));
  ASSERT_EQ(r.code, 0) << r.err;
  std::string script = "grep -E '^(Name|State):' /proc/self/status; echo e1 >&2";
  std::string want = "Name:\tgrep\nState:\tR (running)\n";
  for (int i = 0; i < 30; ++i) {
    script += "; echo line" + std::to_string(i);
    want += "line" + std::to_string(i) + "\n";
  }
  script += "; echo e2 >&2";
  for (int i = 0; i < 12; ++i) {
    r = containerd_->Ctr(
        {"task", "exec", "--exec-id", "x" + std::to_string(i), "o1", "sh", "-c", script});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, want) << "exec " << i;
    EXPECT_EQ(r.err, "e1\ne2\n") << "exec " << i;
  }
  // A child left holding the exec's stdout does not hold its exit: the
  // agent ends the stream at the exit once the pipe is drained.
  r = containerd_->Ctr(
      {"task", "exec", "--exec-id", "bg", "o1", "sh", "-c", "sleep 1000 & echo bg-started"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "bg-started\n");
  r = containerd_->Ctr({"task", "kill", "-s", "SIGKILL", "o1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(containerd_->WaitStatus("o1", "STOPPED"));
  EXPECT_EQ(containerd_->DeleteTask("o1"), 137);
  EXPECT_EQ(containerd_->Ctr({"container", "delete", "o1"}).code, 0);
}

TEST_F(ShimE2eTest, PodContainersShareOneGuestAndGuestDeathIsAnExit) {
  const std::vector<std::string> sandbox = {"-d", "--annotation",
                                            "io.kubernetes.cri.container-type=sandbox",
                                            "--annotation", "io.kubernetes.cri.sandbox-id=pod1"};
  CtrResult r = containerd_->Ctr(RunArgs(sandbox, "pod1", {"sleep", "1000"}));
  ASSERT_EQ(r.code, 0) << r.err;
  r = containerd_->Ctr(
      {"task", "exec", "--exec-id", "b", "pod1", "cat", "/proc/sys/kernel/random/boot_id"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string boot_id = r.out;
  r = containerd_->Ctr(
      RunArgs({"--rm", "--annotation", "io.kubernetes.cri.container-type=container", "--annotation",
               "io.kubernetes.cri.sandbox-id=pod1"},
              "app1", {"cat", "/proc/sys/kernel/random/boot_id"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, boot_id) << "the pod's container ran in another guest";
  EXPECT_EQ(containerd_->Shims().size(), 1u) << "one shim serves the pod";

  // The guest dies: the sandbox's task exits with an error status.
  for (pid_t qemu : ProcessesMatching(vmroot_ + "/vm/pod1")) ::kill(qemu, SIGKILL);
  EXPECT_TRUE(containerd_->WaitStatus("pod1", "STOPPED"));
  EXPECT_EQ(containerd_->DeleteTask("pod1"), 255);
  EXPECT_EQ(containerd_->Ctr({"container", "delete", "pod1"}).code, 0);
}

// The container's OCI spec as ctr writes it is applied in the guest:
// containerd's default capabilities, RLIMIT_NOFILE 1024, noNewPrivileges,
// masked and read-only /proc paths; --cap-add, --allow-new-privs and
// --privileged change them. One pod, one guest; --seccomp (the default
// profile, as CRI's RuntimeDefault) is accepted with a notice.
TEST_F(ShimE2eTest, SpecPrivilegesAndPathsAreAppliedInTheGuest) {
  const std::string probe =
      "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status; echo nofile=$(ulimit -n)/$(ulimit -Hn); "
      "if [ -c /proc/kcore ]; then echo kcore=masked; else echo kcore=open; fi; "
      "if echo 0 > /proc/sys/kernel/sysrq; then echo sys=rw; else echo sys=ro; fi 2>/dev/null";
  const std::vector<std::string> pod = {"--annotation", "io.kubernetes.cri.sandbox-id=sp1"};
  std::vector<std::string> sandbox = {"-d", "--seccomp", "--annotation",
                                      "io.kubernetes.cri.container-type=sandbox"};
  sandbox.insert(sandbox.end(), pod.begin(), pod.end());
  CtrResult r = containerd_->Ctr(RunArgs(sandbox, "sp1", {"sleep", "1000"}));
  ASSERT_EQ(r.code, 0) << r.err;
  auto app = [&](std::vector<std::string> flags, const std::string& id) {
    flags.insert(flags.end(),
                 {"--rm", "--annotation", "io.kubernetes.cri.container-type=container"});
    flags.insert(flags.end(), pod.begin(), pod.end());
    return containerd_->Ctr(RunArgs(flags, id, {"sh", "-c", probe}));
  };

  // containerd's default spec: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
  // SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE
  // SETFCAP, not all ones.
  r = app({}, "sp-default");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("CapEff:\t00000000a80425fb"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nofile=1024/1024\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kcore=masked"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sys=ro"), std::string::npos) << r.out;

  // An exec gets its container's privileges.
  r = containerd_->Ctr({"task", "exec", "--exec-id", "x1", "sp1", "sh", "-c", probe});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("CapEff:\t00000000a80425fb"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kcore=masked"), std::string::npos) << r.out;

  // CAP_SYS_ADMIN is bit 21; --allow-new-privs drops noNewPrivileges.
  r = app({"--cap-add", "CAP_SYS_ADMIN", "--allow-new-privs"}, "sp-capadd");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("CapEff:\t00000000a82425fb"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t0"), std::string::npos) << r.out;

  // --privileged: ctr's own capabilities (ours), nothing masked, /proc/sys
  // writable.
  std::smatch ours;
  const std::string status = ReadFile("/proc/self/status");
  ASSERT_TRUE(std::regex_search(status, ours, std::regex("CapEff:\t[0-9a-f]+\n")));
  r = app({"--privileged"}, "sp-priv");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(ours[0].str()), std::string::npos) << r.out << " want " << ours[0];
  EXPECT_NE(r.out.find("kcore=open"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sys=rw"), std::string::npos) << r.out;

  EXPECT_NE(containerd_->Log().find("linux.seccomp is not applied"), std::string::npos);
  r = containerd_->Ctr({"task", "kill", "-s", "SIGKILL", "sp1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(containerd_->WaitStatus("sp1", "STOPPED"));
  EXPECT_EQ(containerd_->DeleteTask("sp1"), 137);
  EXPECT_EQ(containerd_->Ctr({"container", "delete", "sp1"}).code, 0);
}

TEST_F(ShimE2eTest, KilledShimLeavesNothingBehind) {
  CtrResult r = containerd_->Ctr(RunArgs(
      {"-d", "--mount", Mount(bundle_ + "/volumes/data", "/data", "rw")}, "k1", {"sleep", "1000"}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto shims = containerd_->Shims();
  ASSERT_EQ(shims.size(), 1u);
  EXPECT_GT(CountMountsUnder(vmroot_ + "/"), 0);
  ::kill(shims[0], SIGKILL);
  // containerd sees the shim go, runs `... delete`, and drops the task.
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = containerd_->TaskStatus("k1").empty() || containerd_->TaskStatus("k1") == "STOPPED";
    if (!gone) sys::Env::Default()->SleepFor(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(gone);
  containerd_->Ctr({"task", "delete", "k1"});
  EXPECT_EQ(containerd_->Ctr({"container", "delete", "k1"}).code, 0);
  // The guest's processes died with the shim; the rest is the gc that
  // containerd's `... delete` runs, asynchronously: TearDown waits for it.
}

}  // namespace
}  // namespace vmshare::shim::testing
