// The container `vmshare run` builds in a real guest is what the OCI runtime
// spec says, in both sharing modes, for a bundle written by `runc spec`
// itself with a Debian-style rootfs (merged /usr, setuid binaries, a hard
// link, an old mtime; no /proc, /sys, /dev) made from .debs at build time.
// One guest per mode checks everything that can be checked from inside:
// mount order (binds under the /dev tmpfs), default devices, identity and
// privileges from /proc/self/status, the PID namespace, relative and
// symlinked bind sources, the copied tree's modes, links and times. The
// bundle errors (missing source, read-write bind in copy mode) must come
// before any guest boots.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "sys/env.h"
#include "testing_vm.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;
using vmshare::testing::ReadFile;
using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;
namespace fs = std::filesystem;
using nlohmann::json;

struct RunResult {
  sys::ExitStatus status;
  std::string out;
  std::string err;
};

class OciE2eTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (!HaveQemu()) GTEST_SKIP() << "qemu-system-x86_64 or virtiofsd not installed";
    if (std::system("command -v runc >/dev/null") != 0) GTEST_SKIP() << "runc not installed";
    root_ = tmp_ / "root";
    bundle_ = tmp_ / "bundle";
    fs::create_directories(bundle_);
    const std::string cp =
        "cp -a " + std::string(VMSHARE_DEBIAN_ROOTFS) + " " + bundle_ + "/rootfs";
    ASSERT_EQ(std::system(cp.c_str()), 0);
    ASSERT_EQ(std::system(("cd " + bundle_ + " && runc spec").c_str()), 0);
    config_ = json::parse(ReadFile(bundle_ + "/config.json"));
    // Binds the spec lists after its /dev tmpfs; relative and symlinked
    // sources. Read-only, so copy mode takes them as they are.
    WriteFile(tmp_ / "termination-log", "host termination log\n");
    fs::create_directories(bundle_ + "/volumes/rel");
    WriteFile(bundle_ + "/volumes/rel/file", "relative source\n");
    WriteFile(tmp_ / "zoneinfo", "a zone file\n");
    fs::create_symlink(tmp_ / "zoneinfo", tmp_ / "localtime");
    AddBind(tmp_ / "termination-log", "/dev/termination-log", {"rbind", "ro"});
    AddBind("volumes/rel", "/rel", {"rbind", "ro"});
    AddBind(tmp_ / "localtime", "/etc/localtime", {"rbind", "ro"});
  }

  void AddBind(const std::string& source, const std::string& dest,
               std::vector<std::string> options) {
    config_["mounts"].push_back(
        {{"destination", dest}, {"type", "bind"}, {"source", source}, {"options", options}});
  }

  RunResult Run(const std::vector<std::string>& extra, const std::vector<std::string>& command) {
    WriteFile(bundle_ + "/config.json", config_.dump(2));
    sys::ChildOptions o;
    o.argv = {VMSHARE_BIN, "run", "--root",      root_,      "--bundle",      bundle_,
              "--accel",   "tcg", "--shared-fs", GetParam(), "--console-log", tmp_ / "console"};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    o.argv.push_back("--");
    o.argv.insert(o.argv.end(), command.begin(), command.end());
    o.stdout_path = tmp_ / "out";
    o.stderr_path = tmp_ / "err";
    RunResult r;
    Result<sys::Child> c = env_->Spawn(o);
    EXPECT_OK(c);
    if (!c.ok()) return r;
    Result<sys::ExitStatus> st = env_->Wait(*c, milliseconds(600000));
    if (!st.ok()) {
      env_->Kill(*c, SIGKILL).IgnoreError();
      env_->Wait(*c).status().IgnoreError();
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
  std::string root_, bundle_;
  json config_;
};

TEST_P(OciE2eTest, RuncSpecBundleRunsAsTheSpecSays) {
  const RunResult r =
      Run({}, {"sh", "-c",
               "echo pid=$$; hostname; grep -E '^(CapEff|NoNewPrivs):' /proc/self/status;"
               "ulimit -n; cat /dev/termination-log /rel/file /etc/localtime;"
               "echo x > /dev/null && test -c /dev/null && echo null-ok;"
               "head -c8 /dev/urandom | wc -c; readlink /dev/fd; readlink /dev/ptmx;"
               "test -c /dev/pts/ptmx && echo pts-ok;"
               "stat -c '%a %U' /usr/bin/mount /usr/bin/umount;"
               "test $(stat -c %i /etc/vmshare-linked) = $(stat -c %i /etc/vmshare-linked2) && "
               "echo hardlink-ok;"
               "stat -c %Y /etc/vmshare-linked; readlink /bin; wc -c < /proc/timer_list;"
               "(touch /newfile) 2>/dev/null || echo root-ro;"
               "awk '$5 == \"/\" {print $6}' /proc/self/mountinfo"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.out << r.err;
  // runc's spec: hostname "runc", 3 capabilities, NoNewPrivileges, NOFILE 1024.
  const std::string mtime = std::to_string(1577934245);
  // The root: read-only (root.readonly, made last), neither nosuid nor nodev.
  const size_t last = r.out.rfind('\n', r.out.size() - 2);
  const std::string root_opts = last == std::string::npos ? "" : r.out.substr(last + 1);
  EXPECT_EQ(root_opts.rfind("ro,", 0), 0u) << root_opts;
  EXPECT_EQ(root_opts.find("nosuid"), std::string::npos) << root_opts;
  EXPECT_EQ(root_opts.find("nodev"), std::string::npos) << root_opts;
  EXPECT_EQ(r.out.substr(0, last + 1),
            "pid=1\nrunc\nCapEff:\t0000000020000420\nNoNewPrivs:\t1\n1024\n"
            "host termination log\nrelative source\na zone file\n"
            "null-ok\n8\n/proc/self/fd\npts/ptmx\npts-ok\n"
            "4755 root\n4755 root\nhardlink-ok\n" +
                mtime + "\nusr/bin\n0\nroot-ro\n")
      << r.err;
  // The spec asks for a terminal, which the guest does not have yet: said.
  EXPECT_NE(r.err.find("process.terminal is ignored"), std::string::npos) << r.err;
}

TEST_P(OciE2eTest, MissingSourceFailsBeforeTheGuestBoots) {
  AddBind(tmp_ / "no-such-volume", "/missing", {"rbind", "ro"});
  const RunResult r = Run({}, {"true"});
  EXPECT_TRUE(r.status.exited && r.status.code != 0);
  EXPECT_NE(r.err.find("no-such-volume"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_ / "console")) << "a guest was started";
}

TEST_P(OciE2eTest, ReadWriteBindIsRefusedInCopyModeBeforeBoot) {
  if (GetParam() != "none") GTEST_SKIP() << "copy mode only";
  fs::create_directories(tmp_ / "rw-volume");
  AddBind(tmp_ / "rw-volume", "/data", {"rbind", "rw"});
  const RunResult r = Run({}, {"true"});
  EXPECT_TRUE(r.status.exited && r.status.code != 0);
  EXPECT_NE(r.err.find("mount \"/data\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--guest-local-copies"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_ / "console")) << "a guest was started";
}

INSTANTIATE_TEST_SUITE_P(BothModes, OciE2eTest, ::testing::Values("virtio-fs", "none"),
                         [](const auto& p) {
                           return p.param == "none" ? std::string("Copy") : std::string("VirtioFs");
                         });

}  // namespace
}  // namespace vmshare::vm
