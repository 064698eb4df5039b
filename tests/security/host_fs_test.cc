// Sharing the host's /proc, /sys or /dev (or another kernel filesystem, or
// the host's root) is refused however the source is spelled: directly,
// through a symlinked parent (/tmp/x -> /, source /tmp/x/proc), with "..",
// through a bind mount of /proc elsewhere, or below them. Volumes, the
// rootfs and sandbox bind mounts all go through the same check, nothing is
// mounted, and the error names the source and says why.
#include "security/security_support.h"
#include "share/share_fixture.h"

namespace vmshare::security {
namespace {

class HostFsTest : public testing::ShareFixture {
 protected:
  void SetUp() override {
    testing::ShareFixture::SetUp();
    if (IsSkipped()) return;
    ASSERT_OK(sharer_->Prepare());
    link_ = tmp_ / "x";
    fs::create_symlink("/", link_);
  }
  std::string link_;
};

TEST_F(HostFsTest, KernelFilesystemsAreRefusedHoweverSpelled) {
  // A bind of the host's /proc elsewhere: the path says nothing, the fd does.
  const std::string proc_bind = tmp_ / "procbind";
  fs::create_directories(proc_bind);
  ASSERT_EQ(::mount("/proc", proc_bind.c_str(), nullptr, MS_BIND, nullptr), 0);
  struct Case {
    std::string source;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"/proc", "procfs"},
      {"/sys", "sysfs"},
      {"/dev", "/dev"},
      {link_ + "/proc", "procfs"},
      {link_ + "/sys", "sysfs"},
      {link_ + "/dev", "/dev"},
      {"/proc/../proc", "procfs"},
      {"/tmp/../proc", "procfs"},
      {link_ + "/proc/1", "procfs"},
      {"/proc/sys/kernel", "procfs"},
      {"/sys/fs/cgroup", "cgroup"},
      {"/sys/kernel", "sysfs"},
      {"/dev/shm", "/dev"},
      {"/dev/null", "/dev"},
      {"/dev/pts", "devpts"},
      {proc_bind, "procfs"},
      {"/", "root"},
      {link_, "symbolic link"},
      {link_ + "/", "root"},
  };
  const auto outside = MountsOutside(SandboxDir());
  Container c{"c1", {}};
  for (const Case& k : cases) {
    if (!fs::exists(k.source)) continue;
    Mount m = BindMount(k.source, "/data");
    auto r = sharer_->ShareFile(c, m);
    ASSERT_FALSE(r.ok()) << k.source << " was shared at " << m.host_path;
    EXPECT_TRUE(r.status().code() == Code::kPermissionDenied ||
                r.status().code() == Code::kInvalidArgument)
        << k.source << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(k.why), std::string::npos)
        << k.source << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find("\"" + k.source + "\""), std::string::npos)
        << r.status().ToString();
  }
  EXPECT_EQ(testing::CountMountsUnder(Mounts() + "/c1-"), 0);
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
  ::umount2(proc_bind.c_str(), MNT_DETACH);
}

TEST_F(HostFsTest, RootfsOnAKernelFilesystemIsRefused) {
  for (const std::string& src :
       {std::string("/proc"), link_ + "/sys", link_ + "/dev", std::string("/")}) {
    Container c{"c1", {}};
    c.state.rootfs.source = src;
    c.state.rootfs.type = "bind";
    auto r = sharer_->ShareRootFilesystem(c);
    EXPECT_FALSE(r.ok()) << src;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
    }
    EXPECT_EQ(testing::CountMountsUnder(Mounts() + "/c1"), 0) << src;
  }
}

TEST_F(HostFsTest, SandboxBindMountOfAKernelFilesystemIsRefusedBeforeAnythingChanges) {
  auto config = Config();
  config.sandbox_id = "sb2";
  config.sandbox_bind_mounts = {link_ + "/proc"};
  auto sharer = MakeSharer(config);
  ASSERT_NE(sharer, nullptr);
  Status s = sharer->Prepare();
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  EXPECT_FALSE(Exists(root_ + "/sandboxes/sb2"));
}

TEST_F(HostFsTest, OrdinaryDirectoriesStillShare) {
  Container c{"c1", {}};
  Mount m = BindMount(MakeVolume("data"), "/data");
  auto r = sharer_->ShareFile(c, m);
  ASSERT_OK(r.status());
  EXPECT_EQ(ReadFile(m.host_path + "/f"), "hello");
  ASSERT_OK(sharer_->UnshareFile(c, m));
}

}  // namespace
}  // namespace vmshare::security
