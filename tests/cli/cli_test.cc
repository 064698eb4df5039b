// The vmshare command end to end on real mounts: prepare -> share (a real
// bundle) -> state show -> unshare -> cleanup, and the errors a user can
// cause. Runs the built binary as a child, inside the test's private mount
// namespace, so nothing it mounts reaches the machine.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "share/watch_agent.h"
#include "support/run_vmshare.h"
#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare {
namespace {

using testing::CountMountsUnder;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
namespace fs = std::filesystem;

using testing::CmdResult;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    root_ = tmp_ / "root";
    fs::create_directories(tmp_ / "bundle/rootfs/etc");
    fs::create_directories(tmp_ / "data");
    fs::create_directories(tmp_ / "config");
    WriteFile(tmp_ / "bundle/rootfs/etc/motd", "hello\n");
    WriteFile(tmp_ / "data/a", "rw volume\n");
    WriteFile(tmp_ / "config/b", "ro volume\n");
    WriteConfig(tmp_ / "data", tmp_ / "config");
  }

  void TearDown() override {
    if (::geteuid() != 0) return;
    // Whatever a failed test left behind is removed inside our namespace.
    Vmshare({"sandbox", "cleanup", "s1", "--force"});
    EXPECT_EQ(CountMountsUnder(root_), 0);
  }

  void WriteConfig(const std::string& rw_source, const std::string& ro_source) {
    nlohmann::json config = {{"ociVersion", "1.0.2"},
                             {"process", {{"args", {"sh"}}, {"cwd", "/"}}},
                             {"root", {{"path", "rootfs"}}},
                             {"mounts",
                              {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                               {{"destination", "/data"},
                                {"type", "bind"},
                                {"source", rw_source},
                                {"options", {"rbind", "rw"}}},
                               {{"destination", "/etc/app"},
                                {"type", "bind"},
                                {"source", ro_source},
                                {"options", {"rbind", "ro"}}},
                               {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}}}};
    WriteFile(tmp_ / "bundle/config.json", config.dump());
  }

  CmdResult Vmshare(std::vector<std::string> args) {
    CmdResult r = testing::RunVmshare(VMSHARE_BIN, root_, args, tmp_ / "stdout", tmp_ / "stderr");
    EXPECT_FALSE(r.killed) << "vmshare died of signal " << -r.code;
    return r;
  }

  std::string SandboxDir() const { return root_ + "/sandboxes/s1"; }

  TempDir tmp_;
  std::string root_;
};

TEST_F(CliTest, FullCycleLeavesNothing) {
  CmdResult r = Vmshare({"sandbox", "prepare", "s1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto prepared = nlohmann::json::parse(r.out);
  EXPECT_EQ(prepared["storages"][0]["driver"], "virtio-fs");
  EXPECT_EQ(prepared["storages"][0]["source"], "kataShared");

  r = Vmshare({"container", "share", "s1", "c1", "--bundle", tmp_ / "bundle"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto shared = nlohmann::json::parse(r.out);
  EXPECT_EQ(shared["container_id"], "c1");
  EXPECT_EQ(shared["rootfs"]["guest_path"], "/run/kata-containers/shared/containers/c1/rootfs");
  ASSERT_EQ(shared["mounts"].size(), 2u) << "proc and tmpfs are the guest's to make";
  const auto& rw = shared["mounts"][0];
  const auto& ro = shared["mounts"][1];
  EXPECT_EQ(rw["destination"], "/data");
  EXPECT_EQ(rw["read_only"], false);
  EXPECT_EQ(ro["read_only"], true);
  const std::string rw_guest = rw["guest_path"];
  EXPECT_TRUE(rw_guest.starts_with("/run/kata-containers/shared/containers/c1-")) << rw_guest;
  EXPECT_TRUE(rw_guest.ends_with("-data")) << rw_guest;

  // What virtiofsd exports: the rootfs and the volumes, under shared/.
  const std::string shared_dir = SandboxDir() + "/shared";
  EXPECT_EQ(ReadFile(shared_dir + "/c1/rootfs/etc/motd"), "hello\n");
  const std::string rw_name = rw_guest.substr(rw_guest.rfind('/') + 1);
  const std::string ro_guest = ro["guest_path"];
  const std::string ro_name = ro_guest.substr(ro_guest.rfind('/') + 1);
  WriteFile(shared_dir + "/" + rw_name + "/from-guest", "x");
  EXPECT_EQ(ReadFile(tmp_ / "data/from-guest"), "x");
  const int fd = ::open((shared_dir + "/" + ro_name + "/new").c_str(), O_WRONLY | O_CREAT, 0644);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(errno, EROFS);

  r = Vmshare({"state", "show", "s1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto state = nlohmann::json::parse(r.out);
  EXPECT_EQ(state["sandbox"]["PersistVersion"], 2);
  const auto& c1 = state["containers"]["c1"];
  EXPECT_EQ(c1["Mounts"].size(), 2u);
  EXPECT_EQ(c1["Mounts"][0]["HostPath"], rw["host_path"]);
  EXPECT_EQ(c1["Mounts"][1]["ReadOnly"], true);
  EXPECT_EQ(c1["BundlePath"], fs::canonical(tmp_ / "bundle").string());

  // Cleanup refuses while c1 is shared.
  r = Vmshare({"sandbox", "cleanup", "s1"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("containers still shared: c1"), std::string::npos) << r.err;
  EXPECT_GT(CountMountsUnder(SandboxDir()), 0);

  r = Vmshare({"container", "unshare", "s1", "c1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(shared_dir + "/c1"));
  EXPECT_FALSE(fs::exists(SandboxDir() + "/mounts/" + rw_name));
  r = Vmshare({"sandbox", "cleanup", "s1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountMountsUnder(root_), 0);
  EXPECT_FALSE(fs::exists(SandboxDir()));
  EXPECT_FALSE(fs::exists(root_ + "/sbs/s1"));
  // The shared sources are untouched.
  EXPECT_EQ(ReadFile(tmp_ / "data/a"), "rw volume\n");
  EXPECT_EQ(ReadFile(tmp_ / "config/b"), "ro volume\n");
  // Idempotent.
  EXPECT_EQ(Vmshare({"sandbox", "cleanup", "s1"}).code, 0);
}

TEST_F(CliTest, ForceCleanupUnsharesFirst) {
  ASSERT_EQ(Vmshare({"sandbox", "prepare", "s1"}).code, 0);
  ASSERT_EQ(Vmshare({"container", "share", "s1", "c1", "--bundle", tmp_ / "bundle"}).code, 0);
  ASSERT_EQ(Vmshare({"container", "share", "s1", "c2", "--bundle", tmp_ / "bundle"}).code, 0);
  CmdResult r = Vmshare({"sandbox", "cleanup", "s1", "--force"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountMountsUnder(root_), 0);
  EXPECT_FALSE(fs::exists(SandboxDir()));
}

struct ErrorCase {
  const char* name;
  std::vector<std::string> args;
  const char* want;  // substring of stderr
};

TEST_F(CliTest, UserErrorsAreClearAndChangeNothing) {
  ASSERT_EQ(Vmshare({"sandbox", "prepare", "s1"}).code, 0);
  const std::string bundle = tmp_ / "bundle";
  fs::create_directories(tmp_ / "bad");
  WriteFile(tmp_ / "bad/config.json", "{\"root\": {\"path\": \"rootfs\"}, \"mounts\": [");
  const ErrorCase kCases[] = {
      {"bad_sandbox_id", {"sandbox", "prepare", "../x"}, "invalid sandbox id \"../x\""},
      {"bad_container_id",
       {"container", "share", "s1", "a/b", "--bundle", bundle},
       "invalid container id \"a/b\""},
      {"long_id", {"sandbox", "prepare", std::string(200, 'a')}, "longer than 128"},
      {"unknown_sandbox",
       {"container", "share", "nope", "c1", "--bundle", bundle},
       "sandbox \"nope\" does not exist"},
      {"missing_bundle",
       {"container", "share", "s1", "c1", "--bundle", tmp_ / "nobundle"},
       "nobundle"},
      {"malformed_config",
       {"container", "share", "s1", "c1", "--bundle", tmp_ / "bad"},
       "config.json\": [json.exception.parse_error"},
      {"unshare_unknown",
       {"container", "unshare", "s1", "zz"},
       "\"zz\": not shared in sandbox \"s1\""},
      {"show_unknown", {"state", "show", "nope"}, "sandbox \"nope\" does not exist"},
      {"bind_mount_missing",
       {"sandbox", "prepare", "s2", "--bind-mount", tmp_ / "missing"},
       "missing"},
  };
  for (const auto& c : kCases) {
    CmdResult r = Vmshare(c.args);
    EXPECT_EQ(r.code, 1) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": one line: " << r.err;
  }
  // Nothing changed: only s1 exists, with no container and no share.
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/mounts/"), 0);
  EXPECT_FALSE(fs::exists(root_ + "/sbs/nope"));
  EXPECT_FALSE(fs::exists(root_ + "/sbs/s2"));
  EXPECT_FALSE(fs::exists(root_ + "/sandboxes/s2"));
  EXPECT_FALSE(fs::exists(root_ + "/sbs/s1/c1"));
  auto state = nlohmann::json::parse(Vmshare({"state", "show", "s1"}).out);
  EXPECT_TRUE(state["containers"].empty());
}

TEST_F(CliTest, MissingVolumeSourceRollsBack) {
  ASSERT_EQ(Vmshare({"sandbox", "prepare", "s1"}).code, 0);
  WriteConfig(tmp_ / "data", tmp_ / "no-such-dir");
  CmdResult r = Vmshare({"container", "share", "s1", "c1", "--bundle", tmp_ / "bundle"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(tmp_ / "no-such-dir"), std::string::npos) << r.err;
  // The rootfs and the first volume were shared before the failure; the
  // rollback removed them and the container's state.
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/mounts/"), 0);
  EXPECT_FALSE(fs::exists(root_ + "/sbs/s1/c1"));
  EXPECT_FALSE(fs::exists(SandboxDir() + "/mounts/c1"));
}

TEST_F(CliTest, ShareTwiceRefused) {
  ASSERT_EQ(Vmshare({"sandbox", "prepare", "s1"}).code, 0);
  ASSERT_EQ(Vmshare({"container", "share", "s1", "c1", "--bundle", tmp_ / "bundle"}).code, 0);
  const int mounts = CountMountsUnder(SandboxDir() + "/mounts/");
  CmdResult r = Vmshare({"container", "share", "s1", "c1", "--bundle", tmp_ / "bundle"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("already shared"), std::string::npos) << r.err;
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/mounts/"), mounts);
}

// Copy mode (no shared filesystem): the files reach the guest through the
// real agent's CopyFile, and nothing is mounted on the host.
TEST_F(CliTest, CopyModeThroughTheAgent) {
  testing::RunningAgent agent(tmp_.path(), tmp_ / "guest-shared");
  ASSERT_TRUE(agent.ok()) << agent.log();
  agent.Disconnect();  // the vmshare commands below connect themselves
  const std::string sock = tmp_ / "agent.sock";
  ASSERT_EQ(Vmshare({"sandbox", "prepare", "s1", "--shared-fs", "none"}).code, 0);

  // Without the agent the share fails, says why, and leaves no state.
  CmdResult r = Vmshare({"container", "share", "s1", "c1", "--bundle", tmp_ / "bundle"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no guest agent connection"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root_ + "/sbs/s1/c1"));

  r = Vmshare({"container", "share", "s1", "c1", "--bundle", tmp_ / "bundle", "--agent", sock});
  ASSERT_EQ(r.code, 0) << r.err;
  auto shared = nlohmann::json::parse(r.out);
  EXPECT_EQ(ReadFile(agent.Host(shared["rootfs"]["guest_path"].get<std::string>() + "/etc/motd")),
            "hello\n");
  EXPECT_EQ(ReadFile(agent.Host(shared["mounts"][0]["guest_path"].get<std::string>() + "/a")),
            "rw volume\n");
  EXPECT_EQ(ReadFile(agent.Host(shared["mounts"][1]["guest_path"].get<std::string>() + "/b")),
            "ro volume\n");
  EXPECT_EQ(CountMountsUnder(root_), 0) << "copy mode mounts nothing on the host";

  r = Vmshare({"container", "unshare", "s1", "c1", "--agent", sock});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(agent.Host(shared["rootfs"]["guest_path"].get<std::string>())));
  EXPECT_FALSE(fs::exists(agent.Host(shared["mounts"][0]["guest_path"].get<std::string>())));
  ASSERT_EQ(Vmshare({"sandbox", "cleanup", "s1"}).code, 0);
  EXPECT_FALSE(fs::exists(root_ + "/sbs/s1"));
}

}  // namespace
}  // namespace vmshare
