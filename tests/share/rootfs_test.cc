// ShareRootFilesystem / UnshareRootFilesystem: directory rootfs binds and
// block-device rootfs storages.
#include "share_fixture.h"

namespace vmshare::testing {
namespace {

class RootfsTest : public ShareFixture {
 protected:
  void SetUp() override {
    ShareFixture::SetUp();
    if (IsSkipped()) return;
    ASSERT_OK(sharer_->Prepare());
  }
  Container DirContainer(const std::string& id, bool ro = false) {
    Container c{id, {}};
    c.state.rootfs.source = MakeVolume("rootfs-" + id, "root");
    c.state.rootfs.read_only = ro;
    return c;
  }
};

TEST_F(RootfsTest, DirectoryRootfsIsBoundAndUnbound) {
  Container c = DirContainer("c1");
  auto r = sharer_->ShareRootFilesystem(c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->guest_path, "/run/kata-containers/shared/containers/c1/rootfs");
  EXPECT_TRUE(r->container_storages.empty());
  EXPECT_EQ(c.state.rootfs.host_path, Mounts() + "/c1/rootfs");
  EXPECT_TRUE(c.state.rootfs.mounted);
  EXPECT_EQ(ReadFile(Shared() + "/c1/rootfs/f"), "root");
  EXPECT_EQ(TryWrite(Shared() + "/c1/rootfs/new"), 0);
  EXPECT_TRUE(Exists(src_ + "/rootfs-c1/new"));

  ASSERT_OK(sharer_->UnshareRootFilesystem(c));
  EXPECT_FALSE(c.state.rootfs.mounted);
  EXPECT_EQ(CountMountsUnder(Mounts() + "/"), 0);
  EXPECT_EQ(CountMountsUnder(Shared() + "/"), 0);
  EXPECT_FALSE(Exists(Mounts() + "/c1"));
  ASSERT_OK(sharer_->UnshareRootFilesystem(c));  // idempotent
  EXPECT_EQ(ReadFile(src_ + "/rootfs-c1/f"), "root");
}

TEST_F(RootfsTest, ReadOnlyRootfs) {
  Container c = DirContainer("c1", /*ro=*/true);
  ASSERT_TRUE(sharer_->ShareRootFilesystem(c).ok());
  EXPECT_EQ(TryWrite(Mounts() + "/c1/rootfs/f"), EROFS);
  EXPECT_EQ(TryWrite(Shared() + "/c1/rootfs/f"), EROFS);
  Container o = DirContainer("c2");
  o.state.rootfs.options = {"ro"};
  ASSERT_TRUE(sharer_->ShareRootFilesystem(o).ok());
  EXPECT_EQ(TryWrite(Shared() + "/c2/rootfs/f"), EROFS);
}

TEST_F(RootfsTest, SharingTwiceIsRefused) {
  Container c = DirContainer("c1");
  ASSERT_TRUE(sharer_->ShareRootFilesystem(c).ok());
  Container again = c;
  again.state.rootfs.mounted = false;
  auto r = sharer_->ShareRootFilesystem(again);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_EQ(CountMountsUnder(Mounts() + "/"), 1);
}

TEST_F(RootfsTest, BadRootfsChangesNothing) {
  ::symlink("/", (src_ + "/link").c_str());
  struct Case {
    const char* name;
    std::string id, source;
    Code code;
    std::string mentions;
  };
  const Case cases[] = {
      {"missing", "c1", src_ + "/missing", Code::kNotFound, src_ + "/missing"},
      {"symlink", "c1", src_ + "/link", Code::kInvalidArgument, "symbolic link"},
      {"bad id", "c 1", src_, Code::kInvalidArgument, "c 1"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Container c{k.id, {}};
    c.state.rootfs.source = k.source;
    auto r = sharer_->ShareRootFilesystem(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), k.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(k.mentions), std::string::npos) << r.status().message();
    EXPECT_FALSE(c.state.rootfs.mounted);
    EXPECT_TRUE(std::filesystem::is_empty(Mounts()));
  }
}

TEST_F(RootfsTest, BlockRootfsYieldsOneStorageAndNoMount) {
  struct Case {
    const char* name;
    std::string driver, fstype;
    std::vector<std::string> options;
    bool read_only;
    std::vector<std::string> want_options;
  };
  const Case cases[] = {
      {"xfs gets nouuid", "blk", "xfs", {"rw"}, false, {"rw", "nouuid"}},
      {"xfs nouuid once", "blk", "xfs", {"nouuid"}, false, {"nouuid"}},
      {"ext4 untouched", "mmioblk", "ext4", {"noatime"}, false, {"noatime"}},
      {"read-only adds ro", "scsi", "ext4", {}, true, {"ro"}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    auto cfg = Config();
    cfg.block_driver = k.driver;
    auto sharer = MakeSharer(cfg);
    Container c{"c1", {}};
    c.state.rootfs.source = "/dev/vda";
    c.state.rootfs.type = k.fstype;
    c.state.rootfs.block_device_id = "drive-0";
    c.state.rootfs.options = k.options;
    c.state.rootfs.read_only = k.read_only;
    auto r = sharer->ShareRootFilesystem(c);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->guest_path, "/run/kata-containers/shared/containers/c1/rootfs");
    ASSERT_EQ(r->container_storages.size(), 1u);
    const Storage& s = r->container_storages[0];
    EXPECT_EQ(s.driver, k.driver);
    EXPECT_EQ(s.source, "drive-0");
    EXPECT_EQ(s.fstype, k.fstype);
    EXPECT_EQ(s.options, k.want_options);
    EXPECT_EQ(s.mount_point, "/run/kata-containers/shared/containers/c1/rootfs");
    EXPECT_FALSE(c.state.rootfs.mounted);
    EXPECT_TRUE(std::filesystem::is_empty(Mounts()));
    ASSERT_OK(sharer->UnshareRootFilesystem(c));
  }
}

TEST_F(RootfsTest, BlockRootfsNeedsAFilesystemType) {
  Container c{"c1", {}};
  c.state.rootfs.block_device_id = "drive-0";
  auto r = sharer_->ShareRootFilesystem(c);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("drive-0"), std::string::npos);
}

TEST_F(RootfsTest, CustomGuestSharedDir) {
  auto cfg = Config();
  cfg.guest_shared_dir = "/mnt/share/";
  auto sharer = MakeSharer(cfg);
  Container c = DirContainer("c9");
  auto r = sharer->ShareRootFilesystem(c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->guest_path, "/mnt/share/c9/rootfs");
  ASSERT_OK(sharer->UnshareRootFilesystem(c));
}

}  // namespace
}  // namespace vmshare::testing
