// The guest's side of the share replacing <cid>/rootfs or a volume's mount
// point with a symlink to a host path before teardown: unshare and cleanup
// (and gc, in tests/chaos) unmount nothing outside the sandbox tree and
// delete nothing through the link.
#include <sys/mount.h>

#include "security/security_support.h"
#include "share/bind.h"
#include "share/share_fixture.h"

namespace vmshare::security {
namespace {

class TeardownTest : public testing::ShareFixture {
 protected:
  void SetUp() override {
    testing::ShareFixture::SetUp();
    if (IsSkipped()) return;
    ASSERT_OK(sharer_->Prepare());
    rootfs_ = MakeVolume("rootfs", "root file");
    c_.state.rootfs.source = rootfs_;
    c_.state.rootfs.type = "bind";
    auto r = sharer_->ShareRootFilesystem(c_);
    ASSERT_OK(r.status());
    vol_ = BindMount(MakeVolume("data", "volume file"), "/data");
    auto v = sharer_->ShareFile(c_, vol_);
    ASSERT_OK(v.status());
  }

  // What a compromised share could leave: the mount gone from under the
  // path, and a symlink to the victim in its place.
  void ReplaceWithLink(const std::string& path, const std::string& target) {
    ASSERT_OK(share::DetachAll(sys::Env::Default(), path));
    std::error_code ec;
    fs::remove(path, ec);
    fs::create_symlink(target, path);
  }

  std::string rootfs_;
  Mount vol_;
  Container c_{"c1", {}};
};

TEST_F(TeardownTest, RootfsReplacedWithALinkToAHostMount) {
  Victim victim(tmp_ / "victim");
  const auto outside = MountsOutside(SandboxDir());
  ReplaceWithLink(Mounts() + "/c1/rootfs", victim.dir());
  Status s = sharer_->UnshareRootFilesystem(c_);
  ASSERT_OK(sharer_->UnshareFile(c_, vol_));
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_TRUE(victim.Intact()) << "unshare status: " << s.ToString();
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
  EXPECT_EQ(ReadFile(rootfs_ + "/f"), "root file");
  EXPECT_FALSE(Exists(SandboxDir()));
}

TEST_F(TeardownTest, VolumeMountPointReplacedWithALinkToAHostMount) {
  Victim victim(tmp_ / "victim");
  const auto outside = MountsOutside(SandboxDir());
  ReplaceWithLink(vol_.host_path, victim.dir());
  Status s = sharer_->UnshareFile(c_, vol_);
  ASSERT_OK(sharer_->UnshareRootFilesystem(c_));
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_TRUE(victim.Intact()) << "unshare status: " << s.ToString();
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
  EXPECT_EQ(ReadFile(src_ + "/data/f"), "volume file");
}

TEST_F(TeardownTest, LinkToTheHostRootAtTheVolumeMountPoint) {
  // "/" is the most valuable target: the host root must stay mounted.
  const auto outside = MountsOutside(SandboxDir());
  ReplaceWithLink(vol_.host_path, "/");
  sharer_->UnshareFile(c_, vol_).IgnoreError();
  ASSERT_OK(sharer_->UnshareRootFilesystem(c_));
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
  EXPECT_TRUE(fs::exists("/proc/self"));
}

TEST_F(TeardownTest, LinksWrittenIntoAReadWriteShareAreNotFollowed) {
  // The guest writes links into the shares it can write to (the rootfs and
  // the volume); teardown never walks into them.
  Victim victim(tmp_ / "victim");
  const auto outside = MountsOutside(SandboxDir());
  fs::create_symlink(victim.dir(), Shared() + "/c1/rootfs/evil");
  fs::create_symlink(victim.dir(), vol_.host_path + "/evil");
  ASSERT_OK(sharer_->UnshareFile(c_, vol_));
  ASSERT_OK(sharer_->UnshareRootFilesystem(c_));
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_TRUE(victim.Intact());
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
  // The links are the guest's data, kept in the sources.
  EXPECT_TRUE(fs::is_symlink(rootfs_ + "/evil"));
  EXPECT_TRUE(fs::is_symlink(src_ + "/data/evil"));
}

}  // namespace
}  // namespace vmshare::security
