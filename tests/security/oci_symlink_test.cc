// OCI mount destinations and rootfs entries that are symlinks pointing
// outside the rootfs. On the host, a destination only names the share (its
// base name), so nothing is resolved in the rootfs and nothing outside the
// sandbox tree is touched; a bundle whose rootfs is itself a symlink is
// refused. In the guest, the agent creates mount points with
// RESOLVE_IN_ROOT, so a destination through an absolute or relative link
// lands inside the container's rootfs, never outside it.
#include <fcntl.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "agent/server/in_root.h"
#include "security/security_support.h"
#include "share/share_fixture.h"

namespace vmshare::security {
namespace {

class OciSymlinkTest : public testing::ShareFixture {};

TEST_F(OciSymlinkTest, HostSideNeverResolvesDestinationsInTheRootfs) {
  ASSERT_OK(sharer_->Prepare());
  Victim victim(tmp_ / "victim");
  const std::string rootfs = MakeVolume("rootfs", "root");
  fs::create_directories(rootfs + "/etc");
  fs::create_symlink(victim.dir(), rootfs + "/etc/app");         // absolute, out
  fs::create_symlink("../../../../../../", rootfs + "/etc/up");  // relative, out
  fs::create_symlink("/", rootfs + "/data");                     // to the root
  const auto outside = MountsOutside(SandboxDir());
  Container c{"c1", {}};
  c.state.rootfs.source = rootfs;
  c.state.rootfs.type = "bind";
  ASSERT_OK(sharer_->ShareRootFilesystem(c).status());
  std::vector<Mount> mounts;
  for (const std::string dest : {"/etc/app", "/etc/up/x", "/data", "/etc/app/../../x"}) {
    Mount m = BindMount(MakeVolume("v" + std::to_string(mounts.size()), "vol"), dest);
    auto r = sharer_->ShareFile(c, m);
    ASSERT_OK(r.status());
    EXPECT_EQ(fs::path(m.host_path).parent_path(), Mounts()) << dest << " -> " << m.host_path;
    mounts.push_back(m);
  }
  EXPECT_TRUE(victim.Intact());
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
  for (Mount& m : mounts) ASSERT_OK(sharer_->UnshareFile(c, m));
  ASSERT_OK(sharer_->UnshareRootFilesystem(c));
  EXPECT_TRUE(victim.Intact());
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
}

TEST_F(OciSymlinkTest, RootfsThatIsASymlinkIsRefused) {
  ASSERT_OK(sharer_->Prepare());
  Victim victim(tmp_ / "victim");
  for (const std::string& target : {std::string("/"), victim.dir()}) {
    const std::string link = tmp_ / "rootfs-link";
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_symlink(target, link);
    Container c{"c1", {}};
    c.state.rootfs.source = link;
    c.state.rootfs.type = "bind";
    auto r = sharer_->ShareRootFilesystem(c);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << target << ": " << r.status().ToString();
    EXPECT_EQ(testing::CountMountsUnder(Mounts() + "/c1"), 0);
  }
  EXPECT_TRUE(victim.Intact());
}

TEST(OciSymlinkGuest, MountPointsThroughLinksStayInsideTheRootfs) {
  TempDir tmp;
  const std::string rootfs = tmp / "rootfs";
  const std::string outside = tmp / "outside";
  fs::create_directories(rootfs + "/etc");
  fs::create_directories(outside);
  fs::create_symlink(outside, rootfs + "/etc/abs");  // absolute: means <rootfs><outside>
  fs::create_symlink("../../../../outside", rootfs + "/etc/rel");  // clamped at the rootfs
  fs::create_symlink("/", rootfs + "/etc/root");
  sys::Env* env = sys::Env::Default();
  auto root = env->OpenAt(sys::Cwd(), rootfs, O_PATH | O_DIRECTORY);
  ASSERT_OK(root.status());
  for (const std::string dest : {"etc/abs/m", "etc/rel/m", "etc/root/m", "etc/abs/../../m"}) {
    auto parts = agent::SplitRelative(dest, "destination");
    if (!parts.ok()) {
      EXPECT_EQ(parts.status().code(), Code::kInvalidArgument) << dest;  // ".." is refused outright
      continue;
    }
    auto fd = agent::EnsureInRoot(env, *root, *parts, /*is_dir=*/true);
    std::printf("guest mount point %s: %s\n", dest.c_str(),
                fd.ok() ? "made" : fd.status().ToString().c_str());
    if (!fd.ok()) continue;  // refusing is safe too; what matters is where it lands
    auto where = env->FdPath(*fd);
    ASSERT_OK(where.status());
    EXPECT_TRUE(where->rfind(rootfs + "/", 0) == 0) << dest << " -> " << *where;
  }
  EXPECT_TRUE(fs::is_empty(outside));
}

}  // namespace
}  // namespace vmshare::security
